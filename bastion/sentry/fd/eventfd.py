"""eventfd (fs/eventfd.c): a 64-bit counter file for wake-ups between
threads and processes; the cheapest pollable object, much used by event loops."""

import struct

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import WaitQueue
from ..vfs.inode import O_CLOEXEC, O_NONBLOCK, O_RDWR, File
from . import POLLERR, POLLIN, POLLOUT
from .anon import anon_inode

EFD_SEMAPHORE = 1
ULLONG_MAX = 2**64 - 1


class EventFd(File):
    def __init__(self, count, flags):
        super().__init__(anon_inode("eventfd"), O_RDWR | (flags & O_NONBLOCK))
        self.count = count
        self.semaphore = bool(flags & EFD_SEMAPHORE)
        self.queue = WaitQueue()

    def read(self, t, n):
        if n < 8:
            raise SyscallError(E.EINVAL)
        while self.count == 0:
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([self.queue])
        val = 1 if self.semaphore else self.count
        self.count -= val
        self.queue.notify(POLLOUT)
        return struct.pack("<Q", val)

    def write(self, t, data):
        if len(data) < 8:
            raise SyscallError(E.EINVAL)
        val, = struct.unpack_from("<Q", data)
        if val == ULLONG_MAX:
            raise SyscallError(E.EINVAL)
        while ULLONG_MAX - self.count <= val:
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([self.queue])
        self.count += val
        # Linux wakes with EPOLLIN on every write, even of 0 or to an already
        # readable counter: an EPOLLET watcher sees a new edge each time
        self.queue.notify(POLLIN)
        return 8

    def poll(self):
        ev = 0
        if self.count > 0:
            ev |= POLLIN
        if self.count == ULLONG_MAX:
            ev |= POLLERR
        if ULLONG_MAX - 1 > self.count:
            ev |= POLLOUT
        return ev

    def wait_queue(self, events=POLLIN | POLLOUT):
        return self.queue


def sys_eventfd2(t, initval, flags, *_):
    """eventfd2(2)."""
    if flags & ~(EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC):
        raise SyscallError(E.EINVAL)
    return t.files.install(EventFd(initval & 0xFFFFFFFF, flags), bool(flags & O_CLOEXEC))


def sys_eventfd(t, initval, *_):
    """eventfd(2): eventfd2 without flags."""
    return sys_eventfd2(t, initval, 0)
