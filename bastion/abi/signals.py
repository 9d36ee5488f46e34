"""Linux x86-64 signal numbers, actions and struct layouts (asm/signal.h)."""

import struct

NSIG = 64
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = 9, 10, 11, 12, 13, 14, 15, 16
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU = 17, 18, 19, 20, 21, 22, 23, 24
SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = 25, 26, 27, 28, 29, 30, 31
SIGRTMIN = 32

NAMES = {v: k for k, v in dict(globals()).items() if k.startswith("SIG") and isinstance(v, int)
         and k not in ("SIGRTMIN",)}

SIG_DFL, SIG_IGN = 0, 1
SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO = 0x1, 0x2, 0x4
SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x08000000, 0x10000000, 0x40000000, 0x80000000
SA_RESTORER = 0x04000000
SS_ONSTACK, SS_DISABLE = 1, 2

# si_code values
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL = 0, 0x80, -1, -2, -6
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRERR = 2  # a page past the end of a mapped file

UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

_CORE = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}
_IGNORE = {SIGCHLD, SIGURG, SIGWINCH}
_STOP = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}

TERM, CORE, IGNORE, STOP, CONT = "term", "core", "ignore", "stop", "cont"


def default_action(sig):
    if sig in _CORE:
        return CORE
    if sig in _IGNORE:
        return IGNORE
    if sig in _STOP:
        return STOP
    if sig == SIGCONT:
        return CONT
    return TERM


def bit(sig):
    return 1 << (sig - 1)


def child_end(status):
    """(si_code, si_status) of a child's end, from its wait status: what
    SIGCHLD and waitid report."""
    if status & 0x7F:
        return (CLD_DUMPED if status & 0x80 else CLD_KILLED), status & 0x7F
    return CLD_EXITED, status >> 8


def siginfo(signo, code, errno=0, pid=0, uid=0, status=None, addr=None, value=None):
    """A 128-byte siginfo_t."""
    head = struct.pack("<iii4x", signo, errno, code)
    if addr is not None:
        body = struct.pack("<Q", addr)
    elif status is not None:
        body = struct.pack("<iIi4xQQ", pid, uid, status, 0, 0)
    elif value is not None:
        body = struct.pack("<iIQ", pid, uid, value)
    else:
        body = struct.pack("<iI", pid, uid)
    return (head + body).ljust(128, b"\0")
