"""The caller's stdin/stdout/stderr, handed to the sandbox as its fds 0-2.

These are the only host fds the app reaches, and only through read, write and
a few terminal ioctls. Reads never block the sentry: the task waits for the
host fd to become readable in the kernel's epoll.
"""

import fcntl
import os
import select
import stat

from ...abi import errno as E
from ...abi.errno import SyscallError
from .inode import S_IFIFO, File, FileSystem, Inode

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP = 0x5413, 0x5414, 0x540F, 0x5410
FIONREAD = 0x541B
TERMIOS_SIZE = 36  # the kernel's struct termios: 4 flags, c_line, c_cc[19]


class HostFS(FileSystem):
    name = "host"


_hostfs = HostFS()


class HostInode(Inode):
    def __init__(self, fd):
        s = os.fstat(fd)
        mode = s.st_mode
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            mode = S_IFIFO | 0o600
        super().__init__(mode, s.st_uid, s.st_gid, ino=s.st_ino, rdev=s.st_rdev)
        self.fs = _hostfs
        self.kernel = None
        self.fd = fd

    def open(self, flags, t=None):
        """Reopening (/dev/stdin, /proc/self/fd/0) shares the caller's stream."""
        return HostFile(self.kernel, os.dup(self.fd), flags, self)


class HostFile(File):
    def __init__(self, kernel, fd, flags, inode=None):
        if inode is None:
            inode = HostInode(fd)
            inode.kernel = kernel
        super().__init__(inode, flags)
        self.kernel = kernel
        self.fd = fd
        self.is_tty = os.isatty(fd)

    def _ready(self, ev):
        p = select.poll()
        p.register(self.fd, ev)
        return bool(p.poll(0))

    def read(self, t, n):
        if not self._ready(select.POLLIN):
            if self.flags & 0o4000:
                raise SyscallError(E.EAGAIN)
            t.block([self.kernel.host_fd_queue(self.fd, select.EPOLLIN)], t.deadline)
        try:
            return os.read(self.fd, n)
        except BlockingIOError:
            raise SyscallError(E.EAGAIN)
        except OSError as e:
            raise SyscallError(e.errno)

    def write(self, t, data):
        if not self._ready(select.POLLOUT):
            if self.flags & 0o4000:
                raise SyscallError(E.EAGAIN)
            t.block([self.kernel.host_fd_queue(self.fd, select.EPOLLOUT)], t.deadline)
        try:
            return os.write(self.fd, data)
        except BrokenPipeError:
            raise SyscallError(E.EPIPE)
        except OSError as e:
            raise SyscallError(e.errno)

    def lseek(self, off, whence):
        raise SyscallError(E.ESPIPE)

    def poll(self):
        p = select.poll()
        p.register(self.fd, select.POLLIN | select.POLLOUT)
        r = p.poll(0)
        return r[0][1] if r else 0

    def wait_queue(self, events=select.POLLIN | select.POLLOUT):
        # EPOLLIN/EPOLLOUT have the POLLIN/POLLOUT values; the host epoll
        # entry is one-shot, so waiters re-arm by asking again
        return self.kernel.host_fd_queue(self.fd, (events & (select.POLLIN | select.POLLOUT))
                                         or select.POLLIN)

    def ioctl(self, t, req, arg):
        if req in (TCGETS, TIOCGWINSZ, TIOCGPGRP) and self.is_tty:
            size = {TCGETS: TERMIOS_SIZE, TIOCGWINSZ: 8, TIOCGPGRP: 4}[req]
            try:
                out = fcntl.ioctl(self.fd, req, bytes(size))
            except OSError as e:
                raise SyscallError(e.errno)
            if req == TIOCGPGRP:
                out = t.tg.pgid.to_bytes(4, "little")
            t.mm.write(arg, out)
            return 0
        if req in (TCSETS, TCSETSW, TCSETSF, TIOCSWINSZ) and self.is_tty:
            size = TERMIOS_SIZE if req != TIOCSWINSZ else 8
            try:
                fcntl.ioctl(self.fd, req, t.mm.read(arg, size))
            except OSError as e:
                raise SyscallError(e.errno)
            return 0
        if req == TIOCSPGRP and self.is_tty:
            return 0
        if req == FIONREAD:
            try:
                out = fcntl.ioctl(self.fd, FIONREAD, bytes(4))
            except OSError as e:
                raise SyscallError(e.errno)
            t.mm.write(arg, out)
            return 0
        raise SyscallError(E.ENOTTY)

    def release(self):
        os.close(self.fd)
