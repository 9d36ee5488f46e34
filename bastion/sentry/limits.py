"""Sandbox-wide resource limits (the Python API's Limits, the OCI config's
linux.resources) and RLIMIT_CPU, enforced by the sentry itself.

- pids: clone/fork fail with EAGAIN once the sandbox holds that many tasks.
- memory: the app memory the sandbox holds is what the memory file holds
  (every app page and every tmpfs mapping lives there) plus the tmpfs file
  data the sentry keeps (Kernel.memory_used), so a tick compares it with the
  limit and, when over, kills the process with the most resident private
  memory with SIGKILL, like the kernel's OOM killer. tmpfs data alone is
  capped at the limit: writes past it get ENOSPC.
- RLIMIT_CPU: SIGXCPU each second past the soft limit, SIGKILL at the hard.

The tick is the kernel's host interval timer (Kernel.start_tick), so a
limited sandbox keeps the loop's blocking-wait fast path. Kills are counted
per run tag (control.py) so the caller learns why a run died.
"""

from ..abi import signals as S
from .task import RLIM_INFINITY, RLIMIT_CPU

TICK = 0.05


class Limits:
    def __init__(self, k, memory=None, pids=None):
        self.k = k
        self.memory = memory
        self.pids = pids
        self.events = {}  # run tag -> {"oom": n, "pids": n}
        self.ticking = False
        if memory is not None:
            self.start()

    def set_memory(self, limit):
        """Cap the sandbox's memory; tmpfs data alone may not pass it either
        (writes get ENOSPC, vfs/memfs.py)."""
        from .vfs.memfs import ACCOUNT
        self.memory = limit
        if limit is not None:
            # a tmpfs write fails before the sandbox as a whole passes the limit
            ACCOUNT.limit = limit if ACCOUNT.limit is None else min(ACCOUNT.limit, limit)
            ACCOUNT.others = self.k.memfile.blocks_used
            self.start()

    def count(self, run, what):
        e = self.events.setdefault(run, {})
        e[what] = e.get(what, 0) + 1

    def may_fork(self, t):
        """False (and counted) when a new task would pass the pids limit."""
        if self.pids is not None and len(self.k.tasks) >= self.pids:
            self.count(t.tg.run, "pids")
            return False
        return True

    def start(self):
        """Begin ticking (a memory limit, or a process set RLIMIT_CPU)."""
        if self.ticking:
            return
        self.ticking = True
        self.k.start_tick(TICK)

    def tick(self):
        k = self.k
        if self.memory is not None and k.memory_used() > self.memory:
            self.oom()
        for tg in list(k.groups.values()):
            soft, hard = tg.rlimits[RLIMIT_CPU]
            if soft == RLIM_INFINITY and hard == RLIM_INFINITY or tg.zombie or tg.exiting:
                continue
            u, s = k.cpu_times(tg)
            used = u + s
            if used >= hard:
                k.send_signal_group(tg, S.SIGKILL)
            elif used >= soft and used >= getattr(tg, "xcpu_next", 0):
                tg.xcpu_next = int(used) + 1
                k.send_signal_group(tg, S.SIGXCPU)

    def oom(self):
        k = self.k
        best, most = None, 0
        seen = set()
        for tg in k.groups.values():
            if tg.zombie or tg.exiting or not tg.tasks:
                continue
            mm = tg.tasks[0].mm
            if mm is None or id(mm) in seen:
                continue
            seen.add(id(mm))
            n = resident(k, mm)
            if n > most:
                best, most = tg, n
        if best is not None:
            k.debug(f"oom: killing pid {best.pid} ({most} bytes resident)")
            self.count(best.run, "oom")
            k.send_signal_group(best, S.SIGKILL)


def resident(k, mm):
    """Bytes of the memory file behind mm's private mappings that hold data."""
    total = 0
    mf = k.memfile
    for v in mm.vmas:
        if (v.share is None or v.share.cow) and v.off:
            for _, n in mf.populated(v.off, v.end - v.start):
                total += n
    return total
