"""Signal syscalls: actions, masks, sending, waiting, sigreturn, alt stacks."""

import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.caps import CAP_KILL
from ...abi.errno import SyscallError
from .. import signals as frames
from .util import read_timespec, s32

_SIGACTION = struct.Struct("<QQQQ")  # handler, flags, restorer, mask


def _sig_ok(sig):
    if sig < 1 or sig > S.NSIG:
        raise SyscallError(E.EINVAL)


def sys_rt_sigaction(t, sig, act, oact, size, *_):
    if size != 8:
        raise SyscallError(E.EINVAL)
    _sig_ok(sig)
    acts = t.tg.sigactions.actions
    old = acts[sig]
    new = None
    if act:
        h, flags, restorer, mask = _SIGACTION.unpack(t.mm.read(act, 32))
        if sig in (S.SIGKILL, S.SIGSTOP):
            raise SyscallError(E.EINVAL)
        new = (h, flags, restorer, mask & ~S.UNBLOCKABLE)
    if oact:
        t.mm.write(oact, _SIGACTION.pack(old[0], old[1], old[2], old[3]))
    if new is not None:
        acts[sig] = new
        # setting SIG_IGN (or a default-ignore SIG_DFL) discards pending instances
        if new[0] == S.SIG_IGN or (new[0] == S.SIG_DFL and S.default_action(sig) == S.IGNORE):
            b = S.bit(sig)
            t.tg.shared_pending &= ~b
            t.tg.shared_info.pop(sig, None)
            for x in t.tg.tasks:
                x.pending &= ~b
                x.pending_info.pop(sig, None)
    return 0


SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2


def sys_rt_sigprocmask(t, how, nset, oset, size, *_):
    if size != 8:
        raise SyscallError(E.EINVAL)
    old = t.sigmask
    if nset:
        m = t.mm.read_u64(nset)
        if how == SIG_BLOCK:
            new = old | m
        elif how == SIG_UNBLOCK:
            new = old & ~m
        elif how == SIG_SETMASK:
            new = m
        else:
            raise SyscallError(E.EINVAL)
        t.sigmask = new & ~S.UNBLOCKABLE
    if oset:
        t.mm.write_u64(oset, old)
    return 0


def sys_rt_sigpending(t, setp, size, *_):
    if size > 8:
        raise SyscallError(E.EINVAL)
    t.mm.write_u64(setp, (t.pending | t.tg.shared_pending) & t.sigmask)
    return 0


def sys_rt_sigsuspend(t, maskp, size, *_):
    if size != 8:
        raise SyscallError(E.EINVAL)
    if t.sys_state is None:
        m = t.mm.read_u64(maskp)
        t.sys_state = ("suspend", t.sigmask)
        t.saved_sigmask = t.sigmask
        t.sigmask = m & ~S.UNBLOCKABLE
    try:
        t.block([])
    except SyscallError:
        raise SyscallError(E.ERESTARTNOHAND)


def sys_pause(t, *_):
    try:
        t.block([])
    except SyscallError:
        raise SyscallError(E.ERESTARTNOHAND)


def _fp_valid(fp, host):
    """Whether XRSTOR takes the FP image an app's frame holds: MXCSR within
    the CPU's mask, and an XSAVE header in the standard form with features
    the host has (`host`: an image of its own, for the mask and features).
    Linux's rt_sigreturn gives SIGSEGV otherwise."""
    mask = struct.unpack_from("<I", host, 28)[0] if host else 0xFFFF
    if struct.unpack_from("<I", fp, 24)[0] & ~(mask or 0xFFBF):
        return False
    if len(fp) <= 512:
        return True
    xstate_bv, xcomp_bv = struct.unpack_from("<QQ", fp, 512)
    features = -1  # the host's, where its image says (a signal frame's software bytes)
    if host and len(host) > 512 and struct.unpack_from("<I", host, 464)[0] == frames.FP_XSTATE_MAGIC1:
        features = struct.unpack_from("<Q", host, 472)[0]
    return not xcomp_bv and not xstate_bv & ~features and not any(fp[528:576])


def sys_rt_sigreturn(t, *_):
    regs = t.ctx.regs
    fp = frames.sigreturn(t, regs)
    patches = t.mm.patches
    if patches is not None and patches.remap:  # a frame saved inside a since-patched site
        regs.rip = patches.remap.get(regs.rip, regs.rip)
    if fp is not None and not _fp_valid(fp, t.kernel.platform.initial_fpstate):
        t.kernel.force_signal(t, S.SIGSEGV, S.siginfo(S.SIGSEGV, S.SI_KERNEL))
        fp = None
    if fp is not None:
        ctx = t.ctx
        size = ctx.fpstate_size()
        if len(fp) < size:  # a legacy frame: keep the extended state as it is
            fp = fp + ctx.fpstate()[len(fp):]
        ctx.set_fpstate(fp[:size])
    return regs.rax if regs.rax < 2**63 else regs.rax - 2**64


def sys_sigaltstack(t, ss, oss, *_):
    sp, flags, size = t.altstack
    rsp = t.ctx.regs.rsp
    on = size and sp <= rsp < sp + size
    if oss:
        t.mm.write(oss, struct.pack("<Qi4xQ", sp, S.SS_ONSTACK if on else (flags or 0), size))
    if ss:
        nsp, nflags, nsize = struct.unpack("<Qi4xQ", t.mm.read(ss, 24))
        if on:
            raise SyscallError(E.EPERM)
        if nflags & ~(S.SS_DISABLE | S.SS_ONSTACK | 0x80000000):
            raise SyscallError(E.EINVAL)
        if nflags & S.SS_DISABLE:
            t.altstack = (0, S.SS_DISABLE, 0)
        else:
            if nsize < 2048:
                raise SyscallError(E.ENOMEM)
            t.altstack = (nsp, 0, nsize)
    return 0


