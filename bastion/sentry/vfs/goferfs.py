"""Files served by the gofer: the overlay's lower layer and bind mounts.

Inodes carry their mount-relative path; lookups and directory listings are
cached (a listing primes the attributes of every entry, so `find` costs one
round trip per directory). Reads go straight to a host fd the gofer opened.
"""

import collections
import os

from ... import hostsys as hs
from ...abi import errno as E
from ...abi.errno import SyscallError
from ..task import RLIMIT_FSIZE
from .files import SEEK_DATA, SEEK_HOLE, DirFile, RegularFile, fsize_room
from .inode import S_IFDIR, S_IFMT, S_IFREG, FileSystem, Inode, O_ACCMODE, O_RDONLY


PAGE = 4096
CACHE_CHUNK = 1 << 16  # the page cache is filled in these (page_cache)
_LAZY = frozenset(("mode", "hdev", "nlink", "uid", "gid", "_size", "atime", "mtime", "ctime",
                   "_blocks", "rdev"))
# Host fds kept open for reading gofer files: the sentry's fd use stays bounded
# however many files the app reads.
READ_FDS_MAX = 128
# When the app reads a directory's files in its listing's order (its first
# file, or one after an earlier one: tar, grep -r, cp -r), the host fds of the
# next this many regular files come with the one asked for (op_open_many):
# one round trip per 16 files, not one each. The next files are those such a
# walk reads next: on into listed subdirectories and the directories after
# this one (_files_from), so many small directories (/usr/share/doc) share
# a round trip.
OPEN_AHEAD = 15
# After this many single-name lookups in one directory, fetch its whole listing
# (names, and the attributes of directories, in one round trip); later
# lookups, and misses, are local (under directfs, this many names found
# missing: see lookup). A big directory waits for more: a listing costs about one round trip
# per ~50 entries, and a directory's size (st_size) is ~32 bytes an entry on
# ext4 and tmpfs, so one more lookup per LIST_BYTES of it (/usr/bin, ~1,100
# names: 23 lookups, not a 7 ms listing for the 3 names ld.so or python3 ask).
LIST_AFTER_MISSES = 3
LIST_BYTES = 1600
# A directory the app listed through a HostDir (directfs) has no listing in
# the sentry. Once the app looks up a listed file (not a subdirectory, as a
# find does), its mount wants attributes (want_attrs): from then on, in
# every directory it lists, after one lookup per LIST_BYTES_ATTRS of st_size
# (~48 entries: the first in a small one) a listing with every attribute
# answers the rest (tar, ls -l, du stat all they list: one walk each was
# ~10 us; python3 stats a few of the 210 in /usr/lib/python3.11).
LIST_BYTES_ATTRS = 1536
# The attributes of a listing's files come in one round trip (readdir) when the
# app asks for those of one of them, in a directory of more than BATCH_AFTER
# entries only at the n-th such file, n = entries / BATCH_AFTER: a listing's
# attributes cost ~13 us an entry, one file's ~200 us (python3's
# /usr/lib/python3.11: 210 entries, 2.9 ms for the one file it stats there).
BATCH_AFTER = 48
# A lookup that goes to the gofer asks for up to this many levels of the path
# being walked at once (op_walk): /usr/share/zoneinfo/Etc/UTC is one round
# trip, not four, and a file being opened comes with its host fd.
WALK_MAX = 32
# A listing the app asked for (getdents) brings, depth first in listing order
# (find's, tar's, du's, os.walk's), the listings of the directories below it
# until about this many entries came (one round trip for what `find` or `tar`
# would otherwise ask directory by directory), once the app has listed
# WALK_AFTER directories on the mount: a program that lists a few (python3
# lists ~7 package directories at start-up, then stats a few files in each)
# must not pay for a crawl (~30 us an entry), a tree walk gets it soon. The
# budget starts at TREE_BUDGET_FIRST and doubles each listing. Listings made
# to answer lookups (LIST_AFTER_MISSES) never descend. While a walk goes on,
# its next listings are asked for ahead (_read_ahead): the gofer process
# makes them while the sentry serves the app (not under directfs, which has
# no such process: see GoferClient).
WALK_AFTER = 16
TREE_BUDGET = 4096
TREE_BUDGET_FIRST = 256
# ... going on, after the directory asked for, with up to this many
# directories that earlier listings showed and a depth-first walk lists next
# (_frontier): those after it in its parent's listing, and so on up while the
# app listed those levels itself. After a listing of command_lib/ and of its
# 200 subdirectories, the __pycache__ in each of those comes in one round
# trip, not 200.
TREE_ROOTS = 256
# Under directfs, an open directory's getdents64 records come from a host fd
# of its own (HostDir), at most this many at once (the sentry's own fds stay
# bounded); past them, listings are made as without directfs.
HOST_DIRS_MAX = 64


