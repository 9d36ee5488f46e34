"""ptrace(2) requests, and process_vm_readv/writev (how strace reads a
tracee's strings). The stops themselves are sentry/ptrace.py's."""

import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError
from ...hostsys import REG_NAMES
from .. import ptrace as P
from .fs import _iovecs
from .util import s32

TRACEME, PEEKTEXT, PEEKDATA, PEEKUSER, POKETEXT, POKEDATA, POKEUSER = 0, 1, 2, 3, 4, 5, 6
CONT, KILL, SINGLESTEP, GETREGS, SETREGS, GETFPREGS, SETFPREGS = 7, 8, 9, 12, 13, 14, 15
ATTACH, DETACH, SYSCALL = 16, 17, 24
SETOPTIONS, GETEVENTMSG, GETSIGINFO, SETSIGINFO = 0x4200, 0x4201, 0x4202, 0x4203
GETREGSET, SETREGSET, SEIZE, INTERRUPT, LISTEN = 0x4204, 0x4205, 0x4206, 0x4207, 0x4208
GET_SYSCALL_INFO = 0x420E
NT_PRSTATUS, NT_PRFPREG, NT_X86_XSTATE = 1, 2, 0x202
FP_XSTATE_MAGIC1 = 0x46505853

_REGS = struct.Struct(f"<{len(REG_NAMES)}Q")  # struct user_regs_struct
USER_SIZE = 928  # sizeof(struct user)
DEBUGREG_OFF = 848  # offsetof(struct user, u_debugreg)
_SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
EFLAGS_USER = 0x50DD5  # what a tracer may change (Linux's FLAG_MASK)
AUDIT_ARCH_X86_64 = 0xC000003E
TASK_SIZE = 0x7FFFFFFFF000  # a segment base at or past it: EIO, as Linux's putreg


def sys_ptrace(t, req, pid, addr, data, *_):
    k = t.kernel
    req &= 0xFFFFFFFF
    if req == TRACEME:
        P.traceme(t)
        return 0
    x = k.tasks.get(s32(pid))
    if req in (ATTACH, SEIZE):
        if x is None:
            raise SyscallError(E.ESRCH)
        if req == SEIZE:
            if addr or data & ~P.O_MASK:
                raise SyscallError(E.EIO)
            P.attach(t, x, True, data)
        else:
            P.attach(t, x, False)
            k.send_signal_task(x, S.SIGSTOP)  # its delivery is the first stop
        return 0
    if x is None or x.ptrace is None or x.ptrace.tracer is not t.tg:
        raise SyscallError(E.ESRCH)
    p = x.ptrace
    if req == KILL:
        k.send_signal_group(x.tg, S.SIGKILL)
        return 0
    if req == INTERRUPT:
        if not p.seized:
            raise SyscallError(E.EIO)
        return 0  # (a running tracee is not stopped: not done)
    if p.stop is None:  # running: every other request needs it stopped
        raise SyscallError(E.ESRCH)
    if req in (CONT, SYSCALL, SINGLESTEP, DETACH):
        if data > 64:
            raise SyscallError(E.EIO)
        if req == DETACH:
            P.detach(x, data)
        else:
            P.resume(x, data, req == SYSCALL, req == SINGLESTEP)
        return 0
    fn = _STOPPED.get(req)
    if fn is None:
        raise SyscallError(E.EIO)  # SYSEMU, LISTEN, ...: not done
    return fn(t, x, addr, data)


def _peek(t, x, addr, data):
    try:
        word = x.mm.peek(addr, 8)
    except SyscallError:
        raise SyscallError(E.EIO)
    t.mm.write(data, word)
    return 0


def _poke(t, x, addr, data):
    try:
        x.mm.poke(addr, (data & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))
    except SyscallError:
        raise SyscallError(E.EIO)
    return 0


def _user_offset(addr):
    if addr & 7 or addr >= USER_SIZE:
        raise SyscallError(E.EIO)
    return addr >> 3


def _peekuser(t, x, addr, data):
    i = _user_offset(addr)
    t.mm.write_u64(data, _reg(x, REG_NAMES[i]) if i < len(REG_NAMES) else 0)
    return 0


def _pokeuser(t, x, addr, data):
    i = _user_offset(addr)
    if i < len(REG_NAMES):
        _set_reg(x, REG_NAMES[i], data)
    elif DEBUGREG_OFF <= addr < DEBUGREG_OFF + 64:
        if data:  # hardware breakpoints: not done (clearing them is fine)
            raise SyscallError(E.EIO)
    return 0


def _reg(x, name):
    """A register as the tracer reads it: the trap flag of a single step
    hidden (Linux's get_flags and TIF_FORCED_TF)."""
    val = getattr(x.ctx.regs, name)
    if name == "eflags" and x.ptrace.step:
        val &= ~P.EFLAGS_TF
    return val


def _set_reg(x, name, val):
    regs = x.ctx.regs
    val &= 0xFFFFFFFFFFFFFFFF
    if name in _SEGMENTS:
        return  # the sentry's platform keeps its own
    if name == "eflags":
        # a trap flag the tracer sets is its own; ours stays while we step (set_flags)
        if val & P.EFLAGS_TF:
            x.ptrace.step = False
        elif x.ptrace.step:
            val |= P.EFLAGS_TF
        val = (regs.eflags & ~EFLAGS_USER) | (val & EFLAGS_USER)
    elif name in ("fs_base", "gs_base") and val >= TASK_SIZE:
        raise SyscallError(E.EIO)
    setattr(regs, name, val)


def regs_bytes(x):
    return _REGS.pack(*(_reg(x, n) for n in REG_NAMES))


def _set_regs(x, raw):
    for name, val in zip(REG_NAMES, _REGS.unpack(raw)):
        _set_reg(x, name, val)


