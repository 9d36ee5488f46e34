"""inotify (fs/notify/inotify): watches on inodes, events for changes made
inside the sandbox. The syscall layer reports changes with `notify` and
`notify_dentry`; both cost one attribute test while nobody watches."""

import struct

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import WaitQueue
from ..vfs.inode import O_CLOEXEC, O_NONBLOCK, O_RDONLY, File
from ..syscalls.util import path_arg
from . import POLLIN, file_of, s32
from .anon import anon_inode

IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x1, 0x2, 0x4, 0x8
IN_CLOSE_NOWRITE, IN_OPEN, IN_MOVED_FROM, IN_MOVED_TO = 0x10, 0x20, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x1000000, 0x2000000, 0x4000000
IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT = 0x10000000, 0x20000000, 0x40000000, 0x80000000
IN_ALL_EVENTS = 0xFFF
_EVENT = struct.Struct("<iIII")
MAX_QUEUED = 16384  # fs.inotify.max_queued_events


class Inotify(File):
    def __init__(self, kernel, flags):
        super().__init__(anon_inode("inotify"), O_RDONLY | (flags & O_NONBLOCK))
        self.kernel = kernel
        self.watches = {}  # wd -> [inode, mask]
        self.next_wd = 1
        self.events = []
        self.queue = WaitQueue()

    def add(self, wd, mask, name, cookie=0):
        ev = (wd, mask, cookie, name)
        if self.events and self.events[-1] == ev:
            return  # Linux merges an event identical to the last one queued
        if len(self.events) >= MAX_QUEUED:
            ev = (-1, IN_Q_OVERFLOW, 0, "")
            if self.events[-1] == ev:
                return
        self.events.append(ev)
        self.queue.notify(POLLIN)

    def read(self, t, n):
        while not self.events:
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([self.queue])
        out = bytearray()
        while self.events:
            wd, mask, cookie, name = self.events[0]
            nb = name.encode("utf-8", "surrogateescape")
            ln = (len(nb) + 16) & ~15 if nb else 0
            rec = _EVENT.pack(wd, mask, cookie, ln) + nb.ljust(ln, b"\0")
            if len(out) + len(rec) > n:
                if not out:
                    raise SyscallError(E.EINVAL)
                break
            out += rec
            self.events.pop(0)
        return bytes(out)

    def poll(self):
        return POLLIN if self.events else 0

    def wait_queue(self, events=POLLIN):
        return self.queue

    def ioctl(self, t, req, arg):
        if req == 0x541B:  # FIONREAD
            size = sum(16 + ((len(e[3].encode("utf-8", "surrogateescape")) + 16) & ~15 if e[3] else 16)
                       for e in self.events)
            t.mm.write_u32(arg, size)
            return 0
        raise SyscallError(E.ENOTTY)

    def remove(self, wd):
        inode, _ = self.watches.pop(wd)
        lst = self.kernel.inotify_watches.get(inode)
        if lst is not None:
            lst[:] = [w for w in lst if not (w[0] is self and w[1] == wd)]
            if not lst:
                del self.kernel.inotify_watches[inode]
        self.add(wd, IN_IGNORED, "")

    def release(self):
        for wd in list(self.watches):
            self.remove(wd)


def notify(kernel, inode, mask, name="", cookie=0):
    """Report `mask` on `inode` (with the child's `name` for directory events)."""
    watchers = kernel.inotify_watches.get(inode)
    if not watchers:
        return
    isdir = mask & IN_ISDIR
    for ino, wd, wmask in list(watchers):
        hit = mask & wmask & IN_ALL_EVENTS
        if hit:
            ino.add(wd, hit | isdir, name, cookie)
            if wmask & IN_ONESHOT:
                ino.remove(wd)
        if mask & IN_DELETE_SELF and wd in ino.watches:  # the inode is gone
            ino.remove(wd)


def notify_dentry(kernel, d, mask):
    """An event on a file: to its own watches and to its directory's, by name."""
    if not kernel.inotify_watches or d is None:
        return
    flag = IN_ISDIR if d.inode.is_dir() else 0
    notify(kernel, d.inode, mask | flag)
    if d.parent is not None:
        notify(kernel, d.parent.inode, mask | flag, d.name)


def sys_inotify_init1(t, flags, *_):
    if flags & ~(O_NONBLOCK | O_CLOEXEC):
        raise SyscallError(E.EINVAL)
    return t.files.install(Inotify(t.kernel, flags), bool(flags & O_CLOEXEC))


def sys_inotify_init(t, *_):
    return sys_inotify_init1(t, 0)


def sys_inotify_add_watch(t, fd, pathaddr, mask, *_):
    f = file_of(t, fd, Inotify)
    if not mask & IN_ALL_EVENTS or (mask & IN_MASK_CREATE and mask & IN_MASK_ADD):
        raise SyscallError(E.EINVAL)
    d = t.kernel.lookup(t, path_arg(t, pathaddr), not mask & IN_DONT_FOLLOW)
    if mask & IN_ONLYDIR and not d.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    watches = t.kernel.inotify_watches.setdefault(d.inode, [])
    for i, (ino, wd, wmask) in enumerate(watches):
        if ino is f:
            if mask & IN_MASK_CREATE:
                raise SyscallError(E.EEXIST)
            new = (wmask | mask) if mask & IN_MASK_ADD else mask
            watches[i] = (f, wd, new)
            f.watches[wd][1] = new
            return wd
    wd = f.next_wd
    f.next_wd += 1
    watches.append((f, wd, mask))
    f.watches[wd] = [d.inode, mask]
    return wd


def sys_inotify_rm_watch(t, fd, wd, *_):
    f = file_of(t, fd, Inotify)
    wd = s32(wd)
    if wd not in f.watches:
        raise SyscallError(E.EINVAL)
    f.remove(wd)
    return 0
