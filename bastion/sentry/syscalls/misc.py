"""System information, limits, prctl, arch_prctl, futex, scheduling, random."""

import os
import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError
from .. import futex as F
from ..mm import patch
from ..task import RLIM_INFINITY, RLIMIT_NOFILE
from .util import read_timespec, s32

UTS_LEN = 65


def sys_uname(t, buf, *_):
    k = t.kernel
    u = os.uname()
    fields = [b"Linux", os.fsencode(k.hostname), u.release.encode(), u.version.encode(),
              b"x86_64", os.fsencode(k.domainname)]
    t.mm.write(buf, b"".join(f[:UTS_LEN - 1].ljust(UTS_LEN, b"\0") for f in fields))
    return 0


def _uts_name(t, name, length):
    if length > 64:  # __NEW_UTS_LEN
        raise SyscallError(E.EINVAL)
    if t.tg.creds.euid != 0:
        raise SyscallError(E.EPERM)
    return t.mm.read(name, length).decode("utf-8", "surrogateescape")


def sys_sethostname(t, name, length, *_):
    t.kernel.hostname = _uts_name(t, name, length)
    return 0


def sys_setdomainname(t, name, length, *_):
    t.kernel.domainname = _uts_name(t, name, length)
    return 0


ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
ARCH_GET_CPUID, ARCH_SET_CPUID = 0x1011, 0x1012


def sys_arch_prctl(t, code, addr, *_):
    r = t.ctx.regs
    if code == ARCH_SET_FS:
        if addr >= 1 << 47:
            raise SyscallError(E.EPERM)
        r.fs_base = addr
    elif code == ARCH_SET_GS:
        if addr >= 1 << 47:
            raise SyscallError(E.EPERM)
        if addr:  # patched sites find their frame through gs: undo them for good
            patch.disable(t.mm)
        r.gs_base = addr
    elif code == ARCH_GET_FS:
        t.mm.write_u64(addr, r.fs_base)
    elif code == ARCH_GET_GS:
        t.mm.write_u64(addr, r.gs_base)
    elif code == ARCH_GET_CPUID:
        return 1
    elif code == ARCH_SET_CPUID:
        raise SyscallError(E.ENODEV)
    else:
        raise SyscallError(E.EINVAL)
    return 0


def sys_set_robust_list(t, head, length, *_):
    if length != 24:
        raise SyscallError(E.EINVAL)
    t.robust_list = head
    return 0


def sys_get_robust_list(t, pid, headp, lenp, *_):
    target = t if s32(pid) == 0 else t.kernel.tasks.get(s32(pid))
    if target is None:
        raise SyscallError(E.ESRCH)
    t.mm.write_u64(headp, target.robust_list)
    t.mm.write_u64(lenp, 24)
    return 0


def sys_rseq(t, *_):
    raise SyscallError(E.ENOSYS)


FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_LOCK_PI2 = 9, 10, 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256


def sys_futex(t, uaddr, op, val, timeout, uaddr2, val3):
    k = t.kernel
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        deadline = t.deadline
        if timeout and deadline is None:
            ns = read_timespec(t, timeout)
            if cmd == FUTEX_WAIT:
                deadline = time.monotonic_ns() + ns
            elif op & FUTEX_CLOCK_REALTIME:
                deadline = time.monotonic_ns() + (ns - time.time_ns())
            else:
                deadline = ns
            t.deadline = deadline
        bitset = val3 if cmd == FUTEX_WAIT_BITSET else F.FUTEX_BITSET_MATCH_ANY
        try:
            return F.wait(k, t, uaddr, val, deadline, bitset)
        except SyscallError as e:
            if e.errno == E.ERESTARTSYS and timeout:
                raise SyscallError(E.EINTR)
            raise
    if cmd == FUTEX_WAKE:
        return F.wake(k, t, uaddr, s32(val))
    if cmd == FUTEX_WAKE_BITSET:
        return F.wake(k, t, uaddr, s32(val), val3 & 0xFFFFFFFF)
    if cmd == FUTEX_REQUEUE:
        return F.requeue(k, t, uaddr, s32(val), uaddr2, s32(timeout))
    if cmd == FUTEX_CMP_REQUEUE:
        return F.requeue(k, t, uaddr, s32(val), uaddr2, s32(timeout), val3)
    if cmd == FUTEX_WAKE_OP:
        return F.wake_op(k, t, uaddr, s32(val), uaddr2, s32(timeout), val3 & 0xFFFFFFFF)
    if cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI):
        if op & FUTEX_CLOCK_REALTIME and cmd != FUTEX_LOCK_PI2:
            raise SyscallError(E.ENOSYS)
        deadline = t.deadline
        if timeout and deadline is None and cmd != FUTEX_TRYLOCK_PI:
            ns = read_timespec(t, timeout)  # absolute: LOCK_PI's on CLOCK_REALTIME
            if cmd == FUTEX_LOCK_PI or op & FUTEX_CLOCK_REALTIME:
                ns += time.monotonic_ns() - time.time_ns()
            deadline = t.deadline = ns
        return F.lock_pi(k, t, uaddr, deadline, cmd == FUTEX_TRYLOCK_PI)
    if cmd == FUTEX_UNLOCK_PI:
        return F.unlock_pi(k, t, uaddr)
    raise SyscallError(E.ENOSYS)


