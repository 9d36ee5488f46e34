"""File syscalls: open/close, read/write and friends, metadata, directories."""

import os
import struct
import time

from ...abi import errno as E
from ...abi.caps import CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_MKNOD
from ...abi.errno import SyscallError
from ..vfs import inode as I
from ..creds import S_ISGID, S_ISUID, S_IXGRP, owner_or_capable, permission
from ..fd.anon import AnonFS
from ..vfs.inode import File, pack_stat
from ..vfs.files import check_new_size
from ..fd.inotify import (IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE,
                          IN_DELETE_SELF, IN_ISDIR, IN_MODIFY, IN_MOVE_SELF, IN_MOVED_FROM,
                          IN_MOVED_TO, IN_OPEN, notify, notify_dentry)
from ..mm.mm import PROT_READ, PROT_WRITE
from ..vfs.path import MS_NODEV, Dentry
from ..vfs.pipe import Pipe
from .util import (AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
                   AT_SYMLINK_NOFOLLOW, dir_dentry, path_arg, resolve_at, s32, s64)

MAX_RW = 0x7FFFF000  # MAX_RW_COUNT
IOV_MAX = 1024


class PathFile(File):
    """An O_PATH descriptor: names a file, cannot read, write, seek or
    list it (Linux's fdget gives those EBADF)."""

    def read(self, t, n):
        raise SyscallError(E.EBADF)

    def write(self, t, data):
        raise SyscallError(E.EBADF)

    def lseek(self, off, whence):
        raise SyscallError(E.EBADF)


def _fd(t, fd):
    """fd's open file for a call that an O_PATH descriptor cannot make
    (Linux's fdget, not fdget_raw: EBADF)."""
    f = t.files.get(s32(fd))
    if f.flags & I.O_PATH:
        raise SyscallError(E.EBADF)
    return f


def _start(t, dirfd, path):
    return None if path.startswith("/") else dir_dentry(t, dirfd)


def may_access(t, inode, want):
    """EACCES unless t may `want` (4 read, 2 write, 1 exec) on inode."""
    if not permission(t.tg.creds, inode, want):
        raise SyscallError(E.EACCES)


def may_delete(t, dir_inode, victim):
    """fs/namei.c may_delete: write and search rights on the directory and,
    in a sticky one (/tmp), being the file's owner or the directory's, or
    CAP_FOWNER."""
    may_access(t, dir_inode, 3)
    c = t.tg.creds
    if dir_inode.mode & 0o1000 and c.fsuid != victim.uid and c.fsuid != dir_inode.uid \
            and not c.capable(CAP_FOWNER):
        raise SyscallError(E.EPERM)


def _mount_ro(d):
    return d.mount.flags & 1 or d.inode.fs.readonly


def do_open(t, dirfd, path, flags, mode, depth=0):
    k = t.kernel
    acc = flags & I.O_ACCMODE
    if flags & I.O_TMPFILE == I.O_TMPFILE:
        return _open_tmpfile(t, dirfd, path, flags, mode)
    if acc == 3 and not flags & I.O_PATH:
        raise SyscallError(E.EINVAL)
    start = _start(t, dirfd, path)
    follow = not flags & I.O_NOFOLLOW
    created = False
    if flags & I.O_CREAT and not flags & I.O_PATH:
        parent, name = k.lookup_parent(t, path, start)
        if name in (".", "..") or path.endswith("/"):
            raise SyscallError(E.EISDIR)
        try:
            d = k.lookup(t, name, follow, parent)
            if flags & I.O_EXCL:
                raise SyscallError(E.EEXIST)
        except SyscallError as e:
            if e.errno != E.ENOENT:
                raise
            if follow and not flags & I.O_EXCL:  # a dangling symlink: create its target
                try:
                    link = parent.child(name)
                except SyscallError:
                    link = None
                if link is not None and link.inode.is_link() and depth < 40:
                    target = link.inode.readlink()
                    return do_open(t, dirfd, target if target.startswith("/") else
                                   parent.path(t.fs.root).rstrip("/") + "/" + target,
                                   flags, mode, depth + 1)
            if _mount_ro(parent):
                raise SyscallError(E.EROFS)
            may_access(t, parent.inode, 3)
            c = t.tg.creds
            parent.inode.create(name, I.S_IFREG | (mode & 0o7777 & ~t.fs.umask), c.fsuid, c.fsgid)
            parent.forget(name)
            d = parent.child(name)
            created = True
            if k.inotify_watches:
                notify(k, parent.inode, IN_CREATE, name)
    else:
        d = k.lookup(t, path, follow, start, acc == I.O_RDONLY and not flags & I.O_PATH)
    inode = d.inode
    if flags & I.O_PATH:
        f = PathFile(inode, flags & (I.O_PATH | I.O_CLOEXEC | I.O_DIRECTORY | I.O_NOFOLLOW), d)
        return t.files.install(f, bool(flags & I.O_CLOEXEC))
    if inode.is_link():
        raise SyscallError(E.ELOOP)
    if flags & I.O_DIRECTORY and not inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    writing = acc != I.O_RDONLY or flags & I.O_TRUNC
    if inode.is_dir() and (acc != I.O_RDONLY or flags & I.O_CREAT):
        raise SyscallError(E.EISDIR)
    if inode.mode & 0o170000 in (I.S_IFCHR, I.S_IFBLK) and d.mount.flags & MS_NODEV:
        raise SyscallError(E.EACCES)  # a device node on a nodev mount (may_open_dev)
    if not created:
        may_access(t, inode, (4 if acc != I.O_WRONLY else 0) |
                   (2 if acc != I.O_RDONLY or flags & I.O_TRUNC else 0))
        if flags & I.O_NOATIME and not owner_or_capable(t.tg.creds, inode):
            raise SyscallError(E.EPERM)  # not the owner's (may_open)
    if writing and (inode.is_reg() or inode.is_dir()) and _mount_ro(d):
        raise SyscallError(E.EROFS)
    held = acc != I.O_RDONLY and inode.is_reg()
    if held:
        I.get_write_access(inode)  # ETXTBSY while a process runs it
    elif flags & I.O_TRUNC and inode.writecount < 0 and inode.is_reg():
        raise SyscallError(E.ETXTBSY)
    try:
        if flags & I.O_TRUNC and inode.is_reg():  # Linux truncates even for O_RDONLY
            inode.truncate(0)
        f = inode.open(flags & ~(I.O_CREAT | I.O_EXCL | I.O_TRUNC), t)  # O_NOCTTY: for ttys
    except BaseException:
        if held:
            I.put_write_access(inode)
        raise
    if held:  # given back when the description goes
        f.write_access = inode
        f.release_hooks = [_put_write_access] + (f.release_hooks or [])
    if f.dentry is None:
        f.dentry = d
    # O_LARGEFILE: open(2) sets it on 64-bit (force_o_largefile); files made
    # otherwise (pipes, sockets, eventfds, pidfds, O_PATH) have not
    f.flags = flags & ~(I.O_CREAT | I.O_EXCL | I.O_NOCTTY | I.O_TRUNC | I.O_CLOEXEC) | I.O_LARGEFILE
    if k.inotify_watches:
        notify_dentry(k, d, IN_OPEN)
    return t.files.install(f, bool(flags & I.O_CLOEXEC))


