"""Tasks (threads) and thread groups (processes) and what they share.

Plain objects: a checkpoint can pickle them. The only host link is
`Task.ctx`, the platform context that runs the thread's code; it is re-made on
restore.
"""

import time

from ..abi import errno as E
from ..abi import signals as S
from ..abi.errno import SyscallError
from .sched import Blocked, WaitQueue

RLIMIT_NAMES = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
                "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"]
RLIM_INFINITY = 2**64 - 1
# the ones the kernel checks itself (an index of RLIMIT_NAMES each)
RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_AS = 0, 1, 7, 9
RLIMIT_NICE, RLIMIT_RTPRIO = 13, 14


class SigActions:
    """The signal handler table; shared by CLONE_SIGHAND."""

    def __init__(self):
        # sig -> (handler, flags, restorer, mask)
        self.actions = [(S.SIG_DFL, 0, 0, 0)] * (S.NSIG + 1)

    def copy(self):
        c = SigActions()
        c.actions = list(self.actions)
        return c


class FSContext:
    """cwd, root and umask; shared by CLONE_FS."""

    def __init__(self, root, cwd, umask=0o022):
        self.root, self.cwd, self.umask = root, cwd, umask

    def copy(self):
        return FSContext(self.root, self.cwd, self.umask)


class ThreadGroup:
    """A process: pid, parent/children, exit status, shared signal state."""

    def __init__(self, kernel, pid, parent, sigactions, creds, rlimits):
        self.kernel = kernel
        self.pid = pid
        self.parent = parent
        self.children = []
        self.tasks = []
        self.pgid = pid
        self.sid = pid
        self.sigactions = sigactions
        self.shared_pending = 0  # bitmask
        self.shared_info = {}  # sig -> [siginfo bytes]
        self.creds = creds
        self.rlimits = rlimits
        self.exit_signal = S.SIGCHLD
        self.exiting = False
        self.exit_status = None  # wait status once dead
        self.zombie = False
        self.child_wait = WaitQueue()
        self.pidfd_queue = WaitQueue()  # notified at its exit and its reaping (fd/pidfd.py)
        self.tracees = []  # tasks this process ptraces (sentry/ptrace.py)
        self.signal_queue = WaitQueue()  # notified when a signal is queued (signalfd)
        self.stopped = False
        self.stop_report = None  # "stopped"/"continued" pending for wait
        self.start_time = time.monotonic()
        self.itimer_real = None  # (deadline, interval) in ns
        self.itimer_cpu = {}  # ITIMER_VIRTUAL or _PROF -> [expiry in CPU ns, interval, check]
        self.posix_timers = {}  # timer id -> syscalls/timers.py PosixTimer
        self.itimer_seq = 0
        self.vfork_done = None
        self.subreaper = False
        self.pdeathsig = 0
        self.no_new_privs = 0
        self.utime = self.stime = 0.0
        self.run = None  # which outside request started this tree (control.py), inherited
        self.cutime = self.cstime = 0.0
        # peak resident kB (ru_maxrss): of its address spaces that ended (an
        # exec's old one too), and the most of its reaped children's
        self.maxrss = self.cmaxrss = 0

    @property
    def leader(self):
        return self.tasks[0] if self.tasks else None


class SchedAttrs:
    """A thread's scheduling policy, real-time priority, reset-on-fork flag,
    fair slice of its own (0: the base slice), deadline parameters
    (runtime, deadline, period, flags), CPUs (a mask; None: all) and I/O
    priority, as syscalls/sched.py sets them. Its nice is Task.nice."""

    def __init__(self):
        self.policy = 0
        self.rt_priority = 0
        self.reset_on_fork = False
        self.slice = 0
        self.dl = None
        self.cpus = None
        self.ioprio = 0  # ioprio_set's class and level (0: none set, IOPRIO_DEFAULT)

    def allowed(self, ncpus):
        """The CPUs the thread may run on, as a bit mask."""
        return self.cpus if self.cpus is not None else (1 << ncpus) - 1

    def first_cpu(self, ncpus):
        """The lowest CPU it may run on: where getcpu and /proc say it runs."""
        mask = self.allowed(ncpus)
        return (mask & -mask).bit_length() - 1

    def realtime(self):
        return self.policy in (1, 2)  # SCHED_FIFO, SCHED_RR


