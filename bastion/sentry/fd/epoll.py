"""epoll (fs/eventpoll.c), modelled on Linux's ready list so edge- and
level-triggered behave the same way.

Each watched (fd, file) is an EpItem that sits on its file's wait queue for
as long as it is in the set. A notification whose key matches the item's
events puts it on the ready list; epoll_wait polls each ready item, reports
it and re-queues it only if level-triggered. So EPOLLET fires once per
notification (an eventfd write is a new edge even if it was readable), and an
item leaves every set when its open file description is released.
Host fds are one-shot in the kernel's host epoll: items on their queues (and
on nested sets; sched.RearmQueue) re-arm before each wait, the others stay
armed, so a wait costs nothing per idle item. EPOLLEXCLUSIVE is accepted and
wakes every waiter.
"""

import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import ALL_EVENTS, RearmQueue
from ..vfs.inode import O_CLOEXEC, O_RDWR, S_IFDIR, S_IFMT, S_IFREG, File
from . import POLLERR, POLLHUP, POLLIN, file_of, finish, ready_events, s32, set_temp_sigmask
from .anon import anon_inode

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EPOLLEXCLUSIVE_OK = 0x1 | 0x4 | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | 0x40 | 0x100
EP_MAX_EVENTS = 0x7FFFFFFF // 12
EP_MAX_NESTS = 4
EVENT = struct.Struct("<IQ")  # struct epoll_event is packed on x86-64


class EpItem:
    __slots__ = ("ep", "fd", "file", "events", "data", "queue", "linked")

    def __init__(self, ep, fd, f, events, data):
        self.ep, self.fd, self.file, self.events, self.data = ep, fd, f, events, data
        self.queue = None
        self.linked = False  # on the ready list

    def arm(self):
        q = self.file.wait_queue(self.events & ~EP_PRIVATE_BITS)
        if q is not self.queue:
            self.disarm()
            if q is not None:
                q.waiters.append(self)
            self.queue = q
        if q is not None and q.rearm:
            self.ep.rearm.add(self)

    def disarm(self):
        if self.queue is not None:
            try:
                self.queue.waiters.remove(self)
            except ValueError:
                pass
            self.queue = None

    def wake(self, key=ALL_EVENTS):
        """ep_poll_callback: called when the watched file's queue is notified."""
        if not self.events & ~EP_PRIVATE_BITS:  # a fired EPOLLONESHOT
            return
        if key & self.events:
            self.ep.link(self)

    def poll(self):
        return ready_events(self.file) & self.events


class EventPoll(File):
    def __init__(self):
        super().__init__(anon_inode("eventpoll"), O_RDWR)
        self.items = {}  # (fd, file) -> EpItem
        self.files = {}  # file -> its EpItems (one per fd it is added by)
        self.rearm = set()  # items on a RearmQueue: armed again before each wait
        self.ready = []
        self.queue = RearmQueue()

    def link(self, item, notify=True):
        if not item.linked:
            item.linked = True
            self.ready.append(item)
        if notify:
            self.queue.notify(POLLIN)

    def unlink(self, item):
        if item.linked:
            item.linked = False
            self.ready.remove(item)

    def remove(self, item):
        item.disarm()
        if item.linked:
            self.unlink(item)
        f = item.file
        del self.items[(item.fd, f)]
        if self.rearm:
            self.rearm.discard(item)
        same = self.files[f]
        same.remove(item)
        if not same:
            del self.files[f]
            hooks = f.release_hooks
            if hooks is not None:
                try:
                    hooks.remove(self._on_release)
                except ValueError:
                    pass

    def _on_release(self, f):
        for item in list(self.files.get(f, ())):
            self.remove(item)

    # --- the set ------------------------------------------------------------
    def add(self, fd, f, events, data):
        key = (fd, f)
        if key in self.items:
            raise SyscallError(E.EEXIST)
        item = self.items[key] = EpItem(self, fd, f, events | POLLERR | POLLHUP, data)
        same = self.files.get(f)
        if same is None:
            same = self.files[f] = []
            if f.release_hooks is None:
                f.release_hooks = []
            f.release_hooks.append(self._on_release)
        same.append(item)
        item.arm()
        if item.poll():
            self.link(item)

    def modify(self, fd, f, events, data):
        item = self.items.get((fd, f))
        if item is None:
            raise SyscallError(E.ENOENT)
        if item.events & EPOLLEXCLUSIVE:
            raise SyscallError(E.EINVAL)
        item.events, item.data = events | POLLERR | POLLHUP, data
        item.arm()
        if item.poll():
            self.link(item)

    def harvest(self, maxevents):
        """ep_send_events: [(events, data)] of ready items, at most maxevents."""
        out = []
        batch, self.ready = self.ready, []
        for i, item in enumerate(batch):
            if len(out) >= maxevents:
                self.ready = batch[i:] + self.ready
                break
            item.linked = False
            rev = item.poll()
            if not rev:
                continue
            out.append((rev, item.data))
            if item.events & EPOLLONESHOT:
                item.events &= EP_PRIVATE_BITS
            elif not item.events & EPOLLET:
                self.link(item, notify=False)
        return out

    # --- the epoll file itself (nested epoll, poll on an epoll fd) ---------
    def poll(self):
        for item in list(self.ready):
            if item.poll():
                return POLLIN
            self.unlink(item)
        return 0

    def wait_queue(self, events=POLLIN):
        for item in list(self.rearm):
            item.arm()
        return self.queue

    def release(self):
        for item in list(self.items.values()):
            self.remove(item)

    def reaches(self, other, depth=0):
        """Whether `other` is this set or nested in it (ep_loop_check)."""
        if depth > EP_MAX_NESTS:
            return True
        for _, f in self.items:
            if f is other or (isinstance(f, EventPoll) and f.reaches(other, depth + 1)):
                return True
        return False