def _put_write_access(f):
    I.put_write_access(f.write_access)


def _open_tmpfile(t, dirfd, path, flags, mode):
    """O_TMPFILE: an unnamed file in a tmpfs directory; linkat(AT_EMPTY_PATH)
    may name it later."""
    if flags & I.O_ACCMODE not in (I.O_WRONLY, I.O_RDWR) or flags & I.O_CREAT:
        raise SyscallError(E.EINVAL)
    d = t.kernel.lookup(t, path, True, _start(t, dirfd, path))
    if not d.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    if _mount_ro(d):
        raise SyscallError(E.EROFS)
    from ..vfs.memfs import MemNode
    if not isinstance(d.inode, MemNode):
        raise SyscallError(E.EOPNOTSUPP)
    c = t.tg.creds
    node = MemNode(d.inode.fs, I.S_IFREG | (mode & 0o7777 & ~t.fs.umask), c.fsuid, c.fsgid)
    node.nlink = 0
    node.tmpfile = not flags & I.O_EXCL  # O_EXCL: may never be linked
    f = node.open(flags & I.O_ACCMODE, t)
    f.flags = flags & ~(I.O_TMPFILE | I.O_CLOEXEC) | I.O_LARGEFILE
    f.dentry = Dentry(f"#{node.ino} (deleted)", d, node, d.mount)  # not in d's cache
    return t.files.install(f, bool(flags & I.O_CLOEXEC))


def sys_open(t, pathaddr, flags, mode, *_):
    return do_open(t, AT_FDCWD, path_arg(t, pathaddr), flags, mode)


def sys_openat(t, dirfd, pathaddr, flags, mode, *_):
    return do_open(t, dirfd, path_arg(t, pathaddr), flags, mode)


def sys_creat(t, pathaddr, mode, *_):
    return do_open(t, AT_FDCWD, path_arg(t, pathaddr), I.O_CREAT | I.O_WRONLY | I.O_TRUNC, mode)


def sys_openat2(t, dirfd, pathaddr, howaddr, size, *_):
    if size < 24:
        raise SyscallError(E.EINVAL)
    flags, mode, resolve = struct.unpack("<QQQ", t.mm.read(howaddr, 24))
    if resolve & ~0x1F or flags >> 32 or (mode and not flags & (I.O_CREAT | I.O_TMPFILE)):
        raise SyscallError(E.EINVAL)
    return do_open(t, dirfd, path_arg(t, pathaddr), flags, mode)


def sys_close(t, fd, *_):
    fd = s32(fd)
    k = t.kernel
    if k.inotify_watches:
        f = t.files.get(fd)
        if f.refs == 1:
            notify_dentry(k, f.dentry, IN_CLOSE_WRITE if f.writable else IN_CLOSE_NOWRITE)
    t.files.close(fd)
    return 0


def _modified(t, f, n):
    if t.kernel.inotify_watches and n > 0:
        notify_dentry(t.kernel, f.dentry, IN_MODIFY)
    return n


def sys_close_range(t, first, last, flags, *_):
    if flags & ~0x6 or first > last:
        raise SyscallError(E.EINVAL)
    for fd in [fd for fd in t.files.fds if first <= fd <= last]:
        if flags & 0x4:  # CLOSE_RANGE_CLOEXEC
            t.files.set_cloexec(fd, True)
        else:
            t.files.close(fd)
    return 0


# --- data ---------------------------------------------------------------
def _readable(f):
    if not f.readable:
        raise SyscallError(E.EBADF)
    return f


def _writable(f):
    if not f.writable:
        raise SyscallError(E.EBADF)
    return f


def sys_read(t, fd, buf, count, *_):
    # the hot path of every read: no helper calls where a line does (dd
    # bs=1 is two syscalls per byte)
    e = t.files.fds.get(fd)
    f = e[0] if e is not None else t.files.get(s32(fd))
    if not f.readable:
        raise SyscallError(E.EBADF)
    if count > MAX_RW:
        count = MAX_RW
    elif count == 0:
        return 0
    mm = t.mm
    o = mm.at(buf, count, PROT_WRITE)
    if o < 0:
        mm.check(buf, count, write=True)  # EFAULT before any data is taken
    data = f.read(t, count)
    n = len(data)
    if o >= 0 and n <= count:
        mm.view[o:o + n] = data
    else:
        mm.write(buf, data)
    return n


def sys_write(t, fd, buf, count, *_):
    e = t.files.fds.get(fd)
    f = e[0] if e is not None else t.files.get(s32(fd))
    if not f.writable:
        raise SyscallError(E.EBADF)
    if count > MAX_RW:
        count = MAX_RW
    elif count == 0:
        return 0
    mm = t.mm
    o = mm.at(buf, count, PROT_READ)
    n = f.write(t, mm.view[o:o + count].tobytes() if o >= 0 else mm.read(buf, count))
    if n > 0 and t.kernel.inotify_watches:
        notify_dentry(t.kernel, f.dentry, IN_MODIFY)
    return n


def sys_pread64(t, fd, buf, count, off, *_):
    f = _readable(t.files.get(s32(fd)))
    if s64(off) < 0:
        raise SyscallError(E.EINVAL)
    if f.inode.is_dir():
        raise SyscallError(E.EISDIR)
    data = f.pread(t, min(count, MAX_RW), off)
    t.mm.write(buf, data)
    return len(data)


