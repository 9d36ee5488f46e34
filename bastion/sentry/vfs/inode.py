"""Inodes and open file descriptions: the interfaces every filesystem implements.

An Inode answers metadata and directory operations; `open` gives a File (an
open file description, shared by dup and fork). Defaults raise the errno Linux
gives when an operation does not apply, so filesystems implement only what
they have.
"""

import itertools
import stat as st
import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError

S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, st.S_IFDIR, st.S_IFREG, st.S_IFLNK
S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK = st.S_IFIFO, st.S_IFCHR, st.S_IFBLK, st.S_IFSOCK

O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000
O_DSYNC, O_ASYNC, O_DIRECT, O_LARGEFILE, O_DIRECTORY, O_NOFOLLOW = 0o10000, 0o20000, 0o40000, 0o100000, 0o200000, 0o400000
O_NOATIME, O_CLOEXEC, O_SYNC, O_PATH, O_TMPFILE = 0o1000000, 0o2000000, 0o4010000, 0o10000000, 0o20200000
# status flags that F_SETFL may change (fs/fcntl.c SETFL_MASK)
SETFL_MASK = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME

DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


def dtype(mode):
    return (mode & S_IFMT) >> 12


_ino = itertools.count(1000)


def new_ino():
    return next(_ino)


def now_ns():
    return time.time_ns()