def sys_prlimit64(t, pid, res, new, old, *_):
    if res >= 16:
        raise SyscallError(E.EINVAL)
    pid = s32(pid)
    tg = t.tg if pid == 0 else t.kernel.groups.get(pid)
    if tg is None:
        raise SyscallError(E.ESRCH)
    cur = tg.rlimits[res]
    if new:
        soft, hard = struct.unpack("<QQ", t.mm.read(new, 16))
        if soft > hard:
            raise SyscallError(E.EINVAL)
        if hard > cur[1] and t.tg.creds.euid != 0:
            raise SyscallError(E.EPERM)
        if res == RLIMIT_NOFILE and hard > 1 << 20 and hard != RLIM_INFINITY:
            raise SyscallError(E.EPERM)
    if old:
        t.mm.write(old, struct.pack("<QQ", cur[0], cur[1]))
    if new:
        tg.rlimits[res] = [soft, hard]
        if res == RLIMIT_NOFILE:
            for x in tg.tasks:
                x.files.limit = min(soft, 1 << 20)
        elif res == 0 and soft != RLIM_INFINITY:  # RLIMIT_CPU: sentry/limits.py enforces it
            t.kernel.limits.start()
    return 0


def sys_getrlimit(t, res, old, *_):
    return sys_prlimit64(t, 0, res, 0, old)


def sys_setrlimit(t, res, new, *_):
    return sys_prlimit64(t, 0, res, new, 0)


def sys_sysinfo(t, buf, *_):
    k = t.kernel
    up = int(time.monotonic() - k.boot_mono)
    total = k.mem_total
    free = max(total - k.memory_used(), 0)
    # struct sysinfo: uptime, loads[3], total/free/shared/buffer ram, total/free swap,
    # procs, pad, totalhigh, freehigh, mem_unit
    out = struct.pack("<q3Q6QHH4xQQI", up, 0, 0, 0, total, free, 0, 0, 0, 0,
                      len(k.groups), 0, 0, 0, 1)
    t.mm.write(buf, out.ljust(112, b"\0"))
    return 0


GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4


def sys_getrandom(t, buf, length, flags, *_):
    if flags & ~7 or (flags & GRND_RANDOM and flags & GRND_INSECURE):
        raise SyscallError(E.EINVAL)
    length = min(length, 33554431)
    t.mm.write(buf, os.urandom(length))
    return length


PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME, PR_SET_SECCOMP, PR_GET_SECCOMP = 15, 16, 22, 21
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 38, 39, 36
PR_GET_CHILD_SUBREAPER, PR_CAPBSET_READ, PR_SET_VMA, PR_GET_TIMERSLACK = 37, 23, 0x53564D41, 30
PR_SET_KEEPCAPS, PR_GET_KEEPCAPS, PR_SET_TIMERSLACK, PR_MCE_KILL_GET = 8, 7, 29, 34
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_CAP_AMBIENT = 41, 42, 47


def sys_prctl(t, option, a2, a3, a4, a5, _a6):
    tg = t.tg
    if option == PR_SET_NAME:
        t.comm = t.mm.read_cstr(a2, 4096)[:15]
        return 0
    if option == PR_GET_NAME:
        t.mm.write(a2, t.comm[:15].ljust(16, b"\0"))
        return 0
    if option == PR_SET_PDEATHSIG:
        if a2 > 64:
            raise SyscallError(E.EINVAL)
        tg.pdeathsig = a2
        return 0
    if option == PR_GET_PDEATHSIG:
        t.mm.write_u32(a2, tg.pdeathsig)
        return 0
    if option == PR_SET_NO_NEW_PRIVS:
        if a2 != 1 or a3 or a4 or a5:
            raise SyscallError(E.EINVAL)
        tg.no_new_privs = 1
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        return tg.no_new_privs
    if option == PR_GET_DUMPABLE:
        return 1
    if option == PR_SET_DUMPABLE:
        if a2 > 1:
            raise SyscallError(E.EINVAL)
        return 0
    if option == PR_SET_CHILD_SUBREAPER:
        tg.subreaper = bool(a2)
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        t.mm.write_u32(a2, int(tg.subreaper))
        return 0
    if option == PR_CAPBSET_READ:
        if a2 > 40:
            raise SyscallError(E.EINVAL)
        return 1
    if option in (PR_SET_VMA, PR_SET_KEEPCAPS, PR_SET_TIMERSLACK, PR_SET_THP_DISABLE):
        return 0
    if option in (PR_GET_KEEPCAPS, PR_GET_THP_DISABLE):
        return 0
    if option == PR_GET_TIMERSLACK:
        return 50000
    if option == PR_GET_SECCOMP:
        return 0
    if option == PR_MCE_KILL_GET:
        return 0
    if option == PR_CAP_AMBIENT:
        if a2 == 1:  # PR_CAP_AMBIENT_IS_SET
            return 0
        raise SyscallError(E.EINVAL)
    raise SyscallError(E.EINVAL)


