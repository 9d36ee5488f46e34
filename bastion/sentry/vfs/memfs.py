"""In-memory filesystem: tmpfs, and the writable upper half of the overlay root.

A MemNode may have a `lower` inode (from the gofer). Until it is changed it
shows the lower's attributes and bytes; the first change copies it up (data
into memory, directory entries merged lazily). Removing a name that the lower
directory has leaves a whiteout. Directory nodes keep their lower by object,
not by path, so renaming a lower-backed directory needs no copying.
So tmpfs is just a MemFS whose nodes have no lower.
"""

import os

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..mm.mm import page_up
from .files import DirFile, RegularFile
from .inode import (S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, FileSystem, Inode, dtype, now_ns)

WHITEOUT = None  # entry value that hides a lower name
PAGE = 4096


class Account:
    """Bytes of file data the sandbox's MemFS nodes hold in the sentry's own
    memory (not in the memory file), against a limit: past it, writes get
    ENOSPC as a full tmpfs gives. Linux sizes a tmpfs at half of RAM by
    default; the sandbox's memory limit (sentry/limits.py) lowers it. One
    sentry process is one kernel, so there is one account."""

    def __init__(self):
        self.used = 0
        self.limit = None
        self.others = None  # fn() -> other bytes counted against the limit (limits.py)
        # the kernel's memory file, where sparse files keep their bytes (boot)
        self.memfile = None

    def charge(self, delta):
        self.room(delta)
        self.used += delta

    def room(self, delta):
        """ENOSPC unless `delta` more bytes of file data fit."""
        if delta > 0 and self.limit is not None and \
                self.used + delta + (self.others() if self.others else 0) > self.limit:
            raise SyscallError(E.ENOSPC)


ACCOUNT = Account()


# A write or truncate that would leave a hole of this many bytes or more
# makes the file sparse first (MemNode._sparse)
HOLE_MIN = 64 << 10


def _reserve(memfile, n):
    """Memory-file offsets for a file of n bytes, and how many: room to grow
    (offsets cost nothing until touched). EFBIG past a quarter of the
    memory file (256 GiB)."""
    cap = max(1 << 20, 1 << (max(n, 1) - 1).bit_length())
    if cap > memfile.size // 4:
        raise SyscallError(E.EFBIG)
    return memfile.alloc(cap), cap


class MemFS(FileSystem):
    def __init__(self, name="tmpfs", readonly=False):
        super().__init__()
        self.name = name
        self.readonly = readonly

    def new_root(self, lower=None, mode=S_IFDIR | 0o1777):
        if lower is not None:
            return MemNode.from_lower(self, lower)
        n = MemNode(self, mode)
        return n


SEAL_SEAL, SEAL_SHRINK, SEAL_GROW, SEAL_WRITE, SEAL_FUTURE_WRITE, SEAL_EXEC = 1, 2, 4, 8, 0x10, 0x20
SEALS_WRITE = SEAL_WRITE | SEAL_FUTURE_WRITE
SEALS_DATA = SEAL_SHRINK | SEAL_GROW | SEALS_WRITE  # the ones writes and truncates check


