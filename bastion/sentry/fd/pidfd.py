"""pidfds (kernel/pid.c, pidfd_open(2)): a file that names a process, not
a number the process's end frees for reuse. It polls readable once the
process has exited (and hung up once it is reaped), waitid(P_PIDFD) waits
for it, pidfd_send_signal signals it and pidfd_getfd copies its fds.

A pidfd names a whole process (a thread group leader); PIDFD_THREAD and
CLONE_PIDFD with CLONE_THREAD (Linux 6.9) give EINVAL, as before 6.9."""

import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from ..vfs.inode import O_NONBLOCK, O_RDWR, File
from . import POLLHUP, POLLIN, s32
from .anon import anon_inode

PIDFD_NONBLOCK = O_NONBLOCK


class PidFd(File):
    def __init__(self, tg, flags):
        super().__init__(anon_inode("pidfd"), O_RDWR | (flags & O_NONBLOCK))
        self.tg = tg

    def read(self, t, n):
        raise SyscallError(E.EINVAL)

    def write(self, t, data):
        raise SyscallError(E.EINVAL)

    def poll(self):
        if reaped(self.tg):
            return POLLIN | POLLHUP
        return POLLIN if self.tg.zombie else 0

    def wait_queue(self, events=POLLIN):
        return self.tg.pidfd_queue

    def fdinfo(self):
        pid = -1 if reaped(self.tg) else self.tg.pid
        return f"Pid:\t{pid}\nNSpid:\t{pid}\n"


def reaped(tg):
    """Whether tg is gone (its pid free, or another process's by now)."""
    return tg.kernel.groups.get(tg.pid) is not tg


def install(t, tg, flags=0):
    """A new pidfd of tg in t's table (always close-on-exec, as Linux's)."""
    return t.files.install(PidFd(tg, flags), True)


def target(t, fd):
    """The process pidfd `fd` names: EBADF for a bad fd or another file."""
    f = t.files.get(s32(fd))
    if not isinstance(f, PidFd):
        raise SyscallError(E.EBADF)
    return f


def sys_pidfd_open(t, pid, flags, *_):
    pid = s32(pid)
    if flags & ~PIDFD_NONBLOCK or pid <= 0:
        raise SyscallError(E.EINVAL)
    k = t.kernel
    tg = k.groups.get(pid)  # a process that exited is there until reaped: a pidfd of it
    if tg is None:
        # a thread that is not its process's leader: Linux before 6.9's answer
        raise SyscallError(E.EINVAL if pid in k.tasks else E.ESRCH)
    return install(t, tg, flags)


PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4


def sys_pidfd_send_signal(t, pidfd, sig, uinfo, flags, *_):
    """In Linux's order of checks: flags, the fd, the siginfo, then the
    target (ESRCH once reaped), the signal number and the permission."""
    from ..syscalls.signal import _may_signal, _siginfo_user
    if flags & ~7 or flags & (flags - 1):  # one scope at most
        raise SyscallError(E.EINVAL)
    tg = target(t, pidfd).tg
    k = t.kernel
    if uinfo:
        info = t.mm.read(uinfo, 128)
        signo, _errno, code = struct.unpack_from("<iii", info)
        if signo != sig:
            raise SyscallError(E.EINVAL)
        # only to itself may a process send what looks like the kernel's or kill's
        if (code >= 0 or code == S.SI_TKILL) and (
                tg is not t.tg or flags & PIDFD_SIGNAL_PROCESS_GROUP):
            raise SyscallError(E.EPERM)
    else:
        info = _siginfo_user(t, sig)
    if reaped(tg):
        raise SyscallError(E.ESRCH)
    if sig < 0 or sig > S.NSIG:
        raise SyscallError(E.EINVAL)
    _may_signal(t, tg)
    if not sig or tg.zombie:  # a zombie takes no signals, as kill(2) to it
        return 0
    if flags & PIDFD_SIGNAL_PROCESS_GROUP:
        k.kill_pgrp(tg.pgid, sig, info)
    elif flags & PIDFD_SIGNAL_THREAD:
        k.send_signal_task(tg.tasks[0], sig, info)
    else:
        k.send_signal_group(tg, sig, info)
    return 0


def sys_pidfd_getfd(t, pidfd, targetfd, flags, *_):
    if flags:
        raise SyscallError(E.EINVAL)
    tg = target(t, pidfd).tg
    if reaped(tg):
        raise SyscallError(E.ESRCH)
    from ..ptrace import may_attach
    may_attach(t, tg)
    if not tg.tasks:  # exited: its files are gone
        raise SyscallError(E.EBADF)
    return t.files.install(tg.tasks[0].files.get(s32(targetfd)), True)

