"""Scheduling policies, real-time priorities, CPU affinity and I/O
priority, kept per thread as Linux keeps them (kernel/sched/syscalls.c,
block/ioprio.c): what the app sets, reads back, and what fork passes on. The
host runs every thread at its own policy; the sandbox records these, as it
records nice, and schedules nothing by them."""

import struct

from ...abi import caps as C
from ...abi import errno as E
from ...abi.errno import SyscallError
from ..task import RLIMIT_NICE, RLIMIT_RTPRIO, SchedAttrs
from .misc import prio_tasks
from .util import s32

NORMAL, FIFO, RR, BATCH, IDLE, DEADLINE, EXT = 0, 1, 2, 3, 5, 6, 7
RESET_ON_FORK = 0x40000000  # or'd into a policy: sched_setscheduler/getscheduler
SETPARAM = -1  # sched_setparam's "the policy it has"
FLAG_RESET_ON_FORK, FLAG_RECLAIM, FLAG_DL_OVERRUN = 0x01, 0x02, 0x04
FLAG_KEEP_POLICY, FLAG_KEEP_PARAMS, FLAG_UTIL_CLAMP = 0x08, 0x10, 0x60
FLAGS_ALL = 0x7F
ATTR = struct.Struct("<IIQiIQQQII")  # struct sched_attr
ATTR_SIZE_VER0 = 48  # without the utilization clamps
MAX_RT_PRIO = 100
RR_TIMESLICE_NS = 100_000_000
JIFFY_NS = 4_000_000  # HZ=250, Debian's: rr_get_interval counts a fair slice in whole jiffies
SLICE_MIN_NS, SLICE_MAX_NS = 100_000, 100_000_000
DL_RUNTIME_MIN_NS = 1024  # 1 << DL_SCALE
DL_PERIOD_MIN_NS, DL_PERIOD_MAX_NS = 100_000, (1 << 22) * 1000  # sched_deadline_period_{min,max}_us

SETTABLE = (NORMAL, FIFO, RR, BATCH, IDLE, DEADLINE)  # EXT: no BPF scheduler is loaded
FAIR = (NORMAL, BATCH, IDLE)
RT = (FIFO, RR)


def base_slice(k):
    """A fair thread's slice: sysctl_sched_base_slice, 0.7 ms scaled by
    1 + log2 of the CPUs (at most 8), as sched_getattr reports it."""
    return 700_000 * min(k.ncpus, 8).bit_length()


def _task(t, pid):
    """find_process_by_pid: 0 is the caller, else the thread with that id."""
    if pid == 0:
        return t
    x = t.kernel.tasks.get(pid)
    if x is None or x.dead:
        raise SyscallError(E.ESRCH)
    return x


def _same_owner(t, p):
    """check_same_owner: the caller's euid is p's euid or real uid."""
    c, pc = t.tg.creds, p.tg.creds
    return c.euid == pc.euid or c.euid == pc.ruid


def _nice_ok(p, nice):
    """is_nice_reduction: RLIMIT_NICE allows p a nice this low."""
    return 20 - nice <= p.tg.rlimits[RLIMIT_NICE][0]


def _dl_ok(runtime, deadline, period):
    """__checkparam_dl: 1 us <= runtime <= deadline <= period, the period
    within the sysctl bounds (0: the deadline)."""
    if deadline == 0 or runtime < DL_RUNTIME_MIN_NS or (deadline | period) >> 63:
        return False
    period = period or deadline
    return runtime <= deadline <= period and DL_PERIOD_MIN_NS <= period <= DL_PERIOD_MAX_NS


