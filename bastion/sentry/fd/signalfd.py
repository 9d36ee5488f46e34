"""signalfd (fs/signalfd.c): pending signals of the reader, read as records.
Signals in the mask are normally blocked by the program, so they stay
pending until read; the thread group's `signal_queue` wakes readers."""

import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from ..vfs.inode import O_CLOEXEC, O_NONBLOCK, O_RDWR, File
from . import POLLIN, file_of, s32
from .anon import anon_inode

SFD_CLOEXEC, SFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK
SIGINFO_SIZE = 128
# struct signalfd_siginfo: signo errno code pid uid fd tid band overrun trapno
# status int ptr utime stime addr addr_lsb ...
_SSI = struct.Struct("<IiiIIiIIIIiiQQQQH46x")


class SignalFd(File):
    def __init__(self, tg, mask, flags):
        super().__init__(anon_inode("[signalfd]"), O_RDWR | (flags & O_NONBLOCK))
        self.tg = tg
        self.mask = mask

    def _pending(self, t):
        return (t.pending | t.tg.shared_pending) & self.mask

    def read(self, t, n):
        if n < _SSI.size:
            raise SyscallError(E.EINVAL)
        out = bytearray()
        while len(out) + _SSI.size <= n:
            avail = self._pending(t)
            if not avail:
                break
            saved = t.sigmask
            t.sigmask = ~avail & 0xFFFFFFFFFFFFFFFF
            sig, info = t.kernel._dequeue(t)
            t.sigmask = saved
            out += _record(sig, info)
        if out:
            return bytes(out)
        if self.flags & O_NONBLOCK:
            raise SyscallError(E.EAGAIN)
        t.block([t.tg.signal_queue])

    def write(self, t, data):
        raise SyscallError(E.EINVAL)

    def poll(self):
        tasks = self.tg.tasks
        pending = self.tg.shared_pending
        for x in tasks:
            pending |= x.pending
        return POLLIN if pending & self.mask else 0

    def wait_queue(self, events=POLLIN):
        return self.tg.signal_queue


def _record(sig, info):
    """signalfd_siginfo from our siginfo_t bytes (kernel/signal.c layouts)."""
    _, errno, code = struct.unpack_from("<iii", info)
    pid, uid, status, value = 0, 0, 0, 0
    addr = 0
    if sig in (S.SIGSEGV, S.SIGBUS, S.SIGILL, S.SIGFPE, S.SIGTRAP) and code > 0:
        addr, = struct.unpack_from("<Q", info, 16)
    elif sig == S.SIGCHLD:
        pid, uid, status = struct.unpack_from("<IIi", info, 16)
    else:
        pid, uid, value = struct.unpack_from("<IIQ", info, 16)
    return _SSI.pack(sig, errno, code, pid, uid, 0, 0, 0, 0, 0, status, value & 0xFFFFFFFF,
                     value, 0, 0, addr, 0)


def sys_signalfd4(t, fd, maskp, size, flags, *_):
    if size != 8 or flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise SyscallError(E.EINVAL)
    mask = t.mm.read_u64(maskp) & ~S.UNBLOCKABLE
    fd = s32(fd)
    if fd != -1:
        f = file_of(t, fd, SignalFd)
        f.mask = mask
        t.tg.signal_queue.notify(POLLIN)
        return fd
    return t.files.install(SignalFd(t.tg, mask, flags), bool(flags & SFD_CLOEXEC))


def sys_signalfd(t, fd, maskp, size, *_):
    return sys_signalfd4(t, fd, maskp, size, 0)
