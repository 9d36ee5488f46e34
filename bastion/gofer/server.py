"""The gofer: a separate process that serves the sandbox's host files.

It is the only part of Bastion that opens host files for the app. Each mount
is a root directory fd; every path is resolved with openat2(RESOLVE_IN_ROOT),
so nothing the sentry asks can reach outside the mount. Read-only mounts
refuse every change with EROFS.
"""

import collections
import os
import signal
import stat

from .. import hostsys as hs

_RESOLVE = hs.RESOLVE_IN_ROOT | hs.RESOLVE_NO_MAGICLINKS
_OPEN_ALLOWED = (os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_APPEND |
                 os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


MAX_FDS = 32  # host fds in one reply (open_many): protocol.py sends them in one message
# readtree: at most this many entries in one reply, whatever the sentry asks.
TREE_BUDGET_MAX = 1 << 16
TREE_ROOTS_MAX = 1024
TREE_DEPTH_MAX = 64  # levels a tree walk goes down (one directory fd each); deeper ones when asked
# O_PATH fds of the directories whose entries were asked for last, kept
# open (_dir): a name's attributes are then one fstatat beneath its
# directory, not a resolution of its whole path from the mount's root (a
# lookup under directfs ~11 -> ~4 us)
DIR_FDS_MAX = 32
# A tree walk opens each listed name beneath its parent's fd: no symlink, no
# "..", no magic link can lead it elsewhere.
_RESOLVE_CHILD = hs.RESOLVE_BENEATH | hs.RESOLVE_NO_SYMLINKS | hs.RESOLVE_NO_MAGICLINKS


def _list(fd, attrs):
    """One directory's listing: ([name, ino, d_type, stat-or-null], ...) and
    [(name, st_dev)] of its subdirectories. Directories (and, with `attrs`,
    every entry) carry their lstat attributes."""
    out, subdirs = [], []
    with os.scandir(fd) as it:
        for e in it:
            try:
                if e.is_dir(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    out.append([e.name, e.inode(), 4, stat_tuple(st)])
                    subdirs.append((e.name, st.st_dev))
                elif attrs:
                    st = e.stat(follow_symlinks=False)
                    out.append([e.name, e.inode(), (st.st_mode >> 12) & 15, stat_tuple(st)])
                elif e.is_symlink():
                    out.append([e.name, e.inode(), 10, None])
                elif e.is_file(follow_symlinks=False):
                    out.append([e.name, e.inode(), 8, None])
                else:
                    st = e.stat(follow_symlinks=False)
                    out.append([e.name, e.inode(), (st.st_mode >> 12) & 15, stat_tuple(st)])
            except OSError:
                pass
    return out, subdirs


def _tree(out, i, fd, total, budget, attrs):
    """List fd's directory into out and then, depth first, the directories
    below it on its filesystem while total (entries listed) < budget; fd
    and every fd opened below are closed. Returns the new total."""
    stack = []  # (path below the root, fd, its subdirectories not visited yet)
    rel = ""
    try:
        dev = os.fstat(fd).st_dev
        while fd is not None:
            try:
                ents, subdirs = _list(fd, attrs)
            except OSError:
                if not stack:  # the root: the caller says what that means
                    raise
                os.close(fd)  # a directory below that cannot be listed is left out
                ents = subdirs = None
            if ents is not None:
                out.append([i, rel, ents])
                total += len(ents)
                stack.append((rel, fd, iter(subdirs)))
            fd = None
            while stack and total < budget:  # the next directory to go down into
                top, pfd, rest = stack[-1]
                nxt = next(rest, None)
                if nxt is None:
                    os.close(stack.pop()[1])
                    continue
                name, st_dev = nxt
                if st_dev != dev or len(stack) >= TREE_DEPTH_MAX:
                    continue
                try:
                    fd = hs.openat2(pfd, name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                                    os.O_CLOEXEC, 0, _RESOLVE_CHILD)
                except OSError:
                    continue
                rel = top + "/" + name if top else name
                break
    finally:
        if fd is not None:
            os.close(fd)
        for _, pfd, _ in stack:
            os.close(pfd)
    return total


def _name_ok(name):
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


class Gofer:
    def __init__(self, mounts):
        # mounts: [(host_path, readonly)]
        self.roots = []
        for path, ro in mounts:
            self.roots.append((os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), ro))
        self._dirs = collections.OrderedDict()  # (mount, path) -> O_PATH fd, oldest first
        self.ops = {n[3:]: getattr(self, n) for n in dir(self) if n.startswith("op_")}
        self._held = {}  # (mount, path) -> fd of a directory the sentry holds open (hold_dir)

    def _open(self, m, path, flags, mode=0):
        # close-on-exec: under directfs these are the sentry's own fds
        return hs.openat2(self.roots[m][0], path or ".", flags | os.O_CLOEXEC, mode, _RESOLVE)

    def _parent(self, m, path):
        d, _, name = path.rpartition("/")
        if not _name_ok(name):
            raise OSError(22, "bad name")
        return self._open(m, d, os.O_PATH | os.O_DIRECTORY), name

    def _writable(self, m):
        if self.roots[m][1]:
            raise OSError(30, "read-only")

    def _dir(self, m, path):
        """An O_PATH fd of directory path, from a bounded cache (not to be
        closed). Only a single name, never `..` or a symlink, is ever
        resolved beneath it, and it is opened so too, beneath its parent's
        (a tree walk's next directory is below the last one), unless that
        name is a symlink: then from the root."""
        if not path:
            return self.roots[m][0]
        key = (m, path)
        fd = self._held.get(key)
        if fd is not None:
            return fd
        dirs = self._dirs
        fd = dirs.get(key)
        if fd is not None:
            dirs.move_to_end(key)
            return fd
        d, _, name = path.rpartition("/")
        try:
            if not _name_ok(name):
                raise OSError(40, "not a plain name")
            fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=self._dir(m, d))
        except OSError as e:
            if e.errno not in (20, 40):  # ENOTDIR, ELOOP: a symlink on the way
                raise
            fd = self._open(m, path, os.O_PATH | os.O_DIRECTORY)
        dirs[key] = fd
        if len(dirs) > DIR_FDS_MAX:
            os.close(dirs.popitem(last=False)[1])
        return fd

    def hold_dir(self, m, path, fd):
        """directfs: the sentry holds op_opendir's fd of path open (a
        HostDir) until release_dir; names in it are resolved beneath it."""
        self._held.setdefault((m, path), fd)

    def release_dir(self, m, path, fd):
        if self._held.get((m, path)) == fd:
            del self._held[(m, path)]

    def _beneath(self, m, path):
        """(the cached fd of path's directory, path's last name), a plain one."""
        d, _, name = path.rpartition("/")
        if not _name_ok(name):
            raise OSError(22, "bad name")
        return self._dir(m, d), name

    def _forget(self, m, path):
        """Drop the cached fds of path and of everything below it (renamed or removed)."""
        below = path + "/"
        for key in [k for k in self._dirs if k[0] == m and (k[1] == path or k[1].startswith(below))]:
            os.close(self._dirs.pop(key))
        for key in [k for k in self._held if k[0] == m and (k[1] == path or k[1].startswith(below))]:
            del self._held[key]  # (the sentry still holds it open: no longer at path)

    # --- ops: each returns (result, fd_or_None) ------------------------
    def op_lstat(self, m, path):
        """The attributes; a symlink's also carry its target (the sentry
        reads it next, to follow it: one round trip, not two)."""
        if not path:
            return stat_tuple(os.stat(self.roots[m][0])), None
        d, _, name = path.rpartition("/")
        return self.lstat_in(m, d, name), None

    def lstat_in(self, m, d, name):
        """op_lstat's attributes of directory d's entry name; under directfs
        the sentry asks so for one name (GoferInode._walk)."""
        if not _name_ok(name):
            raise OSError(22, "bad name")
        dfd = self._dir(m, d)
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        res = stat_tuple(st)
        if st.st_mode & 0o170000 == 0o120000:
            res.append(os.fsdecode(os.readlink(name, dir_fd=dfd)))
        return res

    def op_walk(self, m, path, names, open_last=False):
        """The attributes (as op_lstat's) of path/names[0], then of the next
        name beneath it, and so on while each is a directory: a path's
        components in one round trip. A missing one ends the list with its
        errno (the first one missing is the call's error). With `open_last`,
        the last name, if reached and a regular file, comes opened read-only:
        the sentry is opening it."""
        out, fd = [], None
        for i, name in enumerate(names):
            if not _name_ok(name):
                raise OSError(22, "bad name")
            try:
                st = self.lstat_in(m, path, name)
            except OSError as e:
                if not i:
                    raise
                out.append(e.errno or 5)
                break
            out.append(st)
            path = path + "/" + name if path else name
            if not stat.S_ISDIR(st[0]):
                if open_last and i == len(names) - 1 and stat.S_ISREG(st[0]):
                    # None on failure: the sentry asks again when it reads, and
                    # gets the error then
                    fd = self._open_regular(m, path)
                break
        return out, fd

    def _open_regular(self, m, path):
        """A read-only fd of path if it is a regular file (never a FIFO's
        blocking open, never through a symlink), else None."""
        try:
            fd = self._open(m, path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return fd

    def op_readdir(self, m, path, attrs=False):
        """[name, ino, d_type, stat-or-null]: attributes for directories (which
        the sentry is about to walk into) and, with `attrs`, for every entry."""
        fd = self._open(m, path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return _list(fd, bool(attrs))[0], None
        finally:
            os.close(fd)

    def op_opendir(self, m, path):
        """A directory's fd, open for reading its entries (getdents64)."""
        if not path:
            return None, self._open(m, "", os.O_RDONLY | os.O_DIRECTORY)
        dfd, name = self._beneath(m, path)
        return None, os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=dfd)

    def op_readtree(self, m, paths, budget, attrs):
        """The listings of the directories `paths` (the first one always)
        and of the directories below them, depth first in listing order
        (the order in which find, tar, du and os.walk go), while fewer than
        `budget` entries have been listed: [[index in paths, path relative
        to it, listing], ...], parents before children. A path that fails
        to open is left out. Walking down uses the names the host listed
        (never the sentry's), opened beneath their parent's fd with no
        symlinks, and stays on the filesystem of its start (others are
        listed when asked)."""
        if (not isinstance(budget, int) or not isinstance(paths, list) or not paths
                or len(paths) > TREE_ROOTS_MAX or not all(isinstance(p, str) for p in paths)):
            raise TypeError
        budget = max(0, min(budget, TREE_BUDGET_MAX))
        attrs = bool(attrs)
        out = []
        total = 0
        for i, path in enumerate(paths):
            if i and total >= budget:
                break
            try:
                fd = self._open(m, path, os.O_RDONLY | os.O_DIRECTORY)
                total = _tree(out, i, fd, total, budget, attrs)
            except OSError:
                if i == 0:
                    raise
        return out, None

    def op_readlink(self, m, path):
        pfd, name = self._parent(m, path)
        try:
            return os.fsdecode(os.readlink(name, dir_fd=pfd)), None
        finally:
            os.close(pfd)

    def op_open(self, m, path, flags, mode):
        if flags & _WRITE_FLAGS:
            self._writable(m)
        fd = self._open(m, path, (flags & _OPEN_ALLOWED) | os.O_NOCTTY, mode)
        return stat_tuple(os.stat(fd)), fd

    def op_open_many(self, m, path, names):
        """Read-only host fds of the regular files path/name for each name (a
        sentry that sees the app read files in the order of a tree walk, as
        tar, grep -r or cp -r do, asks for the next ones in one go); a name
        may be a relative path (the next files of a walk sit in several
        directories): [opened (bool) per name], with the fds of those opened,
        in order."""
        if not isinstance(names, list) or len(names) > MAX_FDS:
            raise TypeError
        ok, fds = [], []
        try:
            for name in names:
                if not isinstance(name, str) or not all(_name_ok(c) for c in name.split("/")):
                    raise OSError(22, "bad name")
                fd = self._open_regular(m, path + "/" + name if path else name)
                ok.append(fd is not None)
                if fd is not None:
                    fds.append(fd)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        return ok, fds

    def op_mkdir(self, m, path, mode):
        self._writable(m)
        pfd, name = self._parent(m, path)
        try:
            os.mkdir(name, mode, dir_fd=pfd)
            return stat_tuple(os.stat(name, dir_fd=pfd, follow_symlinks=False)), None
        finally:
            os.close(pfd)

    def op_mknod(self, m, path, mode, rdev):
        self._writable(m)
        pfd, name = self._parent(m, path)
        try:
            os.mknod(name, mode, rdev, dir_fd=pfd)
            return stat_tuple(os.stat(name, dir_fd=pfd, follow_symlinks=False)), None
        finally:
            os.close(pfd)

    def op_symlink(self, m, path, target):
        self._writable(m)
        pfd, name = self._parent(m, path)
        try:
            os.symlink(target, name, dir_fd=pfd)
            return stat_tuple(os.stat(name, dir_fd=pfd, follow_symlinks=False)), None
        finally:
            os.close(pfd)

    def op_unlink(self, m, path, rmdir):
        self._writable(m)
        pfd, name = self._parent(m, path)
        try:
            if rmdir:
                self._forget(m, path)
                os.rmdir(name, dir_fd=pfd)
            else:
                os.unlink(name, dir_fd=pfd)
            return 0, None
        finally:
            os.close(pfd)

    def op_rename(self, m, path, newpath):
        self._writable(m)
        self._forget(m, path)
        self._forget(m, newpath)
        a, an = self._parent(m, path)
        try:
            b, bn = self._parent(m, newpath)
            try:
                os.rename(an, bn, src_dir_fd=a, dst_dir_fd=b)
                return 0, None
            finally:
                os.close(b)
        finally:
            os.close(a)

    def op_link(self, m, path, newpath):
        self._writable(m)
        a, an = self._parent(m, path)
        try:
            b, bn = self._parent(m, newpath)
            try:
                os.link(an, bn, src_dir_fd=a, dst_dir_fd=b, follow_symlinks=False)
                return 0, None
            finally:
                os.close(b)
        finally:
            os.close(a)

    def op_setattr(self, m, path, mode, uid, gid, size, atime, mtime):
        self._writable(m)
        fd = self._open(m, path, os.O_PATH | os.O_NOFOLLOW)
        try:
            proc = f"/proc/self/fd/{fd}"
            if mode is not None:
                os.chmod(proc, mode)
            if uid is not None or gid is not None:
                os.chown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            if size is not None:
                os.truncate(proc, size)
            if atime is not None or mtime is not None:
                s = os.stat(fd)
                os.utime(proc, ns=(s.st_atime_ns if atime is None else atime,
                                   s.st_mtime_ns if mtime is None else mtime))
            return stat_tuple(os.stat(fd)), None
        finally:
            os.close(fd)

    def op_statfs(self, m, path):
        s = os.statvfs(self.roots[m][0])
        return [s.f_bsize, s.f_blocks, s.f_bfree, s.f_bavail, s.f_files, s.f_ffree,
                s.f_namemax, s.f_frsize], None

    def run(self, op, m, args):
        """One request, op_<op>(m, *args): (result, fd, [fds] or None), or
        OSError with the errno to answer (EINVAL for a malformed request).
        The gofer process answers with it (serve); under directfs the
        sentry calls the ops themselves (GoferClient.call)."""
        try:
            fn = self.ops[op]
            if not isinstance(m, int) or not 0 <= m < len(self.roots):
                raise OSError(22, "bad mount")
            return fn(m, *args)
        except (KeyError, TypeError, ValueError):
            raise OSError(22, "bad request") from None

    def serve(self, sock):
        """The gofer process's loop (start): requests until the sentry goes."""
        from . import protocol as P  # the process's alone: directfs runs Gofer without it
        while True:
            try:
                req, stray = P.recv(sock)
            except (EOFError, ConnectionError, ValueError):
                return
            for fd in stray:  # the sentry sends none
                os.close(fd)
            fds = []
            try:
                res, fd = self.run(req[0], req[1], req[2:])
                reply = {"r": res}
                if isinstance(fd, list):
                    fds = fd
                    reply["fds"] = len(fds)
                elif fd is not None:
                    fds = [fd]
                    reply["fd"] = 1
            except OSError as e:
                reply = {"e": e.errno or 5}
            P.send(sock, reply, fds)
            for fd in fds:
                os.close(fd)


def stat_tuple(s):
    return [s.st_mode, s.st_ino, s.st_dev, s.st_nlink, s.st_uid, s.st_gid, s.st_size,
            s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns, s.st_blocks, s.st_rdev]


def start(mounts):
    """Fork the gofer; return the sentry's end of its socket and its pid."""
    import socket  # here, not at the top: ~6 ms of every start under directfs, which
    # starts the process only when something is asked ahead (GoferClient)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            hs.die_with(me)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            a.close()
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            keep = b.fileno()
            os.closerange(3, keep)
            os.closerange(keep + 1, 65536)
            Gofer(mounts).serve(b)
        finally:
            os._exit(0)
    b.close()
    return a, pid