class MemNode(Inode):
    # A directory over a lower one whose names (a name made, removed or
    # renamed here) or place (itself renamed: its host `..` is another
    # directory) differ from the lower's: its listing is merged here, never
    # the lower's host listing as it is (host_dir).
    diverged = False
    # memfd seals (fcntl F_ADD_SEALS, syscalls/fs.py _seals): a tmpfs file
    # has F_SEAL_SEAL alone, a memfd what it was made with and given
    seals = SEAL_SEAL
    # the file's memory-file range has been mapped MAP_SHARED: when the file
    # outgrows it, the mappings keep the old range (_grow)
    mapped = False

    def __init__(self, fs, mode, uid=0, gid=0, rdev=0, ino=None):
        super().__init__(mode, uid, gid, ino=ino, rdev=rdev)
        self.fs = fs
        self.lower = None
        self.data = bytearray() if mode & S_IFMT == S_IFREG else None
        self.entries = {} if mode & S_IFMT == S_IFDIR else None
        self.target = None
        self.special = None  # an object that opens device/fifo/socket nodes
        self.extent = None  # (memfile, offset, capacity) once mapped MAP_SHARED

    @classmethod
    def from_lower(cls, fs, lower):
        n = cls.__new__(cls)
        n.fs = fs
        n.lower = lower
        n.ino, n.mode, n.uid, n.gid = lower.ino, lower.mode, lower.uid, lower.gid
        n.nlink, n.rdev = lower.nlink, lower.rdev
        n.atime, n.mtime, n.ctime = lower.atime, lower.mtime, lower.ctime
        n.data = None
        n.entries = {} if lower.is_dir() else None
        n.target = None
        n.special = None
        n.extent = None
        return n

    # --- attributes -----------------------------------------------------
    @property
    def size(self):
        if self.extent is not None:
            return self.ext_size
        if self.data is not None:
            return len(self.data)
        if self.lower is not None:
            return self.lower.size
        if self.target is not None:
            return len(self.target)
        if self.entries is not None:
            return 4096 if self.fs.name != "tmpfs" else 40 + 20 * len(self.entries)
        return 0

    def blocks(self):
        if self.extent is not None:  # the pages that hold data, holes left out
            mf, base, cap = self.extent
            return sum(n for _, n in mf.populated(base, cap)) // 512
        if self.lower is not None and self.data is None:
            return self.lower.blocks()
        return (self.size + 4095) // 4096 * 8

    def seek_data(self, off, hole):
        if self.extent is None:
            return super().seek_data(off, hole)
        mf, base, _ = self.extent
        end = self.ext_size
        try:
            pos = os.lseek(mf.fd, base + off, os.SEEK_HOLE if hole else os.SEEK_DATA) - base
        except OSError:  # ENXIO: no data after off in the whole memory file
            pos = end
        if pos >= end:
            if not hole:
                raise SyscallError(E.ENXIO)
            pos = end
        return max(pos, off)

    def _copy_up(self):
        if self.data is None and self.mode & S_IFMT == S_IFREG:
            if self.lower:
                ACCOUNT.charge(self.lower.size)
                self.data = bytearray(self.lower.read_at(0, self.lower.size))
            else:
                self.data = bytearray()

    def truncate(self, size):
        if self.is_dir():
            raise SyscallError(E.EISDIR)
        if not self.is_reg():
            raise SyscallError(E.EINVAL)
        if self.seals & SEALS_DATA and (size < self.size and self.seals & SEAL_SHRINK or
                                        size > self.size and self.seals & SEAL_GROW):
            raise SyscallError(E.EPERM)
        if self.extent is None and size >= self.size + HOLE_MIN:
            self._sparse(size)
        if self.extent is not None:
            mf, off, cap = self.extent
            if size > cap:
                self._grow(size)
                mf, off, cap = self.extent
            if size < self.ext_size:  # (and blocks fallocate put past the end)
                self._zero(size, cap)
            self.ext_size = size
            self.mtime = self.ctime = now_ns()
            return
        self._copy_up()
        ACCOUNT.charge(size - len(self.data))
        if size < len(self.data):
            del self.data[size:]
        else:
            self.data.extend(bytes(size - len(self.data)))
        self.mtime = self.ctime = now_ns()

    def _zero(self, start, end):
        """Zeros in [start, end) of the file's memory-file range: whole pages
        given back to the host (holes again), the edges written."""
        mf, base, _ = self.extent
        lo, hi = page_up(start), end & ~(PAGE - 1)
        if lo < hi:
            mf.view[base + start:base + lo] = bytes(lo - start)
            mf.zero(base + lo, hi - lo)
            mf.view[base + hi:base + end] = bytes(end - hi)
        else:
            mf.view[base + start:base + end] = bytes(end - start)

    def allocate(self, off, length, keep_size):
        """fallocate: blocks for [off, off+length), the size grown to cover
        them unless `keep_size`."""
        end = off + length
        if self.extent is None and end >= self.size + HOLE_MIN:
            self._sparse(end)
        if self.extent is not None:
            if end > self.extent[2]:
                self._grow(end)
            mf, base, cap = self.extent
            ACCOUNT.room(length)
            # zeros written into the holes: the host's fallocate on a memfd
            # reserves pages that SEEK_DATA (and so blocks()) does not see
            pos = base + off
            for data, n in list(mf.populated(pos, length)) + [(base + end, 0)]:
                while pos < data:
                    k = min(data - pos, 1 << 20)
                    os.pwrite(mf.fd, bytes(k), pos)
                    pos += k
                pos = data + n
            if not keep_size and end > self.ext_size:
                self.ext_size = end
                self.ctime = now_ns()
        elif not keep_size and end > self.size:
            self.truncate(end)

    def punch_hole(self, off, length):
        """fallocate(PUNCH_HOLE): zeros in [off, off+length), the size kept."""
        end = min(off + length, self.size)
        if off >= end:
            return
        if self.extent is None:
            self._copy_up()
            self.data[off:end] = bytes(end - off)
        else:
            self._zero(off, end)
        self.mtime = self.ctime = now_ns()

    # --- file data ------------------------------------------------------
    def read_at(self, off, n):
        if self.extent is not None:
            # pread, not a slice of the mapping: a hole read through the
            # mapping would get a page of its own
            mf, base, _ = self.extent
            end = min(off + n, self.ext_size)
            return os.pread(mf.fd, end - off, base + off) if end > off else b""
        if self.data is None:
            return self.lower.read_at(off, n) if self.lower is not None else b""
        return bytes(self.data[off:off + n])

    def write_at(self, off, data):
        self.fs.check_writable()
        if self.seals & SEALS_DATA and (self.seals & SEALS_WRITE or
                                        self.seals & SEAL_GROW and off + len(data) > self.size):
            raise SyscallError(E.EPERM)
        if self.extent is None and off >= self.size + HOLE_MIN:
            self._sparse(off + len(data))
        if self.extent is not None:
            end = off + len(data)
            if end > self.ext_size:
                ACCOUNT.room(end - self.ext_size)
            if end > self.extent[2]:
                self._grow(end)
            mf, base, _ = self.extent
            mf.view[base + off:base + end] = data
            self.ext_size = max(self.ext_size, end)
            self.mtime = self.ctime = now_ns()
            return len(data)
        self._copy_up()
        d = self.data
        end = off + len(data)
        if end > len(d):
            ACCOUNT.charge(end - len(d))
        if off > len(d):
            d.extend(bytes(off - len(d)))
        d[off:end] = data
        self.mtime = self.ctime = now_ns()
        return len(data)

    def cache_source(self):
        """Unchanged lower files map their lower's cached pages."""
        if self.data is None and self.extent is None and self.lower is not None:
            return self.lower.cache_source()
        return None

    # --- the file's bytes in the memory file: shared mappings, holes ---------
    def shared_extent(self, memfile, length):
        """The memory-file offset of byte 0, with at least `length` bytes
        reserved. Later reads, writes and every MAP_SHARED mapping use it."""
        self.mapped = True
        return self._extent(memfile, length)

    def _sparse(self, length):
        """Before a write or truncate leaves a big hole: the bytes move into
        the memory file, where pages never written take no memory and
        SEEK_HOLE finds them (Linux's tmpfs is sparse: a 100 MiB hole costs
        nothing). Not without a kernel's memory file (a bare MemFS)."""
        if ACCOUNT.memfile is not None and self.mode & S_IFMT == S_IFREG:
            self._extent(ACCOUNT.memfile, length)

    def _extent(self, memfile, length):
        if self.extent is None:
            self._copy_up()
            data = self.data
            off, cap = _reserve(memfile, max(len(data), length))
            memfile.view[off:off + len(data)] = data
            self.extent = (memfile, off, cap)
            self.ext_size = len(data)
            self.data = None
            ACCOUNT.charge(-len(data))
        elif length > self.extent[2]:
            self._grow(length)
        return self.extent[1]

    def _grow(self, need):
        """Move to a bigger extent (the pages that hold data copied, holes
        kept). Mappings made before keep the old pages: a file grown past
        its reservation while mapped loses coherence; one never mapped
        gives the old range back."""
        mf, off, cap = self.extent
        noff, ncap = _reserve(mf, need)
        mf.copy(noff, off, cap)
        self.extent = (mf, noff, ncap)
        if not self.mapped:
            mf.free(off, cap)

    def __del__(self):  # the last name, open file and mapping are gone
        data = getattr(self, "data", None)
        if data:
            ACCOUNT.used -= len(data)
        ext = getattr(self, "extent", None)
        if ext is not None:
            try:
                ext[0].free(ext[1], ext[2])
            except (OSError, ValueError):
                pass  # the memory file is already closed (sentry exit)

    def readlink(self):
        if self.mode & S_IFMT != S_IFLNK:
            raise SyscallError(E.EINVAL)
        if self.target is None and self.lower is not None:
            return self.lower.readlink()
        return self.target

    def open(self, flags, t=None):
        kind = self.mode & S_IFMT
        if kind == S_IFREG:
            return RegularFile(self, flags)
        if kind == S_IFDIR:
            return DirFile(self, flags)
        if self.special is not None:
            return self.special.open(self, flags, t)
        raise SyscallError(E.ENXIO)

    # --- directories ----------------------------------------------------
    def lookup(self, name, rest=(), opening=False):
        ents = self.entries
        if ents is None:
            raise SyscallError(E.ENOTDIR)
        if name in ents:
            n = ents[name]
            if n is WHITEOUT:
                raise SyscallError(E.ENOENT)
            return n
        if self.lower is None:
            raise SyscallError(E.ENOENT)
        n = MemNode.from_lower(self.fs, self.lower.lookup(name, rest, opening))
        ents[name] = n
        return n

    def readdir(self):
        """The lower's names in the lower's order (the host's, as Linux's
        overlayfs lists them), less those we hide, then names made here.
        Lower names are listed without wrapping them: no attribute fetches."""
        ents = self.entries
        if ents is None:
            raise SyscallError(E.ENOTDIR)
        if self.lower is None:
            return [(k, v.ino, dtype(v.mode)) for k, v in ents.items() if v is not WHITEOUT]
        if not ents:
            return self.lower.readdir()
        out = []
        listed = set()
        for e in self.lower.readdir():
            name = e[0]
            if name not in ents:
                out.append(e)
            else:
                v = ents[name]  # a whiteout is None: not .get's "missing"
                if v is not WHITEOUT:
                    out.append((name, v.ino, dtype(v.mode)))
            listed.add(name)
        out += [(k, v.ino, dtype(v.mode)) for k, v in ents.items()
                if v is not WHITEOUT and k not in listed]
        return out

    def host_dir(self):
        if self.lower is None or self.diverged or self.entries is None:
            return None
        return self.lower.host_dir()

    def _exists(self, name):
        try:
            self.lookup(name)
            return True
        except SyscallError:
            return False

    def _add(self, name, node):
        self.fs.check_writable()
        if self.entries is None:
            raise SyscallError(E.ENOTDIR)
        if self.nlink == 0:  # a removed directory takes no new names
            raise SyscallError(E.ENOENT)
        if self._exists(name):
            raise SyscallError(E.EEXIST)
        self.entries[name] = node
        self.diverged = True
        self.mtime = self.ctime = now_ns()
        if node.is_dir():
            self.nlink += 1
        return node

    def create(self, name, mode, uid, gid, rdev=0):
        return self._add(name, MemNode(self.fs, mode, uid, gid, rdev))

    def symlink(self, name, target, uid, gid):
        n = MemNode(self.fs, S_IFLNK | 0o777, uid, gid)
        n.target = target
        return self._add(name, n)

    def link(self, name, inode):
        if inode.fs is not self.fs:
            raise SyscallError(E.EXDEV)
        if inode.is_dir():
            raise SyscallError(E.EPERM)
        self._add(name, inode)
        inode.nlink += 1
        inode.ctime = now_ns()

    def _lower_has(self, name):
        if self.lower is None:
            return False
        try:
            self.lower.lookup(name)
            return True
        except SyscallError:
            return False

    def _remove(self, name):
        if self._lower_has(name):
            self.entries[name] = WHITEOUT
        else:
            self.entries.pop(name, None)
        self.diverged = True
        self.mtime = self.ctime = now_ns()

    def unlink(self, name, rmdir=False):
        self.fs.check_writable()
        node = self.lookup(name)
        if rmdir:
            if not node.is_dir():
                raise SyscallError(E.ENOTDIR)
            if node.readdir():
                raise SyscallError(E.ENOTEMPTY)
            self.nlink -= 1
        elif node.is_dir():
            raise SyscallError(E.EISDIR)
        self._remove(name)
        node.nlink -= 1 if not rmdir else node.nlink
        node.ctime = now_ns()

    def rename(self, name, newdir, newname, flags=0):
        self.fs.check_writable()
        if not isinstance(newdir, MemNode) or newdir.fs is not self.fs:
            raise SyscallError(E.EXDEV)
        node = self.lookup(name)
        try:
            old = newdir.lookup(newname)
        except SyscallError:
            old = None
        self.diverged = newdir.diverged = node.diverged = True
        if old is not None:
            old.diverged = True
        if flags & 1 and old is not None:  # RENAME_NOREPLACE
            raise SyscallError(E.EEXIST)
        if flags & 2:  # RENAME_EXCHANGE
            if old is None:
                raise SyscallError(E.ENOENT)
            self.entries[name], newdir.entries[newname] = old, node
            return
        if old is node:
            return
        if old is not None:
            if node.is_dir():
                if not old.is_dir():
                    raise SyscallError(E.ENOTDIR)
                if old.readdir():
                    raise SyscallError(E.ENOTEMPTY)
                newdir.nlink -= 1
            elif old.is_dir():
                raise SyscallError(E.EISDIR)
            old.nlink -= 1
        self._remove(name)
        newdir.entries[newname] = node
        if node.is_dir() and newdir is not self:
            self.nlink -= 1
            newdir.nlink += 1
        newdir.mtime = newdir.ctime = node.ctime = now_ns()
