"""ptrace(2) inside the sandbox: one app process tracing another (strace,
gdb), served by the sentry as Linux serves it.

A traced task (`Task.ptrace`, a Ptrace) stops where Linux's would: at a
syscall's entry and exit under PTRACE_SYSCALL, before a signal is delivered
to it, and at the events its tracer asked for (exec, fork, clone). A stopped
task is one the kernel does not resume: it is parked at that point, the
tracer's wait reports the stop (`ThreadGroup.tracees`: Linux's wait looks at
the tracees of every thread of the tracer), and a resuming request (CONT,
SYSCALL, DETACH) carries it on from there (`resume`). All of it is plain
data: a checkpoint keeps a stopped tracee stopped.

A traced address space has its syscall sites unpatched and patches no more
(mm/patch.py disable): a tracer reads and writes the program's own code, and
a single step (the trap flag) must not step into the stub's.

Not done: debug registers (they read as 0), PTRACE_SYSEMU, PTRACE_LISTEN, an INTERRUPT
that stops a running tracee, group-stops reported as ptrace-stops, and
seccomp events. A traced process's end reaches its parent at once (Linux
holds it until the tracer has waited for it); a traced vfork's event stop
comes once the child has exec'd or ended, not before.
"""

import struct

from ..abi import errno as E
from ..abi import signals as S
from ..abi.caps import CAP_SYS_PTRACE
from ..abi.errno import SyscallError
from .mm import patch as mpatch

MASK64 = 2**64 - 1

# PTRACE_SETOPTIONS bits, PTRACE_EVENT_* (linux/ptrace.h)
O_TRACESYSGOOD, O_TRACEFORK, O_TRACEVFORK, O_TRACECLONE, O_TRACEEXEC = 0x1, 0x2, 0x4, 0x8, 0x10
O_EXITKILL, O_SUSPEND_SECCOMP = 0x100000, 0x200000
O_MASK = 0xFF | O_EXITKILL | O_SUSPEND_SECCOMP  # (the others are taken, and do nothing)
EVENT_FORK, EVENT_VFORK, EVENT_CLONE, EVENT_EXEC, EVENT_STOP = 1, 2, 3, 4, 128
EFLAGS_TF = 0x100  # the trap flag: a debug trap after one instruction
TRAP_BRKPT = 1


class Ptrace:
    """A traced task's side of its tracing."""

    def __init__(self, tracer, seized, options=0):
        self.tracer = tracer  # the tracing process (ThreadGroup)
        self.seized = seized  # PTRACE_SEIZE: group-stops and INTERRUPT as PTRACE_EVENT_STOP
        self.options = options
        self.syscalls = False  # resumed by PTRACE_SYSCALL: stops at syscall entry and exit
        self.in_syscall = False  # past the entry (stop) of the syscall being served
        # where the task is parked: None (not stopped), "entry", "exit",
        # "signal", "event", or "new" (a seized tracee's new child, before
        # it first runs)
        self.stop = None
        # the stop's word (a signal | event << 8, | 0x80 for a syscall stop
        # under TRACESYSGOOD) until the tracer's wait has taken it
        self.report = None
        self.siginfo = None  # what PTRACE_GETSIGINFO reads in this stop
        self.from_syscall = False  # a signal stop on the way out of a syscall
        self.deliver = 0  # a signal the tracer let through: no second stop for it
        self.event = 0  # a PTRACE_EVENT the syscall being served stops for at its end
        self.msg = 0  # PTRACE_GETEVENTMSG
        self.exited = None  # the wait status of its end, until the tracer's wait takes it
        self.step = False  # resumed by PTRACE_SINGLESTEP: the trap flag is ours to clear


def may_attach(t, tg):
    """Linux's PTRACE_MODE_ATTACH_REALCREDS: the same real, effective and
    saved ids, and no capability the tracer's permitted set lacks, or else
    CAP_SYS_PTRACE. EPERM else."""
    c, d = t.tg.creds, tg.creds
    if c.capable(CAP_SYS_PTRACE):
        return
    if not c.owns_ids_of(d) or d.cap_prm & ~c.cap_prm:
        raise SyscallError(E.EPERM)


def attach(t, x, seized, options=0):
    """Make t's process the tracer of task x (ATTACH, SEIZE)."""
    if x.tg is t.tg or x.ptrace is not None or x.dead or x.tg.exiting:
        raise SyscallError(E.EPERM)
    may_attach(t, x.tg)
    _trace(x, t.tg, seized, options)