class GoferFS(FileSystem):
    def __init__(self, client, mount, readonly, name="9p"):
        super().__init__()
        self.read_fds = collections.OrderedDict()  # GoferInode -> host fd, oldest first
        self.client = client
        self.mount = mount
        self.readonly = readonly
        self.name = name
        # Set once the app asks for the attributes of a listed file (ls -l,
        # tar, du): from then on listings carry every entry's attributes.
        self.want_attrs = False
        self.walks = 0  # directories the app listed (getdents)
        self.walked = set()  # ... their paths
        # (directory, listing index) after the last file whose host fd was
        # fetched or asked for ahead (_files_from); None: nothing to go on with
        self.open_next = None
        self.tree_budget = TREE_BUDGET_FIRST  # of the next readtree that descends
        self.host_dirs = 0  # HostDirs open

    def next_budget(self):
        """Entries for the next readtree that descends: doubling up to TREE_BUDGET."""
        budget = self.tree_budget
        self.tree_budget = min(budget * 2, TREE_BUDGET)
        return budget

    def call(self, op, path, *args):
        return self.client.call(op, self.mount, path, *args)

    def keep_fd(self, inode, fd):
        """Cache fd as inode's read-only host fd (GoferInode._host_fd)."""
        fds = self.read_fds
        old = fds.pop(inode, None)
        if old is not None:
            os.close(old)
        fds[inode] = fd
        if len(fds) > READ_FDS_MAX:
            os.close(fds.popitem(last=False)[1])

    def root(self):
        st, _ = self.call("lstat", "")
        return GoferInode(self, "", st)

    def keep_fds(self, want, ok, got):
        """Keep the fds an open_many brought for the files `want`."""
        got = iter(got)
        for n, opened in zip(want, ok):
            if opened:
                self.keep_fd(n, next(got))

    def ask_open(self):
        """While the app reads the files whose fds came, ask for those of the
        next ones (from open_next on); they are read when the app opens the
        first of them (_host_fd) or before the next call."""
        if self.client.asked is not None or self.open_next is None or self.client.direct is not None:
            # under directfs nothing is asked ahead: the next batch is
            # opened here when wanted (GoferClient)
            return
        want, self.open_next = _files_from(*self.open_next)
        if want:
            self.client.ask(lambda ok, got: self.keep_fds(want, ok, got), "open_many", self.mount,
                            "", [n.path for n in want])


def _files_from(d, j):
    """Up to OPEN_AHEAD + 1 regular files whose host fds are not here, in
    the order tar, cp -r and grep -r read them (depth first in listing
    order) from entry j of directory d on: into subdirectories already
    listed, and past d's end on into its parent's next entries while the app
    listed that parent. Returns them and where to go on from (None: the end
    of what is listed)."""
    fds = d.fs.read_fds
    walked = d.fs.walked
    want = []
    for _ in range(8 * OPEN_AHEAD):  # entries looked at
        names = d._names
        if names is None:  # forgotten since (a renamed directory)
            return want, None
        if j >= len(names):
            up = d._dir
            if up is None or up._names is None or up.path not in walked:
                return want, None
            j = up._position(d.path.rpartition("/")[2])
            if j is None:
                return want, None
            d, j = up, j + 1
            continue
        n = d._get(names[j])
        j += 1
        if n is None:
            continue
        if n._dtype == 8:
            if n not in fds:
                want.append(n)
                if len(want) > OPEN_AHEAD:
                    break
        elif n._dtype == 4 and n._names is not None:  # one not listed yet is passed by
            d, j = n, 0
    return want, (d, j)


