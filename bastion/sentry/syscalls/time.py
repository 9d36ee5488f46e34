"""Clocks, sleeps and interval timers."""

import struct
import time

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from .util import read_timespec, s32, write_timespec

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 8, 9, 11
TIMER_ABSTIME = 1


def clock_ns(t, clk):
    if clk in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI):
        return time.time_ns()
    if clk in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
               CLOCK_BOOTTIME_ALARM):
        return time.monotonic_ns()
    if clk == CLOCK_PROCESS_CPUTIME_ID:
        return int(sum(t.kernel.cpu_times(t.tg)) * 1e9)
    if clk == CLOCK_THREAD_CPUTIME_ID:
        return int(sum(t.kernel.platform.thread_times(t.ctx)) * 1e9)
    if s32(clk) < 0 and clk & 3 != 3:  # CPU clocks of other tasks (clockid encodes a
        # pid; CPUCLOCK_WHICH 3 is invalid)
        return int(sum(t.kernel.cpu_times(t.tg)) * 1e9)
    raise SyscallError(E.EINVAL)


def _calibrated(t):
    """A clock syscall before the vDSO's first calibration (an exec came
    too soon after start to make it): make it now, so the calls after this
    one stay in the app (vdso/__init__.py)."""
    v = t.kernel.vdso
    if v is not None and not v.clocks and v.first is not None:
        v.calibrate()


def sys_clock_gettime(t, clk, tp, *_):
    _calibrated(t)
    write_timespec(t, tp, clock_ns(t, clk))
    return 0


def sys_clock_getres(t, clk, tp, *_):
    _calibrated(t)
    clock_ns(t, clk)
    if tp:
        res = 4000000 if clk in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE) else 1
        write_timespec(t, tp, res)
    return 0


def sys_clock_settime(t, clk, tp, *_):
    """Only CLOCK_REALTIME is settable on Linux; the sandbox may not set it."""
    clock_ns(t, clk)
    if clk != CLOCK_REALTIME:
        raise SyscallError(E.EINVAL)
    read_timespec(t, tp)
    raise SyscallError(E.EPERM)


