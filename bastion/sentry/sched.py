"""Blocking without threads: wait queues, parked tasks and timers.

A handler that cannot finish registers its task on wait queues and raises
`Blocked` (through `Task.block`). The task's host thread stays stopped; when a
queue is notified, a timer fires or a signal arrives, the kernel runs the
handler again from the start with the same arguments (the gVisor pattern:
try, wait, retry). A handler that makes partial progress keeps it in
`task.sys_state`, which lives until the syscall completes.
"""


class Blocked(Exception):
    """The current syscall parked its task; the loop moves on."""


ALL_EVENTS = 0xFFFFFFFF


class Callback:
    """A wait-queue entry that runs a function in the loop (like an epoll item)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def wake(self, events=None):
        self.fn()


class WaitQueue:
    """Waiters are tasks or any object with `wake(events)` (an epoll item
    stays on its file's queue for the file's lifetime). `events` is the poll
    mask the notifier reports (Linux's wake-up key); tasks ignore it."""

    __slots__ = ("waiters",)
    rearm = False  # see RearmQueue

    def __init__(self):
        self.waiters = []

    def notify(self, events=ALL_EVENTS):
        if self.waiters:
            for t in self.waiters[:]:
                t.wake(events)

    def __getstate__(self):  # waiters are runtime links, rebuilt on restore
        return {}

    def __setstate__(self, state):
        self.waiters = []


class RearmQueue(WaitQueue):
    """A queue a waiter that stays (an epoll item) must ask its file for
    again before each wait: a host fd's, whose host epoll entry fires once,
    and an epoll set's, whose own one-shot items re-arm when asked."""

    __slots__ = ()
    rearm = True