def traceme(t):
    """PTRACE_TRACEME: t's parent process traces it."""
    parent = t.tg.parent
    if t.ptrace is not None or parent is None:
        raise SyscallError(E.EPERM)
    _trace(t, parent, False, 0)


def _trace(x, tracer, seized, options):
    x.ptrace = Ptrace(tracer, seized, options)
    tracer.tracees.append(x)
    x.kernel.tracees += 1
    if x.mm is not None:
        mpatch.disable(x.mm)


def _sysgood(p):
    return S.SIGTRAP | (0x80 if p.options & O_TRACESYSGOOD else 0)


def _stop(t, where, code, info=None):
    """Park t in a ptrace-stop and tell its tracer (wait, SIGCHLD)."""
    p = t.ptrace
    p.stop = where
    p.report = code
    p.siginfo = info if info is not None else \
        S.siginfo(S.SIGTRAP, code, pid=t.tg.pid, uid=t.tg.creds.ruid)
    k = t.kernel
    if t.ctx is not None:
        k.platform.nap(t.ctx)
    tracer = p.tracer
    act = tracer.sigactions.actions[S.SIGCHLD]
    if act[0] != S.SIG_IGN and not act[1] & S.SA_NOCLDSTOP:
        k.send_signal_group(tracer, S.SIGCHLD, S.siginfo(
            S.SIGCHLD, S.CLD_TRAPPED, pid=t.tid, uid=t.tg.creds.ruid, status=code & 0x7F))
    tracer.child_wait.notify()


# --- where a traced task stops (called by the kernel) --------------------------

def syscall_entry(t, regs):
    """Before t's syscall is served: True if t stops at its entry instead
    (served once the tracer resumes it). A blocked syscall served again does
    not stop again."""
    p = t.ptrace
    if p.in_syscall:
        return False
    p.in_syscall = True
    regs.rax = -E.ENOSYS & MASK64  # as Linux: the entry stop shows it, a skipped call returns it
    if not p.syscalls:
        return False
    _stop(t, "entry", _sysgood(p))
    return True


def syscall_exit(t):
    """t's syscall is served (rax holds its result): True if t stops, at
    an event the syscall raised (exec) or at its exit. A single step over
    the syscall ends here, with a SIGTRAP (Linux's user_single_step_report)."""
    p = t.ptrace
    p.in_syscall = False
    if p.step:
        t.kernel.force_signal(t, S.SIGTRAP, S.siginfo(S.SIGTRAP, TRAP_BRKPT,
                                                      addr=t.ctx.regs.rip))
    if p.event:
        ev, p.event = p.event, 0
        _stop(t, "event", S.SIGTRAP | ev << 8)
        return True
    if p.syscalls:
        _stop(t, "exit", _sysgood(p))
        return True
    return False


def signal_stop(t, sig, info, from_syscall):
    """A signal is about to be delivered to t: True if t stops first (its
    tracer decides what is delivered), False if the tracer let it through."""
    p = t.ptrace
    if p.deliver == sig:
        p.deliver = 0
        return False
    p.from_syscall = from_syscall
    _stop(t, "signal", sig, info)
    return True


def exec_done(t, old_tid):
    """t's execve succeeded: PTRACE_EVENT_EXEC at its end, or (neither
    asked for nor seized) a SIGTRAP, as Linux's ptrace_event."""
    p = t.ptrace
    mpatch.disable(t.mm)  # (a new address space: patches would start again)
    if p.options & O_TRACEEXEC:
        p.event, p.msg = EVENT_EXEC, old_tid
    elif not p.seized:
        t.kernel.send_signal_task(t, S.SIGTRAP, S.siginfo(S.SIGTRAP, S.SI_USER))