def sys_gettimeofday(t, tv, tz, *_):
    _calibrated(t)
    if tv:
        ns = time.time_ns()
        t.mm.write(tv, struct.pack("<qq", ns // 10**9, (ns // 1000) % 10**6))
    if tz:
        t.mm.write(tz, bytes(8))
    return 0


def sys_time(t, tloc, *_):
    _calibrated(t)
    now = time.time_ns() // 10**9
    if tloc:
        t.mm.write_u64(tloc, now)
    return now


def _sleep(t, deadline, rem):
    """Sleep until the monotonic deadline (callers convert realtime ones)."""
    if t.deadline is None:
        t.deadline = deadline
    try:
        t.block([], t.deadline)
    except SyscallError as e:
        if e.errno == E.ETIMEDOUT:
            return 0
        left = max(0, t.deadline - time.monotonic_ns())
        if rem:
            write_timespec(t, rem, left)
        t.restart_block = (_sleep, (t.deadline, rem))
        raise SyscallError(E.ERESTART_RESTARTBLOCK)


def sys_nanosleep(t, req, rem, *_):
    if t.deadline is None:
        ns = read_timespec(t, req)
        t.deadline = time.monotonic_ns() + ns
    return _sleep(t, t.deadline, rem)


def sys_clock_nanosleep(t, clk, flags, req, rem, *_):
    if clk in (CLOCK_THREAD_CPUTIME_ID,):
        raise SyscallError(E.EINVAL)
    clock_ns(t, clk)
    if t.deadline is None:
        ns = read_timespec(t, req)
        if flags & TIMER_ABSTIME:
            if clk in (CLOCK_REALTIME, CLOCK_TAI):
                t.deadline = time.monotonic_ns() + (ns - time.time_ns())
            else:
                t.deadline = ns
        else:
            t.deadline = time.monotonic_ns() + ns
    if flags & TIMER_ABSTIME:  # (also when run again after a wake-up: t.deadline is set then)
        rem = 0  # an absolute sleep leaves *rem alone
    try:
        return _sleep(t, t.deadline, rem)
    except SyscallError as e:
        if e.errno == E.ERESTART_RESTARTBLOCK and flags & TIMER_ABSTIME:
            raise SyscallError(E.ERESTARTNOHAND)
        raise


ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2


def _itimer_fire(k, tg):
    tg.itimer_real = None
    if tg.zombie:
        return
    deadline, interval = tg.itimer_spec
    k.send_signal_group(tg, S.SIGALRM, S.siginfo(S.SIGALRM, S.SI_KERNEL))
    if interval:
        nd = deadline + interval
        now = time.monotonic_ns()
        if nd < now:
            nd = now + interval
        tg.itimer_spec = (nd, interval)
        tg.itimer_real = k.add_timer(nd, lambda: _itimer_fire(k, tg))
    else:
        tg.itimer_spec = (0, 0)


def _itimer_get(tg):
    spec = getattr(tg, "itimer_spec", (0, 0))
    if tg.itimer_real is None:
        return 0, spec[1] if tg.itimer_real else 0
    return max(1000, spec[0] - time.monotonic_ns()), spec[1]


def _set_real(t, value_ns, interval_ns):
    k, tg = t.kernel, t.tg
    old = _itimer_get(tg)
    if tg.itimer_real is not None:
        k.cancel_timer(tg.itimer_real)
        tg.itimer_real = None
    tg.itimer_spec = (0, 0)
    if value_ns:
        d = time.monotonic_ns() + value_ns
        tg.itimer_spec = (d, interval_ns)
        tg.itimer_real = k.add_timer(d, lambda: _itimer_fire(k, tg))
    return old


# ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time (user; user
# and system), which only the host knows (Platform.thread_times, in clock
# ticks as Linux's own accounting): the kernel looks at it when the time
# left could have passed at the earliest (every thread on its own CPU), and
# again until it has, as Linux looks at every tick. What the sentry spends
# serving the process's syscalls is not the process's CPU time here.
_CPU_SIGNAL = {ITIMER_VIRTUAL: S.SIGVTALRM, ITIMER_PROF: S.SIGPROF}
# Linux's set_cpu_itimer adds a tick to the value set, and get_cpu_itimer
# answers a tick for a timer about to fire: Debian's kernels tick at 250 Hz
_TICK = 4_000_000
_CPU_CHECK_MIN = 1_000_000  # ns between two looks, at least


def _cpu_ns(k, tg, which):
    u, s = k.cpu_times(tg)
    return int((u if which == ITIMER_VIRTUAL else u + s) * 1e9)


def _cpu_check(k, tg, which):
    """A CPU-time itimer's look: signal the process if its time is up (and
    reload an interval), then plan the next look."""
    st = tg.itimer_cpu.get(which)
    if st is None or tg.zombie:
        return
    now = _cpu_ns(k, tg, which)
    if now >= st[0]:
        sig = _CPU_SIGNAL[which]
        k.send_signal_group(tg, sig, S.siginfo(sig, S.SI_KERNEL))
        if not st[1]:
            del tg.itimer_cpu[which]
            return
        st[0] = max(st[0] + st[1], now + 1)
    _plan_cpu_check(k, tg, which, st, now)


def _plan_cpu_check(k, tg, which, st, now):
    runners = max(1, min(len(tg.tasks), k.ncpus))
    wait = max((st[0] - now) // runners, _CPU_CHECK_MIN)
    st[2] = k.add_timer(time.monotonic_ns() + wait, lambda: _cpu_check(k, tg, which))


def _cpu_get(k, tg, which):
    st = tg.itimer_cpu.get(which)
    if st is None:
        return 0, 0
    left = st[0] - _cpu_ns(k, tg, which)
    return (left if left > 0 else _TICK), st[1]


def _set_cpu(t, which, value_ns, interval_ns):
    k, tg = t.kernel, t.tg
    old = _cpu_get(k, tg, which)
    st = tg.itimer_cpu.pop(which, None)
    if st is not None:
        k.cancel_timer(st[2])
    if value_ns:
        now = _cpu_ns(k, tg, which)
        st = tg.itimer_cpu[which] = [now + value_ns + _TICK, interval_ns, None]
        _plan_cpu_check(k, tg, which, st, now)
    return old


_TV = struct.Struct("<qqqq")


def sys_setitimer(t, which, new, old, *_):
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise SyscallError(E.EINVAL)
    isec, iusec, vsec, vusec = _TV.unpack(t.mm.read(new, 32)) if new else (0, 0, 0, 0)
    if not (0 <= iusec < 10**6 and 0 <= vusec < 10**6):
        raise SyscallError(E.EINVAL)
    value, interval = vsec * 10**9 + vusec * 1000, isec * 10**9 + iusec * 1000
    if which == ITIMER_REAL:
        ov, oi = _set_real(t, value, interval)
    else:
        ov, oi = _set_cpu(t, which, value, interval)
    if old:
        t.mm.write(old, _TV.pack(oi // 10**9, (oi // 1000) % 10**6, ov // 10**9, (ov // 1000) % 10**6))
    return 0


def sys_getitimer(t, which, cur, *_):
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise SyscallError(E.EINVAL)
    v, i = _itimer_get(t.tg) if which == ITIMER_REAL else _cpu_get(t.kernel, t.tg, which)
    t.mm.write(cur, _TV.pack(i // 10**9, (i // 1000) % 10**6, v // 10**9, (v // 1000) % 10**6))
    return 0


def sys_alarm(t, seconds, *_):
    ov, _ = _set_real(t, (seconds & 0xFFFFFFFF) * 10**9, 0)
    return (ov + 999999999) // 10**9 if ov else 0


def sys_times(t, buf, *_):
    u, s = t.kernel.cpu_times(t.tg)
    if buf:
        tg = t.tg
        t.mm.write(buf, struct.pack("<qqqq", int(u * 100), int(s * 100),
                                    int(tg.cutime * 100), int(tg.cstime * 100)))
    return int((time.monotonic() - t.kernel.boot_mono) * 100) + 1


def rusage_bytes(u, s, maxrss=0):
    """struct rusage: utime, stime as timevals, then 14 longs (maxrss first, kB)."""
    out = struct.pack("<qqqq", int(u), int(u * 1e6) % 10**6, int(s), int(s * 1e6) % 10**6)
    return out + struct.pack("<q", maxrss) + bytes(13 * 8)


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def sys_getrusage(t, who, buf, *_):
    who = s32(who)
    tg = t.tg
    if who == RUSAGE_CHILDREN:
        u, s = tg.cutime, tg.cstime
        rss = tg.cmaxrss
    elif who == RUSAGE_SELF or who == RUSAGE_THREAD:
        if who == RUSAGE_SELF:
            u, s = t.kernel.cpu_times(tg)
        else:
            u, s = t.kernel.platform.thread_times(t.ctx)
        rss = max(tg.maxrss, t.kernel.platform.max_rss_kb(t.mm.aspace))
    else:
        raise SyscallError(E.EINVAL)
    t.mm.write(buf, rusage_bytes(u, s, rss))
    return 0
