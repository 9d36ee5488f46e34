"""The floor under Bastion's ptrace platform on this host: a bare Python
tracer that runs raw_getppid under PTRACE_SYSEMU and answers each getppid
with 1, doing nothing else (waitpid, GETREGS, SETREGS, SYSEMU per syscall),
pinned to one CPU as Bastion's ptrace sentry is. Prints µs per syscall.
bench/run.py shows it under the getppid row, from the same run, so the
ptrace column can be read against what any Python ptrace tracer pays here.

    python3 bench/ptrace_floor.py PATH-TO-raw_getppid
"""

import ctypes
import os
import sys
import time

PTRACE_TRACEME, PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_SETOPTIONS, PTRACE_SYSEMU = 0, 12, 13, 0x4200, 31
PTRACE_O_EXITKILL = 0x100000
WALL = 0x40000000
ORIG_RAX, RAX = 15, 10  # indexes in struct user_regs_struct (27 longs)


def main(prog):
    libc = ctypes.CDLL(None, use_errno=True)
    ptrace = libc.ptrace
    ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    ptrace.restype = ctypes.c_long
    os.sched_setaffinity(0, (libc.sched_getcpu(),))
    pid = os.fork()
    if pid == 0:
        ptrace(PTRACE_TRACEME, 0, None, None)
        os.execv(prog, [prog])
    os.waitpid(pid, WALL)
    ptrace(PTRACE_SETOPTIONS, pid, None, PTRACE_O_EXITKILL)
    regs = (ctypes.c_ulong * 27)()
    ref = ctypes.byref(regs)
    n = 0
    start = time.perf_counter()
    ptrace(PTRACE_SYSEMU, pid, None, None)
    while True:
        os.waitpid(pid, WALL)
        ptrace(PTRACE_GETREGS, pid, None, ref)
        if regs[ORIG_RAX] != 110:
            break
        regs[RAX] = 1
        ptrace(PTRACE_SETREGS, pid, None, ref)
        ptrace(PTRACE_SYSEMU, pid, None, None)
        n += 1
    elapsed = time.perf_counter() - start
    os.kill(pid, 9)
    os.waitpid(pid, WALL)
    print(f"{elapsed / n * 1e6:.1f} us/syscall ({n} syscalls)")


if __name__ == "__main__":
    main(sys.argv[1])
