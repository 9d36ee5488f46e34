"""Signal frames: what the app's handler sees and what rt_sigreturn restores.

Layout of arch/x86/include/asm/sigframe.h (struct rt_sigframe) and
uapi/asm/sigcontext.h: pretcode, ucontext (flags, link, stack_t, sigcontext,
sigmask), siginfo, then the XSAVE image 64-byte aligned below them.
"""

import struct

from ..abi import signals as S
from ..abi.errno import SyscallError

# sigcontext general registers in order, mapped to user_regs_struct names
_SC_REGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
            "rbx", "rdx", "rax", "rcx", "rsp", "rip", "eflags")
_SC = struct.Struct("<18QHHHHQQQQQ64x")  # ... cs gs fs ss, err trapno oldmask cr2 fpstate
UC_OFF = 8            # ucontext after pretcode
MCTX_OFF = UC_OFF + 40
SIGMASK_OFF = UC_OFF + 296
INFO_OFF = UC_OFF + 304
FRAME_SIZE = INFO_OFF + 128
FXSAVE_SIZE = 512
UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS = 1, 2, 4
FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2 = 0x46505853, 0x46505845
_SW_BYTES = struct.Struct("<IIQI")  # struct _fpx_sw_bytes at fxsave offset 464
REDZONE = 128


def setup_frame(t, sig, info, action, regs, fpstate):
    """Push a signal frame for `sig` and point regs at the handler."""
    handler, flags, restorer, mask = action
    sp = regs.rsp
    ss_sp, ss_flags, ss_size = t.altstack
    on_alt = ss_size and ss_sp <= sp < ss_sp + ss_size
    if flags & S.SA_ONSTACK and ss_size and not ss_flags & S.SS_DISABLE and not on_alt:
        sp = ss_sp + ss_size
    else:
        sp -= REDZONE
    xsize = len(fpstate)
    fp_addr = (sp - xsize - 4) & ~63
    frame = ((fp_addr - FRAME_SIZE + 8) & ~15) - 8
    # the xsave image with the software bytes that say so (arch/x86/kernel/fpu/signal.c)
    xfeatures = int.from_bytes(fpstate[512:520], "little") if xsize > 520 else 3
    fp = bytearray(fpstate)
    fp[464:464 + _SW_BYTES.size] = _SW_BYTES.pack(FP_XSTATE_MAGIC1, xsize + 4, xfeatures, xsize)
    fp += FP_XSTATE_MAGIC2.to_bytes(4, "little")
    mm = t.mm
    gr = [getattr(regs, n) for n in _SC_REGS]
    sc = _SC.pack(*gr, regs.cs & 0xFFFF, 0, 0, regs.ss & 0xFFFF, 0, 0,
                  t.sigmask & 0xFFFFFFFFFFFFFFFF, 0, fp_addr)
    oldmask = t.saved_sigmask if t.saved_sigmask is not None else t.sigmask
    t.saved_sigmask = None
    alt_flags = S.SS_DISABLE if ss_flags & S.SS_DISABLE or not ss_size else (S.SS_ONSTACK if on_alt else 0)
    uc = struct.pack("<QQQi4xQ", UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, 0,
                     ss_sp, alt_flags, ss_size)
    buf = (struct.pack("<Q", restorer) + uc + sc + struct.pack("<Q", oldmask) + info)
    try:
        mm.write(frame, buf)
        mm.write(fp_addr, bytes(fp))
    except SyscallError:
        return False
    regs.rsp = frame
    regs.rip = handler
    regs.rdi = sig
    regs.rsi = frame + INFO_OFF
    regs.rdx = frame + UC_OFF
    regs.rax = 0
    regs.eflags &= ~(0x100 | 0x400)  # TF, DF
    newmask = oldmask | mask
    if not flags & S.SA_NODEFER:
        newmask |= S.bit(sig)
    t.sigmask = newmask & ~S.UNBLOCKABLE
    return True


def sigreturn(t, regs):
    """rt_sigreturn: restore registers, FP state and mask from the frame.
    Returns the FP image to load: a whole xsave area if the frame has one,
    else the legacy 512-byte fxsave part."""
    frame = regs.rsp - 8
    mm = t.mm
    raw = mm.read(frame + MCTX_OFF, _SC.size)
    vals = _SC.unpack(raw)
    for n, v in zip(_SC_REGS, vals[:18]):
        setattr(regs, n, v)
    regs.eflags = (regs.eflags & 0x3F7FD5) | 0x202
    fp_addr = vals[26]
    mask = mm.read_u64(frame + SIGMASK_OFF)
    t.sigmask = mask & ~S.UNBLOCKABLE
    ss_sp, ss_flags, ss_size = struct.unpack("<Qi4xQ", mm.read(frame + UC_OFF + 16, 24))
    if not t.altstack[1] & S.SS_ONSTACK:
        t.altstack = (ss_sp, ss_flags & ~S.SS_ONSTACK, ss_size) if ss_size or ss_flags & S.SS_DISABLE else t.altstack
    regs.orig_rax = 2**64 - 1
    if not fp_addr:
        return None
    head = mm.read(fp_addr, FXSAVE_SIZE)
    magic1, ext, _, xsize = _SW_BYTES.unpack_from(head, 464)
    if magic1 == FP_XSTATE_MAGIC1 and ext == xsize + 4 and FXSAVE_SIZE < xsize <= 65536:
        return mm.read(fp_addr, xsize)
    return head
