"""Open file descriptions shared by most filesystems: regular files over an
inode's read_at/write_at, and directories over its readdir."""

import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from ..task import RLIMIT_FSIZE
from .inode import O_APPEND, File

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4


def fsize_room(t, pos, n):
    """How many of n bytes written at pos RLIMIT_FSIZE lets into a regular
    file: all, those below the limit, or none: EFBIG, and SIGXFSZ to the
    writer (Linux's generic_write_check_limits). Callers test
    `pos + n > t.tg.rlimits[RLIMIT_FSIZE][0]` first (never, unlimited)."""
    limit = t.tg.rlimits[RLIMIT_FSIZE][0]
    if pos + n <= limit:
        return n
    if pos >= limit:
        xfsz(t)
    return limit - pos


def check_new_size(t, old, new):
    """A truncate or fallocate that grows a file past RLIMIT_FSIZE: EFBIG
    and SIGXFSZ (inode_newsize_ok)."""
    if new > old and new > t.tg.rlimits[RLIMIT_FSIZE][0]:
        xfsz(t)


def xfsz(t):
    tg = t.tg
    t.kernel.send_signal_task(t, S.SIGXFSZ, S.siginfo(S.SIGXFSZ, S.SI_USER, pid=tg.pid,
                                                      uid=tg.creds.ruid))
    raise SyscallError(E.EFBIG)


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
        if self.pos + len(data) > t.tg.rlimits[RLIMIT_FSIZE][0]:
            data = data[:fsize_room(t, self.pos, len(data))]
        n = self.inode.write_at(self.pos, data)
        self.pos += n
        return n

    def pwrite(self, t, data, off):
        if self.flags & O_APPEND:
            off = self.inode.size
        if off + len(data) > t.tg.rlimits[RLIMIT_FSIZE][0]:
            data = data[:fsize_room(t, off, len(data))]
        return self.inode.write_at(off, data)

    def lseek(self, off, whence):
        size = self.inode.size
        if whence == SEEK_SET:
            new = off
        elif whence == SEEK_CUR:
            new = self.pos + off
        elif whence == SEEK_END:
            new = size + off
        elif whence == SEEK_DATA or whence == SEEK_HOLE:
            if off >= size or off < 0:
                raise SyscallError(E.ENXIO)
            new = self.inode.seek_data(off, whence == SEEK_HOLE)
        else:
            raise SyscallError(E.EINVAL)
        if new < 0:
            raise SyscallError(E.EINVAL)
        self.pos = new
        return new


# linux_dirent64 with a name field of n bytes (NUL-padded by pack): _RECORD[n],
# for names up to NAME_MAX (255) bytes
_RECORD = [struct.Struct(f"<QqHB{n}s").pack for n in range(263)]


class DirFile(File):
    """getdents64 over a snapshot of the directory taken at the first read;
    or, where the inode has a host directory that lists exactly its entries
    (Inode.host_dir), the host's own records and offsets: find lists 60,000
    names and the sentry touches none of them."""

    seekable = True
    host = None  # a HostDir (goferfs) once asked for, False where there is none

    def __init__(self, inode, flags, dentry=None):
        super().__init__(inode, flags, dentry)
        self.records = None  # the snapshot: one packed linux_dirent64 per entry

    def _host(self):
        h = self.host
        if h is None:
            h = self.host = self.inode.host_dir() or False
        return h

    def _load(self):
        parent = self.dentry.parent if self.dentry is not None and self.dentry.parent else self.dentry
        pino = parent.inode.ino if parent is not None else self.inode.ino
        # packed once: d_off is the entry's index + 1, which never moves
        packs = _RECORD
        recs = [packs[5](self.inode.ino, 1, 24, 4, b"."), packs[5](pino, 2, 24, 4, b"..")]
        i = 2
        for name, ino, dt in self.inode.readdir():
            i += 1
            nb = name.encode("utf-8", "surrogateescape")
            reclen = (27 + len(nb)) & ~7  # 19 bytes of header, the name, a NUL, padded to 8
            recs.append(packs[reclen - 19](ino, i, reclen, dt, nb))
        self.records = recs

    def getdents_at(self, addr, size):
        h = self.host if self.host is not None else self._host()
        return h.getdents_at(addr, size) if h else -1

    def getdents(self, size):
        """linux_dirent64 records that fit in `size` bytes."""
        h = self.host if self.host is not None else self._host()
        if h:
            return h.getdents(size)
        if self.records is None:
            self._load()
        recs, pos = self.records, self.pos
        end, total, n = pos, 0, len(recs)
        while end < n:
            total += len(recs[end])
            if total > size:
                break
            end += 1
        if end == pos and pos < n:
            raise SyscallError(E.EINVAL)
        self.pos = end
        return b"".join(recs[pos:end])

    def read(self, t, n):
        raise SyscallError(E.EISDIR)

    def pread(self, t, n, off):
        raise SyscallError(E.EISDIR)

    def write(self, t, data):
        raise SyscallError(E.EISDIR)

    def lseek(self, off, whence):
        h = self.host if self.host is not None else self._host()
        if h:
            if whence == SEEK_SET and off == 0:
                # a rewind looks anew: the directory may have changed here
                # since (an overlay's name removed) and be merged now
                h.close()
                self.host = None
                return 0
            return h.lseek(off, whence)
        if whence == SEEK_SET and off >= 0:
            self.pos = off
            if off == 0:
                self.records = None
            return off
        if whence == SEEK_CUR and self.pos + off >= 0:
            self.pos += off
            return self.pos
        raise SyscallError(E.EINVAL)

    def release(self):
        if self.host:
            self.host.close()
