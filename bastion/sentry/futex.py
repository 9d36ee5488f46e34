"""Futexes (kernel/futex): wait queues keyed, as Linux keys them, by the
address space and address for a private mapping, and by the memory-file
offset of the futex word for a shared one (every process mapping the page
finds the same queue), whether or not the app says FUTEX_PRIVATE_FLAG. A
private page's offset is no key: pages shared copy-on-write after fork have
one offset in two processes, and a page gets a new one when it is copied.
For checkpoint/restore: a private key holds id(mm), so a restore re-keys the
queues from each waiting task's address."""

import struct

from .. import hostsys as hs
from ..abi import errno as E
from ..abi.errno import SyscallError
from .mm.mm import PROT_WRITE
from .sched import WaitQueue

FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF


def key(t, addr):
    if addr & 3:
        raise SyscallError(E.EINVAL)
    mm = t.mm
    v = mm.find(addr)
    if v is None:
        raise SyscallError(E.EFAULT)
    if v.shared:
        return v.off + (addr - v.start)  # < 2**40, the memory file's size
    return id(mm) << 48 | addr  # while mm lives, no other has its id


def queue(kernel, k, create=True):
    q = kernel.futexes.get(k)
    if q is None and create:
        q = kernel.futexes[k] = WaitQueue()
    return q


def wait(kernel, t, addr, val, deadline, bitset=FUTEX_BITSET_MATCH_ANY):
    if t.sys_state == "futex-woken":
        return 0
    if bitset == 0:
        raise SyscallError(E.EINVAL)
    k = key(t, addr)
    if t.mm.read_u32(addr) != val & 0xFFFFFFFF:
        raise SyscallError(E.EAGAIN)
    t.futex_bitset = bitset
    t.futex_key = k
    t.block([queue(kernel, k)], deadline)


def wake(kernel, t, addr, n, bitset=FUTEX_BITSET_MATCH_ANY):
    if bitset == 0:
        raise SyscallError(E.EINVAL)
    return _wake_key(kernel, key(t, addr), n, bitset)


def _wake_key(kernel, k, n, bitset=FUTEX_BITSET_MATCH_ANY):
    q = queue(kernel, k, False)
    if q is None:
        return 0
    woken = 0
    for w in q.waiters[:]:
        if woken >= n:
            break
        if getattr(w, "futex_bitset", FUTEX_BITSET_MATCH_ANY) & bitset:
            w.sys_state = "futex-woken"
            w.wake()
            woken += 1
    if not q.waiters:
        kernel.futexes.pop(k, None)
    return woken


def requeue(kernel, t, addr, n_wake, addr2, n_requeue, cmpval=None):
    k1, k2 = key(t, addr), key(t, addr2)
    if cmpval is not None and t.mm.read_u32(addr) != cmpval & 0xFFFFFFFF:
        raise SyscallError(E.EAGAIN)
    woken = _wake_key(kernel, k1, n_wake)
    q1 = queue(kernel, k1, False)
    moved = 0
    if q1 is not None and n_requeue > 0:
        q2 = queue(kernel, k2)
        for w in q1.waiters[:]:
            if moved >= n_requeue:
                break
            q1.waiters.remove(w)
            w.waiting = [q2 if q is q1 else q for q in w.waiting]
            q2.waiters.append(w)
            w.futex_key = k2
            moved += 1
        if not q1.waiters:
            kernel.futexes.pop(k1, None)
    return woken + moved


def wake_op(kernel, t, addr, n, addr2, n2, op):
    k1, k2 = key(t, addr), key(t, addr2)
    opcode, cmp = (op >> 28) & 0xF, (op >> 24) & 0xF
    oparg, cmparg = (op >> 12) & 0xFFF, op & 0xFFF
    if opcode & 8:
        opcode &= 7
        oparg = 1 << oparg
    old = t.mm.read_u32(addr2)
    if opcode == 0:
        new = oparg
    elif opcode == 1:
        new = old + oparg
    elif opcode == 2:
        new = old | oparg
    elif opcode == 3:
        new = old & ~oparg
    elif opcode == 4:
        new = old ^ oparg
    else:
        raise SyscallError(E.ENOSYS)
    t.mm.write_u32(addr2, new)
    so = struct.unpack("<i", struct.pack("<I", old))[0]
    ca = cmparg if cmparg < 0x800 else cmparg - 0x1000
    res = {0: so == ca, 1: so != ca, 2: so < ca, 3: so <= ca, 4: so > ca, 5: so >= ca}.get(cmp)
    if res is None:
        raise SyscallError(E.ENOSYS)
    woken = _wake_key(kernel, k1, n)
    if res:
        woken += _wake_key(kernel, k2, n2)
    return woken


