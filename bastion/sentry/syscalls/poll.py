"""poll, ppoll, select, pselect6 (fs/select.c).

Readiness is each File's poll(); a task that must wait sits on every file's
wait queue and re-runs the whole scan when any of them is notified (the retry
model of sched.py). As in Linux: a signal ends the wait with
ERESTART_RESTARTBLOCK (poll, restarted with the remaining time) or
ERESTARTNOHAND (the others, after writing the remaining time back); ppoll and
pselect6 install their signal mask for the wait and keep it for the handler
when interrupted.
"""

import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..fd import finish, set_temp_sigmask
from ..fd import POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, \
    POLLWRBAND, POLLWRNORM, ready_events
from .util import read_timespec, s32, write_timespec

POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI


def _remaining(deadline):
    return max(0, deadline - time.monotonic_ns())


# --- poll -------------------------------------------------------------------
def do_poll(t, fds, nfds, deadline):
    """Scan the pollfd array; wait until something is ready or `deadline`
    (monotonic ns, None = forever) passes. Raises ERESTARTSYS on a signal."""
    if nfds > t.files.limit:
        raise SyscallError(E.EINVAL)
    raw = t.mm.read(fds, nfds * 8) if nfds else b""
    entries = [struct.unpack_from("<ihh", raw, i * 8) for i in range(nfds)]
    out = bytearray(raw)
    count = 0
    files = []
    for i, (fd, events, _) in enumerate(entries):
        events &= 0xFFFF
        rev = 0
        if fd >= 0:
            f = t.files.fds.get(fd)
            if f is None:
                rev = POLLNVAL
            else:
                f = f[0]
                rev = ready_events(f) & (events | POLLERR | POLLHUP)
                files.append((f, events))
        struct.pack_into("<H", out, i * 8 + 6, rev)
        if rev:
            count += 1
    if nfds:
        t.mm.write(fds, bytes(out))
    if count or (deadline is not None and time.monotonic_ns() >= deadline):
        return count
    queues = [q for q in (f.wait_queue(ev) for f, ev in files) if q is not None]
    try:
        t.block(queues, deadline)
    except SyscallError as e:
        if e.errno == E.ETIMEDOUT:
            return 0
        raise


def _poll_restart(t, fds, nfds, deadline):
    try:
        return do_poll(t, fds, nfds, deadline)
    except SyscallError as e:
        if e.errno == E.ERESTARTSYS:
            t.restart_block = (_poll_restart, (fds, nfds, deadline))
            raise SyscallError(E.ERESTART_RESTARTBLOCK)
        raise


def sys_poll(t, fds, nfds, timeout, *_):
    """poll(2); an interrupted wait restarts via restart_syscall with the time left."""
    timeout = s32(timeout)
    deadline = t.deadline_after(timeout * 10**6) if timeout >= 0 else None
    return _poll_restart(t, fds, nfds, deadline)


def _timeout_deadline(t, tsp):
    if not tsp:
        return None
    return t.deadline_after(read_timespec(t, tsp))


def sys_ppoll(t, fds, nfds, tsp, maskp, size, *_):
    """ppoll(2): the raw syscall writes the time left back to *tsp."""
    deadline = _timeout_deadline(t, tsp)
    zero = tsp and t.mm.read(tsp, 16) == bytes(16)
    set_temp_sigmask(t, maskp, size)

    def run():
        try:
            return do_poll(t, fds, nfds, deadline)
        except SyscallError as e:
            if e.errno == E.ERESTARTSYS:
                raise SyscallError(E.ERESTARTNOHAND)
            raise
        finally:
            if tsp and not zero and not t.blocked:
                write_timespec(t, tsp, _remaining(deadline))
    return finish(t, run, E.ERESTARTNOHAND)


# --- select -------------------------------------------------------------------
def do_select(t, n, inp, outp, exp, deadline):
    n = s32(n)
    if n < 0:
        raise SyscallError(E.EINVAL)
    n = min(n, t.files.size)
    nbytes = (n + 63) // 64 * 8
    sets = [int.from_bytes(t.mm.read(p, nbytes), "little") if p and n else 0 for p in (inp, outp, exp)]
    want = sets[0] | sets[1] | sets[2]
    res = [0, 0, 0]
    count = 0
    waits = []
    fd = 0
    while want >> fd:
        if (want >> fd) & 1:
            e = t.files.fds.get(fd)
            if e is None:
                raise SyscallError(E.EBADF)
            f = e[0]
            ev = ready_events(f)
            bit = 1 << fd
            for i, mask in enumerate((POLLIN_SET, POLLOUT_SET, POLLEX_SET)):
                if sets[i] & bit and ev & mask:
                    res[i] |= bit
                    count += 1
            waits.append((f, (POLLIN if sets[0] & bit else 0) | (POLLOUT if sets[1] & bit else 0)))
        fd += 1
    if not count and not (deadline is not None and time.monotonic_ns() >= deadline):
        queues = [q for q in (f.wait_queue(ev) for f, ev in waits) if q is not None]
        try:
            t.block(queues, deadline)
        except SyscallError as e:
            if e.errno != E.ETIMEDOUT:
                raise SyscallError(E.ERESTARTNOHAND if e.errno == E.ERESTARTSYS else e.errno)
    for p, r in zip((inp, outp, exp), res):
        if p and n:
            t.mm.write(p, r.to_bytes(nbytes, "little"))
    return count


def _select_common(t, n, inp, outp, exp, tp, deadline, write_time):
    def run():
        try:
            return do_select(t, n, inp, outp, exp, deadline)
        finally:
            if tp and deadline is not None and not t.blocked:
                write_time(_remaining(deadline))
    return finish(t, run, E.ERESTARTNOHAND)


def sys_select(t, n, inp, outp, exp, tvp, *_):
    """select(2): writes the time left back to *tvp, as Linux does."""
    deadline = None
    if tvp:
        sec, usec = struct.unpack("<qq", t.mm.read(tvp, 16))
        q = abs(usec) // 10**6 * (1 if usec >= 0 else -1)  # C division
        sec, nsec = sec + q, (usec - q * 10**6) * 1000
        if sec < 0 or nsec < 0:
            raise SyscallError(E.EINVAL)
        deadline = t.deadline_after(sec * 10**9 + nsec)
        if sec == 0 and nsec == 0:
            tvp = 0  # no update for a zero timeout

    def write_tv(ns):
        t.mm.write(tvp, struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000))
    return _select_common(t, n, inp, outp, exp, tvp, deadline, write_tv)


def sys_pselect6(t, n, inp, outp, exp, tsp, sigp):
    """pselect6: the raw syscall (glibc hides it) updates *tsp like select."""
    deadline = _timeout_deadline(t, tsp)
    if tsp and t.mm.read(tsp, 16) == bytes(16):
        tsp = 0
    if sigp:
        maskp, size = struct.unpack("<QQ", t.mm.read(sigp, 16))
        set_temp_sigmask(t, maskp, size)
    return _select_common(t, n, inp, outp, exp, tsp, deadline,
                          lambda ns: write_timespec(t, tsp, ns))