def _user_check(t, p, policy, prio, nice, reset):
    """user_check_sched_setscheduler: what a caller without CAP_SYS_NICE
    may not do."""
    s = p.sched
    if policy in FAIR and nice < p.nice and not _nice_ok(p, nice):
        raise SyscallError(E.EPERM)
    if policy in RT:
        limit = p.tg.rlimits[RLIMIT_RTPRIO][0]
        if policy != s.policy and not limit:
            raise SyscallError(E.EPERM)
        if prio > s.rt_priority and prio > limit:
            raise SyscallError(E.EPERM)
    if policy == DEADLINE:
        raise SyscallError(E.EPERM)
    if s.policy == IDLE and policy != IDLE and not _nice_ok(p, p.nice):
        raise SyscallError(E.EPERM)
    if not _same_owner(t, p):
        raise SyscallError(E.EPERM)
    if s.reset_on_fork and not reset:
        raise SyscallError(E.EPERM)


def _set(t, p, policy, flags, prio, nice, runtime=0, deadline=0, period=0):
    """__sched_setscheduler, checked as for a syscall."""
    s = p.sched
    if policy == SETPARAM:
        reset = s.reset_on_fork
        policy = s.policy
    else:
        reset = bool(flags & FLAG_RESET_ON_FORK)
        if policy not in SETTABLE:
            raise SyscallError(E.EINVAL)
    if flags & ~FLAGS_ALL:
        raise SyscallError(E.EINVAL)
    if prio > MAX_RT_PRIO - 1:
        raise SyscallError(E.EINVAL)
    if policy == DEADLINE and not _dl_ok(runtime, deadline, period) \
            or (policy in RT) != (prio != 0):
        raise SyscallError(E.EINVAL)
    if not t.tg.creds.capable(C.CAP_SYS_NICE):
        _user_check(t, p, policy, prio, nice, reset)
    s.reset_on_fork = reset
    if flags & FLAG_KEEP_PARAMS:  # only the flag changes
        return 0
    s.policy = policy
    s.rt_priority = prio
    if policy == DEADLINE:
        s.dl = (runtime, deadline, period or deadline, flags & (FLAG_RECLAIM | FLAG_DL_OVERRUN))
    elif policy in FAIR:
        if policy != IDLE:  # an idle thread's nice stays (6.18 leaves static_prio)
            p.nice = nice
        s.slice = min(max(runtime, SLICE_MIN_NS), SLICE_MAX_NS) if runtime else 0
    return 0


def _params(p):
    """get_params: (priority, nice, runtime, deadline, period, dl flags)."""
    s = p.sched
    if s.policy == DEADLINE:
        runtime, deadline, period, dlflags = s.dl
        return 0, 0, runtime, deadline, period, dlflags
    if s.policy in RT:
        return s.rt_priority, 0, 0, 0, 0, 0
    return 0, p.nice, s.slice or base_slice(p.kernel), 0, 0, 0


def _setscheduler(t, pid, policy, param):
    """do_sched_setscheduler: sched_setscheduler keeps the nice and any
    slice of its own."""
    pid = s32(pid)
    if not param or pid < 0:
        raise SyscallError(E.EINVAL)
    prio = s32(t.mm.read_u32(param))
    p = _task(t, pid)
    flags = 0
    if policy != SETPARAM and policy & RESET_ON_FORK:
        flags = FLAG_RESET_ON_FORK
        policy &= ~RESET_ON_FORK
    return _set(t, p, policy, flags, prio & 0xFFFFFFFF, p.nice, p.sched.slice)


def sys_sched_setscheduler(t, pid, policy, param, *_):
    policy = s32(policy)
    if policy < 0:
        raise SyscallError(E.EINVAL)
    return _setscheduler(t, pid, policy, param)


def sys_sched_setparam(t, pid, param, *_):
    return _setscheduler(t, pid, SETPARAM, param)


def sys_sched_getscheduler(t, pid, *_):
    pid = s32(pid)
    if pid < 0:
        raise SyscallError(E.EINVAL)
    s = _task(t, pid).sched
    return s.policy | (RESET_ON_FORK if s.reset_on_fork else 0)


def sys_sched_getparam(t, pid, param, *_):
    pid = s32(pid)
    if not param or pid < 0:
        raise SyscallError(E.EINVAL)
    s = _task(t, pid).sched
    t.mm.write_u32(param, s.rt_priority if s.policy in RT else 0)
    return 0