def sys_pwrite64(t, fd, buf, count, off, *_):
    f = _writable(t.files.get(s32(fd)))
    if s64(off) < 0:
        raise SyscallError(E.EINVAL)
    return _modified(t, f, f.pwrite(t, t.mm.read(buf, min(count, MAX_RW)), off))


def _iovecs(t, iov, n):
    if n > IOV_MAX:
        raise SyscallError(E.EINVAL)
    if n == 0:
        return []
    raw = t.mm.read(iov, 16 * n)
    out = [struct.unpack_from("<QQ", raw, 16 * i) for i in range(n)]
    total = 0
    for _, ln in out:
        total += ln
        if ln > 1 << 63 or total > MAX_RW:
            raise SyscallError(E.EINVAL)
    return out


def _scatter(t, vecs, data):
    pos = 0
    for base, ln in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + ln]
        t.mm.write(base, chunk)
        pos += len(chunk)
    return pos


def sys_readv(t, fd, iov, n, *_):
    f = _readable(t.files.get(s32(fd)))
    vecs = _iovecs(t, iov, n)
    total = sum(ln for _, ln in vecs)
    if total == 0:
        return 0
    return _scatter(t, vecs, f.read(t, total))


def sys_writev(t, fd, iov, n, *_):
    f = _writable(t.files.get(s32(fd)))
    vecs = _iovecs(t, iov, n)
    data = b"".join(t.mm.read(b, ln) for b, ln in vecs)
    if not data:
        return 0
    return _modified(t, f, f.write(t, data))


def sys_preadv(t, fd, iov, n, off, *_):
    f = _readable(t.files.get(s32(fd)))
    vecs = _iovecs(t, iov, n)
    if s64(off) < 0:
        raise SyscallError(E.EINVAL)
    return _scatter(t, vecs, f.pread(t, sum(ln for _, ln in vecs), off))


def sys_pwritev(t, fd, iov, n, off, *_):
    f = _writable(t.files.get(s32(fd)))
    vecs = _iovecs(t, iov, n)
    if s64(off) < 0:
        raise SyscallError(E.EINVAL)
    return f.pwrite(t, b"".join(t.mm.read(b, ln) for b, ln in vecs), off)


def sys_preadv2(t, fd, iov, n, off, _hi, flags):
    if s64(off) == -1:
        return sys_readv(t, fd, iov, n)
    return sys_preadv(t, fd, iov, n, off)


def sys_pwritev2(t, fd, iov, n, off, _hi, flags):
    if s64(off) == -1:
        return sys_writev(t, fd, iov, n)
    return sys_pwritev(t, fd, iov, n, off)


def sys_lseek(t, fd, off, whence, *_):
    f = t.files.get(s32(fd))
    if whence > 4:
        raise SyscallError(E.EINVAL)
    return f.lseek(s64(off), whence)


def sys_sendfile(t, out_fd, in_fd, offp, count, *_):
    fin = _readable(t.files.get(s32(in_fd)))
    fout = _writable(t.files.get(s32(out_fd)))
    count = min(count, MAX_RW)
    if offp:
        off = s64(t.mm.read_u64(offp))
        data = fin.pread(t, count, off)
    else:
        data = fin.read(t, count)
    if not data:
        return 0
    n = fout.write(t, data)
    if offp:
        t.mm.write_u64(offp, off + n)
    elif n < len(data) and fin.seekable:
        fin.pos -= len(data) - n
    return n


def sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, count, flags):
    if flags:
        raise SyscallError(E.EINVAL)
    fin = _readable(t.files.get(s32(fd_in)))
    fout = _writable(t.files.get(s32(fd_out)))
    count = min(count, MAX_RW)
    if off_in:
        oi = t.mm.read_u64(off_in)
        data = fin.pread(t, count, oi)
    else:
        data = fin.read(t, count)
    if off_out:
        oo = t.mm.read_u64(off_out)
        n = fout.pwrite(t, data, oo)
        t.mm.write_u64(off_out, oo + n)
    else:
        n = fout.write(t, data)
    if off_in:
        t.mm.write_u64(off_in, oi + n)
    return n


def sys_splice(t, fd_in, off_in, fd_out, off_out, count, flags):
    return sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, count, 0)


def sys_tee(t, fd_in, fd_out, count, flags, *_):
    fin = _readable(t.files.get(s32(fd_in)))
    fout = _writable(t.files.get(s32(fd_out)))
    if not isinstance(fin.inode, Pipe) or not isinstance(fout.inode, Pipe):
        raise SyscallError(E.EINVAL)
    data = fin.inode.buf.peek(count)
    if not data:
        if fin.inode.writers == 0:
            return 0
        if flags & 2:
            raise SyscallError(E.EAGAIN)
        t.block([fin.inode.queue])
    return fout.write(t, data)


# --- fds ------------------------------------------------------------------
def sys_dup(t, fd, *_):
    f = t.files.get(s32(fd))
    return t.files.install(f)


def sys_dup2(t, old, new, *_):
    old, new = s32(old), s32(new)
    f = t.files.get(old)
    if old == new:
        return new
    t.files.install_at(new, f)
    return new


def sys_dup3(t, old, new, flags, *_):
    old, new = s32(old), s32(new)
    if old == new or flags & ~I.O_CLOEXEC:
        raise SyscallError(E.EINVAL)
    t.files.install_at(new, t.files.get(old), bool(flags & I.O_CLOEXEC))
    return new


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW, F_SETOWN, F_GETOWN = 5, 6, 7, 8, 9
F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX = 10, 11, 15, 16
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS = 1030, 1031, 1032, 1033, 1034