class Inode:
    """Metadata plus directory/file operations of one filesystem object."""

    fs = None  # the FileSystem it belongs to
    # Linux's i_writecount: > 0, open file descriptions that may write it;
    # < 0, address spaces running it as their program (exec). Either keeps
    # the other out with ETXTBSY (get_write_access, deny_write_access).
    writecount = 0

    def __init__(self, mode, uid=0, gid=0, ino=None, rdev=0):
        self.ino = ino if ino is not None else new_ino()
        self.mode = mode
        self.uid, self.gid = uid, gid
        self.nlink = 2 if st.S_ISDIR(mode) else 1
        self.rdev = rdev
        t = now_ns()
        self.atime = self.mtime = self.ctime = t

    # --- metadata -------------------------------------------------------
    @property
    def size(self):
        return 0

    def blocks(self):
        return (self.size + 511) // 512

    def cache_source(self):
        """The inode whose page cache (GoferInode.page_cache) a read-only
        private mapping of this file borrows, or None: a copy of its bytes."""
        return None

    def seek_data(self, off, hole):
        """Where lseek's SEEK_DATA (or with `hole`, SEEK_HOLE) lands from off
        (< size): a file without holes has data up to its end."""
        return self.size if hole else off

    def refresh(self):
        """Bring attributes up to date (remote filesystems)."""

    def is_dir(self):
        return self.mode & S_IFMT == S_IFDIR

    def is_link(self):
        return self.mode & S_IFMT == S_IFLNK

    def is_reg(self):
        return self.mode & S_IFMT == S_IFREG

    def setattr(self, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        self.fs.check_writable()
        if size is not None:
            self.truncate(size)
        if mode is not None:
            self.mode = (self.mode & S_IFMT) | (mode & 0o7777)
        if uid is not None:
            self.uid = uid
        if gid is not None:
            self.gid = gid
        if atime is not None:
            self.atime = atime
        if mtime is not None:
            self.mtime = mtime
        self.ctime = now_ns()

    def truncate(self, size):
        raise SyscallError(E.EISDIR if self.is_dir() else E.EINVAL)

    # --- directories ----------------------------------------------------
    def lookup(self, name, rest=(), opening=False):
        """The inode `name` names in this directory. `rest`: the names that
        follow it in the path being walked, and `opening`: the walk is for
        an open of its last name; hints for a filesystem that can fetch
        several levels, and the file, in one go (goferfs)."""
        raise SyscallError(E.ENOTDIR)

    def readdir(self):
        """[(name, ino, dtype)] without . and .."""
        raise SyscallError(E.ENOTDIR)

    def host_dir(self):
        """A host directory whose getdents64 records are this one's as they
        are (goferfs.HostDir), newly opened for one open file, or None."""
        return None

    def create(self, name, mode, uid, gid, rdev=0):
        raise SyscallError(E.ENOTDIR if not self.is_dir() else E.EPERM)

    def symlink(self, name, target, uid, gid):
        raise SyscallError(E.EPERM)

    def link(self, name, inode):
        raise SyscallError(E.EPERM)

    def unlink(self, name, rmdir=False):
        raise SyscallError(E.EPERM)

    def rename(self, name, newdir, newname, flags=0):
        raise SyscallError(E.EXDEV)

    # --- files ------------------------------------------------------------
    def readlink(self):
        raise SyscallError(E.EINVAL)

    def open(self, flags, t=None):
        """A new open file description; `t` is the opening task, for opens
        that may block (FIFOs)."""
        raise SyscallError(E.ENXIO)

    def read_at(self, off, n):
        """Bytes of a regular file (used by read, mmap and exec)."""
        raise SyscallError(E.EINVAL)


def get_write_access(inode):
    if inode.writecount < 0:  # a process runs it
        raise SyscallError(E.ETXTBSY)
    inode.writecount += 1


def put_write_access(inode):
    inode.writecount -= 1


def deny_write_access(inode):
    if inode.writecount > 0:  # open for writing
        raise SyscallError(E.ETXTBSY)
    inode.writecount -= 1


def allow_write_access(inode):
    inode.writecount += 1


class File:
    """An open file description."""

    seekable = False
    release_hooks = None  # [fn(file)] run before release(), e.g. to leave epoll sets

    def __init__(self, inode, flags, dentry=None):
        self.inode = inode
        self.flags = flags
        self.dentry = dentry
        self.pos = 0
        self.refs = 0
        self.locks = None

    @property
    def readable(self):
        return (self.flags & O_ACCMODE) != O_WRONLY and not self.flags & O_PATH

    @property
    def writable(self):
        return (self.flags & O_ACCMODE) != O_RDONLY and not self.flags & O_PATH

    def read(self, t, n):
        raise SyscallError(E.EINVAL)

    def write(self, t, data):
        raise SyscallError(E.EINVAL)

    def pread(self, t, n, off):
        raise SyscallError(E.ESPIPE)

    def pwrite(self, t, data, off):
        raise SyscallError(E.ESPIPE)

    def lseek(self, off, whence):
        raise SyscallError(E.ESPIPE)

    def getdents(self, size):
        raise SyscallError(E.ENOTDIR)

    def fdinfo(self):
        """Lines of /proc/PID/fdinfo/FD of its own kind (a pidfd's Pid:)."""
        return ""

    def getdents_at(self, addr, size):
        """Host records straight into sentry memory at addr (an app buffer in
        the memory file), where this file has them (a HostDir): their byte
        count, or -1 where it has not (then getdents)."""
        return -1

    def ioctl(self, t, req, arg):
        raise SyscallError(E.ENOTTY)

    def poll(self):
        """Ready events (POLLIN=1, POLLOUT=4, POLLERR=8, POLLHUP=0x10)."""
        return 0x5

    def wait_queue(self, events=0x5):
        """The WaitQueue notified when poll() may change for `events`, or None
        if readiness never changes (then poll/epoll never wait on it)."""
        return None

    def release(self):
        """The last reference went away."""


class FileSystem:
    name = "none"
    readonly = False
    cache_dentries = True  # False for synthetic trees whose names change on their own
    _devs = itertools.count(0x20)

    def __init__(self):
        self.dev = next(FileSystem._devs)

    def check_writable(self):
        if self.readonly:
            raise SyscallError(E.EROFS)


STAT_FMT = struct.Struct("<QQQIIIxxxxQqqqQQQQQQ24x")  # struct stat (x86-64), 144 bytes


def pack_stat(inode, dev):
    a, m, c = inode.atime, inode.mtime, inode.ctime
    return STAT_FMT.pack(dev, inode.ino, inode.nlink, inode.mode, inode.uid, inode.gid,
                         inode.rdev, inode.size, 4096, inode.blocks(),
                         a // 10**9, a % 10**9, m // 10**9, m % 10**9, c // 10**9, c % 10**9)
