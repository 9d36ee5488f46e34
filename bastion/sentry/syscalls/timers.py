"""POSIX per-process timers (kernel/time/posix-timers.c): timer_create,
timer_settime, timer_gettime, timer_getoverrun, timer_delete.

An expiry queues the timer's signal (SI_TIMER, with its id and value) to
the process, or to one of its threads (SIGEV_THREAD_ID, which glibc's
SIGEV_THREAD helper thread uses). As in Linux, a timer has at most one
signal queued: an expiry while it still is counts as an overrun of it
(si_overrun; timer_getoverrun once delivered) instead. A signal queued
before its timer was set again or deleted stays pending, but is dropped
when it would be delivered (Linux 6.x: the timer's sequence number, kept in
the siginfo's private word, no longer matches; see deliverable). Expiries run on the kernel's timer
heap (monotonic); realtime deadlines are converted when the timer is armed.
Timers go with the process: not inherited by fork, deleted by exec.
Differs from Linux: the CPU-time clocks are not offered (EINVAL), as the
sentry does not account CPU time while a thread runs.
"""

import struct
import time

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from .time import (CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_MONOTONIC, CLOCK_REALTIME,
                   CLOCK_REALTIME_ALARM, CLOCK_TAI, TIMER_ABSTIME)
from .util import read_itimerspec, timer_deadline, write_itimerspec

_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
           CLOCK_BOOTTIME_ALARM, CLOCK_TAI)
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
DELAYTIMER_MAX = 2**31 - 1
TIMERS_MAX = 4096  # per process (Linux bounds them by RLIMIT_SIGPENDING)

_SIGEVENT = struct.Struct("<Qiii")  # sigev_value, sigev_signo, sigev_notify, sigev_notify_thread_id
_INFO = struct.Struct("<iii4xiiQi")  # siginfo: signo, errno, code, si_tid (the timer's id),
# si_overrun, si_value, then the private word: the timer's sequence number when queued


class PosixTimer:
    __slots__ = ("id", "clock", "signo", "notify", "value", "tid", "deadline", "interval",
                 "entry", "overrun", "overrun_last", "seq")

    def __init__(self, tid_, clock, signo, notify, value, tid):
        self.id, self.clock, self.signo, self.notify, self.value = tid_, clock, signo, notify, value
        self.tid = tid  # the thread the signal goes to (SIGEV_THREAD_ID), else 0
        self.deadline = None  # monotonic ns of the next expiry, None when disarmed
        self.interval = 0
        self.entry = None  # its entry in the kernel's timer heap
        self.overrun = 0  # of the signal queued
        self.overrun_last = 0  # of the signal last delivered (timer_getoverrun)
        self.seq = 0  # set again or deleted: signals queued before are stale


def _timer(t, timerid):
    tm = t.tg.posix_timers.get(timerid)
    if tm is None:
        raise SyscallError(E.EINVAL)
    return tm


def _disarm(k, tm):
    tm.seq += 1
    if tm.entry is not None:
        k.cancel_timer(tm.entry)
        tm.entry = None
    tm.deadline = None


def _arm(k, tg, tm, deadline):
    tm.deadline = deadline
    tm.entry = k.add_timer(deadline, lambda: _fire(k, tg, tm))


def _fire(k, tg, tm):
    tm.entry = None
    if tg.zombie or tg.posix_timers.get(tm.id) is not tm:
        return
    if tm.interval:
        n = 1 + max(0, time.monotonic_ns() - tm.deadline) // tm.interval
        _arm(k, tg, tm, tm.deadline + n * tm.interval)
    else:
        n = 1
        tm.deadline = None
    if tm.notify != SIGEV_NONE:
        _signal(k, tg, tm, n)