def sys_fcntl(t, fd, cmd, arg, *_):
    fd = s32(fd)
    f = t.files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lo = s32(arg)
        if lo < 0 or lo >= t.files.limit:
            raise SyscallError(E.EINVAL)
        return t.files.install(f, cmd == F_DUPFD_CLOEXEC, lo)
    if cmd == F_GETFD:
        return 1 if t.files.cloexec(fd) else 0
    if cmd == F_SETFD:
        t.files.set_cloexec(fd, bool(arg & 1))
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        if arg & ~f.flags & I.O_NOATIME and not owner_or_capable(t.tg.creds, f.inode):
            raise SyscallError(E.EPERM)  # setfl: only the owner may turn it on
        f.flags = (f.flags & ~I.SETFL_MASK) | (arg & I.SETFL_MASK)
        return 0
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        from ..locks import fcntl_lock
        return fcntl_lock(t, fd, f, cmd, arg)
    if cmd in (F_SETOWN, F_SETSIG, F_SETLEASE, F_NOTIFY):
        return 0
    if cmd in (F_GETOWN, F_GETSIG, F_GETLEASE):
        return 0 if cmd != F_GETLEASE else 2
    if cmd == F_GETOWN_EX:
        t.mm.write(arg, bytes(8))
        return 0
    if cmd == F_SETOWN_EX:
        return 0
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        if not isinstance(f.inode, Pipe):
            raise SyscallError(E.EBADF)
        if cmd == F_SETPIPE_SZ:
            size = s32(arg)
            if size < 0 or size > 1048576:
                raise SyscallError(E.EPERM if size > 0 else E.EINVAL)
            size = max(4096, 1 << (max(size, 1) - 1).bit_length())
            if size < len(f.inode.buf):
                raise SyscallError(E.EBUSY)
            f.inode.capacity = size
        return f.inode.capacity
    if cmd in (F_ADD_SEALS, F_GET_SEALS):
        return _seals(t, f, cmd, arg)
    raise SyscallError(E.EINVAL)


FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC = 0x5421, 0x5451, 0x5450, 0x5452


def sys_ioctl(t, fd, req, arg, *_):
    fd = s32(fd)
    f = t.files.get(fd)
    req &= 0xFFFFFFFF
    if req == FIOCLEX:
        t.files.set_cloexec(fd, True)
        return 0
    if req == FIONCLEX:
        t.files.set_cloexec(fd, False)
        return 0
    if req == FIONBIO:
        on = t.mm.read_u32(arg)
        f.flags = (f.flags | I.O_NONBLOCK) if on else (f.flags & ~I.O_NONBLOCK)
        return 0
    if req == FIOASYNC:
        return 0
    if req == 0x541B and f.inode.is_reg():  # FIONREAD on a file
        t.mm.write_u32(arg, max(0, f.inode.size - f.pos))
        return 0
    return f.ioctl(t, req, arg)


def sys_pipe2(t, fds, flags, *_):
    if flags & ~(I.O_CLOEXEC | I.O_NONBLOCK | I.O_DIRECT):
        raise SyscallError(E.EINVAL)
    c = t.tg.creds
    r, w = Pipe(c.fsuid, c.fsgid).ends(flags)
    ce = bool(flags & I.O_CLOEXEC)
    t.mm.check(fds, 8, write=True)
    a = t.files.install(r, ce)
    b = t.files.install(w, ce)
    t.mm.write(fds, struct.pack("<ii", a, b))
    return 0


def sys_pipe(t, fds, *_):
    return sys_pipe2(t, fds, 0)


# --- metadata -------------------------------------------------------------
def _stat_target(t, dirfd, pathaddr, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000):
        raise SyscallError(E.EINVAL)
    d = resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW)
    return d.inode


def _stat_bytes(inode):
    return pack_stat(inode, inode.fs.dev if inode.fs is not None else 0)


def sys_stat(t, pathaddr, buf, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    t.mm.write(buf, _stat_bytes(d.inode))
    return 0


def sys_lstat(t, pathaddr, buf, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), False)
    t.mm.write(buf, _stat_bytes(d.inode))
    return 0


def sys_fstat(t, fd, buf, *_):
    f = t.files.get(s32(fd))
    t.mm.write(buf, _stat_bytes(f.inode))
    return 0


def sys_newfstatat(t, dirfd, pathaddr, buf, flags, *_):
    t.mm.write(buf, _stat_bytes(_stat_target(t, dirfd, pathaddr, flags)))
    return 0