def sys_personality(t, persona, *_):
    old = getattr(t.tg, "personality", 0)
    if persona != 0xFFFFFFFF:
        t.tg.personality = persona
    return old


def sys_sched_yield(t, *_):
    return 0


def sys_getcpu(t, cpu, node, *_):
    if cpu:
        t.mm.write_u32(cpu, 0)
    if node:
        t.mm.write_u32(node, 0)
    return 0


def sys_sched_getaffinity(t, pid, size, mask, *_):
    n = t.kernel.ncpus
    if size < 8 or size & 7:
        raise SyscallError(E.EINVAL)
    bits = (1 << n) - 1
    t.mm.write(mask, bits.to_bytes(8, "little"))
    return 8


def sys_sched_setaffinity(t, pid, size, mask, *_):
    return 0


def sys_sched_getscheduler(t, pid, *_):
    return 0


def sys_sched_setscheduler(t, pid, policy, param, *_):
    if policy not in (0, 3, 5):
        raise SyscallError(E.EPERM)
    return 0


def sys_sched_getparam(t, pid, param, *_):
    t.mm.write_u32(param, 0)
    return 0


def sys_sched_setparam(t, pid, param, *_):
    return 0


def sys_sched_get_priority_max(t, policy, *_):
    return 99 if policy in (1, 2) else 0


def sys_sched_get_priority_min(t, policy, *_):
    return 1 if policy in (1, 2) else 0


def sys_sched_rr_get_interval(t, pid, tp, *_):
    t.mm.write(tp, struct.pack("<qq", 0, 100000000))
    return 0


PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2


def _prio_tasks(t, which, who):
    """The threads `which`/`who` name (kernel/sys.c): a thread (who a tid),
    every thread of a process group, or of a user's processes (who 0: the
    caller's own); ESRCH if none."""
    who = s32(who)
    if which == PRIO_PROCESS:
        x = t if who == 0 else t.kernel.tasks.get(who)
        found = [x] if x is not None and not x.dead else []
    elif which == PRIO_PGRP:
        pgid = t.tg.pgid if who == 0 else who
        found = [x for x in t.kernel.tasks.values() if x.tg.pgid == pgid and not x.dead]
    elif which == PRIO_USER:
        uid = t.tg.creds.ruid if who == 0 else who
        found = [x for x in t.kernel.tasks.values() if x.tg.creds.ruid == uid and not x.dead]
    else:
        raise SyscallError(E.EINVAL)
    if not found:
        raise SyscallError(E.ESRCH)
    return found


def sys_getpriority(t, which, who, *_):
    """getpriority(2): 20 - nice of the highest priority among them."""
    return 20 - min(x.nice for x in _prio_tasks(t, which, who))


def sys_setpriority(t, which, who, prio, *_):
    """setpriority(2): a user may set its own threads' nice, and only
    raise it (lower their priority) without CAP_SYS_NICE (root here)."""
    nice = max(-20, min(19, s32(prio)))
    c = t.tg.creds
    for x in _prio_tasks(t, which, who):
        xc = x.tg.creds
        if c.euid != 0 and c.euid not in (xc.ruid, xc.euid):
            raise SyscallError(E.EPERM)
        if c.euid != 0 and nice < x.nice:
            raise SyscallError(E.EACCES)
        x.nice = nice
    return 0


def sys_capget(t, hdr, data, *_):
    version = t.mm.read_u32(hdr)
    if version not in (0x19980330, 0x20071026, 0x20080522):
        t.mm.write_u32(hdr, 0x20080522)
        if data:
            raise SyscallError(E.EINVAL)
        return 0
    if data:
        full = 0xFFFFFFFF if t.tg.creds.euid == 0 else 0
        n = 1 if version == 0x19980330 else 2
        t.mm.write(data, struct.pack("<III", full, full, 0) * n)  # effective, permitted, inheritable
    return 0


def sys_capset(t, hdr, data, *_):
    return 0


def sys_ioprio_get(t, *_):
    return 0


def sys_ioprio_set(t, *_):
    return 0


def sys_membarrier(t, cmd, flags, *_):
    if cmd == 0:  # MEMBARRIER_CMD_QUERY
        return 0
    raise SyscallError(E.EINVAL)


def sys_syslog(t, typ, buf, length, *_):
    if typ in (0, 1, 9, 10):
        return 0
    raise SyscallError(E.EPERM)

