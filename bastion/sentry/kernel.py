"""The Kernel: tasks, the pid namespace, signals, timers and the event loop.

One thread runs everything. The loop takes platform events (a syscall or a
fault of one app thread), runs the handler from syscalls/table.py and resumes
the thread; tasks that must wait are parked on wait queues and re-run when
woken (see sched.py).
"""

import atexit
import collections
import gc
import heapq
import os
import select
import signal
import time

from .. import hostsys as hs
from ..abi import errno as E
from ..abi import signals as S
from ..abi.caps import SEARCH_BYPASS
from ..abi.errno import SyscallError
from ..abi.sysno import MAX as NR_MAX
from ..platform import base as pbase
from . import ptrace
from . import signals as frames
from .mm import patch as mpatch
from .mm.memfile import MemoryFile
from .sched import Blocked, RearmQueue, WaitQueue
from .task import Task, ThreadGroup
from .creds import permission
from .vfs.path import MS_NOEXEC, Walker, check_name, through_mounts

MASK64 = 0xFFFFFFFFFFFFFFFF
_SI_TIMER = S.SI_TIMER.to_bytes(4, "little", signed=True)
_RESTART_LO, _RESTART_HI = 2**64 - 516, 2**64 - 512
_SYSCALL = pbase.SYSCALL
_now_ns = time.monotonic_ns
NR_RESTART_SYSCALL = 219
PID_MAX = 4194304  # kernel/pid.c PID_MAX_LIMIT


class HostSignal(Exception):
    pass


def _exc_text():
    """The current exception's traceback, for the debug log (traceback is
    imported only when there is one: it costs every start ~4 ms)."""
    import traceback
    return traceback.format_exc()


GC_THRESHOLDS = (50000, 20, 100)
MALLOC_TRIM = 16 << 20  # free bytes the heap keeps at its top
MALLOC_MMAP_MIN = 4 << 20  # allocations from the heap below this, mmap above