def sys_statx(t, dirfd, pathaddr, flags, mask, buf, _a6):
    if flags & 0x6000 == 0x6000:
        raise SyscallError(E.EINVAL)
    inode = _stat_target(t, dirfd, pathaddr, flags & ~0x6000)
    dev = inode.fs.dev if inode.fs is not None else 0

    def ts(ns):
        return struct.pack("<qI4x", ns // 10**9, ns % 10**9)
    out = struct.pack("<IIQIIIHHQQQQ", 0x7FF, 4096, 0, inode.nlink, inode.uid, inode.gid,
                      inode.mode, 0, inode.ino, inode.size, inode.blocks(), 0)
    out += ts(inode.atime) + ts(inode.ctime) + ts(inode.ctime) + ts(inode.mtime)
    out += struct.pack("<IIIIQ", os.major(inode.rdev), os.minor(inode.rdev), 0, dev, 1)
    t.mm.write(buf, out.ljust(256, b"\0"))
    return 0


def _statfs_bytes(inode):
    """struct statfs (x86-64, 120 bytes): type, bsize, blocks, bfree, bavail, files,
    ffree, fsid, namelen, frsize, flags, spare[4]."""
    fs = inode.fs
    name = getattr(fs, "name", "")
    magic = {"tmpfs": 0x01021994, "proc": 0x9FA0, "devtmpfs": 0x01021994, "overlay": 0x794C7630,
             "sysfs": 0x62656572, "pipefs": 0x50495045}.get(name, 0x01021997)
    return struct.pack("<qqQQQQQ8sqqq4q", magic, 4096, 1 << 20, 1 << 19, 1 << 19, 1 << 20,
                       1 << 19, b"", 255, 4096, 0x20, 0, 0, 0, 0)


def sys_statfs(t, pathaddr, buf, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    t.mm.write(buf, _statfs_bytes(d.inode))
    return 0


def sys_fstatfs(t, fd, buf, *_):
    t.mm.write(buf, _statfs_bytes(t.files.get(s32(fd)).inode))
    return 0


def do_access(t, dirfd, pathaddr, mode, flags):
    """The lookup and the check are made with the real ids (and the
    capabilities real root would have) unless AT_EACCESS: a set-user-ID
    program asks what its user may do (access_override_creds)."""
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(E.EINVAL)
    tg = t.tg
    c = tg.creds
    if not flags & AT_EACCESS:
        tg.creds = c.for_access()
    try:
        d = resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW)
        if mode & 2 and hasattr(d, "mount") and _mount_ro(d) and not d.inode.is_link() and \
                (d.inode.is_reg() or d.inode.is_dir()):
            raise SyscallError(E.EROFS)
        may_access(t, d.inode, mode)
    finally:
        tg.creds = c
    return 0


def sys_access(t, pathaddr, mode, *_):
    return do_access(t, AT_FDCWD, pathaddr, mode, 0)


def sys_faccessat(t, dirfd, pathaddr, mode, *_):
    return do_access(t, dirfd, pathaddr, mode, 0)


def sys_faccessat2(t, dirfd, pathaddr, mode, flags, *_):
    return do_access(t, dirfd, pathaddr, mode, flags)


def sys_readlinkat(t, dirfd, pathaddr, buf, size, *_):
    size = s32(size)
    if size <= 0:
        raise SyscallError(E.EINVAL)
    path = path_arg(t, pathaddr)
    if not path:
        d = resolve_at(t, dirfd, pathaddr, AT_EMPTY_PATH, False)
    else:
        d = t.kernel.lookup(t, path, False, _start(t, dirfd, path))
    ino = d.inode
    get = getattr(ino, "get_link", None)
    if not ino.is_link():
        raise SyscallError(E.EINVAL)
    target = ino.link_text(t) if get is not None else ino.readlink()
    data = os.fsencode(target)[:size]
    t.mm.write(buf, data)
    return len(data)


def sys_readlink(t, pathaddr, buf, size, *_):
    return sys_readlinkat(t, AT_FDCWD, pathaddr, buf, size)


def sys_getdents64(t, fd, buf, count, *_):
    f = _fd(t, fd)
    if not f.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    if count > 1 << 20:
        count = 1 << 20
    mm = t.mm
    o = mm.at(buf, count, PROT_WRITE)
    if o >= 0:  # a host directory's records go straight into the buffer
        n = f.getdents_at(mm.memfile.addr + o, count)
        if n >= 0:
            return n
    data = f.getdents(count)
    mm.write(buf, data)
    return len(data)


def sys_getcwd(t, buf, size, *_):
    p = os.fsencode(t.fs.cwd.path(t.fs.root)) + b"\0"
    if len(p) > size:
        raise SyscallError(E.ERANGE)
    t.mm.write(buf, p)
    return len(p)


def sys_chdir(t, pathaddr, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    if not d.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    may_access(t, d.inode, 1)
    t.fs.cwd = d
    return 0


def sys_fchdir(t, fd, *_):
    f = t.files.get(s32(fd))
    if f.dentry is None or not f.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    t.fs.cwd = f.dentry
    return 0


def sys_umask(t, mask, *_):
    old = t.fs.umask
    t.fs.umask = mask & 0o777
    return old


# --- namespace changes ----------------------------------------------------
def _parent_for_change(t, dirfd, path):
    parent, name = t.kernel.lookup_parent(t, path, _start(t, dirfd, path))
    if _mount_ro(parent):
        raise SyscallError(E.EROFS)
    return parent, name


def _parent_for_create(t, dirfd, path):
    """The directory to make path's last name in, as fs/namei.c's
    filename_create finds it: EEXIST for a name already there (or . and
    ..), before EROFS. The caller checks write and search rights on it next
    (may_create), after whatever its syscall checks in between."""
    parent, name = t.kernel.lookup_parent(t, path, _start(t, dirfd, path))
    if name in (".", ".."):
        raise SyscallError(E.EEXIST)
    try:
        parent.child(name)
    except SyscallError:
        pass
    else:
        raise SyscallError(E.EEXIST)
    if _mount_ro(parent):
        raise SyscallError(E.EROFS)
    return parent, name


def may_linkat(t, inode):
    """fs/namei.c may_linkat under fs.protected_hardlinks=1 (Linux's
    default): a hard link to another user's file only to a regular one,
    neither set-user-ID nor set-group-ID and group-executable, that the
    caller may read and write; else CAP_FOWNER."""
    c = t.tg.creds
    if c.fsuid == inode.uid:
        return
    mode = inode.mode
    if mode & I.S_IFMT == I.S_IFREG and not mode & S_ISUID \
            and mode & (S_ISGID | S_IXGRP) != S_ISGID | S_IXGRP and permission(c, inode, 6):
        return
    if not c.capable(CAP_FOWNER):
        raise SyscallError(E.EPERM)


def do_mknod(t, dirfd, pathaddr, mode, dev):
    kind = mode & I.S_IFMT  # (may_mknod: the type before the path)
    if kind == 0:
        kind = I.S_IFREG
    if kind == I.S_IFDIR:
        raise SyscallError(E.EPERM)
    if kind not in (I.S_IFREG, I.S_IFIFO, I.S_IFCHR, I.S_IFBLK, I.S_IFSOCK):
        raise SyscallError(E.EINVAL)
    parent, name = _parent_for_create(t, dirfd, path_arg(t, pathaddr))
    may_access(t, parent.inode, 3)
    if kind in (I.S_IFCHR, I.S_IFBLK) and not t.tg.creds.capable(CAP_MKNOD):
        raise SyscallError(E.EPERM)
    c = t.tg.creds
    node = parent.inode.create(name, kind | (mode & 0o7777 & ~t.fs.umask), c.fsuid, c.fsgid, dev)
    notify(t.kernel, parent.inode, IN_CREATE, name)
    if kind == I.S_IFIFO:
        from ..vfs.fifo import attach_fifo
        attach_fifo(node)
    parent.forget(name)
    return 0


def sys_mknod(t, pathaddr, mode, dev, *_):
    return do_mknod(t, AT_FDCWD, pathaddr, mode, dev)


def sys_mknodat(t, dirfd, pathaddr, mode, dev, *_):
    return do_mknod(t, dirfd, pathaddr, mode, dev)


def do_mkdir(t, dirfd, pathaddr, mode):
    parent, name = _parent_for_create(t, dirfd, path_arg(t, pathaddr))
    may_access(t, parent.inode, 3)
    c = t.tg.creds
    parent.inode.create(name, I.S_IFDIR | (mode & 0o7777 & ~t.fs.umask), c.fsuid, c.fsgid)
    parent.forget(name)
    notify(t.kernel, parent.inode, IN_CREATE | IN_ISDIR, name)
    return 0


def sys_mkdir(t, pathaddr, mode, *_):
    return do_mkdir(t, AT_FDCWD, pathaddr, mode)


def sys_mkdirat(t, dirfd, pathaddr, mode, *_):
    return do_mkdir(t, dirfd, pathaddr, mode)


def do_unlink(t, dirfd, pathaddr, rmdir):
    path = path_arg(t, pathaddr)
    parent, name = _parent_for_change(t, dirfd, path)
    if rmdir and name == ".":
        raise SyscallError(E.EINVAL)
    if name == "..":
        raise SyscallError(E.ENOTEMPTY if rmdir else E.EISDIR)
    if not rmdir and path.endswith("/"):
        d = parent.child(name)
        raise SyscallError(E.EISDIR if d.inode.is_dir() else E.ENOTDIR)
    child = parent.child(name)
    if child.mounted is not None:
        raise SyscallError(E.EBUSY)
    may_delete(t, parent.inode, child.inode)
    parent.inode.unlink(name, rmdir)
    parent.forget(name)
    child.unlinked = True
    k = t.kernel
    if k.inotify_watches:
        gone = child.inode
        notify(k, parent.inode, IN_DELETE | (IN_ISDIR if rmdir else 0), name)
        notify(k, gone, IN_DELETE_SELF if rmdir or gone.nlink <= 0 else IN_ATTRIB)
    return 0


def sys_unlink(t, pathaddr, *_):
    return do_unlink(t, AT_FDCWD, pathaddr, False)


def sys_rmdir(t, pathaddr, *_):
    return do_unlink(t, AT_FDCWD, pathaddr, True)


def sys_unlinkat(t, dirfd, pathaddr, flags, *_):
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(E.EINVAL)
    return do_unlink(t, dirfd, pathaddr, bool(flags & AT_REMOVEDIR))


def do_rename(t, olddir, oldaddr, newdir, newaddr, flags):
    if flags & ~7 or (flags & 1 and flags & 2):
        raise SyscallError(E.EINVAL)
    op, on = _parent_for_change(t, olddir, path_arg(t, oldaddr))
    np_, nn = _parent_for_change(t, newdir, path_arg(t, newaddr))
    if on in (".", "..") or nn in (".", ".."):
        raise SyscallError(E.EBUSY if on in (".", "..") else E.EINVAL)
    if op.mount is not np_.mount:
        raise SyscallError(E.EXDEV)
    src = op.child(on)
    # a directory cannot move below itself
    d = np_
    while d is not None:
        if d is src:
            raise SyscallError(E.EINVAL)
        d = d.parent
    # fs/namei.c vfs_rename's rights: the source may be deleted from its
    # directory, the target deleted or made in its own, and a directory
    # that changes parents has its `..` rewritten
    may_delete(t, op.inode, src.inode)
    try:
        dst_d = np_.child(nn)
        dst = dst_d.inode
    except SyscallError:
        dst_d = dst = None
    if dst is not None:
        may_delete(t, np_.inode, dst)
    else:
        may_access(t, np_.inode, 3)
    if src.inode.is_dir() and op is not np_:
        may_access(t, src.inode, 2)
    op.inode.rename(on, np_.inode, nn, flags)
    op.forget(on)
    np_.forget(nn)
    # open files follow their names (d_move): /proc/self/fd shows where
    # they went; one that the rename replaced shows "(deleted)"
    if dst is not src.inode:  # (two links of one file: nothing happened)
        if dst_d is not None:
            if flags & 2:  # RENAME_EXCHANGE
                dst_d.parent, dst_d.name = op, on
            else:
                dst_d.unlinked = True
        src.parent, src.name = np_, nn
        if not src.inode.is_dir():  # (a directory's cached subtree, mounts and all, stays)
            try:  # the name's dentry from now on, where it names the same inode
                if np_.child(nn).inode is src.inode:
                    np_.children[nn] = src
            except SyscallError:
                pass
    k = t.kernel
    if k.inotify_watches:
        k.rename_cookie += 1
        isdir = IN_ISDIR if src.inode.is_dir() else 0
        notify(k, op.inode, IN_MOVED_FROM | isdir, on, k.rename_cookie)
        notify(k, np_.inode, IN_MOVED_TO | isdir, nn, k.rename_cookie)
        notify(k, src.inode, IN_MOVE_SELF)
    return 0


def sys_rename(t, a, b, *_):
    return do_rename(t, AT_FDCWD, a, AT_FDCWD, b, 0)


def sys_renameat(t, ad, a, bd, b, *_):
    return do_rename(t, ad, a, bd, b, 0)


def sys_renameat2(t, ad, a, bd, b, flags, *_):
    return do_rename(t, ad, a, bd, b, flags)


def do_link(t, olddir, oldaddr, newdir, newaddr, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise SyscallError(E.EINVAL)
    src = resolve_at(t, olddir, oldaddr, flags, bool(flags & AT_SYMLINK_FOLLOW))
    np_, nn = _parent_for_create(t, newdir, path_arg(t, newaddr))
    if src.mount is not np_.mount:
        raise SyscallError(E.EXDEV)
    may_linkat(t, src.inode)
    may_access(t, np_.inode, 3)
    if src.inode.is_dir():
        raise SyscallError(E.EPERM)
    if src.inode.nlink == 0 and not getattr(src.inode, "tmpfile", False):
        raise SyscallError(E.ENOENT)  # a deleted file cannot get a name back
    src.inode.tmpfile = False
    np_.inode.link(nn, src.inode)
    np_.forget(nn)
    notify(t.kernel, np_.inode, IN_CREATE, nn)
    return 0


def sys_link(t, a, b, *_):
    return do_link(t, AT_FDCWD, a, AT_FDCWD, b, 0)


def sys_linkat(t, ad, a, bd, b, flags, *_):
    return do_link(t, ad, a, bd, b, flags)


def do_symlink(t, targetaddr, dirfd, pathaddr):
    target = path_arg(t, targetaddr)
    parent, name = _parent_for_create(t, dirfd, path_arg(t, pathaddr))
    may_access(t, parent.inode, 3)
    c = t.tg.creds
    parent.inode.symlink(name, target, c.fsuid, c.fsgid)
    parent.forget(name)
    notify(t.kernel, parent.inode, IN_CREATE, name)
    return 0


def sys_symlink(t, a, b, *_):
    return do_symlink(t, a, AT_FDCWD, b)


def sys_symlinkat(t, a, dirfd, b, *_):
    return do_symlink(t, a, dirfd, b)


def _attr_inode(d):
    """The inode whose attributes a call on d (a dentry, an open file
    without one, or an fd's inode) changes; EROFS on a read-only mount
    first, before any permission check (Linux's mnt_want_write)."""
    if hasattr(d, "mount") and _mount_ro(d):
        raise SyscallError(E.EROFS)
    inode = d.inode if hasattr(d, "inode") else d
    if isinstance(inode.fs, AnonFS):
        raise SyscallError(E.EOPNOTSUPP)  # an anonymous inode has no attributes to set
    return inode


def _set_attrs(t, d, inode, **kw):
    inode.setattr(**kw)
    k = t.kernel
    if k.inotify_watches:
        mask = IN_MODIFY if kw.get("size") is not None else IN_ATTRIB
        if hasattr(d, "mount"):
            notify_dentry(k, d, mask)
        else:
            notify(k, inode, mask)
    return 0


def _setattr(t, d, **kw):
    return _set_attrs(t, d, _attr_inode(d), **kw)


def _chmod(t, d, mode):
    """The owner or CAP_FOWNER may; a set-group-ID bit for a group the
    caller is not in is dropped without CAP_FSETID (setattr_prepare)."""
    inode = _attr_inode(d)
    c = t.tg.creds
    mode &= 0o7777
    if not owner_or_capable(c, inode):
        raise SyscallError(E.EPERM)
    if mode & S_ISGID and not c.in_group(inode.gid) and not c.capable(CAP_FSETID):
        mode &= ~S_ISGID
    return _set_attrs(t, d, inode, mode=mode)


def _utimes(t, d, atime, mtime, explicit):
    """Times given (`explicit`) need the owner or CAP_FOWNER (EPERM); times
    set to now, write permission too (EACCES)."""
    inode = _attr_inode(d)
    if not owner_or_capable(t.tg.creds, inode):
        if explicit:
            raise SyscallError(E.EPERM)
        may_access(t, inode, 2)
    return _set_attrs(t, d, inode, atime=atime, mtime=mtime)


def sys_chmod(t, pathaddr, mode, *_):
    return _chmod(t, t.kernel.lookup(t, path_arg(t, pathaddr), True), mode)


def sys_fchmodat(t, dirfd, pathaddr, mode, *_):
    return _chmod(t, resolve_at(t, dirfd, pathaddr, 0, True), mode)


def sys_fchmodat2(t, dirfd, pathaddr, mode, flags, *_):
    d = resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW)
    if d.inode.is_link():
        raise SyscallError(E.EOPNOTSUPP)
    return _chmod(t, d, mode)


def sys_fchmod(t, fd, mode, *_):
    f = _fd(t, fd)
    return _chmod(t, f.dentry or f.inode, mode)


def _chown(t, d, uid, gid):
    """chown_ok and chgrp_ok: the owner may set the owner it has and a
    group it is in; CAP_CHOWN anything. A file that is not a directory
    loses its set-user-ID bit, and its set-group-ID bit if group-executable."""
    uid, gid = s32(uid), s32(gid)
    inode = _attr_inode(d)
    c = t.tg.creds
    if not c.capable(CAP_CHOWN):
        owner = c.fsuid == inode.uid
        if uid != -1 and not (owner and uid == inode.uid) or \
                gid != -1 and not (owner and (gid == inode.gid or c.in_group(gid))):
            raise SyscallError(E.EPERM)
    kw = {"uid": None if uid == -1 else uid & 0xFFFFFFFF,
          "gid": None if gid == -1 else gid & 0xFFFFFFFF}
    mode = inode.mode
    if not inode.is_dir():
        kill = mode & (S_ISUID | (S_ISGID if mode & S_IXGRP else 0))
        if kill:
            kw["mode"] = mode & 0o7777 & ~kill
    return _set_attrs(t, d, inode, **kw)


def sys_chown(t, pathaddr, uid, gid, *_):
    return _chown(t, t.kernel.lookup(t, path_arg(t, pathaddr), True), uid, gid)


def sys_lchown(t, pathaddr, uid, gid, *_):
    return _chown(t, t.kernel.lookup(t, path_arg(t, pathaddr), False), uid, gid)


def sys_fchown(t, fd, uid, gid, *_):
    f = _fd(t, fd)
    return _chown(t, f.dentry or f.inode, uid, gid)


def sys_fchownat(t, dirfd, pathaddr, uid, gid, flags, *_):
    return _chown(t, resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW), uid, gid)


UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def sys_utimensat(t, dirfd, pathaddr, times, flags, *_):
    """Both UTIME_OMIT: nothing to do, not even the lookup. Times given, or
    one of them UTIME_NOW and the other omitted, need the owner (_utimes)."""
    vals = None
    if times:
        a_s, a_ns, m_s, m_ns = struct.unpack("<qqqq", t.mm.read(times, 32))
        if a_ns == m_ns == UTIME_OMIT:
            return 0
    if pathaddr == 0:
        f = t.files.get(s32(dirfd))
        d = f.dentry or f.inode
    else:
        d = resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW)
    now = time.time_ns()
    if times:
        if a_ns == m_ns == UTIME_NOW:
            times = 0
        else:
            vals = []
            for s_, ns in ((a_s, a_ns), (m_s, m_ns)):
                if ns == UTIME_NOW:
                    vals.append(now)
                elif ns == UTIME_OMIT:
                    vals.append(None)
                elif 0 <= ns < 10**9:
                    vals.append(s_ * 10**9 + ns)
                else:
                    raise SyscallError(E.EINVAL)
    if not times:
        return _utimes(t, d, now, now, False)
    return _utimes(t, d, vals[0], vals[1], True)


