"""The ptrace platform: app threads run in stub processes under PTRACE_SYSEMU.

Every app syscall stops its host thread before the host kernel runs it; the
sentry serves it and resumes the thread with the result in rax. Faults
(SIGSEGV, SIGBUS, ...) come back as signal-delivery-stops and are never
delivered by the host. Changes to host mappings are injected: the thread is
pointed at the stub's trampoline (`syscall; int3`) with the wanted registers
and continued until the int3.
"""

import ctypes
import os
import signal

from .. import hostsys as hs
from . import base, stub
from .ptrace_image import HELPERS, SYMBOLS

_WALL = 0x40000000
_SYSCALL_STOP = signal.SIGTRAP | 0x80
_FAULT_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP}
_OPTIONS = (hs.PTRACE_O_TRACESYSGOOD | hs.PTRACE_O_TRACECLONE | hs.PTRACE_O_TRACEFORK |
            hs.PTRACE_O_EXITKILL)
_CLONE_THREAD_FLAGS = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000

_NR_MMAP, _NR_MPROTECT, _NR_MUNMAP, _NR_RT_SIGACTION, _NR_CLONE, _NR_EXIT = 9, 10, 11, 13, 56, 60
_MAP_SHARED_FIXED = 0x01 | 0x10
_ptrace = hs._ptrace
_GETREGS, _SETREGS, _SYSEMU = hs.PTRACE_GETREGS, hs.PTRACE_SETREGS, hs.PTRACE_SYSEMU
_waitid = hs.waitid
_WAIT_FLAGS = os.WEXITED | os.WSTOPPED | _WALL
_KICK = signal.SIGURG  # host signal that stops a running thread (base.Platform.interrupt)


class PlatformError(Exception):
    pass


def _pin_to_current_cpu():
    """Bind the sentry's thread, and so every stub forked after this, to the
    CPU it runs on. Each syscall is two ptrace stops, each a wake-up of the
    other side: on one CPU that is a direct switch; across CPUs every stop
    waits for the other CPU to wake and deschedule (measured here: 16.5 against
    25 us per syscall for a bare Python tracer, 20 against 29 for the sentry).
    gVisor's ptrace platform binds each stub thread to its tracer's CPU for
    the same reason. The price: a sandbox on this platform uses one CPU."""
    os.sched_setaffinity(0, (hs.getcpu(),))


class PtraceContext(base.Context):
    """One host thread of a stub. `stopped` is True only while the sentry holds
    it in a ptrace-stop whose event it has taken: only then may it inject."""

    __slots__ = ("tid", "aspace", "alive", "regs_ref", "stopped")

    def __init__(self, tid, aspace):
        self.tid = tid
        self.aspace = aspace
        self.regs = hs.Regs()
        self.regs_ref = ctypes.byref(self.regs)  # made once: the hot path reuses it
        self.owner = None
        self.alive = True
        self.stopped = True

    def fpstate(self):
        return hs.ptrace_getxstate(self.tid)

    def set_fpstate(self, data):
        hs.ptrace_setxstate(self.tid, data)


