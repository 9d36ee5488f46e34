"""/dev: the sandbox's own device nodes (drivers/char/mem.c and friends)."""

import os

from ...abi import errno as E
from ...abi.errno import SyscallError
from .inode import S_IFCHR, S_IFDIR, File
from .memfs import MemFS, MemNode


class _DevFile(File):
    def lseek(self, off, whence):
        self.pos = 0
        return 0

    def pread(self, t, n, off):
        return self.read(t, n)

    def pwrite(self, t, data, off):
        return self.write(t, data)


class NullFile(_DevFile):
    def read(self, t, n):
        return b""

    def write(self, t, data):
        return len(data)


class ZeroFile(_DevFile):
    # mmap gives fresh zero pages, as mem.c's mmap_zero: private ones
    # anonymous, shared ones one shared anonymous range (shmem_zero_setup)
    maps_anonymous = True

    def read(self, t, n):
        return bytes(n)

    def write(self, t, data):
        return len(data)


class FullFile(ZeroFile):
    maps_anonymous = False  # /dev/full has no mmap

    def write(self, t, data):
        raise SyscallError(E.ENOSPC)


class RandomFile(_DevFile):
    def read(self, t, n):
        return os.urandom(n)

    def write(self, t, data):
        return len(data)


class _Driver:
    def __init__(self, cls):
        self.cls = cls

    def open(self, node, flags, t=None):
        return self.cls(node, flags)


class _TtyDriver:
    """/dev/tty: the caller's controlling terminal (vfs/pty.py), else the
    caller's terminal if the sandbox was given one."""

    def __init__(self, kernel):
        self.kernel = kernel

    def open(self, node, flags, t=None):
        from .pty import open_ctty
        f = open_ctty(self.kernel, t, flags, node) or self.kernel.open_host_tty(flags)
        if f is None:
            raise SyscallError(E.ENXIO)
        return f


def make_devfs(kernel):
    fs = MemFS("devtmpfs")
    root = MemNode(fs, S_IFDIR | 0o755)
    devices = {"null": (1, 3, NullFile), "zero": (1, 5, ZeroFile), "full": (1, 7, FullFile),
               "random": (1, 8, RandomFile), "urandom": (1, 9, RandomFile)}
    for name, (major, minor, cls) in devices.items():
        n = root.create(name, S_IFCHR | 0o666, 0, 0, os.makedev(major, minor))
        n.special = _Driver(cls)
    tty = root.create("tty", S_IFCHR | 0o666, 0, 0, os.makedev(5, 0))
    tty.special = _TtyDriver(kernel)
    from .pty import ptmx_driver
    root.create("ptmx", S_IFCHR | 0o666, 0, 0, os.makedev(5, 2)).special = ptmx_driver(kernel)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        root.symlink(name, target, 0, 0)
    root.create("shm", S_IFDIR | 0o1777, 0, 0)
    root.create("pts", S_IFDIR | 0o755, 0, 0)
    return fs, root