# --- syscalls -------------------------------------------------------------------
def sys_epoll_create1(t, flags, *_):
    """epoll_create1(2)."""
    if flags & ~O_CLOEXEC:
        raise SyscallError(E.EINVAL)
    return t.files.install(EventPoll(), bool(flags & O_CLOEXEC))


def sys_epoll_create(t, size, *_):
    """epoll_create(2): size only has to be positive."""
    if size & 0xFFFFFFFF == 0 or size & 0x80000000:
        raise SyscallError(E.EINVAL)
    return sys_epoll_create1(t, 0)


def sys_epoll_ctl(t, epfd, op, fd, evp, *_):
    """epoll_ctl(2): ADD, MOD, DEL with Linux's checks (EPERM for regular
    files and directories, ELOOP for cycles, EINVAL for EPOLLEXCLUSIVE misuse)."""
    if op == EPOLL_CTL_ADD or op == EPOLL_CTL_MOD:
        events, data = EVENT.unpack(t.mm.read(evp, 12))
    elif op == EPOLL_CTL_DEL:
        events = data = 0
    else:
        raise SyscallError(E.EINVAL)
    files = t.files
    epf = files.get(s32(epfd))
    f = files.get(s32(fd))
    kind = f.inode.mode & S_IFMT
    if kind == S_IFREG or kind == S_IFDIR:  # files Linux has no poll for
        raise SyscallError(E.EPERM)
    if f is epf or not isinstance(epf, EventPoll):
        raise SyscallError(E.EINVAL)
    if events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD or (op == EPOLL_CTL_ADD and (
                isinstance(f, EventPoll) or events & ~(EPOLLEXCLUSIVE_OK | EPOLLEXCLUSIVE))):
            raise SyscallError(E.EINVAL)
    fd &= 0xFFFFFFFF
    if op == EPOLL_CTL_ADD:
        if isinstance(f, EventPoll) and f.reaches(epf):
            raise SyscallError(E.ELOOP)
        epf.add(fd, f, events, data)
    elif op == EPOLL_CTL_MOD:
        epf.modify(fd, f, events, data)
    else:
        item = epf.items.get((fd, f))
        if item is None:
            raise SyscallError(E.ENOENT)
        epf.remove(item)
    return 0


def do_epoll_wait(t, epfd, evp, maxevents, deadline):
    maxevents = maxevents & 0xFFFFFFFF
    if maxevents == 0 or maxevents > EP_MAX_EVENTS:
        raise SyscallError(E.EINVAL)
    t.mm.check(evp, maxevents * 12, write=True)
    ep = file_of(t, epfd, EventPoll)
    out = ep.harvest(maxevents)
    if out:
        t.mm.write(evp, b"".join(EVENT.pack(ev, data) for ev, data in out))
        return len(out)
    if deadline is not None and time.monotonic_ns() >= deadline:
        return 0
    try:
        t.block([ep.wait_queue()], deadline)
    except SyscallError as e:
        if e.errno == E.ETIMEDOUT:
            return 0
        raise SyscallError(E.EINTR if e.errno == E.ERESTARTSYS else e.errno)


def _ms_deadline(t, timeout):
    timeout = s32(timeout)
    return t.deadline_after(timeout * 10**6) if timeout >= 0 else None


def sys_epoll_wait(t, epfd, evp, maxevents, timeout, *_):
    """epoll_wait(2): never restarted after a signal (EINTR), as in Linux."""
    return do_epoll_wait(t, epfd, evp, maxevents, _ms_deadline(t, timeout))


def sys_epoll_pwait(t, epfd, evp, maxevents, timeout, maskp, size):
    """epoll_pwait(2): epoll_wait under a temporary signal mask."""
    deadline = _ms_deadline(t, timeout)
    set_temp_sigmask(t, maskp, size)
    return finish(t, lambda: do_epoll_wait(t, epfd, evp, maxevents, deadline), E.EINTR)


def sys_epoll_pwait2(t, epfd, evp, maxevents, tsp, maskp, size):
    """epoll_pwait2(2): a timespec timeout (NULL waits forever)."""
    deadline = None
    if tsp:
        sec, nsec = struct.unpack("<qq", t.mm.read(tsp, 16))
        if sec < 0 or not 0 <= nsec < 10**9:
            raise SyscallError(E.EINVAL)
        deadline = t.deadline_after(sec * 10**9 + nsec)
    set_temp_sigmask(t, maskp, size)
    return finish(t, lambda: do_epoll_wait(t, epfd, evp, maxevents, deadline), E.EINTR)