class PtraceAddressSpace(base.AddressSpace):
    def __init__(self, platform, pid):
        self.platform = platform
        self.pid = pid
        self.contexts = set()

    def _inject(self, ctx, nr, *args):
        """Run host syscall `nr` in the stub on stopped thread ctx."""
        tid = ctx.tid
        saved = ctx.regs
        r = saved.copy()
        r.rip = self.platform.trampoline
        r.rax = nr
        r.orig_rax = 2**64 - 1
        a = list(args) + [0] * (6 - len(args))
        r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 = [x & 0xFFFFFFFFFFFFFFFF for x in a]
        hs.ptrace_setregs(tid, r)
        hs.ptrace_resume(hs.PTRACE_CONT, tid, 0)
        event_msg = None
        while True:
            pid, status = os.waitpid(tid, _WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                ctx.alive = False
                raise PlatformError(f"stub thread {tid} died during injection")
            sig = os.WSTOPSIG(status)
            if status >> 16 in (hs.PTRACE_EVENT_CLONE, hs.PTRACE_EVENT_FORK):
                event_msg = hs.ptrace_geteventmsg(tid)
                hs.ptrace_resume(hs.PTRACE_CONT, tid, 0)
                continue
            if sig == signal.SIGTRAP:
                break
            if sig == _KICK:  # an interrupt for a thread that is in the sentry anyway
                hs.ptrace_resume(hs.PTRACE_CONT, tid, 0)
                continue
            raise PlatformError(f"stub thread {tid}: unexpected stop {status:#x} in injection")
        hs.ptrace_getregs(tid, r)
        hs.ptrace_setregs(tid, saved)
        ret = r.rax
        if ret >= 2**64 - 4095:
            e = 2**64 - ret
            raise OSError(e, os.strerror(e))
        return ret if event_msg is None else event_msg

    def _any_ctx(self):
        for c in self.contexts:
            if c.alive and c.stopped:
                return c
        raise PlatformError("address space has no stopped thread to inject through")

    def map(self, addr, length, prot, offset):
        self._inject(self._any_ctx(), _NR_MMAP, addr, length, prot, _MAP_SHARED_FIXED,
                     stub.MEMFD_FD, offset)

    def unmap(self, addr, length):
        self._inject(self._any_ctx(), _NR_MUNMAP, addr, length)

    def protect(self, addr, length, prot):
        self._inject(self._any_ctx(), _NR_MPROTECT, addr, length, prot)

    def new_context(self, via):
        tid = self._inject(via, _NR_CLONE, _CLONE_THREAD_FLAGS, 0, 0, 0, 0)
        pid, status = os.waitpid(tid, _WALL)
        if not os.WIFSTOPPED(status):
            raise PlatformError(f"new stub thread {tid} did not stop")
        ctx = PtraceContext(tid, self)
        hs.ptrace_getregs(tid, ctx.regs)
        self.contexts.add(ctx)
        self.platform.contexts[tid] = ctx
        return ctx

    def release(self):
        """Kill the stub; its threads' exits are reaped by wait()."""
        if self.platform._pending in self.contexts:
            self.platform._pending_tid.value = 0
        for c in self.contexts:
            c.alive = False
            self.platform.contexts.pop(c.tid, None)
        self.contexts.clear()
        self.kill_stub()


class PtracePlatform(base.Platform):
    max_user_address = stub.STUB_BASE

    def __init__(self, memfd):
        self.memfd = memfd
        elf, self.ready, self.trampoline = stub.build()
        self.elf_fd = os.memfd_create("bastion-stub", os.MFD_CLOEXEC)
        os.write(self.elf_fd, elf)
        self.contexts = {}
        self.initial_fpstate = None  # a fresh thread's FP state, for exec
        self.zygote = None
        import mmap as _mmap
        self._memmap = _mmap.mmap(memfd, 4096)  # page 0 of the memory file (never app memory)
        hs.block_signals([signal.SIGCHLD])
        self.sigfd = hs.signalfd([signal.SIGCHLD])
        self._info = hs.WaitInfo()  # the wait event in hand (block, _take)
        self._info_ref = ctypes.byref(self._info)
        self._pending = None  # the context resume() deferred, while _pending_tid holds its tid
        self._pending_tid = ctypes.c_int(0)  # pt_step takes (zeroes) it
        self._pending_tid_ref = ctypes.byref(self._pending_tid)
        self._stepped = None  # the context whose syscall stop block() took with its registers
        self._step = hs.ptrace_step_helper(HELPERS, SYMBOLS["pt_step"])
        _pin_to_current_cpu()

    def fileno(self):
        return self.sigfd

    def _spawn_stub(self):
        """Fork the sentry and exec the stub ELF in the child (slow: ~ms)."""
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            base.exec_stub(self.elf_fd, {stub.MEMFD_FD: self.memfd}, me, traceme=True)
        _, status = os.waitpid(pid, _WALL)  # stopped at exec
        if not os.WIFSTOPPED(status):
            raise PlatformError(f"stub did not start: status {status:#x}")
        hs.ptrace_setoptions(pid, _OPTIONS)
        hs.ptrace_resume(hs.PTRACE_CONT, pid, 0)
        _, status = os.waitpid(pid, _WALL)  # the int3 at `ready`
        if not os.WIFSTOPPED(status) or os.WSTOPSIG(status) != signal.SIGTRAP:
            raise PlatformError(f"stub failed to set up: status {status:#x}")
        return self._adopt(pid, check_seccomp=True)

    def _adopt(self, pid, check_seccomp=False):
        aspace = PtraceAddressSpace(self, pid)
        ctx = PtraceContext(pid, aspace)
        hs.ptrace_getregs(pid, ctx.regs)
        if check_seccomp and ctx.regs.rax != 0:
            raise PlatformError("stub could not install its seccomp filter")
        aspace.contexts.add(ctx)
        self.contexts[pid] = ctx
        return aspace, ctx

    def _make_zygote(self):
        """A pristine stub that new stubs are forked from (an injected fork
        costs one ptrace round trip instead of a fork+exec of the sentry).
        Its SIGCHLD is set to SIG_IGN so the stubs it parents never linger as
        zombies; the sigaction struct is passed in memory-file page 0, mapped
        only for that one call."""
        aspace, ctx = self._spawn_stub()
        self.contexts.pop(ctx.tid, None)  # never runs app code
        scratch = 0x10000
        mv = memoryview(self._memmap)
        mv[0:32] = (1).to_bytes(8, "little") + bytes(24)  # sa_handler = SIG_IGN
        aspace._inject(ctx, _NR_MMAP, scratch, 4096, 1, _MAP_SHARED_FIXED, stub.MEMFD_FD, 0)
        aspace._inject(ctx, _NR_RT_SIGACTION, signal.SIGCHLD, scratch, 0, 8)
        aspace._inject(ctx, _NR_MUNMAP, scratch, 4096)
        mv[0:32] = bytes(32)
        self.initial_fpstate = ctx.fpstate()
        self.zygote = (aspace, ctx)

    def new_address_space(self):
        if self.zygote is None:
            self._make_zygote()
        zaspace, zctx = self.zygote
        pid = zaspace._inject(zctx, _NR_CLONE, signal.SIGCHLD, 0, 0, 0, 0)
        _, status = os.waitpid(pid, _WALL)  # its first stop, auto-attached
        if not os.WIFSTOPPED(status):
            raise PlatformError(f"forked stub {pid} did not stop: status {status:#x}")
        return self._adopt(pid)

    def resume(self, ctx):
        # Deferred: the thread is resumed by block()'s pt_step together with
        # the wait for its next stop (one ctypes call per syscall instead of
        # four), or by _flush before any other wait.
        ctx.stopped = False
        if self._pending_tid.value:
            self._flush()
        self._pending = ctx
        self._pending_tid.value = ctx.tid

    def _flush(self):
        """Resume the deferred thread now."""
        ctx = self._pending
        r = self._step(self._pending_tid_ref, ctx.regs_ref, None)
        if r < 0:
            self._resume_failed(ctx)

    def _resume_failed(self, ctx):
        # Gone (killed from outside: its exit event follows) or refused the
        # registers: the host thread must not stay stopped with nobody to
        # resume it, so its stub dies and its exit ends the app process.
        ctx.aspace.kill_stub()

    def prepare_sleep(self):
        if self._pending_tid.value:
            self._flush()
        return self._info.si_pid != 0

    def release_context(self, ctx):
        """End one host thread (app thread exit while its process lives on)."""
        if not ctx.alive:
            return
        if self._pending is ctx:
            self._pending_tid.value = 0
        asp = ctx.aspace
        asp.contexts.discard(ctx)
        self.contexts.pop(ctx.tid, None)
        ctx.alive = False
        r = ctx.regs
        r.rip = self.trampoline
        r.rax = _NR_EXIT
        r.rdi = 0
        try:
            hs.ptrace_setregs(ctx.tid, r)
            hs.ptrace_resume(hs.PTRACE_CONT, ctx.tid, 0)
        except OSError:
            pass

    def wait(self):
        try:
            os.read(self.sigfd, 1024)
        except BlockingIOError:
            pass
        if self._pending_tid.value:
            self._flush()
        events = []
        while self._take():
            self._event(events)
        return events

    def block(self):
        # The event lands in self._info, which a host signal handler raising
        # (kernel.py HostSignal) right after the call cannot take away;
        # wait_one then handles it.
        if self._info.si_pid:
            if self._pending_tid.value:
                self._flush()
            return
        ctx = self._pending
        r = self._step(self._pending_tid_ref, ctx.regs_ref if ctx is not None else None, self._info_ref)
        if r == 1:
            self._stepped = ctx
        elif r < -4096:
            self._resume_failed(ctx)

    def wait_one(self):
        # One event at a time: the next call returns at once if more are queued,
        # which saves a WNOHANG wait per syscall on the hot path.
        ctx = self._stepped
        if ctx is not None:
            self._stepped = None
            if self._info.si_pid == ctx.tid:  # pt_step took its syscall stop and registers
                self._info.si_pid = 0
                ctx.stopped = True
                return [(ctx, base.SYSCALL, None)]
        events = []
        while not events and self._take():
            self._event(events)
        return events

    def _take(self):
        """Make self._info hold an event not yet handled; False if none.
        Handling it (_event) marks it taken."""
        info = self._info
        if info.si_pid:
            return True
        return _waitid(hs.P_ALL, 0, self._info_ref, _WAIT_FLAGS | os.WNOHANG) == 0 and info.si_pid != 0

    def _event(self, events):
        """Handle the event in self._info (and mark it taken)."""
        info = self._info
        pid, status = info.si_pid, info.wait_status()
        info.si_pid = 0
        ctx = self.contexts.get(pid)
        if ctx is None:  # a released thread's exit, or the gofer
            return
        if status & 0xFF == 0x7F:  # stopped
            ctx.stopped = True
            sig = (status >> 8) & 0xFF
            if sig == _SYSCALL_STOP and status >> 16 == 0:
                if _ptrace(_GETREGS, pid, None, ctx.regs_ref) == -1:
                    ctypes.get_errno()
                    return  # the thread vanished (killed); its exit event follows
                events.append((ctx, base.SYSCALL, None))
            elif status >> 16:
                ctx.stopped = False
                hs.ptrace_resume(hs.PTRACE_SYSEMU, pid, 0)
            elif sig in _FAULT_SIGNALS:
                hs.ptrace_getregs(pid, ctx.regs)
                si = hs.ptrace_getsiginfo(pid)
                code = int.from_bytes(si[8:12], "little", signed=True)
                addr = int.from_bytes(si[16:24], "little")
                events.append((ctx, base.FAULT, (sig, code, addr)))
            elif sig == _KICK:
                hs.ptrace_getregs(pid, ctx.regs)
                events.append((ctx, base.INTERRUPT, None))
            else:  # a stray host stop (SIGSTOP, SIGCHLD, ...): ignore it
                ctx.stopped = False
                hs.ptrace_resume(hs.PTRACE_SYSEMU, pid, 0)
        else:
            self.contexts.pop(pid, None)
            if ctx.alive:
                ctx.alive = False
                ctx.aspace.contexts.discard(ctx)
                events.append((ctx, base.EXITED, status))
