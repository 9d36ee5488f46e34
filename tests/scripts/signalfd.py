"""signalfd: blocked signals read as records (SIGUSR1 from kill, SIGCHLD from a child)."""
import os, signal, struct, select, ctypes
libc = ctypes.CDLL(None, use_errno=True)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGCHLD])
mask = struct.pack("<Q", (1 << (signal.SIGUSR1 - 1)) | (1 << (signal.SIGCHLD - 1)))
fd = libc.signalfd(-1, mask, 0)
print("fd ok", fd > 2)
os.kill(os.getpid(), signal.SIGUSR1)
p = select.poll(); p.register(fd, select.POLLIN)
print("poll", p.poll(1000))
rec = os.read(fd, 128)
signo, errno_, code, pid, uid = struct.unpack_from("<IiiII", rec)
print("got", signal.Signals(signo).name, code == 0, pid == os.getpid())
child = os.fork()
if child == 0:
    os._exit(7)
rec = os.read(fd, 128)
signo, errno_, code, pid, uid = struct.unpack_from("<IiiII", rec)
status = struct.unpack_from("<i", rec, 48)[0]
print("chld", signal.Signals(signo).name, code, pid == child, status)
os.waitpid(child, 0)
os.set_blocking(fd, False)
try:
    os.read(fd, 128)
except BlockingIOError:
    print("empty EAGAIN")