def new_child(t, child, vfork, exit_signal):
    """t made task `child`. With the option for its kind set (as Linux's
    kernel_clone picks it: vfork, else clone for an exit signal other than
    SIGCHLD, else fork), the child is traced by t's tracer too and t stops
    at that PTRACE_EVENT at its syscall's end. A seized child starts in a
    PTRACE_EVENT_STOP; another gets a SIGSTOP, whose delivery stops it.
    True if the child starts stopped."""
    p = t.ptrace
    if vfork:
        ev, opt = EVENT_VFORK, O_TRACEVFORK
    elif exit_signal != S.SIGCHLD:
        ev, opt = EVENT_CLONE, O_TRACECLONE
    else:
        ev, opt = EVENT_FORK, O_TRACEFORK
    if not p.options & opt:
        return False
    _trace(child, p.tracer, p.seized, p.options)
    p.event, p.msg = ev, child.tid
    if p.seized:
        _stop(child, "new", S.SIGTRAP | EVENT_STOP << 8, S.siginfo(S.SIGTRAP, 0))
        return True
    t.kernel.send_signal_task(child, S.SIGSTOP, S.siginfo(S.SIGSTOP, S.SI_USER))
    return False


# --- the tracer's requests ------------------------------------------------------

def resume(x, sig, syscalls, step=False):
    """Carry x on from its stop: CONT (syscalls False), SYSCALL (True),
    SINGLESTEP (step: one instruction, with the CPU's trap flag, whose
    SIGTRAP stops it again). sig: a signal to deliver (0: none); in a
    signal-delivery-stop, the one delivered instead of the one that
    stopped it."""
    k = x.kernel
    p = x.ptrace
    where = p.stop
    p.stop = None
    p.report = None
    p.syscalls = syscalls
    if step or p.step:
        regs = x.ctx.regs
        regs.eflags = regs.eflags | EFLAGS_TF if step else regs.eflags & ~EFLAGS_TF
        p.step = step
    if where == "entry":  # its syscall is served now, from the loop's run queue
        if sig:
            k.send_signal_task(x, sig)
        k.enqueue(x)
    elif where == "signal":
        if sig:
            info = p.siginfo
            if sig != struct.unpack_from("<i", info)[0]:
                # another signal than the one that stopped it: from the tracer
                info = S.siginfo(sig, S.SI_USER, pid=p.tracer.pid, uid=p.tracer.creds.ruid)
            x.pending |= S.bit(sig)
            x.pending_info.setdefault(sig, []).insert(0, info)
            p.deliver = sig
        k.return_to_user(x, from_syscall=p.from_syscall)
    else:  # "exit", "event", "new": back to app code
        if sig:
            k.send_signal_task(x, sig)
        if where == "event" and syscalls:
            _stop(x, "exit", _sysgood(p))  # the event's syscall stops at its exit too
            return
        k.return_to_user(x, from_syscall=where != "new")


def detach(x, sig=0):
    """x is traced no more: it carries on from a stop (with sig), or runs on."""
    p = x.ptrace
    untrace(x)
    if p.step and not x.dead:  # the trap flag was ours
        x.ctx.regs.eflags &= ~EFLAGS_TF
        p.step = False
    if p.stop is not None and not x.dead:
        where = p.stop
        p.syscalls = False
        if where == "entry":
            x.ptrace = None
            x.kernel.enqueue(x)
            return
        resume(x, sig, False)
    x.ptrace = None


def tracer_gone(tg):
    """The tracing process ended: its tracees run on (PTRACE_O_EXITKILL: are killed)."""
    for x in list(tg.tracees):
        if x.dead:
            untrace(x)
            continue
        if x.ptrace.options & O_EXITKILL:
            x.kernel.send_signal_group(x.tg, S.SIGKILL)
            if x.ptrace is not None:
                detach(x)
        else:
            detach(x)
    tg.tracees = []


def tracee_gone(x):
    """A traced task ended: its tracer's wait reports the end (a thread's
    too), unless it is the end of a child of the tracer, which the child's
    own report is."""
    p = x.ptrace
    tracer = p.tracer
    p.stop = p.report = None
    tg = x.tg
    if len(tg.tasks) <= 1 and tg.parent is tracer:
        untrace(x)
    else:
        # a thread that ends alone (exit) reports 0; the process's end its status
        p.exited = tg.exit_status or 0
        code, val = S.child_end(p.exited)
        x.kernel.send_signal_group(tracer, S.SIGCHLD, S.siginfo(S.SIGCHLD, code, pid=x.tid,
                                                                uid=tg.creds.ruid, status=val))
    tracer.child_wait.notify()


def untrace(x):
    """Take task x off its tracer's list (its end reported, or detached)."""
    try:
        x.ptrace.tracer.tracees.remove(x)
    except ValueError:
        return
    x.kernel.tracees -= 1