def sys_sched_setattr(t, pid, uattr, flags, *_):
    pid = s32(pid)
    if not uattr or pid < 0 or flags:
        raise SyscallError(E.EINVAL)
    mm = t.mm
    size = mm.read_u32(uattr) or ATTR_SIZE_VER0
    raw = mm.read(uattr, min(size, ATTR.size)) if ATTR_SIZE_VER0 <= size <= 4096 else None
    if raw is None or size > ATTR.size and mm.read(uattr + ATTR.size, size - ATTR.size).strip(b"\0"):
        mm.write_u32(uattr, ATTR.size)  # the size the kernel speaks (sched_copy_attr)
        raise SyscallError(E.E2BIG)
    (_, policy, aflags, nice, prio, runtime, deadline, period,
     _, _) = ATTR.unpack(raw.ljust(ATTR.size, b"\0"))
    if aflags & FLAG_UTIL_CLAMP and size < ATTR.size:
        raise SyscallError(E.EINVAL)
    nice = min(max(nice, -20), 19)
    if policy >= 0x80000000:
        raise SyscallError(E.EINVAL)
    if aflags & FLAG_KEEP_POLICY:
        policy = SETPARAM
    p = _task(t, pid)
    if aflags & FLAG_KEEP_PARAMS:
        prio, nice, runtime, deadline, period, _ = _params(p)
    return _set(t, p, policy, aflags, prio, nice, runtime, deadline, period)


def sys_sched_getattr(t, pid, uattr, usize, flags, *_):
    pid = s32(pid)
    usize &= 0xFFFFFFFF
    if not uattr or pid < 0 or usize > 4096 or usize < ATTR_SIZE_VER0 or flags:
        raise SyscallError(E.EINVAL)
    p = _task(t, pid)
    prio, nice, runtime, deadline, period, dlflags = _params(p)
    s = p.sched
    aflags = dlflags | (FLAG_RESET_ON_FORK if s.reset_on_fork else 0)
    n = min(usize, ATTR.size)
    data = ATTR.pack(n, s.policy, aflags, nice, prio, runtime, deadline, period, 0, 0)
    t.mm.write(uattr, data[:n] + bytes(usize - n))  # past our struct: zeros (copy_struct_to_user)
    return 0


def sys_sched_get_priority_max(t, policy, *_):
    policy = s32(policy)
    if policy in RT:
        return MAX_RT_PRIO - 1
    if policy in FAIR or policy in (DEADLINE, EXT):
        return 0
    raise SyscallError(E.EINVAL)


def sys_sched_get_priority_min(t, policy, *_):
    policy = s32(policy)
    if policy in RT:
        return 1
    if policy in FAIR or policy in (DEADLINE, EXT):
        return 0
    raise SyscallError(E.EINVAL)