def _getregs(t, x, addr, data):
    t.mm.write(data, regs_bytes(x))
    return 0


def _setregs(t, x, addr, data):
    _set_regs(x, t.mm.read(data, _REGS.size))
    return 0


def _getfpregs(t, x, addr, data):
    t.mm.write(data, x.ctx.fpstate()[:512])
    return 0


def _setfpregs(t, x, addr, data):
    _set_fp(x, t.mm.read(data, 512))
    return 0


def _set_fp(x, raw):
    fp = bytearray(x.ctx.fpstate())
    fp[:len(raw)] = raw
    x.ctx.set_fpstate(bytes(fp))


def _setoptions(t, x, addr, data):
    if data & ~P.O_MASK:
        raise SyscallError(E.EINVAL)
    x.ptrace.options = data
    return 0


def _geteventmsg(t, x, addr, data):
    t.mm.write_u64(data, x.ptrace.msg)
    return 0


def _getsiginfo(t, x, addr, data):
    t.mm.write(data, x.ptrace.siginfo)
    return 0


def _setsiginfo(t, x, addr, data):
    x.ptrace.siginfo = t.mm.read(data, 128)
    return 0


def _regset(t, x, note, iov, setting):
    base, length = t.mm.read_u64(iov), t.mm.read_u64(iov + 8)
    if note == NT_PRSTATUS:
        have = regs_bytes(x)
    elif note == NT_PRFPREG:
        have = x.ctx.fpstate()[:512]
    elif note == NT_X86_XSTATE:
        have = _xstate(x.ctx.fpstate())
    else:
        raise SyscallError(E.EINVAL)
    n = min(length, len(have))
    if setting:
        if note == NT_PRSTATUS:
            if n < len(have):
                raise SyscallError(E.EINVAL)
            _set_regs(x, t.mm.read(base, n))
        else:
            _set_fp(x, t.mm.read(base, n))
    else:
        t.mm.write(base, have[:n])
    t.mm.write_u64(iov + 8, n)
    return 0


def _xstate(fp):
    """The XSAVE image as ptrace shows it: XCR0 in the first word of the
    software-reserved bytes (464), where a signal frame's image has its
    magic and the features at 472 (debuggers read the CPU's from there)."""
    if struct.unpack_from("<I", fp, 464)[0] == FP_XSTATE_MAGIC1:
        fp = bytearray(fp)
        fp[464:472] = fp[472:480]
        return bytes(fp)
    return fp


def _getregset(t, x, addr, data):
    return _regset(t, x, addr, data, False)


def _setregset(t, x, addr, data):
    return _regset(t, x, addr, data, True)


def _get_syscall_info(t, x, addr, data):
    """struct ptrace_syscall_info of a syscall stop (op ENTRY or EXIT), or
    op NONE: the bytes that fit in `addr`; returns the whole size."""
    r = x.ctx.regs
    head = (r.rip, r.rsp)
    where = x.ptrace.stop
    if where == "entry":
        info = struct.pack("<B3xIQQQ6Q", 1, AUDIT_ARCH_X86_64, *head, r.orig_rax,
                           r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9)
    elif where == "exit":
        rval = r.rax - (1 << 64) if r.rax >= 1 << 63 else r.rax
        info = struct.pack("<B3xIQQqB", 2, AUDIT_ARCH_X86_64, *head, rval, -4095 <= rval < 0)
    else:
        info = struct.pack("<B3xIQQ", 0, AUDIT_ARCH_X86_64, *head)
    if addr:
        t.mm.write(data, info[:min(addr, len(info))])
    return len(info)


_STOPPED = {
    PEEKTEXT: _peek, PEEKDATA: _peek, POKETEXT: _poke, POKEDATA: _poke,
    PEEKUSER: _peekuser, POKEUSER: _pokeuser, GETREGS: _getregs, SETREGS: _setregs,
    GETFPREGS: _getfpregs, SETFPREGS: _setfpregs, SETOPTIONS: _setoptions,
    GETEVENTMSG: _geteventmsg, GETSIGINFO: _getsiginfo, SETSIGINFO: _setsiginfo,
    GETREGSET: _getregset, SETREGSET: _setregset, GET_SYSCALL_INFO: _get_syscall_info,
}


# --- process_vm_readv / process_vm_writev ------------------------------------------

def _vm_copy(t, pid, local, nlocal, remote, nremote, flags, writing):
    if flags:
        raise SyscallError(E.EINVAL)
    lv, rv = _iovecs(t, local, nlocal), _iovecs(t, remote, nremote)
    tg = t.kernel.groups.get(s32(pid))
    if tg is None or not tg.tasks:
        raise SyscallError(E.ESRCH)
    P.may_attach(t, tg)
    mm = tg.tasks[0].mm
    src, dst = (t.mm, mm) if writing else (mm, t.mm)
    sv, dv = (lv, rv) if writing else (rv, lv)
    done = 0
    di = doff = 0
    for base, length in sv:
        pos = 0
        while pos < length and di < len(dv):
            dbase, dlen = dv[di]
            k = min(length - pos, dlen - doff)
            try:
                dst.write(dbase + doff, src.read(base + pos, k))
            except SyscallError:
                if done:  # a partial copy ends at the first bad page
                    return done
                raise
            done += k
            pos += k
            doff += k
            if doff == dlen:
                di, doff = di + 1, 0
    return done


def sys_process_vm_readv(t, pid, local, nlocal, remote, nremote, flags):
    return _vm_copy(t, pid, local, nlocal, remote, nremote, flags, False)


def sys_process_vm_writev(t, pid, local, nlocal, remote, nremote, flags):
    return _vm_copy(t, pid, local, nlocal, remote, nremote, flags, True)