def _index(names, name):
    """name's place in a listing; a name made since the listing: at its end."""
    try:
        return names.index(name)
    except ValueError:
        return len(names)


def _unlisted_below(d, start, dev, roots):
    """Append to roots, in depth-first listing order, the directories on
    host filesystem dev not listed yet below d, from its listing's entry
    `start` on, looking through those listed. True once roots is full.
    A directory remembers from which entry on nothing below it is left to
    list (_listed_from), so a walk that has everything (tar after a big
    readtree) does not look through the whole tree at each listing."""
    stack = [(d, start, start, len(roots))]  # (directory, next entry, first entry, roots then)
    while stack:
        d, i, first, had = stack.pop()
        done = d._listed_from
        if done is not None and i >= done:
            i = len(d._names)  # nothing left below from here on
        names, cache = d._names, d._cache
        for j in range(i, len(names)):
            n = cache.get(names[j])
            if n is None or n._dtype != 4 or n.hdev != dev:
                continue
            if n._children is None:
                roots.append(n)
                if len(roots) > TREE_ROOTS:
                    return True
            elif n._listed_from != 0 and n._names:
                stack.append((d, j + 1, first, had))
                stack.append((n, 0, 0, len(roots)))
                break
        else:
            if len(roots) == had and (done is None or first < done):
                d._listed_from = first
    return False


def _take_tree(roots, res, batch):
    """Fill the directories of a readtree reply: [[index in roots, path
    below that root, listing], ...]."""
    if not isinstance(res, list):
        return
    seen = {}  # (root index, path below it) -> directory: parents come before children
    for i, rel, listing in res:
        up, _, name = rel.rpartition("/")
        d = seen.get((i, up)) if name else roots[i]
        if d is None:
            d = roots[i]._descendant(rel)
        elif name:
            d = d._cache.get(name)
            if d is not None and d._dtype != 4:
                d = None
        if d is not None:
            seen[(i, rel)] = d
            if d._children is None:
                d._fill(listing, batch)


