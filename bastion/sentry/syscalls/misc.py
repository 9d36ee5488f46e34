"""System information, limits, prctl, arch_prctl, futex, nice, random."""

import os
import struct
import time

from ...abi import caps as C
from ...abi import errno as E
from ...abi.errno import SyscallError
from .. import futex as F
from ..mm import patch
from ..task import RLIM_INFINITY, RLIMIT_NICE, RLIMIT_NOFILE
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
    if not t.tg.creds.capable(C.CAP_SYS_ADMIN):
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
    c = t.tg.creds
    if tg is not t.tg and not c.owns_ids_of(tg.creds) and not c.capable(C.CAP_SYS_RESOURCE):
        raise SyscallError(E.EPERM)  # another user's process (check_prlimit_permission)
    cur = tg.rlimits[res]
    if new:
        soft, hard = struct.unpack("<QQ", t.mm.read(new, 16))
        if soft > hard:
            raise SyscallError(E.EINVAL)
        if hard > cur[1] and not t.tg.creds.capable(C.CAP_SYS_RESOURCE):
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
PR_CAPBSET_DROP, PR_GET_SECUREBITS, PR_SET_SECUREBITS = 24, 27, 28
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL = 1, 2, 3, 4


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
    if option in _CAP_OPTIONS:
        return _prctl_caps(tg.creds, option, a2, a3, a4, a5)
    if option in (PR_SET_VMA, PR_SET_TIMERSLACK, PR_SET_THP_DISABLE):
        return 0
    if option == PR_GET_THP_DISABLE:
        return 0
    if option == PR_GET_TIMERSLACK:
        return 50000
    if option == PR_GET_SECCOMP:
        return 0
    if option == PR_MCE_KILL_GET:
        return 0
    raise SyscallError(E.EINVAL)


_CAP_OPTIONS = (PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS,
                PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_CAP_AMBIENT)


def _prctl_caps(c, option, a2, a3, a4, a5):
    """prctl's capability options (cap_task_prctl): the bounding set, keepcaps,
    securebits, the ambient set."""
    if option == PR_CAPBSET_READ:
        if a2 > C.CAP_LAST_CAP:
            raise SyscallError(E.EINVAL)
        return c.cap_bset >> a2 & 1
    if option == PR_CAPBSET_DROP:
        if not c.capable(C.CAP_SETPCAP):
            raise SyscallError(E.EPERM)
        if a2 > C.CAP_LAST_CAP:
            raise SyscallError(E.EINVAL)
        c.cap_bset &= ~(1 << a2)
        return 0
    if option == PR_GET_KEEPCAPS:
        return int(bool(c.securebits & C.SECURE_KEEP_CAPS))
    if option == PR_SET_KEEPCAPS:
        if a2 > 1:
            raise SyscallError(E.EINVAL)
        if c.securebits & C.SECURE_KEEP_CAPS_LOCKED:
            raise SyscallError(E.EPERM)
        c.securebits = c.securebits & ~C.SECURE_KEEP_CAPS | (C.SECURE_KEEP_CAPS if a2 else 0)
        return 0
    if option == PR_GET_SECUREBITS:
        return c.securebits
    if option == PR_SET_SECUREBITS:
        old = c.securebits
        if (old & C.SECURE_ALL_LOCKS) >> 1 & (old ^ a2) or old & C.SECURE_ALL_LOCKS & ~a2 \
                or a2 & ~(C.SECURE_ALL_LOCKS | C.SECURE_ALL_BITS):
            raise SyscallError(E.EPERM)  # a locked bit changed, a lock undone, an unknown bit
        if not c.capable(C.CAP_SETPCAP):
            # only the bits user space enforces on itself, and (for an old
            # program's sake) not a call that changes nothing
            changed = old ^ a2
            if not changed or changed & ~(C.SECURE_ALL_UNPRIVILEGED | C.SECURE_ALL_UNPRIVILEGED << 1):
                raise SyscallError(E.EPERM)
        c.securebits = a2
        return 0
    # PR_CAP_AMBIENT
    if a2 == PR_CAP_AMBIENT_CLEAR_ALL:
        if a3 or a4 or a5:
            raise SyscallError(E.EINVAL)
        c.cap_amb = 0
        return 0
    if a3 > C.CAP_LAST_CAP or a4 or a5:
        raise SyscallError(E.EINVAL)
    bit = 1 << a3
    if a2 == PR_CAP_AMBIENT_IS_SET:
        return int(bool(c.cap_amb & bit))
    if a2 == PR_CAP_AMBIENT_RAISE:
        if not c.cap_prm & bit or not c.cap_inh & bit or c.securebits & C.SECURE_NO_CAP_AMBIENT_RAISE:
            raise SyscallError(E.EPERM)
        c.cap_amb |= bit
        return 0
    if a2 == PR_CAP_AMBIENT_LOWER:
        c.cap_amb &= ~bit
        return 0
    raise SyscallError(E.EINVAL)


