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


class WaitQueue:
    __slots__ = ("waiters",)

    def __init__(self):
        self.waiters = []

    def notify(self):
        if self.waiters:
            for t in self.waiters[:]:
                t.wake()

    def __getstate__(self):  # waiters are runtime links, rebuilt on restore
        return {}

    def __setstate__(self, state):
        self.waiters = []
