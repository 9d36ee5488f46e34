"""Advisory file locks: flock(2) and fcntl record locks (POSIX and OFD).

Locks live on the inode. flock locks belong to the open file description;
POSIX record locks to the process; OFD locks to the description. Conflicts
block (F_SETLKW, flock without LOCK_NB) on the inode's lock queue.
"""

import struct

from ..abi import errno as E
from ..abi.errno import SyscallError
from .sched import WaitQueue

LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
_FLOCK = struct.Struct("<hh4xqqi4x")  # struct flock: type, whence, start, len, pid (32 bytes)


def _state(inode):
    s = getattr(inode, "locks", None)
    if s is None:
        s = inode.locks = {"flock": {}, "posix": [], "queue": WaitQueue()}
    return s


def flock(t, f, op):
    s = _state(f.inode)
    kind = op & ~LOCK_NB
    holders = s["flock"]
    if kind == LOCK_UN:
        if holders.pop(id(f), None) is not None:
            s["queue"].notify()
        return 0
    if kind not in (LOCK_SH, LOCK_EX):
        raise SyscallError(E.EINVAL)
    for owner, (k, _) in holders.items():
        if owner != id(f) and (kind == LOCK_EX or k == LOCK_EX):
            if op & LOCK_NB:
                raise SyscallError(E.EWOULDBLOCK)
            t.block([s["queue"]])
    holders[id(f)] = (kind, f)
    _release_on_close(f, s)
    return 0


def _release_on_close(f, s):
    if getattr(f, "_lock_hook", False):
        return
    f._lock_hook = True
    orig = f.release

    def release():
        s["flock"].pop(id(f), None)
        s["posix"][:] = [lk for lk in s["posix"] if lk[0] != ("ofd", id(f))]
        s["queue"].notify()
        orig()
    f.release = release


def _range(f, whence, start, length):
    base = {0: 0, 1: f.pos, 2: f.inode.size}.get(whence)
    if base is None:
        raise SyscallError(E.EINVAL)
    lo = base + start
    if length > 0:
        hi = lo + length
    elif length == 0:
        hi = 1 << 63
    else:
        lo, hi = lo + length, lo
    if lo < 0:
        raise SyscallError(E.EINVAL)
    return lo, hi


def fcntl_lock(t, fd, f, cmd, arg):
    ofd = cmd >= 36
    typ, whence, start, length, pid = _FLOCK.unpack(t.mm.read(arg, _FLOCK.size))
    if ofd and pid != 0:
        raise SyscallError(E.EINVAL)
    if typ not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise SyscallError(E.EINVAL)
    lo, hi = _range(f, whence, start, length)
    owner = ("ofd", id(f)) if ofd else ("posix", t.tg.pid)
    s = _state(f.inode)
    locks = s["posix"]
    conflict = None
    for lk in locks:
        o, k, a, b, p = lk
        if o != owner and a < hi and lo < b and (typ == F_WRLCK or k == F_WRLCK):
            conflict = lk
            break
    if cmd in (5, 36):  # GETLK
        if conflict is None or typ == F_UNLCK:
            out = _FLOCK.pack(F_UNLCK, whence, start, length, pid)
        else:
            o, k, a, b, p = conflict
            out = _FLOCK.pack(k, 0, a, 0 if b == 1 << 63 else b - a, -1 if o[0] == "ofd" else p)
        t.mm.write(arg, out)
        return 0
    if typ != F_UNLCK:
        if typ == F_RDLCK and not f.readable or typ == F_WRLCK and not f.writable:
            raise SyscallError(E.EBADF)
        if conflict is not None:
            if cmd in (6, 37):
                raise SyscallError(E.EAGAIN)
            t.block([s["queue"]])
    # drop our overlap, keeping the pieces outside [lo, hi)
    kept = []
    for lk in locks:
        o, k, a, b, p = lk
        if o != owner or b <= lo or a >= hi:
            kept.append(lk)
            continue
        if a < lo:
            kept.append((o, k, a, lo, p))
        if b > hi:
            kept.append((o, k, hi, b, p))
    if typ != F_UNLCK:
        kept.append((owner, typ, lo, hi, t.tg.pid))
    locks[:] = kept
    s["queue"].notify()
    if ofd:
        _release_on_close(f, s)
    return 0