class Task:
    """One app thread."""

    def __init__(self, kernel, tid, tg, mm, files, fs):
        self.kernel = kernel
        self.tid = tid
        self.tg = tg
        self.mm = mm
        self.files = files
        self.fs = fs
        self.ctx = None
        self.comm = b""
        self.nice = 0  # get/setpriority's (the host runs every thread at its own)
        self.sched = SchedAttrs()
        self.sigmask = 0
        self.pending = 0
        self.pending_info = {}
        self.saved_sigmask = None  # restored after a handler runs (sigsuspend, pselect)
        self.altstack = (0, S.SS_DISABLE, 0)
        self.clear_child_tid = 0
        self.robust_list = 0
        self.dead = False
        self.waiting = []  # wait queues this task sits on
        self.blocked = False
        self.deadline = None  # monotonic ns of the current wait, kept across retries
        self.timer = None
        self.sys_state = None  # partial progress of a retried syscall
        self.fault_retried = None  # (address, mm.changes) of a fault run again (MM.cow_fault)
        self.woken_by_timer = False
        self.vfork_parent = None
        self.restart_block = None  # (fn, args) for restart_syscall
        self.in_syscall = False
        self.ptrace = None  # a ptrace.Ptrace while another process traces this task

    # --- blocking -------------------------------------------------------

    def signal_pending(self):
        return bool((self.pending | self.tg.shared_pending) & ~self.sigmask) or self.tg.exiting

    def block(self, queues=(), deadline=None, long=False):
        """Park this task until a queue is notified, `deadline` (monotonic ns)
        passes or a signal arrives. Never returns: raises Blocked, or
        SyscallError(ERESTARTSYS) / SyscallError(ETIMEDOUT). A wait that is
        `long` (for a child) or has no queue (a sleep, a pause) lets the
        host thread sleep at once (Platform.nap); a wait on a pipe or a
        futex is often over within microseconds."""
        if self.signal_pending():
            raise SyscallError(E.ERESTARTSYS)
        if deadline is not None:
            self.deadline = deadline
            if time.monotonic_ns() >= deadline:
                raise SyscallError(E.ETIMEDOUT)
            self.timer = self.kernel.add_timer(deadline, self.wake)
        for q in queues:
            q.waiters.append(self)
        self.waiting = list(queues)
        self.blocked = True
        if long or not queues:
            self.kernel.platform.nap(self.ctx)
        raise Blocked()

    def block_partial(self, done, nonblock, queues):
        """A write that has moved `done` bytes and must wait for room: a
        non-blocking or interrupted write ends with what it moved (or EAGAIN /
        the interruption if nothing); otherwise park, keeping `done` in
        sys_state for the retry. Returns only the count to report."""
        if nonblock:
            if done:
                return done
            raise SyscallError(E.EAGAIN)
        self.sys_state = done
        try:
            self.block(queues)
        except SyscallError:
            if done:
                return done
            raise

    def wake(self, events=None):
        if not self.blocked:
            return
        self.blocked = False
        for q in self.waiting:
            try:
                q.waiters.remove(self)
            except ValueError:
                pass
        self.waiting = []
        if self.timer is not None:
            self.kernel.cancel_timer(self.timer)
            self.timer = None
        self.kernel.enqueue(self)

    def deadline_after(self, ns):
        """The absolute deadline for a relative timeout, stable across retries."""
        if self.deadline is None:
            self.deadline = time.monotonic_ns() + ns
        return self.deadline
