"""Path walk over dentries and mounts (fs/namei.c, simplified).

A Dentry is a name in a directory on one mount. Mounting covers a dentry with
another filesystem's root; the walk steps through mounts on the way down and
back up for `..`. Paths are str (surrogateescape-decoded bytes).
"""

from ...abi import errno as E
from ...abi.caps import SEARCH_BYPASS
from ...abi.errno import SyscallError
from ..creds import permission

MAXSYMLINKS = 40  # include/linux/namei.h
NAME_MAX = 255  # include/uapi/linux/limits.h


def check_name(c):
    if len(c) > NAME_MAX // 3 and len(c.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise SyscallError(E.ENAMETOOLONG)


# Mount.flags: the per-mount flags of mount(2) a Mount keeps
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC


class Mount:
    def __init__(self, fs, root_inode, mountpoint=None, flags=0, source="none"):
        self.fs = fs
        self.mountpoint = mountpoint  # Dentry in the parent mount, None for the root
        self.flags = flags
        self.source = source
        self.root = Dentry("/", None, root_inode, self)


class Dentry:
    __slots__ = ("name", "parent", "inode", "mount", "children", "mounted", "unlinked")

    def __init__(self, name, parent, inode, mount):
        self.name = name
        self.parent = parent
        self.inode = inode
        self.mount = mount
        self.children = {}
        self.mounted = None  # Mount covering this dentry
        self.unlinked = False  # its name was removed (or replaced by a rename): "(deleted)"

    def child(self, name, rest=(), opening=False):
        d = self.children.get(name)
        if d is None:
            d = Dentry(name, self, self.inode.lookup(name, rest, opening), self.mount)
            if self.inode.fs.cache_dentries:
                self.children[name] = d
        return d

    def forget(self, name):
        self.children.pop(name, None)

    def path(self, root=None):
        """The absolute path of this dentry as seen from `root`."""
        parts = []
        d = self
        while True:
            if d is root:
                break
            if d.parent is None:
                mp = d.mount.mountpoint
                if mp is None:
                    break
                d = mp
                continue
            parts.append(d.name)
            d = d.parent
        return "/" + "/".join(reversed(parts))


def through_mounts(d):
    while d.mounted is not None:
        d = d.mounted.root
    return d


def parent_of(d, root):
    while True:
        if d is root:
            return d
        if d.parent is None:
            mp = d.mount.mountpoint
            if mp is None:
                return d
            d = mp
            continue
        return d.parent


class Walker:
    """Resolves paths for one task (its root, its cwd)."""

    def __init__(self, root, opening=False):
        self.root = root
        self.links = 0
        self.opening = opening  # the walk is for an open (a hint to the filesystems)

    def walk(self, start, path, follow=True, t=None):
        """Resolve `path` from dentry `start`; return the final dentry."""
        if not path:
            raise SyscallError(E.ENOENT)
        cur = self.root if path[0] == "/" else start
        comps = path.split("/")
        last = len(comps) - 1
        while last > 0 and comps[last] == "":
            last -= 1
        must_dir = path.endswith("/")
        # search permission on each directory walked through, unless the
        # caller may pass any (CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH)
        creds = t.tg.creds if t is not None else None
        if creds is not None and creds.cap_eff & SEARCH_BYPASS:
            creds = None
        for i, c in enumerate(comps):
            if c == "":
                if i >= last and not cur.inode.is_dir():
                    raise SyscallError(E.ENOTDIR)
                continue
            if not cur.inode.is_dir():
                raise SyscallError(E.ENOTDIR)
            if creds is not None and not permission(creds, cur.inode, 1):
                raise SyscallError(E.EACCES)
            if c == ".":
                continue
            if c == "..":
                cur = parent_of(cur, self.root)
                continue
            check_name(c)
            nxt = cur.children.get(c)  # the dentry cache, inline: the common case
            if nxt is None:
                nxt = cur.child(c, comps[i + 1:last + 1], self.opening)
            nxt = through_mounts(nxt)
            ino = nxt.inode
            if ino.mode & 0o170000 == 0o120000 and (i < last or follow or must_dir):
                nxt = self.follow(cur, nxt, t)
            cur = nxt
        if must_dir and not cur.inode.is_dir():
            raise SyscallError(E.ENOTDIR)
        return cur

    def follow(self, dirent, link, t):
        self.links += 1
        if self.links > MAXSYMLINKS:
            raise SyscallError(E.ELOOP)
        get = getattr(link.inode, "get_link", None)
        if get is not None:  # /proc magic links jump straight to a dentry
            target = get(t)
            if not isinstance(target, str):
                return target
        else:
            target = link.inode.readlink()
        if not target:
            raise SyscallError(E.ENOENT)
        return self.walk(dirent, target, True, t)

    def walk_parent(self, start, path, t=None):
        """Resolve all but the last component: (parent dentry, last name)."""
        if not path:
            raise SyscallError(E.ENOENT)
        stripped = path.rstrip("/")
        if not stripped:
            return self.root, "."
        head, sep, name = stripped.rpartition("/")
        if sep:
            parent = self.walk(start, head or "/", True, t)
        else:
            parent = start
        if not parent.inode.is_dir():
            raise SyscallError(E.ENOTDIR)
        check_name(name)
        return parent, name