FUTEX_OWNER_DIED = 0x40000000
FUTEX_WAITERS = 0x80000000
FUTEX_TID_MASK = 0x3FFFFFFF


# --- priority-inheritance futexes (FUTEX_LOCK_PI, UNLOCK_PI, TRYLOCK_PI) ---
# The word holds its owner's tid, FUTEX_WAITERS while threads wait in the
# kernel, FUTEX_OWNER_DIED once an owner died holding it. App threads change
# it with atomic instructions as they run, so the kernel does too (cmpxchg32
# on the memory file). An unlock hands the lock to the first waiter, as
# Linux's does: its tid is in the word before it runs. No priorities are
# inherited (the sandbox has none to lend).

def _cas(t, addr, old, new):
    o = t.mm.at(addr, 4, PROT_WRITE)  # a read-only word is EFAULT, as Linux's
    if o < 0:
        raise SyscallError(E.EFAULT)
    return hs.cmpxchg32(t.mm.memfile.addr + o, old, new)


def lock_pi(kernel, t, addr, deadline, trylock=False):
    if t.sys_state == "futex-pi-owned":  # an unlock made it ours while we waited
        return 0
    k = key(t, addr)
    tid = t.tid
    while True:
        val = t.mm.read_u32(addr)
        owner = val & FUTEX_TID_MASK
        if owner == tid:
            raise SyscallError(E.EDEADLK)
        if owner == 0:  # free, or its owner died (OWNER_DIED, kept for the app to see)
            q = queue(kernel, k, False)
            new = tid | (val & FUTEX_OWNER_DIED) | (FUTEX_WAITERS if q is not None and q.waiters else 0)
            if _cas(t, addr, val, new) == val:
                return 0
            continue
        holder = kernel.tasks.get(owner)
        if holder is None or holder.dead:
            raise SyscallError(E.ESRCH)  # a tid no thread has: the app's word is wrong
        if trylock:
            raise SyscallError(E.EAGAIN)
        if not val & FUTEX_WAITERS and _cas(t, addr, val, val | FUTEX_WAITERS) != val:
            continue
        t.futex_bitset = FUTEX_BITSET_MATCH_ANY
        t.futex_key = k
        try:
            t.block([queue(kernel, k)], deadline)
        except SyscallError as e:
            if e.errno == E.ERESTARTSYS:  # a lock wait is always restarted after a handler
                raise SyscallError(E.ERESTARTNOINTR)
            raise


def unlock_pi(kernel, t, addr):
    k = key(t, addr)
    while True:
        val = t.mm.read_u32(addr)
        if val & FUTEX_TID_MASK != t.tid:
            raise SyscallError(E.EPERM)
        q = queue(kernel, k, False)
        waiters = q.waiters if q is not None else ()
        new = 0
        if waiters:
            new = waiters[0].tid | (FUTEX_WAITERS if len(waiters) > 1 else 0)
        if _cas(t, addr, val, new) == val:
            break
    if waiters:
        w = waiters[0]
        w.sys_state = "futex-pi-owned"
        w.wake()
        if not q.waiters:
            kernel.futexes.pop(k, None)
    return 0


def exit_robust_list(kernel, t):
    """Mark the futexes a dying thread held (kernel/futex/core.c exit_robust_list)."""
    mm = t.mm
    try:
        head = t.robust_list
        nxt, off, pending = struct.unpack("<QqQ", mm.read(head, 24))
        seen = 0
        entries = []
        # an entry's low bit marks a PI futex (glibc's PI mutexes)
        while nxt & ~1 != head and seen < 2048:
            entries.append(nxt & ~1)
            nxt = mm.read_u64(nxt & ~1)
            seen += 1
        if pending:
            entries.append(pending & ~1)
        for e in entries:
            uaddr = (e + off) & 0xFFFFFFFFFFFFFFFF
            while True:
                val = mm.read_u32(uaddr)
                if val & FUTEX_TID_MASK != t.tid:
                    break
                if _cas(t, uaddr, val, (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED) == val:
                    # a PI futex's waiter, woken, takes the lock over (lock_pi)
                    if val & FUTEX_WAITERS:
                        _wake_key(kernel, key(t, uaddr), 1)
                    break
    except SyscallError:
        pass