class GoferInode(Inode):
    """A host file. Made from a directory listing it knows only its name, inode
    number and type; the other attributes are fetched on first use
    (__getattr__), so listing a directory costs one round trip, not one per entry.
    A listed file gets its inode only when it is looked up (_get): `find`
    lists 60,000 files and looks up none."""

    _lazy = None  # a listed directory: {name: listing entry} of files not made into inodes yet
    _names = None  # ... its names in listing order (for _open_ahead)
    _last_open = -1  # ... the listing index of the last file whose host fd it fetched
    _listed_from = None  # ... the first entry from which on every directory below is listed
    _dir = None  # a file made from its directory's listing or walk: that directory
    _attr_asks = 0  # ... how many of its listed files were asked for their attributes
    _host_listed = False  # the app listed it through a HostDir (the sentry has no listing)

    def __init__(self, fs, path, st, ino=0, dtype=0, parent=None):
        self.fs = fs
        self.path = path
        self._parent = parent  # the directory whose listing made us, if one did
        self._children = None  # True once a listing filled _cache completely
        self._batch = False  # its listing's files fetch attributes together (_fill)
        self._cache = {}
        self._absent = None  # names the gofer said are missing (set), until one is made here
        self._misses = 0
        self.ino = ino
        self._dtype = dtype
        if st is not None:
            self._set(st)

    def _set(self, st):
        (self.mode, self.ino, self.hdev, self.nlink, self.uid, self.gid, self._size,
         self.atime, self.mtime, self.ctime, self._blocks, self.rdev) = st[:12]
        self._dtype = (self.mode >> 12) & 15
        if len(st) > 12:  # a symlink's target (lstat)
            self._link = st[12]

    def __getattr__(self, name):
        if name in _LAZY:
            self.refresh()
            return self.__dict__[name]
        raise AttributeError(name)

    @property
    def size(self):
        return self._size

    def blocks(self):
        return self._blocks

    def _sub(self, name):
        return name if not self.path else self.path + "/" + name

    def refresh(self):
        parent = self._parent
        if parent is not None and "mode" not in self.__dict__:
            # An attribute asked of a listed file: the app may stat all it
            # lists (ls -l, tar, du), so fetch the attributes of the whole
            # listing at once; in a big directory only once it asked for a
            # few (BATCH_AFTER): python3 lists its package directories and
            # stats one or two files in each.
            self._parent = None
            parent._attr_asks += 1
            if parent._attr_asks * BATCH_AFTER >= len(parent._names or ()):
                self.fs.want_attrs = True
                try:
                    parent._fill_attrs()
                except SyscallError:
                    pass
                if "mode" in self.__dict__:
                    return
        st, _ = self.fs.call("lstat", self.path)
        self._set(st)

    def _fill_attrs(self):
        res, _ = self.fs.call("readdir", self.path, True)
        cache, lazy = self._cache, self._lazy or {}
        for name, _ino, _dt, st in res:
            if st is None:
                continue
            n = cache.get(name)
            if n is not None:
                if "mode" not in n.__dict__:
                    n._set(st)
            else:
                e = lazy.get(name)
                if e is not None:
                    e[3] = st

    def _get(self, name):
        """The inode of name if known (cached, or listed: made now), else None."""
        n = self._cache.get(name)
        if n is None and self._lazy:
            e = self._lazy.pop(name, None)
            if e is not None:
                n = self._cache[name] = GoferInode(self.fs, self._sub(name), e[3], e[1], e[2],
                                                   self if self._batch else None)
                n._dir = self
        return n

    def lookup(self, name, rest=(), opening=False):
        if self.mode & S_IFMT != S_IFDIR:
            raise SyscallError(E.ENOTDIR)
        n = self._get(name)
        if n is not None:
            if opening and n._dtype == 8 and "mode" not in n.__dict__ and n not in self.fs.read_fds:
                self._walk(name, (), True)  # a listed file being opened: attributes and fd at once
            return n
        if self._children is not None or (self._absent is not None and name in self._absent):
            raise SyscallError(E.ENOENT)
        self._misses += 1
        if self._host_listed and self.fs.want_attrs and self._misses * LIST_BYTES_ATTRS >= self._size:
            # the app listed it (HostDir) and looks up what it listed, files
            # too: a tar, an ls -l; one listing with attributes answers it
            self.children(walk=True)
            n = self._get(name)
            if n is None:
                raise SyscallError(E.ENOENT)
            return n
        misses = self._misses
        if self.fs.client.direct is not None:
            # directfs: a lookup of a name that is there is one host
            # fstatat, less than its share of a listing (find looks up the
            # subdirectories it lists); a listing pays for the names it
            # answers with no host call at all, missing ones (a search path's)
            misses = len(self._absent) if self._absent is not None else 0
        if misses >= LIST_AFTER_MISSES and misses >= self._size // LIST_BYTES:
            # a busy directory: one listing answers the rest
            self.children()
            n = self._get(name)
            if n is None:
                raise SyscallError(E.ENOENT)
            return n
        return self._walk(name, rest, opening)

    def _walk(self, name, rest, opening):
        """Fetch name and as many of the names after it as the gofer can
        walk (op_walk); with `opening`, the last one's host fd too."""
        fs = self.fs
        direct = fs.client.direct
        if direct is not None and not rest and not opening:
            # directfs, one name's attributes (find's lstat of each
            # subdirectory it lists): the gofer's lstat itself, no walk's
            # lists (a fresh lookup in the VFS alone ~18 -> ~12 us)
            try:
                st = direct.lstat_in(fs.mount, self.path, name)
            except OSError as e:
                if e.errno == E.ENOENT:
                    self._set_absent(name, True)
                raise SyscallError(e.errno or E.EIO)
            if self._host_listed and st[0] & S_IFMT != S_IFDIR:
                fs.want_attrs = True
            return self._made(name, st)
        names = [name]
        for c in rest:
            if c in ("", ".", "..") or len(names) >= WALK_MAX:
                break
            names.append(c)
        open_last = opening and len(names) == len(rest) + 1
        try:
            res, fd = fs.call("walk", self.path, names, open_last)
        except SyscallError as e:
            if e.errno == E.ENOENT:
                self._set_absent(name, True)
            raise
        if self._host_listed and isinstance(res[0], list) and res[0][0] & S_IFMT != S_IFDIR:
            fs.want_attrs = True  # a file the app listed (not only subdirectories, as find's)
        d = self
        for nm, st in zip(names, res):
            if not isinstance(st, list):  # the first missing one
                if st == E.ENOENT:
                    d._set_absent(nm, True)
                break
            d = d._made(nm, st)
        if fd is not None:
            if d is self or not d.is_reg():
                os.close(fd)
            else:
                fs.keep_fd(d, fd)
        return self._cache[name]

    def _made(self, name, st):
        """The inode of name here, with attributes st (made or refreshed)."""
        n = self._get(name)
        if n is None:
            n = self._cache[name] = GoferInode(self.fs, self._sub(name), st)
            n._dir = self
        else:
            n._set(st)
        return n

    def _set_absent(self, name, absent):
        """Note that name is missing here, or (absent False) that it may not be."""
        if absent:
            if self._absent is None:
                self._absent = set()
            self._absent.add(name)
        elif self._absent is not None:
            self._absent.discard(name)

    def children(self, walk=False):
        """The listing, fetched once. `walk`: the app lists this directory
        (getdents), so a tree walk may be under way (see WALK_AFTER)."""
        fs = self.fs
        if walk:
            fs.walked.add(self.path)
        if self._children is None and fs.client.asked is not None:
            fs.client.drain()  # it may be on its way (_read_ahead)
        if self._children is None:
            roots = [self]
            budget = 0
            if walk:
                fs.walks += 1
                if fs.walks >= WALK_AFTER:
                    budget = fs.next_budget()
                    self._frontier(roots)
            # A listing made to answer lookups comes without the files'
            # attributes, and its files do not fetch them for the whole
            # listing later (see refresh): the app looked up a few names in a
            # big directory (ld.so in /usr/lib/x86_64-linux-gnu, a shell in
            # /usr/bin), and ~1,000 lstats would cost it ~20 ms.
            res, _ = fs.call("readtree", [d.path for d in roots], budget, fs.want_attrs and walk)
            if not isinstance(res, list):
                raise SyscallError(E.EIO)
            _take_tree(roots, res, walk)
        elif walk and not self._batch:
            # listed for lookups before, listed by the app now: the app may
            # stat what it lists (ls -l), so fetch attributes in one go again
            self._batch = True
            for n in self._cache.values():
                if "mode" not in n.__dict__:
                    n._parent = self
        if walk and fs.walks >= WALK_AFTER and fs.client.asked is None and fs.client.direct is None:
            self._read_ahead()
        # in the host's order (the listing's), then names made here since
        cache, lazy = self._cache, self._lazy or {}
        out = []
        for name in self._names or ():
            n = cache.get(name)
            if n is not None:
                out.append((name, n.ino, n._dtype))
            else:
                e = lazy.get(name)
                if e is not None:
                    out.append((name, e[1], e[2]))
        if len(out) != len(cache) + len(lazy):
            listed = set(self._names or ())
            out += [(name, n.ino, n._dtype) for name, n in cache.items() if name not in listed]
        return out

    def _frontier(self, roots):
        """Add to roots the directories not listed yet that a depth-first
        walk in listing order lists after this one, as far as listings show
        them: those below this one, then those after it in its parent's
        listing, and so on up while the app listed that level too, on this
        one's host filesystem: where a tree walk goes next. Never farther
        (up to a level the app did not list): a walk of /usr/lib must not
        crawl the rest of /usr."""
        dev, walked = self.hdev, self.fs.walked
        d, start = self, 0
        while True:
            if d._names and _unlisted_below(d, start, dev, roots):
                return roots
            up = d._dir
            if up is None or up.path not in walked:
                return roots
            start = _index(up._names or (), d.path.rpartition("/")[2]) + 1
            d = up

    def _read_ahead(self):
        """A tree walk is under way: ask for the listings it will want next
        (the frontier) now, so the gofer makes them while the app works on
        this one; the reply is read when a listing is wanted (children) or
        at the next call."""
        roots = self._frontier([])
        if roots:
            fs = self.fs
            fs.client.ask(lambda res, _: _take_tree(roots, res, True), "readtree", fs.mount,
                          [d.path for d in roots], fs.next_budget(), fs.want_attrs)

    def _descendant(self, rel):
        d = self
        if rel:
            for name in rel.split("/"):
                d = d._cache.get(name)
                if d is None or (d._dtype != 4):
                    return None
        return d

    def _fill(self, listing, batch):
        """Take a listing from the gofer; `batch`: its files fetch their
        attributes for the whole listing at once when one is asked."""
        cache = self._cache
        base = self.path + "/" if self.path else ""
        fs = self.fs
        parent = self if batch else None
        # files stay listing entries (lazy); directories are made now: a
        # tree walk's prefetch needs them (_frontier)
        lazy = {e[0]: e for e in listing if e[2] != 4}
        for e in [e for e in listing if e[2] == 4]:
            name = e[0]
            if name not in cache:
                cache[name] = n = GoferInode(fs, base + name, e[3], e[1], 4, parent)
                n._dir = self
        for name in cache:  # made here before the listing came
            lazy.pop(name, None)
        self._lazy = lazy
        self._names = [e[0] for e in listing]
        self.__dict__.pop("_pos", None)  # positions in an earlier listing (_position)
        self._children = True
        self._batch = batch

    def readdir(self):
        return self.children(walk=True)

    def host_dir(self):
        """Under directfs, below the mount's root (whose host `..` is not
        the sandbox's), while fewer than HOST_DIRS_MAX are open, and until
        the app looks up files it listed (want_attrs): from then on the
        sentry's own listings, which carry attributes, serve it better."""
        fs = self.fs
        if fs.client.direct is None or not self.path or fs.host_dirs >= HOST_DIRS_MAX \
                or fs.want_attrs:
            return None
        try:
            _, fd = fs.call("opendir", self.path)
        except SyscallError:
            return None
        self._host_listed = True
        return HostDir(fs, self.path, fd)

    def readlink(self):
        link = self.__dict__.get("_link")
        if link is None:
            link, _ = self.fs.call("readlink", self.path)
            self._link = link  # a symlink's target never changes
        return link

    def _host_fd(self):
        """A read-only host fd for this file, from a bounded cache of them."""
        fs = self.fs
        fds = fs.read_fds
        fd = fds.get(self)
        if fd is None and fs.client.asked is not None:
            fs.client.drain()  # it may be on its way (GoferFS.ask_open)
            fd = fds.get(self)
            if fd is not None:
                fs.ask_open()  # the app reads on into what came ahead
        if fd is None:
            d = self._dir
            if d is None or not d._open_ahead(self):
                _, fd = self.fs.call("open", self.path, os.O_RDONLY, 0)
                self.fs.keep_fd(self, fd)
            fd = fds[self]
        else:
            fds.move_to_end(self)
        return fd

    def _dtype_of(self, name):
        n = self._cache.get(name)
        if n is not None:
            return n._dtype
        e = self._lazy.get(name) if self._lazy else None
        return e[2] if e is not None else 0

    def _position(self, name):
        """name's index in this directory's listing, or None."""
        pos = self.__dict__.get("_pos")
        if pos is None:
            pos = self._pos = {n: i for i, n in enumerate(self._names)}
        return pos.get(name)

    def _open_ahead(self, f):
        """The host fd of f, a file of this directory's listing, is wanted:
        if the app goes through the listing in order (f is its first
        regular file, or comes after the last file whose fd was fetched
        here), fetch f's and those of the next OPEN_AHEAD regular files in
        one round trip (and on into the directories after, _files_from).
        True if f's came."""
        if not self._names:
            return False
        i = self._position(f.path.rpartition("/")[2])
        last, self._last_open = self._last_open, (-1 if i is None else i)
        if i is None or i <= last:
            return False
        names = self._names
        fs = self.fs
        nxt = fs.open_next
        if last < 0 and not (nxt is not None and nxt[0] is self and nxt[1] <= i) and \
                any(self._dtype_of(names[j]) == 8 for j in range(i)):
            # the first one here, neither the listing's first file nor where
            # the walk's open-ahead left off: no order yet
            return False
        want, fs.open_next = _files_from(self, i)  # f first
        ok, got = fs.call("open_many", "", [n.path for n in want])
        fs.keep_fds(want, ok, got)
        fs.ask_open()
        return f in fs.read_fds

    def read_at(self, off, n):
        if n <= 0:
            return b""
        return os.pread(self._host_fd(), n, off)

    def cache_source(self):
        """The inode whose page cache a mapping of this file borrows: its
        own, on a read-only mount (whose files never change); else None."""
        return self if self.fs.readonly else None

    def page_cache(self, memfile, off, length, fill=True):
        """Memory-file offset of the file's copy (cache_source), with its
        bytes [off, off+length) there unless `fill` is False. The copy is
        filled CACHE_CHUNK by CACHE_CHUNK as it is needed: a read-only
        mapping's pages as they are touched (MM.lazy_fault; cc1's 33 MB
        of segments, of which compiling hello.c touches about a third), a
        private copy's or the sentry's reads at once."""
        if not self.fs.readonly:
            return None
        d = self.__dict__
        base = d.get("_cache_off")
        size = self._size
        if base is None:
            base = self._cache_off = memfile.alloc(max(PAGE, (size + PAGE - 1) & ~(PAGE - 1)))
            d["_cache_filled"] = bytearray((size + CACHE_CHUNK - 1) // CACHE_CHUNK)
        if not fill:
            return base
        filled = d["_cache_filled"]
        hi = min(len(filled), (off + length + CACHE_CHUNK - 1) // CACHE_CHUNK)
        i = filled.find(0, off // CACHE_CHUNK, hi)
        while i >= 0:
            j = filled.find(1, i, hi)
            if j < 0:
                j = hi
            pos = i * CACHE_CHUNK
            memfile.fill(base + pos, self._host_fd(), pos, min(j * CACHE_CHUNK, size) - pos)
            filled[i:j] = b"\1" * (j - i)
            i = filled.find(0, j, hi)
        return base

    def cached_runs(self, lo, hi):
        """The parts of the file's bytes [lo, hi) in the page cache, as
        (start, end) pairs: whole chunks, cut to [lo, hi)."""
        filled = self.__dict__.get("_cache_filled")
        out = []
        if filled is None:
            return out
        n = min(len(filled), (hi + CACHE_CHUNK - 1) // CACHE_CHUNK)
        i = filled.find(1, lo // CACHE_CHUNK, n)
        while i >= 0:
            j = filled.find(0, i, n)
            if j < 0:
                j = n
            out.append((max(lo, i * CACHE_CHUNK), min(hi, j * CACHE_CHUNK)))
            i = filled.find(1, j, n)
        return out

    def write_at(self, off, data):
        raise SyscallError(E.EBADF)

    def open(self, flags, t=None):
        kind = self.mode & S_IFMT
        if kind == S_IFDIR:
            return DirFile(self, flags)
        if kind != S_IFREG:
            raise SyscallError(E.ENXIO)
        if flags & O_ACCMODE == O_RDONLY:
            return RegularFile(self, flags)
        st, fd = self.fs.call("open", self.path, flags & ~0o100, 0)
        self._set(st)
        return HostBackedFile(self, flags, fd)

    # --- changes (rw bind mounts) -----------------------------------------
    def _new(self, name, st):
        n = GoferInode(self.fs, self._sub(name), st)
        self._put(name, n)
        return n

    def _put(self, name, n):
        """n is name here now (made, linked): not a listing entry, not missing."""
        self._drop(name)
        self._cache[name] = n
        self._set_absent(name, False)

    def _drop(self, name):
        """name is no longer what the cache or the listing says it is."""
        self._cache.pop(name, None)
        if self._lazy:
            self._lazy.pop(name, None)

    def create(self, name, mode, uid, gid, rdev=0):
        kind = mode & S_IFMT
        if kind == S_IFDIR:
            st, _ = self.fs.call("mkdir", self._sub(name), mode & 0o7777)
        elif kind == S_IFREG:
            st, fd = self.fs.call("open", self._sub(name), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                                  mode & 0o7777)
            os.close(fd)
        else:
            st, _ = self.fs.call("mknod", self._sub(name), mode, rdev)
        return self._new(name, st)

    def symlink(self, name, target, uid, gid):
        st, _ = self.fs.call("symlink", self._sub(name), target)
        return self._new(name, st)

    def link(self, name, inode):
        if inode.fs is not self.fs:
            raise SyscallError(E.EXDEV)
        self.fs.call("link", inode.path, self._sub(name))
        inode.refresh()
        self._put(name, inode)

    def unlink(self, name, rmdir=False):
        self.fs.call("unlink", self._sub(name), rmdir)
        self._drop(name)

    def rename(self, name, newdir, newname, flags=0):
        if not isinstance(newdir, GoferInode) or newdir.fs is not self.fs:
            raise SyscallError(E.EXDEV)
        if flags:
            raise SyscallError(E.EINVAL)
        self.fs.call("rename", self._sub(name), newdir._sub(newname))
        n = self._get(name)
        self._drop(name)
        newdir._drop(newname)
        newdir._set_absent(newname, False)
        if n is not None:
            n.path = newdir._sub(newname)
            n._cache = {}
            n._lazy = n._names = None
            n._children = None
            newdir._put(newname, n)

    def setattr(self, mode=None, uid=None, gid=None, size=None, atime=None, mtime=None):
        self.fs.check_writable()
        st, _ = self.fs.call("setattr", self.path, mode, uid, gid, size, atime, mtime)
        self._set(st)

    def truncate(self, size):
        self.setattr(size=size)


class HostDir:
    """A host directory fd (directfs) whose getdents64 records, offsets and
    lseek the app gets as they are, for one open directory (DirFile): inode
    numbers and types are the ones the sandbox shows anyway (GoferInode: the
    host's), `.` and `..` too below the mount's root, and the sentry builds
    nothing per entry. Re-created from the mount and path, then an lseek to
    the offset the app reached."""

    def __init__(self, fs, path, fd):
        self.fs = fs
        self.path = path
        self.fd = fd
        fs.host_dirs += 1
        # while it is open, what is looked up below it is resolved beneath
        # its fd (find's lstat of each subdirectory it lists, its open of
        # the next: the directory is not opened again, O_PATH)
        fs.client.direct.hold_dir(fs.mount, path, fd)

    def getdents(self, n):
        try:
            return hs.getdents64(self.fd, n)
        except OSError as e:
            raise SyscallError(e.errno or E.EIO)

    def getdents_at(self, addr, n):
        try:
            return hs.getdents64_at(self.fd, addr, n)
        except OSError as e:
            raise SyscallError(e.errno or E.EIO)

    def lseek(self, off, whence):
        try:
            return os.lseek(self.fd, off, whence)
        except OSError as e:
            raise SyscallError(e.errno or E.EINVAL)

    def close(self):
        fs = self.fs
        fs.client.direct.release_dir(fs.mount, self.path, self.fd)
        os.close(self.fd)
        fs.host_dirs -= 1


class HostBackedFile(RegularFile):
    """A writable gofer file: reads and writes go to the host fd."""

    def __init__(self, inode, flags, fd):
        super().__init__(inode, flags)
        self.fd = fd

    def read(self, t, n):
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data

    def pread(self, t, n, off):
        return os.pread(self.fd, n, off)

    def write(self, t, data):
        if self.flags & 0o2000:
            self.pos = os.fstat(self.fd).st_size
        if self.pos + len(data) > t.tg.rlimits[RLIMIT_FSIZE][0]:
            data = data[:fsize_room(t, self.pos, len(data))]
        n = os.pwrite(self.fd, data, self.pos)
        self.pos += n
        self.inode._size = max(self.inode._size, self.pos)
        return n

    def pwrite(self, t, data, off):
        if off + len(data) > t.tg.rlimits[RLIMIT_FSIZE][0]:
            data = data[:fsize_room(t, off, len(data))]
        n = os.pwrite(self.fd, data, off)
        self.inode._size = max(self.inode._size, off + n)
        return n

    def lseek(self, off, whence):
        self.inode._size = os.fstat(self.fd).st_size
        if whence == SEEK_DATA or whence == SEEK_HOLE:  # the host file's holes
            try:
                self.pos = os.lseek(self.fd, off, whence)
            except OSError as e:
                raise SyscallError(e.errno or E.EINVAL)
            return self.pos
        return super().lseek(off, whence)

    def release(self):
        os.close(self.fd)