def sys_sched_rr_get_interval(t, pid, tp, *_):
    """RR: its timeslice; FIFO and DEADLINE: 0; fair: the slice in whole jiffies."""
    pid = s32(pid)
    if pid < 0:
        raise SyscallError(E.EINVAL)
    p = _task(t, pid)
    policy = p.sched.policy
    if policy == RR:
        ns = RR_TIMESLICE_NS
    elif policy in FAIR:
        ns = (p.sched.slice or base_slice(t.kernel)) // JIFFY_NS * JIFFY_NS
    else:
        ns = 0
    t.mm.write(tp, struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


def sys_sched_yield(t, *_):
    return 0


def sys_getcpu(t, cpu, node, *_):
    """The first CPU the thread may run on (the vDSO's getcpu answers 0)."""
    if cpu:
        t.mm.write_u32(cpu, t.sched.first_cpu(t.kernel.ncpus))
    if node:
        t.mm.write_u32(node, 0)
    return 0


# --- CPU affinity ---------------------------------------------------------

def mask_bytes(k):
    """cpumask_size(): whole longs for the sandbox's CPUs."""
    return (k.ncpus + 63) // 64 * 8


def sys_sched_setaffinity(t, pid, length, mask, *_):
    k = t.kernel
    n = min(length, mask_bytes(k))
    want = int.from_bytes(t.mm.read(mask, n), "little") if n else 0
    p = _task(t, s32(pid))
    if not _same_owner(t, p) and not t.tg.creds.capable(C.CAP_SYS_NICE):
        raise SyscallError(E.EPERM)
    want &= (1 << k.ncpus) - 1
    if not want:
        raise SyscallError(E.EINVAL)
    p.sched.cpus = want
    return 0


def sys_sched_getaffinity(t, pid, length, mask, *_):
    k = t.kernel
    if length * 8 < k.ncpus or length & 7:
        raise SyscallError(E.EINVAL)
    p = _task(t, s32(pid))
    n = min(length, mask_bytes(k))
    t.mm.write(mask, p.sched.allowed(k.ncpus).to_bytes(n, "little"))
    return n


# --- I/O priority (block/ioprio.c): recorded, as the policies are --------

IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE = 0, 1, 2, 3
IOPRIO_BE_NORM = 4  # what a task with none set counts as among several (ioprio_best)


def _ioprio_check(t, ioprio):
    """ioprio_check_cap: a known class, a level for RT and BE only, RT for
    CAP_SYS_ADMIN or CAP_SYS_NICE."""
    cls, level = ioprio >> 13 & 7, ioprio & 7
    c = t.tg.creds
    if cls == IOPRIO_CLASS_RT and not (c.capable(C.CAP_SYS_ADMIN) or c.capable(C.CAP_SYS_NICE)):
        raise SyscallError(E.EPERM)
    if cls == IOPRIO_CLASS_NONE and level or cls > IOPRIO_CLASS_IDLE:
        raise SyscallError(E.EINVAL)


def _ioprio_tasks(t, which, who):
    """IOPRIO_WHO_PROCESS, _PGRP, _USER (1, 2, 3): setpriority's 0, 1, 2."""
    if which not in (1, 2, 3):
        raise SyscallError(E.EINVAL)
    return prio_tasks(t, which - 1, who)


def sys_ioprio_set(t, which, who, ioprio, *_):
    ioprio = s32(ioprio)
    _ioprio_check(t, ioprio)
    c = t.tg.creds
    free = c.capable(C.CAP_SYS_NICE)
    for x in _ioprio_tasks(t, s32(which), who):
        xc = x.tg.creds
        if not free and xc.ruid != c.euid and xc.ruid != c.ruid:
            raise SyscallError(E.EPERM)
        x.sched.ioprio = ioprio
    return 0


def sys_ioprio_get(t, which, who, *_):
    which = s32(which)
    tasks = _ioprio_tasks(t, which, who)
    if which == 1:
        return tasks[0].sched.ioprio
    # the best among them, one with none set counting as best-effort's norm
    return min(x.sched.ioprio or IOPRIO_CLASS_BE << 13 | IOPRIO_BE_NORM for x in tasks)


def fork(parent, child):
    """sched_fork: the child's policy, priority, nice and CPUs are its
    parent's, unless reset-on-fork asked for a plain one; a deadline
    thread may not fork (EAGAIN, before anything is made)."""
    s = parent.sched
    c = child.sched = SchedAttrs()
    c.cpus = s.cpus
    c.ioprio = s.ioprio
    child.nice = parent.nice
    if s.reset_on_fork:
        if s.policy in RT or s.policy == DEADLINE:
            child.nice = 0
        else:
            c.policy = s.policy
            child.nice = max(parent.nice, 0)
        return
    c.policy, c.rt_priority, c.slice, c.dl = s.policy, s.rt_priority, s.slice, s.dl


def may_fork(t):
    if t.sched.policy == DEADLINE and not t.sched.reset_on_fork:
        raise SyscallError(E.EAGAIN)
