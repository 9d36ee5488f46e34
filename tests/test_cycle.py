"""The kernel's fast cycle (Kernel._syscall with Platform.cycle): a syscall's
return goes straight to the platform's cycle only while the kernel has
nothing else to do; anything else for it (a pending signal, a task on the run
queue, a due timer, a host signal, strace, a pause) sends the return through
return_to_user and the event loop. Checked with a platform that records which
way each return went (the A/B side: test_systrap.py's hot_loop sections)."""

import os
import sys

import pytest

from bastion.abi import signals as S
from bastion.sentry.kernel import Kernel
from conftest import ROOT

# the stand-ins bench/sentry_loop.py measures the kernel over
sys.path.insert(0, os.path.join(ROOT, "bench"))
try:
    from sentry_loop import StandInContext, StandInPlatform, first_task
finally:
    sys.path.remove(os.path.join(ROOT, "bench"))

_GETPPID, _GETTID = 110, 186


class RecordingPlatform(StandInPlatform):
    def __init__(self, memfd):
        super().__init__(memfd)
        self.ways = []
        self.script = []  # [(context, syscall number)] for cycle to hand out
        self.released = []

    def cycle(self, ctx, rax):
        self.ways.append(("cycle", rax))
        if self.script:  # the next syscall of some running thread
            self.cycled, nr = self.script.pop(0)
            return (0, 0, 0, 0, 0, 0, nr)
        return None  # the threads run on: the kernel's loop waits for them

    def resume(self, ctx):
        self.ways.append(("resume", ctx.regs.rax))

    def release_context(self, ctx):
        self.released.append(ctx)


@pytest.fixture
def kernel_task():
    k = Kernel(RecordingPlatform, vdso=False, patch=False)
    t = first_task(k, StandInContext())
    t.on_host = False
    t.ctx.regs.orig_rax = _GETPPID
    yield k, t
    os.close(k.platform.efd)


def _way(k, t):
    k.platform.ways.clear()
    k._syscall(t)
    (way,) = k.platform.ways
    return way


def test_a_plain_return_cycles(kernel_task):
    k, t = kernel_task
    assert _way(k, t) == ("cycle", 0)
    assert t.on_host


def test_an_error_cycles_as_its_negative_errno(kernel_task):
    k, t = kernel_task
    t.ctx.regs.orig_rax = 3  # close
    t.ctx.regs.rdi = 12345
    assert _way(k, t) == ("cycle", 2**64 - 9)  # EBADF


def _pending_signal(k, t):
    t.pending |= S.bit(S.SIGCHLD)  # queued before: default action ignore
    t.pending_info[S.SIGCHLD] = [S.siginfo(S.SIGCHLD, S.SI_KERNEL)]


def _due_timer(k, t):
    k.add_timer(0, lambda: None)


@pytest.mark.parametrize("other_work", [
    _pending_signal,
    lambda k, t: k.enqueue(t),
    _due_timer,
    lambda k, t: k.host_signals.append(1),
    lambda k, t: setattr(k, "frozen", []),
], ids=["pending_signal", "runq", "due_timer", "host_signal", "paused"])
def test_other_work_for_the_kernel_goes_through_its_loop(kernel_task, other_work):
    k, t = kernel_task
    other_work(k, t)
    k.platform.ways.clear()
    k._syscall(t)
    assert all(way == "resume" for way, _ in k.platform.ways)
    assert k.frozen is None or k.frozen == [(t, True)]


def test_a_timer_not_yet_due_does_not_stop_the_cycle(kernel_task):
    k, t = kernel_task
    k.add_timer(2**62, lambda: None)
    assert _way(k, t) == ("cycle", 0)


def _second_thread(k, t):
    """Another thread of t's process, running (its context's next syscall
    is gettid, which cycle hands over)."""
    other = StandInContext()
    t2 = k.new_task(t.tg, t.mm, t.files, None, other)
    t2.on_host = True
    k.platform.script = [(other, _GETTID)]
    return t2


def test_the_cycle_may_hand_over_another_threads_syscall(kernel_task):
    k, t = kernel_task
    t2 = _second_thread(k, t)
    t.ctx.regs.orig_rax = _GETTID
    k._syscall(t)
    # t's gettid went back with the first cycle, t2's with the second
    assert k.platform.ways == [("cycle", t.tid), ("cycle", t2.tid)]
    assert t.on_host and t2.on_host


def test_a_handed_over_syscall_of_a_dead_task_ends_its_context(kernel_task):
    k, t = kernel_task
    t2 = _second_thread(k, t)
    t2.dead = True
    assert _way(k, t) == ("cycle", 0)
    assert k.platform.released == [t2.ctx]


def test_a_kernel_error_in_the_exit_path_still_ends_the_sandbox(kernel_task):
    """An exception halfway through a task's end (here the platform's CPU
    times) must not leave the task dead but counted: its process would
    never end, nor would the sandbox, whose loop then waits forever."""
    k, t = kernel_task

    def broken(ctx):
        raise AttributeError("no CPU times")

    k.platform.thread_times = broken
    with pytest.raises(AttributeError):
        k.exit_group(t, 0)
    assert t.dead and not t.tg.tasks and t.tg.zombie
    assert k.done and k.exit_status == 0
