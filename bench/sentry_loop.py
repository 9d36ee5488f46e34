"""The sentry's own cost per syscall, with no platform under it.

    python3 bench/sentry_loop.py [N]

Runs the real kernel loop (Kernel.run: event dispatch, the syscall table,
getppid's handler, return_to_user) over a platform that answers at once: a
resumed thread's next event is the same getppid again, with registers in a
systrap-style ctypes frame. What it prints (µs per syscall) is the Python
part of every syscall's round trip, the part no faster platform removes; the
bench table's getppid rows add the platform's hand-over to it. Deterministic
enough (no second process, no spinning) to compare two versions of the hot
path; `python3 -m cProfile -s tottime bench/sentry_loop.py` shows where it goes.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bastion.platform import base, systrap  # noqa: E402
from bastion.platform.systrap import SysRegs  # noqa: E402
from bastion.sentry.creds import Creds  # noqa: E402
from bastion.sentry.kernel import Kernel  # noqa: E402
from bastion.sentry.task import SigActions  # noqa: E402
from bastion.sentry.vfs.fdtable import FdTable  # noqa: E402

_GETPPID, _EXIT_GROUP = 110, 231


class StandInContext(base.Context):
    """A context with a systrap-style register frame in plain memory."""

    __slots__ = ()

    def __init__(self):
        self.regs = SysRegs.from_buffer(bytearray(256))


class StandInPlatform(base.Platform):
    """What the kernel asks of any platform, with no stub behind it (also
    tests/test_cycle.py's): an fd to wait on, contexts that cost nothing."""

    def __init__(self, memfd):
        self.efd = os.eventfd(0)

    def fileno(self):
        return self.efd

    def release_context(self, ctx):
        pass

    def thread_times(self, ctx):
        return 0.0, 0.0

    def max_rss_kb(self, aspace):
        return 0


class StandInMM:
    """What the exit path asks of an address space."""
    users = 1
    patches = None
    aspace = None

    def release(self):
        pass


def first_task(k, ctx):
    """The kernel's first process, of one thread on ctx."""
    tg = k.new_group(None, SigActions(), Creds(), [[0, 0]] * 16)
    t = k.new_task(tg, StandInMM(), FdTable(), None, ctx, tid=tg.pid)
    k.init = tg
    return t


class InstantPlatform(StandInPlatform):
    """Every resume makes the thread's next event at once: getppid until
    `left` runs out, then exit_group."""

    def __init__(self, memfd):
        super().__init__(memfd)
        self.ready = []
        self.left = 0

    def resume(self, ctx):
        r = ctx.regs
        self.left -= 1
        r.rax = r.orig_rax = _GETPPID if self.left > 0 else _EXIT_GROUP
        self.ready.append((ctx, base.SYSCALL, False))

    def block(self):
        pass

    def wait(self):
        ready, self.ready = self.ready, []
        return ready

    wait_one = wait


class _Fence:
    """A lock whose release makes the simulated stub answer."""

    def __init__(self, answer):
        self.release = answer

    def acquire(self):
        pass


class InstantSystrap(systrap.SystrapPlatform):
    """The systrap platform's own Python and native helpers, over a stub
    thread simulated in the sentry: the stub answers at the fence that ends
    every resume (st_resume's), with its next event (SIGSYS) in its slot."""

    def answer(self):
        self.left -= 1
        self.ctx.regs.rax = _GETPPID if self.left > 0 else _EXIT_GROUP
        self.u32[self.ctx.off >> 2] = systrap.EVENT

    def make_context(self):
        off = self.alloc_slot()
        aspace = type("NoStub", (), {"pending": ()})()  # mapping changes: none queued
        ctx = self.ctx = systrap.SysContext(aspace, 1, off, systrap.STUB_SLOTS + systrap.SLOT)
        uc = ctx.addr + 0x8000  # a frame as the host's SIGSYS leaves it
        systrap._U64.pack_into(self.map, off + systrap.OFF_UC, uc)
        self.u32[(off + systrap.OFF_SIGNO) >> 2] = systrap._SIGSYS
        self._take_frame(ctx)
        self.u32[off >> 2] = systrap.EVENT
        self.fence = _Fence(self.answer)
        return ctx

    def thread_times(self, ctx):
        return 0.0, 0.0

    def max_rss_kb(self, aspace):
        return 0


def measure(n, platform):
    k = Kernel(platform, vdso=False, patch=False)
    if platform is InstantSystrap:
        ctx = k.platform.make_context()
        ctx.regs.rax = _GETPPID
    else:
        ctx = StandInContext()
    k.platform.left = n
    t = first_task(k, ctx)
    k.return_to_user(t, from_syscall=False)
    start = time.perf_counter()
    k.run()
    return (time.perf_counter() - start) / n * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    kernel = min(measure(n, InstantPlatform) for _ in range(5))
    plat = min(measure(n, InstantSystrap) for _ in range(5))
    print(f"{kernel:.2f} us per getppid in the kernel alone, {plat:.2f} us with systrap's "
          f"sentry side (best of 5, {n} each)")


if __name__ == "__main__":
    main()