def sys_personality(t, persona, *_):
    old = getattr(t.tg, "personality", 0)
    if persona != 0xFFFFFFFF:
        t.tg.personality = persona
    return old


PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2


def prio_tasks(t, which, who):
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
    return 20 - min(x.nice for x in prio_tasks(t, which, who))


def sys_setpriority(t, which, who, prio, *_):
    """setpriority(2): a user may set its own threads' nice, and lower it
    only as far as RLIMIT_NICE allows without CAP_SYS_NICE."""
    nice = max(-20, min(19, s32(prio)))
    c = t.tg.creds
    free = c.capable(C.CAP_SYS_NICE)
    for x in prio_tasks(t, which, who):
        xc = x.tg.creds
        if not free and c.euid not in (xc.ruid, xc.euid):
            raise SyscallError(E.EPERM)
        if not free and nice < x.nice and 20 - nice > x.tg.rlimits[RLIMIT_NICE][0]:
            raise SyscallError(E.EACCES)  # below what RLIMIT_NICE allows (can_nice)
        x.nice = nice
    return 0


def _cap_header(t, hdr):
    """capget/capset's header (cap_validate_magic): (how many 32-bit words
    per set, pid); an unknown version is answered with the one we speak."""
    version = t.mm.read_u32(hdr)
    if version not in (C.VERSION_1, C.VERSION_2, C.VERSION_3):
        t.mm.write_u32(hdr, C.VERSION_3)
        return 0, 0
    return 1 if version == C.VERSION_1 else 2, s32(t.mm.read_u32(hdr + 4))


def sys_capget(t, hdr, data, *_):
    words, pid = _cap_header(t, hdr)
    if not data:
        return 0
    if not words:
        raise SyscallError(E.EINVAL)
    if pid < 0:
        raise SyscallError(E.EINVAL)
    x = t if pid == 0 else t.kernel.tasks.get(pid)
    if x is None:
        raise SyscallError(E.ESRCH)
    c = x.tg.creds
    t.mm.write(data, b"".join(struct.pack("<III", c.cap_eff >> s & 0xFFFFFFFF, c.cap_prm >> s & 0xFFFFFFFF,
                                          c.cap_inh >> s & 0xFFFFFFFF) for s in (0, 32)[:words]))
    return 0


def sys_capset(t, hdr, data, *_):
    """The caller's own sets only (cap_capset): permitted no larger,
    effective within it, inheritable within the old inheritable set and
    (without CAP_SETPCAP) the old permitted one, never past the bounding
    set. The ambient set keeps what stays permitted and inheritable."""
    words, pid = _cap_header(t, hdr)
    if not words:
        raise SyscallError(E.EINVAL)
    if pid != 0 and pid != t.tid:
        raise SyscallError(E.EPERM)
    raw = struct.unpack(f"<{3 * words}I", t.mm.read(data, 12 * words)) + (0, 0, 0)
    eff, prm, inh = ((raw[i] | raw[i + 3] << 32) & C.ALL for i in range(3))
    c = t.tg.creds
    if not c.capable(C.CAP_SETPCAP) and inh & ~(c.cap_inh | c.cap_prm) \
            or inh & ~(c.cap_inh | c.cap_bset) or prm & ~c.cap_prm or eff & ~prm:
        raise SyscallError(E.EPERM)
    c.cap_eff, c.cap_prm, c.cap_inh = eff, prm, inh
    c.cap_amb &= prm & inh
    return 0


def sys_membarrier(t, cmd, flags, *_):
    if cmd == 0:  # MEMBARRIER_CMD_QUERY
        return 0
    raise SyscallError(E.EINVAL)


def sys_syslog(t, typ, buf, length, *_):
    if typ in (0, 1, 9, 10):
        return 0
    raise SyscallError(E.EPERM)

