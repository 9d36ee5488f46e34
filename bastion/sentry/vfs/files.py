"""Open file descriptions shared by most filesystems: regular files over an
inode's read_at/write_at, and directories over its readdir."""

import struct

from ...abi import errno as E
from ...abi.errno import SyscallError
from .inode import O_APPEND, File

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4


class RegularFile(File):
    """A seekable file whose bytes come from inode.read_at / inode.write_at."""

    seekable = True

    def read(self, t, n):
        data = self.inode.read_at(self.pos, n)
        self.pos += len(data)
        return data

    def pread(self, t, n, off):
        return self.inode.read_at(off, n)

    def write(self, t, data):
        if self.flags & O_APPEND:
            self.pos = self.inode.size
        n = self.inode.write_at(self.pos, data)
        self.pos += n
        return n

    def pwrite(self, t, data, off):
        if self.flags & O_APPEND:
            off = self.inode.size
        return self.inode.write_at(off, data)

    def lseek(self, off, whence):
        size = self.inode.size
        if whence == SEEK_SET:
            new = off
        elif whence == SEEK_CUR:
            new = self.pos + off
        elif whence == SEEK_END:
            new = size + off
        elif whence == SEEK_DATA:
            if off >= size:
                raise SyscallError(E.ENXIO)
            new = off
        elif whence == SEEK_HOLE:
            if off >= size:
                raise SyscallError(E.ENXIO)
            new = size
        else:
            raise SyscallError(E.EINVAL)
        if new < 0:
            raise SyscallError(E.EINVAL)
        self.pos = new
        return new


_DIRENT = struct.Struct("<QqHB")


class DirFile(File):
    """getdents64 over a snapshot of the directory taken at the first read."""

    seekable = True

    def __init__(self, inode, flags, dentry=None):
        super().__init__(inode, flags, dentry)
        self.entries = None

    def _load(self):
        parent = self.dentry.parent if self.dentry is not None and self.dentry.parent else self.dentry
        pino = parent.inode.ino if parent is not None else self.inode.ino
        self.entries = [(".", self.inode.ino, 4), ("..", pino, 4)] + list(self.inode.readdir())

    def getdents(self, size):
        """Pack linux_dirent64 records that fit in `size` bytes."""
        if self.entries is None:
            self._load()
        entries, pos, pack = self.entries, self.pos, _DIRENT.pack
        out = bytearray()
        while pos < len(entries):
            name, ino, dt = entries[pos]
            nb = name.encode("utf-8", "surrogateescape")
            reclen = (27 + len(nb)) & ~7  # 19 bytes of header, the name, a NUL, padded to 8
            if len(out) + reclen > size:
                if not out:
                    raise SyscallError(E.EINVAL)
                break
            pos += 1
            out += pack(ino, pos, reclen, dt)
            out += nb
            out += bytes(reclen - 19 - len(nb))
        self.pos = pos
        return bytes(out)

    def read(self, t, n):
        raise SyscallError(E.EISDIR)

    def pread(self, t, n, off):
        raise SyscallError(E.EISDIR)

    def write(self, t, data):
        raise SyscallError(E.EISDIR)

    def lseek(self, off, whence):
        if whence == SEEK_SET and off >= 0:
            self.pos = off
            if off == 0:
                self.entries = None
            return off
        if whence == SEEK_CUR and self.pos + off >= 0:
            self.pos += off
            return self.pos
        raise SyscallError(E.EINVAL)