class Kernel:
    def __init__(self, platform_cls, hostname="bastion", log=None, strace=None, network="none",
                 vdso=True, patch=True):
        from .syscalls import table
        # The sandbox's CPUs: as many as the caller let us use (nproc, taskset,
        # a container's cpuset), counted before a platform pins the sentry
        # (ptrace), numbered from 0 (/proc/cpuinfo, /sys, sched_getaffinity).
        self.ncpus = len(os.sched_getaffinity(0)) or 1
        self.cpu_list = "0" if self.ncpus == 1 else f"0-{self.ncpus - 1}"  # as /sys and /proc say it
        self.memfile = MemoryFile()
        self.platform = platform_cls(self.memfile.fd)
        self.patch = patch  # rewrite trapped syscall sites (mm/patch.py) where the platform can
        self.table = table.build()
        self.hostname = hostname
        self.network = network  # "none": the sentry's own loopback; "host": net/hostinet.py
        self.domainname = "(none)"
        self.log = log
        self.strace = strace
        self.tasks = {}  # tid -> Task
        self.groups = {}  # tgid -> ThreadGroup
        self.next_pid = 1
        self.runq = collections.deque()
        self.timers = []
        self.timer_seq = 0
        self.epoll = select.epoll()
        self.epoll.register(self.platform.fileno(), select.EPOLLIN)
        self.host_waits = {}  # host fd -> {events: WaitQueue}
        self.host_watches = {}  # host fd -> WaitQueue, edge-triggered for the fd's life
        self.init = None
        self.done = False
        self.exit_status = 0
        self.boot_time = time.time()
        self.boot_mono = time.monotonic()
        self.unsupported_logged = set()
        self.futexes = {}
        self.inotify_watches = {}  # inode -> [(Inotify, wd, mask)]
        self.rename_cookie = 0
        self.root_dentry = None
        self.mounts = []
        self.host_signals = []
        # True only while the run queue and the host fd waits and watches are
        # empty: _syscall's cycle tests this one attribute for all three.
        # Whatever adds to them sets it False; the loop sets it again where it
        # knows them (host signals, which a handler adds between any two
        # bytecodes, keep their own test)
        self.calm = True
        self.in_wait = False
        self.host_tty_fd = None
        self.host_signal_hooks = {}  # host signal -> fn() run by the loop instead of forwarding
        self.tracees = 0  # tasks under ptrace (a syscall cycle does not pass between threads then)
        from .limits import Limits
        self.limits = Limits(self)
        self.on_orphan_exit = None  # fn(tg) when a process without a parent ends (control.py)
        self.frozen = None  # [(task, from_syscall)] parked while paused (OCI pause), else None
        self.tick_period = None
        self.tick_hooks = []  # more fn() run on each tick (control.py's safety net)
        self.vdso = None
        if vdso:
            from .vdso import TICK, Vdso
            self.vdso = Vdso(self.memfile)
            if self.vdso.first is not None:
                self.start_tick(TICK)

    # --- logging --------------------------------------------------------
    def debug(self, msg):
        if self.log is not None:
            self.log.write(msg + "\n")
            self.log.flush()

    # --- pids -------------------------------------------------------------
    def alloc_pid(self):
        pid = self.next_pid
        while pid in self.tasks or pid in self.groups:
            pid += 1
            if pid >= PID_MAX:
                pid = 2
        self.next_pid = pid + 1
        return pid

    # --- timers -------------------------------------------------------
    def add_timer(self, deadline_ns, fn):
        self.timer_seq += 1
        entry = [deadline_ns, self.timer_seq, fn, False]
        heapq.heappush(self.timers, entry)
        return entry

    def cancel_timer(self, entry):
        entry[3] = True

    def _fire_timers(self):
        """Run expired timers; return the epoll timeout in seconds (or None)."""
        timers = self.timers
        if not timers:
            return None
        now = time.monotonic_ns()
        while timers and (timers[0][3] or timers[0][0] <= now):
            e = heapq.heappop(timers)
            if not e[3]:
                e[2]()
        if timers:
            return max(0.0, (timers[0][0] - now) / 1e9)
        return None

    def start_tick(self, period):
        """Run _tick every `period` seconds or faster (the shortest period
        asked for wins): a host interval timer (SIGALRM) rather than a kernel
        timer, so the loop keeps its blocking-wait fast path."""
        if self.tick_period is not None and self.tick_period <= period:
            return
        if self.tick_period is None:
            # stopped before Python resets its signal handlers at exit, or a
            # last SIGALRM would kill the exiting sentry
            atexit.register(signal.setitimer, signal.ITIMER_REAL, 0)
        self.tick_period = period
        self.host_signal_hooks[signal.SIGALRM] = self._tick
        signal.signal(signal.SIGALRM, self._on_host_signal)
        signal.setitimer(signal.ITIMER_REAL, period, period)

    def _tick(self):
        if self.limits.ticking:
            self.limits.tick()
        if self.vdso is not None:
            self.vdso.tick()
        for fn in self.tick_hooks:
            fn()

    def enqueue(self, t):
        """Put t on the run queue: the loop serves its syscall again."""
        self.runq.append(t)
        self.calm = False

    # --- host fds --------------------------------------------------------
    def host_fd_queue(self, fd, events):
        self.calm = False
        waits = self.host_waits.get(fd)
        if waits is None:
            waits = self.host_waits[fd] = {}
        q = waits.get(events)
        if q is None:
            q = waits[events] = RearmQueue()
            mask = 0
            for ev in waits:
                mask |= ev
            try:
                self.epoll.modify(fd, mask)
            except FileNotFoundError:
                self.epoll.register(fd, mask)
        return q

    def host_fd_watch(self, fd):
        """A WaitQueue notified (with the poll mask of the edge as the key) each
        time the host fd becomes readable, writable or errors, until
        host_fd_unwatch. Unlike host_fd_queue's one-shot level-triggered
        entries it needs no re-arming, so an app's EPOLLET set over it sees
        one event per host edge (net/hostinet.py sockets)."""
        self.calm = False
        q = self.host_watches.get(fd)
        if q is None:
            q = self.host_watches[fd] = WaitQueue()
            self.epoll.register(fd, select.EPOLLIN | select.EPOLLOUT | select.EPOLLPRI
                                | select.EPOLLRDHUP | select.EPOLLET)
        return q

    def host_fd_unwatch(self, fd):
        """Before the host fd is closed: its watch and any waits go."""
        if self.host_watches.pop(fd, None) is not None or self.host_waits.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except (FileNotFoundError, OSError):
                pass

    def _host_fd_ready(self, fd, ev):
        q = self.host_watches.get(fd)
        if q is not None:
            key = ev
            if ev & select.EPOLLIN:
                key |= 0x40  # POLLRDNORM
            if ev & select.EPOLLOUT:
                key |= 0x300  # POLLWRNORM | POLLWRBAND
            q.notify(key)
            return
        waits = self.host_waits.pop(fd, None)
        try:
            self.epoll.unregister(fd)
        except (FileNotFoundError, OSError):
            pass
        if waits:
            for q in waits.values():
                q.notify()

    # --- paths ----------------------------------------------------------
    def lookup(self, t, path, follow=True, dirfd_dentry=None, opening=False):
        if "/" not in path and path not in ("", ".", ".."):
            # one name in a directory (find's and tar's fstatat, openat):
            # Walker.walk's steps for it, inline
            cur = dirfd_dentry or t.fs.cwd
            if cur.inode.mode & 0o170000 != 0o040000:
                raise SyscallError(E.ENOTDIR)
            c = t.tg.creds
            if not c.cap_eff & SEARCH_BYPASS and not permission(c, cur.inode, 1):
                raise SyscallError(E.EACCES)
            nxt = cur.children.get(path)
            if nxt is None:
                check_name(path)
                nxt = cur.child(path, (), opening)
            nxt = through_mounts(nxt)
            if nxt.inode.mode & 0o170000 != 0o120000 or not follow:
                return nxt
        w = Walker(t.fs.root, opening)
        return w.walk(dirfd_dentry or t.fs.cwd, path, follow, t)

    def lookup_parent(self, t, path, dirfd_dentry=None):
        w = Walker(t.fs.root)
        return w.walk_parent(dirfd_dentry or t.fs.cwd, path, t)

    def check_exec(self, t, d):
        """May t exec d's file? A regular file, not on a noexec mount, that
        t may execute (for root: with some exec bit), else EACCES."""
        inode = d.inode
        if not inode.is_reg() or d.mount.flags & MS_NOEXEC or not permission(t.tg.creds, inode, 1):
            raise SyscallError(E.EACCES)

    # --- the loop ---------------------------------------------------------
    def _on_host_signal(self, signo, frame):
        self.host_signals.append(signo)
        if self.in_wait:
            # once: a second signal while the loop is still unwinding from
            # the first (in `except HostSignal`) must not raise out of run()
            self.in_wait = False
            raise HostSignal()

    def run(self):
        plat = self.platform
        runq = self.runq
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(s, self._on_host_signal)
        # The cyclic collector, tuned for a kernel: what boot built lives as
        # long as the sandbox (frozen: never scanned again), and the dentries
        # and inodes a tree walk caches are long-lived too. Python's default
        # (a young collection every 700 objects) cost find /usr/lib ~6% of
        # its time; every 50,000 it is ~2%.
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        # and malloc's: data passing through the sentry (a pipe's 64 KiB
        # writes) must not return the heap's top to the host and fault it in
        # again at every buffer (8,000 brk calls for 250 MB through dd | dd)
        hs.malloc_keep(MALLOC_TRIM, MALLOC_MMAP_MIN)
        while not self.done:
            while runq:
                t = runq.popleft()
                if not t.dead:
                    self._syscall(t)
                if self.done:
                    break
            if self.host_signals:
                self._forward_host_signals()
            timeout = self._fire_timers() if self.timers else None
            if runq or self.done:
                continue
            host = self.host_waits or self.host_watches
            self.calm = not host  # (the run queue is empty here)
            ev = None if host else plat.poll_one()
            if ev is not None:
                events = (ev,)
            else:
                events = self._wait_events(plat, host, timeout)
                if events is None:
                    continue
            for ctx, kind, info in events:
                t = ctx.owner
                if t is None or t.dead:
                    if kind != pbase.EXITED:
                        plat.release_context(ctx)
                    continue
                t.on_host = False
                try:
                    if kind == _SYSCALL:
                        if info and self.patch and plat.patch_entry is not None:
                            self._syscall(t, self._patch_trapped(t, ctx.regs.orig_rax))
                        else:
                            self._syscall(t)
                    elif kind == pbase.FAULT:
                        self._fault(t, info)
                    elif kind == pbase.INTERRUPT:
                        self.return_to_user(t, from_syscall=False)
                    elif kind == pbase.EXITED:
                        self.debug(f"task {t.tid}: host thread died (status {info:#x})")
                        self.exit_group(t, S.SIGKILL)
                except Exception:
                    # a platform failure (a stub killed from outside, ...) ends
                    # that process, never the sandbox
                    self.debug(f"kernel error for task {t.tid}:\n{_exc_text()}")
                    if not t.dead:
                        self.exit_group(t, S.SIGKILL)
        return self.exit_status

    def _patch_trapped(self, t, nr):
        """A syscall of t trapped at a site the kernel may patch (mm/patch.py):
        patch it now if no other thread can run its bytes (a process of one
        thread, or one whose others are all in the sentry), before the
        syscall is served; else return (mm, rip, nr) for _patch_after, once
        it is served (not read's form: it waits for its next trap)."""
        mm = t.mm
        regs = t.ctx.regs
        rip = regs.rip
        if not mpatch.wants(mm, rip):  # looked at for good: the common case
            return None
        entry = self.platform.patch_entry
        others = () if mm.users == 1 else self._stopped_others(t, mm)
        if nr == 0 and not mpatch.fn_site(mm, rip):
            if others is not None:
                mpatch.consider_read(mm, regs, entry,
                                     [x.ctx.regs for x in others if x.ctx is not None])
        elif others is not None:
            mpatch.consider(mm, rip, nr, entry, stopped=True)
        else:
            return mm, rip, nr
        return None

    def _patch_after(self, t, after):
        mm, rip, nr = after
        if t.mm is mm and not t.dead:
            mpatch.consider(mm, rip, nr, self.platform.patch_entry)

    def _stopped_others(self, t, mm):
        """The other threads using mm if every one is in the sentry (none
        runs app code until the kernel resumes it), else None. Only t's own
        threads are looked at: an address space shared beyond them counts
        as running; and not past 64 threads (this runs at every trap of a
        site it keeps from being patched)."""
        tasks = t.tg.tasks
        if len(tasks) > 64:
            return None
        others = []
        for x in tasks:
            if x.mm is mm and x is not t:
                if x.on_host:
                    return None
                others.append(x)
        return others if len(others) + 1 == mm.users else None

    def _wait_events(self, plat, host, timeout):
        """Sleep until the platform, a host fd or a timer has something:
        the platform's events, or None when a host signal came first."""
        try:
            self.in_wait = True
            if self.host_signals:  # one came before in_wait was set
                raise HostSignal()
            if host or timeout is not None:
                if not plat.prepare_sleep():
                    ready = self.epoll.poll(-1 if timeout is None else timeout)
                else:  # an event is there: look at host fds without waiting, if any
                    ready = self.epoll.poll(0) if host else ()
                self.in_wait = False  # fd callbacks below may do real work
                for fd, ev in ready:
                    if fd != plat.fileno():
                        self._host_fd_ready(fd, ev)
                return plat.wait()
            plat.block()
            self.in_wait = False  # from here, a host signal must not raise
            return plat.wait_one()
        except HostSignal:
            return None
        finally:
            self.in_wait = False

    def _forward_host_signals(self):
        sigs, self.host_signals = self.host_signals, []
        init = self.init
        for s in sigs:
            if s in self.host_signal_hooks:
                self.host_signal_hooks[s]()
            elif init is None or init.zombie:
                continue
            elif s in (signal.SIGINT, signal.SIGQUIT):
                self.kill_pgrp(init.pgid, s)
            else:
                self.send_signal_group(init, s)

    def _syscall(self, t, after=None):
        """Serve t's syscall and, while the platform's cycle hands back the
        next syscall of a running thread (t's or another's) and the kernel
        has nothing else to do in between (no signal, no task on the run
        queue, no due timer, no host fd), the ones after it, without a turn
        of the event loop. `after`: a site to patch once the syscall is
        served (_patch_trapped)."""
        ctx = t.ctx
        regs = ctx.regs
        nr = regs.orig_rax
        rdi, rsi, rdx, r10, r8, r9 = regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9
        table = self.table
        plat = self.platform
        # strace is set for the kernel's life, and a pause begins and ends
        # only in the loop (a control request): neither changes in here
        # and a ptraced task stays so while in here (its tracer waits)
        traced = self.strace is not None or t.ptrace is not None
        cycle = None if traced or self.frozen is not None or self.tracees else plat.cycle
        patching = self.patch and plat.patch_entry is not None
        while True:
            try:
                if traced:
                    ret = self._traced(t, nr, regs)
                elif nr < NR_MAX:
                    ret = table[nr](t, rdi, rsi, rdx, r10, r8, r9)
                else:
                    ret = self.unsupported(t, nr)
            except SyscallError as e:
                ret = -e.errno
            except Blocked:
                ret = None
            except Exception:
                self.debug(f"kernel error in syscall {nr} of task {t.tid}:\n{_exc_text()}")
                ret = -E.EINVAL
            if after is not None:
                self._patch_after(t, after)
                after = None
            if ret is None or t.dead:  # blocked, exited, stopped, resumed itself, or the end
                p = t.ptrace
                if p is not None and p.stop is None and not t.blocked:
                    p.in_syscall = False  # over: the next syscall stops at its entry
                return
            t.deadline = None
            t.sys_state = None
            rax = ret & MASK64
            tg = t.tg
            timers = self.timers
            if cycle is None or _RESTART_LO <= rax <= _RESTART_HI or t.ctx is not ctx \
                    or (t.pending or tg.shared_pending) and (t.pending | tg.shared_pending) & ~t.sigmask \
                    or tg.stopped or tg.exiting or t.saved_sigmask is not None \
                    or not self.calm or self.host_signals \
                    or timers and (timers[0][3] or timers[0][0] <= _now_ns()):
                break
            t.on_host = True
            a = cycle(ctx, rax)
            if a is None:
                return
            if plat.cycled is not ctx:  # another running thread's syscall
                ctx = plat.cycled
                t = ctx.owner
                if t is None or t.dead:  # as the loop does with such an event
                    plat.release_context(ctx)
                    return
            t.on_host = False
            r8, r9, r10, rdi, rsi, rdx, nr = a
            if plat.trapped and patching:  # a trap, not a patched site's call
                after = self._patch_trapped(t, nr)
        t.ctx.regs.rax = rax
        if traced:
            if self.strace is not None:
                self.strace.exit(t, nr, t.ctx.regs, ret)
            if t.ptrace is not None and ptrace.syscall_exit(t):
                return
        self.return_to_user(t)

    def _traced(self, t, nr, regs):
        """A syscall under --strace (its entry line, then its handler) or of
        a ptraced task (its entry stop, or once resumed from it, its handler,
        unless the tracer made its number -1: skipped, rax the result)."""
        if t.ptrace is not None:
            if ptrace.syscall_entry(t, regs):
                return None
            if nr == MASK64:
                return regs.rax
        if self.strace is not None:
            self.strace.enter(t, nr, regs)
        if nr >= NR_MAX:
            return self.unsupported(t, nr)
        return self.table[nr](t, regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)

    def unsupported(self, t, nr):
        if nr not in self.unsupported_logged:
            self.unsupported_logged.add(nr)
            from ..abi.sysno import NAMES
            self.debug(f"unsupported syscall {NAMES.get(nr, nr)} ({nr}): ENOSYS")
        return -E.ENOSYS

    def _fault(self, t, info):
        sig, code, addr = info
        if sig == S.SIGSEGV:
            if t.mm.lazy_fault(addr, t) or t.mm.cow_fault(addr, t):
                # a page-cache page brought in, a write to pages shared
                # copy-on-write since a fork, which are its own now (or a
                # stale fault): the instruction runs again
                self.return_to_user(t, from_syscall=False)
                return
            eof = t.mm.eof_fault(addr)
            if eof:  # the file has grown over the page since it was mapped
                self.return_to_user(t, from_syscall=False)
                return
            if eof is False and t.mm.find(addr).eof_prot:
                sig, code = S.SIGBUS, S.BUS_ADRERR
        si = S.siginfo(sig, code, addr=addr)
        self.force_signal(t, sig, si)
        self.return_to_user(t, from_syscall=False)

    def return_to_user(self, t, from_syscall=True):
        if self.frozen is not None:  # paused: the task waits here, in the sentry, until thaw()
            self.frozen.append((t, from_syscall))
            return
        tg = t.tg
        if (t.pending | tg.shared_pending) & ~t.sigmask or tg.stopped or tg.exiting \
                or (from_syscall and _RESTART_LO <= t.ctx.regs.rax <= _RESTART_HI):
            if not self._handle_signals(t, from_syscall):
                return
        elif t.saved_sigmask is not None and from_syscall:
            t.sigmask = t.saved_sigmask
            t.saved_sigmask = None
        t.on_host = True
        self.platform.resume(t.ctx)

    # --- signals ------------------------------------------------------------
    def _dequeue(self, t):
        allowed = ~t.sigmask
        p = t.pending & allowed
        src = t
        if not p:
            p = t.tg.shared_pending & allowed
            src = None
            if not p:
                return 0, None
        sync = p & 0x4000E5C  # SIGILL TRAP BUS FPE SEGV SYS first
        if sync:
            p = sync
        sig = (p & -p).bit_length()
        if src is t:
            infos = t.pending_info[sig]
            info = infos.pop(0)
            if not infos:
                t.pending &= ~S.bit(sig)
        else:
            infos = t.tg.shared_info[sig]
            info = infos.pop(0)
            if not infos:
                t.tg.shared_pending &= ~S.bit(sig)
        if info[8:12] == _SI_TIMER:  # dropped if its POSIX timer was set again since
            from .syscalls.timers import deliverable
            info = deliverable(t.tg, info)
            if info is None:
                return self._dequeue(t)
        return sig, info

    def _handle_signals(self, t, from_syscall):
        """Deliver pending signals; False if the task must not be resumed."""
        regs = t.ctx.regs
        tg = t.tg
        if tg.exiting:
            self._exit_now(t)
            return False
        restart = 0
        if from_syscall and _RESTART_LO <= regs.rax <= _RESTART_HI:
            restart = 2**64 - regs.rax
        while True:
            if tg.stopped:
                if restart:
                    self._restart(regs, restart)
                t.stopped_in_sentry = True
                return False
            sig, info = self._dequeue(t)
            if not sig:
                break
            if t.ptrace is not None and ptrace.signal_stop(t, sig, info, from_syscall):
                return False  # its tracer decides what is delivered (ptrace.resume)
            act = tg.sigactions.actions[sig]
            handler = act[0]
            if handler == S.SIG_IGN:
                continue
            if handler == S.SIG_DFL:
                d = S.default_action(sig)
                if d in (S.IGNORE, S.CONT):
                    continue
                if d == S.STOP:
                    # an orphaned process group has nobody to continue it:
                    # terminal stop signals are dropped (kernel/signal.c)
                    if sig == S.SIGSTOP or not self.pgrp_orphaned(tg.pgid):
                        self.group_stop(tg, sig)
                    continue
                core = d == S.CORE and tg.rlimits[4][0] != 0
                self.exit_group(t, sig | (0x80 if core else 0))
                return False
            if restart:
                if restart == E.ERESTARTNOINTR or (restart == E.ERESTARTSYS and act[1] & S.SA_RESTART):
                    self._restart(regs, restart)
                else:
                    regs.rax = (-E.EINTR) & MASK64
                restart = 0
            fp = t.ctx.fpstate()
            if not act[1] & S.SA_RESTORER or not frames.setup_frame(t, sig, info, act, regs, fp):
                self.exit_group(t, S.SIGSEGV)
                return False
            if act[1] & S.SA_RESETHAND:
                tg.sigactions.actions[sig] = (S.SIG_DFL, 0, 0, 0)
            # like exit_to_user_mode_loop: every pending signal the new mask
            # allows gets its frame too, the last one's handler runs first
        if restart:
            self._restart(regs, restart)
        if t.saved_sigmask is not None:
            t.sigmask = t.saved_sigmask
            t.saved_sigmask = None
        return True

    def _restart(self, regs, code):
        if code == E.ERESTART_RESTARTBLOCK:
            regs.rax = NR_RESTART_SYSCALL
        else:
            regs.rax = regs.orig_rax
        regs.rip -= 2

    def force_signal(self, t, sig, info):
        """A synchronous fault: unblock and un-ignore it, as force_sig does."""
        acts = t.tg.sigactions.actions
        if t.sigmask & S.bit(sig) or acts[sig][0] == S.SIG_IGN:
            acts[sig] = (S.SIG_DFL, 0, 0, 0)
            t.sigmask &= ~S.bit(sig)
        t.pending |= S.bit(sig)
        t.pending_info.setdefault(sig, []).append(info)

    def _ignored(self, tg, sig):
        h = tg.sigactions.actions[sig][0]
        return h == S.SIG_IGN or (h == S.SIG_DFL and S.default_action(sig) == S.IGNORE)

    def _prepare(self, tg, sig):
        """Generation-time effects (kernel/signal.c prepare_signal)."""
        if tg.zombie or tg.exiting:
            return False
        if sig == S.SIGKILL:
            self.exit_group(tg.tasks[0], S.SIGKILL)
            return False
        if S.default_action(sig) == S.STOP:
            self._flush(tg, S.bit(S.SIGCONT))
        if sig == S.SIGCONT:
            self._flush(tg, S.bit(S.SIGSTOP) | S.bit(S.SIGTSTP) | S.bit(S.SIGTTIN) | S.bit(S.SIGTTOU))
        return True

    def _flush(self, tg, mask):
        tg.shared_pending &= ~mask
        for t in tg.tasks:
            t.pending &= ~mask

    def send_signal_task(self, t, sig, info=None):
        tg = t.tg
        if not sig or not self._prepare(tg, sig):
            return
        self._queue_task(t, sig, info)
        if sig == S.SIGCONT and tg.stopped:  # resumed with SIGCONT already queued
            self.group_continue(tg)

    def _queue_task(self, t, sig, info):
        tg = t.tg
        if self._ignored(tg, sig) and not t.sigmask & S.bit(sig):
            return
        b = S.bit(sig)
        if sig < S.SIGRTMIN and t.pending & b:
            return
        t.pending |= b
        t.pending_info.setdefault(sig, []).append(info or S.siginfo(sig, S.SI_KERNEL))
        tg.signal_queue.notify()  # signalfd readers
        if not t.sigmask & b:
            self._signal_wake(t)

    def send_sigpipe(self, t):
        """SIGPIPE for a write to a broken pipe or socket: SI_USER from the
        writer itself, as Linux's send_sig(SIGPIPE, current, 0) makes it."""
        self.send_signal_task(t, S.SIGPIPE, S.siginfo(S.SIGPIPE, S.SI_USER, pid=t.tg.pid,
                                                      uid=t.tg.creds.ruid))

    def send_signal_group(self, tg, sig, info=None):
        if not sig or not self._prepare(tg, sig):
            return
        self._queue_group(tg, sig, info)
        if sig == S.SIGCONT and tg.stopped:  # resumed with SIGCONT already queued
            self.group_continue(tg)

    def _queue_group(self, tg, sig, info):
        b = S.bit(sig)
        # an ignored signal is dropped unless blocked (then it stays pending:
        # sigwait and signalfd read it), as sig_ignored() decides on the leader
        if self._ignored(tg, sig) and not (tg.tasks and tg.tasks[0].sigmask & b):
            return
        if sig < S.SIGRTMIN and tg.shared_pending & b:
            return
        tg.shared_pending |= b
        tg.shared_info.setdefault(sig, []).append(info or S.siginfo(sig, S.SI_KERNEL))
        tg.signal_queue.notify()  # signalfd readers
        for t in tg.tasks:
            if not t.sigmask & b:
                self._signal_wake(t)
                break

    def _signal_wake(self, t):
        if t.blocked:
            t.wake()
        elif t.on_host:
            self.platform.interrupt(t.ctx)

    def kill_pgrp(self, pgid, sig, info=None):
        found = False
        for tg in list(self.groups.values()):
            if tg.pgid == pgid and not tg.zombie:
                self.send_signal_group(tg, sig, info)
                found = True
        return found

    def pgrp_orphaned(self, pgid, ignored=None):
        """kernel/exit.c will_become_orphaned_pgrp: no member (but `ignored`)
        has a parent in another process group of the same session."""
        for g in self.groups.values():
            if g.pgid != pgid or g is ignored or g.zombie:
                continue
            p = g.parent
            if p is not None and p is not self.init and p.pgid != pgid and p.sid == g.sid:
                return False
        return True

    def _kill_orphaned_pgrp(self, pgid, sid, parent, ignored):
        """kernel/exit.c kill_orphaned_pgrp: a process group that an exit
        leaves orphaned with stopped members gets SIGHUP and SIGCONT, since
        nobody is left to continue it."""
        if parent is None or parent.pgid == pgid or parent.sid != sid:
            return
        if not any(g.pgid == pgid and g.stopped and not g.zombie for g in self.groups.values()):
            return
        if self.pgrp_orphaned(pgid, ignored):
            self.kill_pgrp(pgid, S.SIGHUP)
            self.kill_pgrp(pgid, S.SIGCONT)

    def group_stop(self, tg, sig):
        if tg.stopped:
            return
        tg.stopped = True
        tg.stop_report = ("stopped", sig)
        for t in tg.tasks:
            if t.on_host:
                self.platform.interrupt(t.ctx)
        parent = tg.parent
        if parent is not None and not parent.sigactions.actions[S.SIGCHLD][1] & S.SA_NOCLDSTOP:
            self.send_signal_group(parent, S.SIGCHLD, S.siginfo(
                S.SIGCHLD, S.CLD_STOPPED, pid=tg.pid, uid=tg.creds.ruid, status=sig))
        if parent is not None:
            parent.child_wait.notify()

    def group_continue(self, tg):
        tg.stopped = False
        tg.stop_report = ("continued", S.SIGCONT)
        for t in tg.tasks:
            if getattr(t, "stopped_in_sentry", False):
                t.stopped_in_sentry = False
                self.return_to_user(t, from_syscall=False)
        parent = tg.parent
        if parent is not None:
            if not parent.sigactions.actions[S.SIGCHLD][1] & S.SA_NOCLDSTOP:
                self.send_signal_group(parent, S.SIGCHLD, S.siginfo(
                    S.SIGCHLD, S.CLD_CONTINUED, pid=tg.pid, uid=tg.creds.ruid, status=S.SIGCONT))
            parent.child_wait.notify()

    # --- task lifecycle --------------------------------------------------
    def new_group(self, parent, sigactions, creds, rlimits, pid=None):
        pid = pid or self.alloc_pid()
        tg = ThreadGroup(self, pid, parent, sigactions, creds, rlimits)
        self.groups[pid] = tg
        if parent is not None:
            parent.children.append(tg)
            tg.pgid, tg.sid = parent.pgid, parent.sid
            tg.run = parent.run
        return tg

    def new_task(self, tg, mm, files, fs, ctx, tid=None):
        tid = tid or self.alloc_pid()
        t = Task(self, tid, tg, mm, files, fs)
        t.on_host = False
        t.stopped_in_sentry = False
        t.ctx = ctx
        ctx.owner = t
        tg.tasks.append(t)
        self.tasks[tid] = t
        return t

    def exit_group(self, t, status):
        """End the whole process with wait status `status`."""
        tg = t.tg
        if tg.exit_status is None:
            tg.exit_status = status
        tg.exiting = True
        for other in list(tg.tasks):
            if other is not t and not other.dead:
                self._exit_now(other)
        if not t.dead:
            self._exit_now(t)

    def exit_thread(self, t, status):
        tg = t.tg
        if len([x for x in tg.tasks if not x.dead]) <= 1:
            self.exit_group(t, status)
        else:
            self._exit_now(t)

    def _exit_now(self, t):
        """End task t. What the app sees of its end comes first; then what
        the host holds for it (stub thread, fds); then its removal, which
        ends its process with its last task and the sandbox with init's.
        Each runs even when one before it failed (a kernel error, logged by
        the caller): a task dead but still counted would keep its process,
        and the sandbox, from ever ending."""
        if t.dead:
            return
        t.dead = True
        tg = t.tg
        try:
            if t.ptrace is not None:
                ptrace.tracee_gone(t)
            if t.blocked:
                t.wake()
                try:
                    self.runq.remove(t)
                except ValueError:
                    pass
            if t.clear_child_tid and not tg.exiting:
                try:
                    t.mm.write_u32(t.clear_child_tid, 0)
                    from .futex import wake
                    wake(self, t, t.clear_child_tid, 1)
                except SyscallError:
                    pass
            if t.robust_list:
                from .futex import exit_robust_list
                exit_robust_list(self, t)
            if t.vfork_parent is not None:
                self.vfork_done(t)
            self.account_times(t)
            if t.mm.users <= 1:  # its last user: the peak size of its host process, before it goes
                self.note_maxrss(tg, t.mm)
        finally:
            try:
                mm = t.mm
                mm.users -= 1
                if mm.users <= 0:
                    mm.release()
                elif not t.on_host:
                    self.platform.release_context(t.ctx)
                else:
                    self.platform.interrupt(t.ctx)  # its exit is finished by the next event
                t.ctx.owner = None
                t.files.users -= 1
                if t.files.users <= 0:
                    t.files.close_all()
            finally:
                self.tasks.pop(t.tid, None)
                tg.tasks.remove(t)
                if not tg.tasks:
                    self._group_dead(tg)

    def account_times(self, t):
        """Fold a host thread's CPU time into its process before the thread goes."""
        if t.ctx is not None:
            u, s = self.platform.thread_times(t.ctx)
            t.tg.utime += u
            t.tg.stime += s

    def note_maxrss(self, tg, mm):
        """Fold the peak resident size of mm's host address space into tg's
        (ru_maxrss), before mm goes."""
        kb = self.platform.max_rss_kb(mm.aspace)
        if kb > tg.maxrss:
            tg.maxrss = kb

    def cpu_times(self, tg):
        """(user, system) seconds of a live process: ended threads plus running ones."""
        u, s = tg.utime, tg.stime
        for t in tg.tasks:
            if t.ctx is not None and not t.dead:
                a, b = self.platform.thread_times(t.ctx)
                u += a
                s += b
        return u, s

    def vfork_done(self, t):
        p = t.vfork_parent
        t.vfork_parent = None
        if p is not None and p.sys_state is not None:
            p.sys_state["vfork_done"] = True
            p.wake()

    def _group_dead(self, tg):
        if tg.exit_status is None:
            tg.exit_status = 0
        init = self.init
        try:
            if tg.tracees:
                ptrace.tracer_gone(tg)
            self._orphan_children(tg, init)
        finally:
            tg.zombie = True
            tg.pidfd_queue.notify()
            if tg is init:  # even after a kernel error above: the sandbox must end
                self.shutdown(tg.exit_status)
        if tg is init:
            return
        parent = tg.parent
        if parent is None:  # pid 1, or started from outside (control.py)
            if self.on_orphan_exit is not None:
                self.on_orphan_exit(tg)
            self.reap(tg)
            return
        code, val = S.child_end(tg.exit_status)
        act = parent.sigactions.actions[S.SIGCHLD]
        autoreap = tg.exit_signal == S.SIGCHLD and (act[0] == S.SIG_IGN or act[1] & S.SA_NOCLDWAIT)
        if tg.exit_signal:
            self.send_signal_group(parent, tg.exit_signal, S.siginfo(
                tg.exit_signal, code, pid=tg.pid, uid=tg.creds.ruid, status=val))
        if autoreap:
            self.reap(tg)
        parent.child_wait.notify()

    def _orphan_children(self, tg, init):
        """A process ended: its timers stop, its children go to init (and
        get their pdeathsig), process groups it orphaned with stopped
        members get SIGHUP and SIGCONT."""
        if tg.itimer_real is not None:
            self.cancel_timer(tg.itimer_real)
        if tg.posix_timers:
            from .syscalls.timers import delete_all
            delete_all(self, tg)
        for c in tg.children:
            if c.pdeathsig and not c.zombie:
                self.send_signal_group(c, c.pdeathsig)
            c.parent = init if init is not tg else None
            if init is not None and init is not tg:
                init.children.append(c)
                if c.zombie:
                    init.child_wait.notify()
            elif c.zombie:  # no init to reap it (a sandbox served by control.py)
                self.groups.pop(c.pid, None)
        for c in tg.children:
            if not c.zombie:
                self._kill_orphaned_pgrp(c.pgid, c.sid, tg, None)
        self._kill_orphaned_pgrp(tg.pgid, tg.sid, tg.parent, tg)
        tg.children = []

    def reap(self, tg):
        if tg.parent is not None:
            try:
                tg.parent.children.remove(tg)
            except ValueError:
                pass
            tg.parent.cutime += tg.utime + tg.cutime
            tg.parent.cstime += tg.stime + tg.cstime
            tg.parent.cmaxrss = max(tg.parent.cmaxrss, tg.maxrss, tg.cmaxrss)
        self.groups.pop(tg.pid, None)
        tg.pidfd_queue.notify()  # its pidfds hang up

    def shutdown(self, status):
        """The first process is gone: the sandbox ends, every task with it."""
        if self.done:
            return
        self.done = True
        self.exit_status = status
        for tg in list(self.groups.values()):
            for t in list(tg.tasks):
                if not t.dead:
                    t.dead = True
                    try:
                        t.mm.users = 0
                        t.mm.release()
                    except Exception:
                        pass

    def freeze(self):
        """Pause every process (OCI pause, like the cgroup freezer): a thread
        running app code is kicked into the sentry and parked where it would
        have been resumed; nothing of it is visible to the app."""
        if self.frozen is not None:
            return
        self.frozen = []
        for t in list(self.tasks.values()):
            if t.on_host and not t.dead:
                self.platform.interrupt(t.ctx)

    def thaw(self):
        parked, self.frozen = self.frozen or [], None
        for t, from_syscall in parked:
            if not t.dead and not self.done:
                self.return_to_user(t, from_syscall)

    def memory_used(self):
        """Bytes of app memory the sandbox holds: pages allocated in the memory
        file, and tmpfs file data kept in the sentry (vfs/memfs.py Account)."""
        from .vfs.memfs import ACCOUNT
        return self.memfile.blocks_used() + ACCOUNT.used

    # --- host terminal ------------------------------------------------------
    def open_host_tty(self, flags):
        if self.host_tty_fd is None:
            return None
        from .vfs.hostfile import HostFile
        return HostFile(self, os.dup(self.host_tty_fd), flags)