def _siginfo_user(t, sig, code=S.SI_USER):
    return S.siginfo(sig, code, pid=t.tg.pid, uid=t.tg.creds.ruid)


def _may_signal(t, tg):
    c, d = t.tg.creds, tg.creds
    if c.euid not in (d.ruid, d.suid) and c.ruid not in (d.ruid, d.suid) \
            and not c.capable(CAP_KILL):
        raise SyscallError(E.EPERM)


def sys_kill(t, pid, sig, *_):
    pid = s32(pid)
    if sig < 0 or sig > S.NSIG:
        raise SyscallError(E.EINVAL)
    k = t.kernel
    info = _siginfo_user(t, sig)
    if pid > 0:
        tg = k.groups.get(pid)
        if tg is None or tg.zombie:
            if tg is not None and tg.zombie:
                return 0
            raise SyscallError(E.ESRCH)
        _may_signal(t, tg)
        if sig:
            k.send_signal_group(tg, sig, info)
        return 0
    if pid == 0:
        pid = -t.tg.pgid
    if pid == -1:
        found = False
        for tg in list(k.groups.values()):
            if tg.pid != 1 and tg is not t.tg and not tg.zombie:
                found = True
                if sig:
                    k.send_signal_group(tg, sig, info)
        if not found:
            raise SyscallError(E.ESRCH)
        return 0
    targets = [g for g in k.groups.values() if g.pgid == -pid and not g.zombie]
    if not targets:
        raise SyscallError(E.ESRCH)
    if sig:
        for tg in targets:
            k.send_signal_group(tg, sig, info)
    return 0


def sys_tgkill(t, tgid, tid, sig, *_):
    tgid, tid = s32(tgid), s32(tid)
    if tgid <= 0 or tid <= 0 or sig < 0 or sig > S.NSIG:
        raise SyscallError(E.EINVAL)
    target = t.kernel.tasks.get(tid)
    if target is None or target.tg.pid != tgid:
        raise SyscallError(E.ESRCH)
    if sig:
        t.kernel.send_signal_task(target, sig, _siginfo_user(t, sig, S.SI_TKILL))
    return 0


def sys_tkill(t, tid, sig, *_):
    tid = s32(tid)
    if tid <= 0 or sig < 0 or sig > S.NSIG:
        raise SyscallError(E.EINVAL)
    target = t.kernel.tasks.get(tid)
    if target is None:
        raise SyscallError(E.ESRCH)
    if sig:
        t.kernel.send_signal_task(target, sig, _siginfo_user(t, sig, S.SI_TKILL))
    return 0


def sys_rt_sigqueueinfo(t, pid, sig, uinfo, *_):
    _sig_ok(sig)
    info = bytearray(t.mm.read(uinfo, 128))
    code = struct.unpack_from("<i", info, 8)[0]
    if (code >= 0 or code == S.SI_TKILL) and t.tg.pid != s32(pid):
        raise SyscallError(E.EPERM)
    struct.pack_into("<i", info, 0, sig)
    tg = t.kernel.groups.get(s32(pid))
    if tg is None:
        raise SyscallError(E.ESRCH)
    t.kernel.send_signal_group(tg, sig, bytes(info))
    return 0


def sys_rt_tgsigqueueinfo(t, tgid, tid, sig, uinfo, *_):
    _sig_ok(sig)
    info = bytearray(t.mm.read(uinfo, 128))
    struct.pack_into("<i", info, 0, sig)
    target = t.kernel.tasks.get(s32(tid))
    if target is None or target.tg.pid != s32(tgid):
        raise SyscallError(E.ESRCH)
    t.kernel.send_signal_task(target, sig, bytes(info))
    return 0


def _take(t, want, infop):
    """Dequeue one pending signal of `want` (0 if none), writing its siginfo."""
    avail = (t.pending | t.tg.shared_pending) & want
    if not avail:
        return 0
    saved = t.sigmask
    t.sigmask = ~avail & 0xFFFFFFFFFFFFFFFF
    sig, info = t.kernel._dequeue(t)
    t.sigmask = saved
    if infop:
        t.mm.write(infop, info)
    return sig


def sys_rt_sigtimedwait(t, setp, infop, tsp, size, *_):
    if size != 8:
        raise SyscallError(E.EINVAL)
    want = t.mm.read_u64(setp) & ~S.UNBLOCKABLE
    if t.sys_state is not None:  # a retry: the wait's mask is undone first
        t.sigmask = t.sys_state[1]
    sig = _take(t, want, infop)
    if sig:
        return sig
    deadline = None
    if tsp:
        ns = read_timespec(t, tsp)
        deadline = t.deadline_after(ns)
    # wait with the wanted signals unblocked
    if t.sys_state is None:
        t.sys_state = ("sigwait", t.sigmask)
    saved_mask = t.sys_state[1]
    t.sigmask = saved_mask & ~want
    try:
        t.block([], deadline)
    except SyscallError as e:
        t.sigmask = saved_mask
        if e.errno == E.ETIMEDOUT:
            raise SyscallError(E.EAGAIN)
        # a signal arrived: take it if it is one we wait for
        sig = _take(t, want, infop)
        if sig:
            return sig
        raise SyscallError(E.EINTR)


def sys_restart_syscall(t, *_):
    rb = t.restart_block
    t.restart_block = None
    if rb is None:
        raise SyscallError(E.EINTR)
    fn, args = rb
    return fn(t, *args)


