"""timerfd (fs/timerfd.c): a timer read as a file. Expirations are counted
by the kernel's timer heap (monotonic); realtime clocks are converted when
the timer is armed."""

import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import WaitQueue
from ..syscalls.util import read_itimerspec, timer_deadline, write_itimerspec
from ..vfs.inode import O_CLOEXEC, O_NONBLOCK, O_RDWR, File
from . import POLLIN, file_of
from .anon import anon_inode

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
           CLOCK_BOOTTIME_ALARM)
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2


class TimerFd(File):
    def __init__(self, kernel, clock, flags):
        super().__init__(anon_inode("[timerfd]"), O_RDWR | (flags & O_NONBLOCK))
        self.kernel = kernel
        self.clock = clock
        self.ticks = 0
        self.deadline = None  # monotonic ns of the next expiry
        self.interval = 0
        self.timer = None
        self.queue = WaitQueue()

    def _arm(self, deadline):
        self.deadline = deadline
        self.timer = self.kernel.add_timer(deadline, self._fire)

    def _fire(self):
        self.timer = None
        now = time.monotonic_ns()
        if self.interval:
            n = 1 + (now - self.deadline) // self.interval
            self.ticks += n
            self._arm(self.deadline + n * self.interval)
        else:
            self.ticks += 1
            self.deadline = None
        self.queue.notify(POLLIN)

    def disarm(self):
        if self.timer is not None:
            self.kernel.cancel_timer(self.timer)
            self.timer = None
        self.deadline = None

    def remaining(self):
        if self.deadline is None:
            return 0, self.interval
        return max(1, self.deadline - time.monotonic_ns()), self.interval

    def read(self, t, n):
        if n < 8:
            raise SyscallError(E.EINVAL)
        while not self.ticks:
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([self.queue])
        ticks, self.ticks = self.ticks, 0
        return struct.pack("<Q", ticks)

    def write(self, t, data):
        raise SyscallError(E.EINVAL)

    def poll(self):
        return POLLIN if self.ticks else 0

    def wait_queue(self, events=POLLIN):
        return self.queue

    def release(self):
        self.disarm()


def sys_timerfd_create(t, clock, flags, *_):
    if clock not in _CLOCKS or flags & ~(O_NONBLOCK | O_CLOEXEC):
        raise SyscallError(E.EINVAL)
    return t.files.install(TimerFd(t.kernel, clock, flags), bool(flags & O_CLOEXEC))


def sys_timerfd_settime(t, fd, flags, new, old, *_):
    f = file_of(t, fd, TimerFd)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise SyscallError(E.EINVAL)
    interval, value = read_itimerspec(t, new)
    if old:
        write_itimerspec(t, old, *f.remaining())
    f.disarm()
    f.ticks = 0
    f.interval = interval
    if value:
        f._arm(timer_deadline(f.clock, value, flags & TFD_TIMER_ABSTIME))
    return 0


def sys_timerfd_gettime(t, fd, cur, *_):
    f = file_of(t, fd, TimerFd)
    write_itimerspec(t, cur, *f.remaining())
    return 0