def sys_utimes(t, pathaddr, times, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    if times == 0:
        now = time.time_ns()
        return _utimes(t, d, now, now, False)
    a_s, a_us, m_s, m_us = struct.unpack("<qqqq", t.mm.read(times, 32))
    return _utimes(t, d, a_s * 10**9 + a_us * 1000, m_s * 10**9 + m_us * 1000, True)


def sys_utime(t, pathaddr, times, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    if times == 0:
        now = time.time_ns()
        return _utimes(t, d, now, now, False)
    a, m = struct.unpack("<qq", t.mm.read(times, 16))
    return _utimes(t, d, a * 10**9, m * 10**9, True)


def sys_truncate(t, pathaddr, length, *_):
    if s64(length) < 0:
        raise SyscallError(E.EINVAL)
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    if d.inode.is_dir():
        raise SyscallError(E.EISDIR)
    may_access(t, d.inode, 2)
    if d.inode.writecount < 0:  # a process runs it
        raise SyscallError(E.ETXTBSY)
    check_new_size(t, d.inode.size, length)
    return _setattr(t, d, size=length)


def sys_ftruncate(t, fd, length, *_):
    f = _fd(t, fd)
    if s64(length) < 0 or not f.inode.is_reg():
        raise SyscallError(E.EINVAL)
    if not f.writable:
        raise SyscallError(E.EINVAL)
    check_new_size(t, f.inode.size, length)
    f.inode.truncate(length)
    _modified(t, f, 1)
    return 0


FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2


def sys_fallocate(t, fd, mode, off, length, *_):
    f = t.files.get(s32(fd))
    if s64(off) < 0 or s64(length) <= 0:
        raise SyscallError(E.EINVAL)
    # what tmpfs has; PUNCH_HOLE only with KEEP_SIZE (Linux's vfs_fallocate order)
    if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) or \
            mode & FALLOC_FL_PUNCH_HOLE and not mode & FALLOC_FL_KEEP_SIZE:
        raise SyscallError(E.EOPNOTSUPP)
    if not f.writable:
        raise SyscallError(E.EBADF)
    inode = f.inode
    if inode.is_dir():
        raise SyscallError(E.EISDIR)
    if not inode.is_reg():
        raise SyscallError(E.ENODEV)
    if off + length >= 1 << 63:  # past tmpfs's s_maxbytes
        raise SyscallError(E.EFBIG)
    if mode & FALLOC_FL_PUNCH_HOLE:
        if not hasattr(inode, "punch_hole"):
            raise SyscallError(E.EOPNOTSUPP)
        inode.punch_hole(off, length)
        return 0
    if not mode & FALLOC_FL_KEEP_SIZE and off + length > inode.size:
        check_new_size(t, inode.size, off + length)
    if hasattr(inode, "allocate"):
        inode.allocate(off, length, mode & FALLOC_FL_KEEP_SIZE)
    elif not mode & FALLOC_FL_KEEP_SIZE and off + length > inode.size:
        inode.truncate(off + length)
    return 0


def sys_fsync(t, fd, *_):
    _fd(t, fd)
    return 0


def sys_sync(t, *_):
    return 0


def sys_fadvise64(t, fd, off, length, advice, *_):
    f = t.files.get(s32(fd))
    if isinstance(f.inode, Pipe):
        raise SyscallError(E.ESPIPE)
    if advice > 5:
        raise SyscallError(E.EINVAL)
    return 0


def sys_flock(t, fd, op, *_):
    from ..locks import flock
    return flock(t, t.files.get(s32(fd)), op)


XATTR_OPS = ("getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
             "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr")


def sys_getxattr(t, pathaddr, name, value, size, *_):
    t.kernel.lookup(t, path_arg(t, pathaddr), True)
    raise SyscallError(E.ENODATA)


def sys_lgetxattr(t, pathaddr, name, value, size, *_):
    t.kernel.lookup(t, path_arg(t, pathaddr), False)
    raise SyscallError(E.ENODATA)


def sys_fgetxattr(t, fd, name, value, size, *_):
    t.files.get(s32(fd))
    raise SyscallError(E.ENODATA)


def sys_listxattr(t, pathaddr, lst, size, *_):
    t.kernel.lookup(t, path_arg(t, pathaddr), True)
    return 0


def sys_llistxattr(t, pathaddr, lst, size, *_):
    t.kernel.lookup(t, path_arg(t, pathaddr), False)
    return 0


def sys_flistxattr(t, fd, lst, size, *_):
    t.files.get(s32(fd))
    return 0


def sys_setxattr(t, *_):
    raise SyscallError(E.ENOTSUP)


def sys_removexattr(t, *_):
    raise SyscallError(E.ENODATA)



MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 1, 2, 4, 8, 0x10
_memfd_fs = None


def _seals(t, f, cmd, arg):
    """F_GET_SEALS, F_ADD_SEALS (mm/memfd.c): a memfd's seals. Writes,
    truncates and writable shared mappings check them (MemNode.seals,
    sys_mmap); a tmpfs file that is no memfd has F_SEAL_SEAL alone."""
    from ..vfs.memfs import SEAL_EXEC, SEAL_SEAL, SEALS_WRITE, MemNode
    inode = f.inode
    if not isinstance(inode, MemNode) or not inode.is_reg():
        raise SyscallError(E.EINVAL)
    seals = inode.seals
    if cmd == F_GET_SEALS:
        return seals
    if not f.writable:
        raise SyscallError(E.EPERM)
    if arg & ~(2 * SEAL_EXEC - 1):
        raise SyscallError(E.EINVAL)
    if seals & SEAL_SEAL:
        raise SyscallError(E.EPERM)
    if arg & SEALS_WRITE and not seals & SEALS_WRITE and _mapped_writable(t.kernel, inode):
        raise SyscallError(E.EBUSY)
    inode.seals = seals | arg
    return 0


def _mapped_writable(k, inode):
    """Whether a MAP_SHARED mapping of inode can write it (F_SEAL_WRITE waits
    for them to go)."""
    seen = set()
    for t in k.tasks.values():
        mm = t.mm
        if mm is None or id(mm) in seen:
            continue
        seen.add(id(mm))
        for v in mm.vmas:
            if v.shared and v.prot & PROT_WRITE and v.share is not None and v.share.owner is inode:
                return True
    return False


def sys_memfd_create(t, nameaddr, flags, *_):
    """memfd_create: an unnamed tmpfs file, sealable with MFD_ALLOW_SEALING."""
    global _memfd_fs
    from ..vfs.memfs import SEAL_SEAL, MemFS, MemNode
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC):
        raise SyscallError(E.EINVAL)
    name = t.mm.read_cstr(nameaddr, 250)
    if _memfd_fs is None:
        _memfd_fs = MemFS("tmpfs")
    c = t.tg.creds
    node = MemNode(_memfd_fs, I.S_IFREG | 0o777, c.fsuid, c.fsgid)
    node.seals = 0 if flags & MFD_ALLOW_SEALING else SEAL_SEAL
    f = node.open(I.O_RDWR)
    f.flags = I.O_RDWR | I.O_LARGEFILE
    f.link_name = "/memfd:" + os.fsdecode(name) + " (deleted)"
    return t.files.install(f, bool(flags & MFD_CLOEXEC))