def _signal(k, tg, tm, n):
    """n expiries: queue the signal, or add them to the one still queued."""
    target = None
    if tm.tid:
        target = k.tasks.get(tm.tid)
        if target is None or target.dead or target.tg is not tg:
            return
    infos = (target.pending_info if target is not None else tg.shared_info).get(tm.signo, ())
    for i, info in enumerate(infos):
        signo, _, code, timer_id, _, _, seq = _INFO.unpack_from(info)
        if code == S.SI_TIMER and timer_id == tm.id and seq == tm.seq:
            tm.overrun = min(DELAYTIMER_MAX, tm.overrun + n)
            infos[i] = _info(tm)
            return
    tm.overrun = n - 1
    info = _info(tm)
    if target is not None:
        k.send_signal_task(target, tm.signo, info)
    else:
        k.send_signal_group(tg, tm.signo, info)


def _info(tm):
    return _INFO.pack(tm.signo, 0, S.SI_TIMER, tm.id, tm.overrun, tm.value,
                      tm.seq).ljust(128, b"\0")


def deliverable(tg, info):
    """A SI_TIMER siginfo being dequeued: what the app gets (the private
    word cleared), or None if its timer was set again or deleted since."""
    signo, _, code, timer_id, overrun, value, seq = _INFO.unpack_from(info)
    tm = tg.posix_timers.get(timer_id)
    if tm is None or tm.seq != seq:
        return None
    tm.overrun_last = overrun
    return info[:32] + b"\0\0\0\0" + info[36:]


def sys_timer_create(t, clock, sevp, timerid_p, *_):
    clock = clock if clock < 2**31 else clock - 2**32
    if clock not in _CLOCKS:
        raise SyscallError(E.EINVAL)
    tg = t.tg
    timers = tg.posix_timers
    tid = 0
    if sevp:
        value, signo, notify, tid = _SIGEVENT.unpack(t.mm.read(sevp, _SIGEVENT.size))
        if notify == SIGEV_THREAD_ID | SIGEV_SIGNAL:
            target = t.kernel.tasks.get(tid)
            if target is None or target.tg is not tg or target.dead:
                raise SyscallError(E.EINVAL)
        elif notify in (SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_NONE):
            tid = 0
        else:
            raise SyscallError(E.EINVAL)
        if notify != SIGEV_NONE and not 1 <= signo <= S.NSIG:
            raise SyscallError(E.EINVAL)
    else:
        signo, notify, value = S.SIGALRM, SIGEV_SIGNAL, None
    if len(timers) >= TIMERS_MAX:
        raise SyscallError(E.EAGAIN)
    new_id = 0
    while new_id in timers:
        new_id += 1
    t.mm.write_u32(timerid_p, new_id)  # EFAULT before the timer exists
    timers[new_id] = PosixTimer(new_id, clock, signo, notify,
                                new_id if value is None else value, tid)
    return 0


def _remaining(tm):
    if tm.deadline is None:
        return 0, tm.interval
    return max(1, tm.deadline - time.monotonic_ns()), tm.interval


def sys_timer_settime(t, timerid, flags, new, old, *_):
    tm = _timer(t, timerid)
    if not new:
        raise SyscallError(E.EINVAL)
    interval, value = read_itimerspec(t, new)
    if old:
        write_itimerspec(t, old, *_remaining(tm))
    k = t.kernel
    _disarm(k, tm)
    tm.overrun = tm.overrun_last = 0
    tm.interval = interval if value else 0
    if value:
        _arm(k, t.tg, tm, timer_deadline(tm.clock, value, flags & TIMER_ABSTIME))
    return 0


def sys_timer_gettime(t, timerid, cur, *_):
    tm = _timer(t, timerid)
    write_itimerspec(t, cur, *_remaining(tm))
    return 0


def sys_timer_getoverrun(t, timerid, *_):
    return _timer(t, timerid).overrun_last


def sys_timer_delete(t, timerid, *_):
    tm = _timer(t, timerid)
    _disarm(t.kernel, tm)
    del t.tg.posix_timers[timerid]
    return 0


def delete_all(k, tg):
    """Exec and exit: the process's timers go."""
    for tm in tg.posix_timers.values():
        _disarm(k, tm)
    tg.posix_timers = {}
