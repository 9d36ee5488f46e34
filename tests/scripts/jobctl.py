"""Job control: SIGSTOP/SIGCONT seen by waitpid(WUNTRACED/WCONTINUED), for a
sleeping child and a busy one (stopped while running app code)."""
import os, signal, time
pid = os.fork()
if pid == 0:
    time.sleep(5); os._exit(0)
os.kill(pid, signal.SIGSTOP)
p, st = os.waitpid(pid, os.WUNTRACED)
print("stopped", os.WIFSTOPPED(st), os.WSTOPSIG(st))
os.kill(pid, signal.SIGCONT)
p, st = os.waitpid(pid, os.WCONTINUED)
print("continued", os.WIFCONTINUED(st))
os.kill(pid, signal.SIGTERM)
p, st = os.waitpid(pid, 0)
print("killed", os.WIFSIGNALED(st), os.WTERMSIG(st))
# a busy child stopped while running
pid = os.fork()
if pid == 0:
    while True: pass
time.sleep(0.1)
os.kill(pid, signal.SIGSTOP)
p, st = os.waitpid(pid, os.WUNTRACED)
print("busy stopped", os.WIFSTOPPED(st))
os.kill(pid, signal.SIGKILL)
p, st = os.waitpid(pid, 0)
print("busy killed", os.WTERMSIG(st))
