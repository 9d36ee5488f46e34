"""The systrap platform: app syscalls trap inside the stub, not in a tracer.

A stub's seccomp filter answers every syscall not made from the stub's own
code with SECCOMP_RET_TRAP, so the host delivers SIGSYS to the thread itself.
The stub's handler (systrap_stub.S) runs on a signal stack inside the
thread's *slot*, a 64 KiB window of the memory file that the sentry maps
too: the host kernel's signal frame there (ucontext and XSAVE image) *is*
the register state the sentry reads and writes, with no copy. The handler
marks the slot EVENT, wakes the sentry if it sleeps, and spins (then sleeps
on a futex) until the sentry marks it CMD; RESUME returns to the app
with whatever registers the sentry left, without rt_sigreturn (~1 us here):
the stub copies them to the slot's patch frame, loads the frame's XSAVE
image, and leaves by the way patched sites leave. Faults and kicks
(SIGURG, Platform.interrupt) take the same road. There is no ptrace
anywhere: the sentry waits for many threads at once by scanning the state
words of those it has let run (natively, `st_spin`, before it sleeps on an
eventfd that the stubs write only while it sleeps).

Each stub process has a *control thread* that never runs app code: it runs
the host syscalls the sentry needs in that process (mmap of the memory file,
munmap, mprotect, clone of a new app thread). New stubs are forked from a
zygote stub with CLONE_PARENT, so every stub is the sentry's child and its
death is seen by waitpid.

Host resources here (the zygote, stubs, their slots) are re-created from
kernel state, never saved: a checkpoint holds the registers, not the slots.
"""

import _thread
import ctypes
import mmap
import os
import select
import signal
import struct

from .. import hostsys as hs
from . import base, stub
from .systrap_image import HELPERS, STUB, SYMBOLS

SLOT = 0x10000
STUB_SLOTS = 0x7FF000100000  # slot i of a stub is mapped at STUB_SLOTS + i * SLOT
REGION = 1 << 30  # memory-file bytes kept for the platform, at the end of the file
EVENTFD_FD = 4

# slot layout (systrap_stub.S)
OFF_STATE, OFF_SLEEPING, OFF_KIND, OFF_SIGNO, OFF_UC, OFF_INFO = 0, 4, 8, 12, 16, 24
OFF_CMD, OFF_SETFS, OFF_NR, OFF_RET, OFF_FSBASE, OFF_GSBASE = 32, 36, 40, 96, 104, 112
OFF_TID, OFF_CTID = 120, 124
OFF_CPU = 208  # u32: the CPU the thread last handed over on (rdpid)
# u32: the thread's wait is long (a control thread's, a new thread's first,
# a blocked task's: nap, nap_waiting): it sleeps after a short spin, without
# the yields that would take a CPU from the app; set for every new slot,
# cleared by the stub when it goes back to app code
OFF_NAP = 212
# u32: the patch frame's XSAVE image holds the FP state of the thread's
# current patched syscall: patch_entry leaves that state in the CPU; the
# stub saves it on CMD_XSAVE, set_fpstate writes it, patch_leave restores it
OFF_FPSAVED = 216
G_SENTRY_CPU = 16  # global page, u32: the CPU the sentry last spun on (st_spin)
_W_SENTRY_CPU = G_SENTRY_CPU >> 2
PF_UC, PF_FP, PF_END = 0x3018, 0x3400, 0x6000  # the patch frame (patched sites), up to PF_END
RUNNING, EVENT, CMD, HANDLING = 0, 1, 2, 3  # HANDLING: the sentry took the event (stub waits on)
KIND_SIGNAL, KIND_DONE = 1, 2
CMD_RESUME, CMD_SYSCALL, CMD_CLONE, CMD_FORK, CMD_EXIT, CMD_BATCH, CMD_RUN = 1, 2, 3, 4, 5, 6, 7
CMD_XSAVE = 8
BATCH, BATCH_MAX = 0x6000, 200  # a slot's batch of host syscalls: 56 bytes each
_ENTRY = struct.Struct("<7Q")
# a syscall's arguments and number from a frame's registers (SysRegs):
# r8, r9, r10, rdi, rsi, rdx, rax
_ARGS = struct.Struct("<3Q40x2Q16x2Q")

_NR_MMAP, _NR_MPROTECT, _NR_MUNMAP, _NR_CLONE = 9, 10, 11, 56
_MAP_SHARED_FIXED = 0x11
_CLONE_THREAD = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x200000  # ... CHILD_CLEARTID
_CLONE_PARENT = 0x8000
_SIGSYS, _SIGURG = 31, 23
_SYSCALL = base.SYSCALL
_U64 = struct.Struct("<Q")
_CODE_OFF = 64 + 56  # the stub's code follows its ELF and program headers
# cycle, block() and prepare_sleep() (_scan): reads of the running threads'
# state words in Python before st_spin (~15 us at most), when few of them
# run app code: a ctypes call costs ~0.6 us, most of a patched site's round
# trip, and the answer is usually there within a few reads. Threads blocked
# in a syscall do not count (redis-server's idle workers: redis-benchmark
# +24..30% once they did not keep the cycle from polling the two that run).
_PY_POLL_MAX = 4
# cycle looks at the state words of up to this many running threads
# (those blocked in a syscall count too), and wait() reads that many in
# Python, not with a ctypes call per event and one more (redis-benchmark
# against redis-server, 7 threads: +2..8%)
_CYCLE_MAX = 16
_PY_POLLS = range(300)
_PY_POLLS_FEW = range(100)
_SPIN_ROUNDS = 300  # st_spin passes before the sentry sleeps: 64 pauses, then yields


class PlatformError(Exception):
    pass


# Bumped whenever any thread's fs or gs base is set (SysRegs) or an address
# space queues a mapping change: the one test of the cycle and of resume
# for both (a context whose `seen` is the count has nothing of either to
# apply; else resume looks, and notes the count).
_CHANGES = [0]


def _counted(name):
    """A base register's property over the plain attribute `name`: setting
    it counts in _CHANGES."""
    def set_base(self, v):
        setattr(self, name, v)
        _CHANGES[0] += 1
    return property(lambda self: getattr(self, name), set_base)


class SysRegs(ctypes.Structure):
    """The general registers of a host signal frame (struct sigcontext),
    named as in user_regs_struct. orig_rax, fs_base and gs_base are not in a
    signal frame: they are plain attributes that the platform applies (the
    bases through resume: setting one counts in _CHANGES)."""

    _fields_ = [(n, ctypes.c_uint64) for n in (
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
        "rbx", "rdx", "rax", "rcx", "rsp", "rip", "eflags")] + \
        [("cs", ctypes.c_uint16), ("gs", ctypes.c_uint16), ("fs", ctypes.c_uint16),
         ("ss", ctypes.c_uint16), ("err", ctypes.c_uint64), ("trapno", ctypes.c_uint64),
         ("oldmask", ctypes.c_uint64), ("cr2", ctypes.c_uint64)]

    orig_rax = 2**64 - 1
    _fs = 0
    _gs = 0
    ds = es = 0
    fs_base = _counted("_fs")
    gs_base = _counted("_gs")

    def copy(self):
        r = SysRegs()
        r.load(self)
        return r

    def load(self, other):
        ctypes.memmove(ctypes.byref(self), ctypes.byref(other), ctypes.sizeof(SysRegs))
        self.orig_rax, self.fs_base, self.gs_base = other.orig_rax, other.fs_base, other.gs_base


_REGS_SIZE = ctypes.sizeof(SysRegs)


class SysContext(base.Context):
    __slots__ = ("tid", "aspace", "slot", "off", "addr", "alive", "uc", "fs_applied",
                 "gs_applied", "ptr", "run_idx", "control", "frames",
                 "w_state", "w_sleeping", "w_signo", "w_info", "w_cmd", "w_cpu", "w_nap", "w_fpsaved",
                 "q_uc", "regs_off", "q_rax", "seen")

    def __init__(self, aspace, slot, off, addr):
        self.aspace = aspace
        self.slot = slot  # index within the stub
        self.off = off  # offset in the platform's region
        # indices of the slot's words in the platform's u32 (w_) and u64 (q_)
        # views, worked out once for the hot path
        self.w_state, self.w_sleeping = (off + OFF_STATE) >> 2, (off + OFF_SLEEPING) >> 2
        self.w_signo, self.w_info = (off + OFF_SIGNO) >> 2, (off + OFF_INFO) >> 2
        self.w_cmd, self.w_cpu = (off + OFF_CMD) >> 2, (off + OFF_CPU) >> 2
        self.w_nap, self.w_fpsaved = (off + OFF_NAP) >> 2, (off + OFF_FPSAVED) >> 2
        self.q_uc = (off + OFF_UC) >> 3
        self.addr = addr  # address in the stub
        self.tid = 0
        self.alive = True
        self.uc = 0
        self.frames = {}  # ucontext address -> SysRegs over it
        self.regs = None
        self.regs_off = 0  # the current frame's registers (regs) in the platform's map
        self.q_rax = 0  # and their rax in its u64 view
        self.owner = None
        self.fs_applied = 0
        self.gs_applied = addr  # the stub's thread_start points gs at the slot
        self.seen = -1  # _CHANGES when resume last applied bases and mapping changes
        self.ptr = None  # the state word's address in the sentry
        self.run_idx = -1
        self.control = False

    def _fp(self):
        """(region offset, size) of the XSAVE image in the current frame."""
        p = self.aspace.platform
        fp = _U64.unpack_from(p.map, self.off + (self.uc - self.addr) + 224)[0]
        off = self.off + (fp - self.addr)
        magic, _, _, size = struct.unpack_from("<IIQI", p.map, off + 464)
        return off, (size if magic == 0x46505853 else 512)

    def fpstate(self):
        p = self.aspace.platform
        if self.uc == self.addr + PF_UC and not p.u32[self.w_fpsaved]:
            p.command(self, CMD_XSAVE, 0)  # at a patched site the CPU holds it: have it saved
            p.u32[self.w_state] = HANDLING  # (as it was: the command's event is no new one)
        off, size = self._fp()
        return bytes(p.map[off:off + size])

    def fpstate_size(self):
        return self._fp()[1]

    def set_fpstate(self, data):
        """data: a whole XSAVE image (fpstate_size bytes)."""
        off, size = self._fp()
        p = self.aspace.platform
        m = p.map
        n = min(len(data), size)
        m[off:off + 464] = data[:464]  # keep the software bytes (464..511) of this frame
        if n > 512:
            m[off + 512:off + n] = data[512:n]
        if self.uc == self.addr + PF_UC:
            p.u32[self.w_fpsaved] = 1  # patch_leave loads it


class SysAddressSpace(base.AddressSpace):
    """The app's mappings change in the stub in batches: map, unmap and
    protect queue host syscalls, and the queue runs before a thread of this
    address space runs app code again (resume): the thread itself runs it
    on its way back when it is the process's only one (no round trip of its
    own; nothing of the app runs in the process before it), else the
    control thread does, in one command. The sentry reaches app memory
    through its own mapping of the memory file, never the stub's, so
    nothing else waits for them. A host refusal then (the host's map count
    or memory) is the process's end, not the syscall's error."""

    deferred = True

    def __init__(self, platform, pid, control):
        self.platform = platform
        self.pid = pid
        self.control = control
        control.aspace = self
        self.contexts = set()
        self.slots = {0: control}  # stub slot index -> context (live or exiting)
        self.dead = False
        self.pending = []  # (nr, args...) of host syscalls not run yet

    def _syscall(self, nr, *args):
        ret = self.platform.command(self.control, CMD_SYSCALL, nr, *args)
        if ret >= 2**64 - 4095:
            e = 2**64 - ret
            raise OSError(e, os.strerror(e))
        return ret

    def map(self, addr, length, prot, offset):
        self._queue((_NR_MMAP, addr, length, prot, _MAP_SHARED_FIXED, stub.MEMFD_FD, offset))

    def unmap(self, addr, length):
        self._queue((_NR_MUNMAP, addr, length, 0, 0, 0, 0))

    def protect(self, addr, length, prot):
        self._queue((_NR_MPROTECT, addr, length, prot, 0, 0, 0))

    def _queue(self, entry):
        self.pending.append(entry)
        _CHANGES[0] += 1
        if len(self.pending) >= BATCH_MAX:
            self.flush()

    def take(self, ctx):
        """Move the queued host syscalls into ctx's slot; their number."""
        pending, self.pending = self.pending, []
        m, off = self.platform.map, ctx.off
        for i, e in enumerate(pending):
            _ENTRY.pack_into(m, off + BATCH + i * 56, *e)
        _U64.pack_into(m, off + OFF_NR, len(pending))
        return len(pending)

    def flush(self):
        """Run the queued host syscalls in the stub, in order, now."""
        pending = self.pending
        if not pending or self.dead:
            self.pending = []
            return
        p = self.platform
        ret = p.command(self.control, CMD_BATCH, self.take(self.control))
        if ret:
            e = 2**64 - ret
            done = _U64.unpack_from(p.map, self.control.off + OFF_NR + 8)[0]
            raise OSError(e, f"host syscall {pending[done][0]} for the app's mappings: "
                             f"{os.strerror(e)}")

    def new_context(self, via=None):
        p = self.platform
        p.nap_waiting()  # two commands and a new thread's start: ~0.3 ms
        i = 1
        while i in self.slots:
            c = self.slots[i]
            if not c.alive and p.u32[(c.off + OFF_CTID) >> 2] == 0:  # that thread is gone
                p.free_slot(c.off)
                del self.slots[i]
                break
            i += 1
        off = p.alloc_slot()
        addr = STUB_SLOTS + i * SLOT
        ctx = SysContext(self, i, off, addr)
        self.slots[i] = ctx
        try:
            self._syscall(_NR_MMAP, addr, SLOT, 3, _MAP_SHARED_FIXED, stub.MEMFD_FD, p.region_off + off)
            p.u32[(off + OFF_CTID) >> 2] = 1
            tid = p.command(self.control, CMD_CLONE, _NR_CLONE, _CLONE_THREAD, addr + 0x3000, 0,
                            addr + OFF_CTID, 0)
            if tid >= 2**64 - 4095:
                raise OSError(2**64 - tid, "clone of a stub thread failed")
            p.await_ready(ctx)
        except BaseException:
            ctx.alive = False
            raise
        ctx.tid = tid
        self.contexts.add(ctx)
        return ctx

    def release(self):
        """Kill the stub; the sentry reaps it (it is a child) and frees its slots."""
        self.pending = []
        p = self.platform
        for c in self.slots.values():
            c.alive = False
            p.stop_running(c)
        self.contexts.clear()
        self.dead = True
        self.kill_stub()


class SystrapPlatform(base.Platform):
    max_user_address = stub.STUB_BASE

    def __init__(self, memfd):
        self.memfd = memfd
        size = os.fstat(memfd).st_size
        self.region_off = size - REGION
        self.map = mmap.mmap(memfd, REGION, offset=self.region_off)
        self.u32 = memoryview(self.map).cast("I")
        self.u64 = memoryview(self.map).cast("Q")
        self.base_addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self._free_slots = []
        self._next_slot = SLOT  # slot 0 of the region is the global page
        helpers = bytearray(HELPERS)
        _U64.pack_into(helpers, SYMBOLS["helper_global"], self.base_addr)  # st_spin finds G_* there
        self.spin, self.resume_native, self.xchg, has_rdpid = hs.native_helpers(bytes(helpers), SYMBOLS)
        # Where both sides note the CPU they last ran on, to skip spinning
        # for a peer that shares it (systrap_stub.S, handover and st_spin)
        self.cpu_hint = bool(has_rdpid())
        self.map[20:24] = struct.pack("<I", self.cpu_hint)  # G_RDPID
        # contexts the sentry let run: their state words are scanned. A
        # context stays here while the kernel handles its event (state
        # HANDLING), so the hot path neither removes nor re-adds it.
        self.running = []
        self.run_ptrs = (ctypes.c_void_p * 4096)()
        self.run_ptrs_addr = ctypes.addressof(self.run_ptrs)
        self.hit = -1  # index in running of the event block() found
        # cycle polled in Python for an event that did not come: the next
        # wait goes straight to st_spin (a second poll would only burn ~15 us)
        self.polled = False
        self.cycled = None  # the context whose syscall cycle took (a few threads run)
        self.trapped = 0  # and whether it trapped
        # A lock's acquire is a locked instruction, the full barrier resume()
        # needs between its store and load, cheaper than a ctypes call.
        self.fence = _thread.allocate_lock()
        self.eventfd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        hs.block_signals([signal.SIGCHLD])
        self.sigfd = hs.signalfd([signal.SIGCHLD])
        self.ep = select.epoll()
        self.ep.register(self.eventfd, select.EPOLLIN)
        self.ep.register(self.sigfd, select.EPOLLIN)
        self.stubs = {}  # pid -> SysAddressSpace
        self.sleeping_ptr = ctypes.c_void_p(self.base_addr)  # the global page's flag
        self.map[8:16] = _U64.pack(1)  # G_ONE
        self.zygote = None
        self._zygote_starting = None  # SysAddressSpace of a zygote started by prepare()
        self._spare = None  # a stub the zygote forks ahead of need (new_address_space)
        self.initial_fpstate = None
        self.slept = False
        self._dead = []  # reaped stubs whose threads' EXITED events are not out yet
        self.patch_entry = stub.STUB_BASE + _CODE_OFF + SYMBOLS["patch_entry"]

    # --- slots ------------------------------------------------------------
    def alloc_slot(self):
        if self._free_slots:
            off = self._free_slots.pop()
        else:
            off = self._next_slot
            if off + SLOT > REGION:
                raise PlatformError("out of stub thread slots")
            self._next_slot += SLOT
        self.map[off:off + 256] = bytes(256)
        self.u32[(off + OFF_NAP) >> 2] = 1
        return off

    def free_slot(self, off):
        self._free_slots.append(off)

    # --- talking to a stub thread -------------------------------------------
    def _ptr(self, ctx):
        if ctx.ptr is None:
            ctx.ptr = ctypes.c_void_p(self.base_addr + ctx.off)
        return ctx.ptr

    def command(self, ctx, cmd, nr, *args):
        """Run a command on a waiting stub thread and wait for it to finish."""
        self._send(ctx, cmd, nr, *args)
        return self._result(ctx)

    def _send(self, ctx, cmd, nr, *args):
        """Start a command on a waiting stub thread (_result waits for it)."""
        off = ctx.off
        a = list(args) + [0] * (6 - len(args))
        struct.pack_into("<7Q", self.map, off + OFF_NR, nr, *[x & 0xFFFFFFFFFFFFFFFF for x in a])
        self.u32[(off + OFF_CMD) >> 2] = cmd
        self.resume_native(self._ptr(ctx))

    def _result(self, ctx):
        self._await(ctx)
        off = ctx.off
        if self.u32[(off + OFF_KIND) >> 2] != KIND_DONE:
            raise PlatformError(f"stub thread {ctx.tid}: unexpected event during a command")
        return _U64.unpack_from(self.map, off + OFF_RET)[0]

    def _await(self, ctx):
        """Wait for one thread's next event (spin, then sleep on the eventfd)."""
        ptrs = (ctypes.c_void_p * 1)(self.base_addr + ctx.off)
        idx = (ctx.off + OFF_STATE) >> 2
        u32 = self.u32
        while u32[idx] != EVENT:
            if self.spin(ptrs, 1, _SPIN_ROUNDS) == 0:
                break
            self.xchg(self.sleeping_ptr, 1)
            if u32[idx] != EVENT:
                for fd, _ in self.ep.poll(1.0):
                    if fd == self.sigfd:
                        self._reap_quietly(ctx)
            self.slept = True  # the eventfd may hold wakes meant for the loop
            self.u32[0] = 0
            try:
                os.read(self.eventfd, 8)
            except BlockingIOError:
                pass

    def _reap_quietly(self, waiting_for):
        """Stub deaths noticed while waiting on one thread: if it is that
        thread's process, the wait fails."""
        for asp in self._reap():
            if asp is waiting_for.aspace or asp.control is waiting_for:
                raise PlatformError(f"stub {asp.pid} died")

    def await_ready(self, ctx):
        """A new thread's first event: the SIGURG it raised on itself."""
        self._await(ctx)
        if self.u32[(ctx.off + OFF_SIGNO) >> 2] != _SIGURG:
            raise PlatformError("a new stub thread did not start")
        self._take_frame(ctx)
        ctx.tid = self.u32[(ctx.off + OFF_TID) >> 2]
        self._init_patch_frame(ctx)

    def _init_patch_frame(self, ctx):
        """Fill the parts of the thread's patch frame that a host signal
        frame has and the stub's patch_entry does not write, from the host
        frame of the thread's first signal: ucontext flags and signal stack,
        segment selectors and signal mask (for the rt_sigreturn of a gs
        change), and the XSAVE image's software bytes and end magic."""
        m = self.map
        uc = ctx.off + (ctx.uc - ctx.addr)
        pf = ctx.off + PF_UC
        m[pf:pf + 40] = m[uc:uc + 40]
        m[pf + 184:pf + 192] = m[uc + 184:uc + 192]
        m[pf + 296:pf + 304] = m[uc + 296:uc + 304]
        fpoff, size = ctx._fp()
        if size > PF_END - PF_FP:  # an XSAVE image bigger than the room for it (AMX)
            self.patch_entry = None
            return
        fp = ctx.off + PF_FP
        m[fp + 464:fp + 512] = m[fpoff + 464:fpoff + 512]
        m[fp + 512:fp + 576] = bytes(64)  # XSAVE header: XRSTOR wants its reserved bytes zero
        m[fp + size:fp + size + 4] = m[fpoff + size:fpoff + size + 4]

    def _take_frame(self, ctx):
        uc = _U64.unpack_from(self.map, ctx.off + OFF_UC)[0]
        if uc != ctx.uc or ctx.regs is None:
            old = ctx.regs
            # a thread alternates between a few frames (the host's SIGSYS
            # frame, the patch frame): one register view of each, kept
            r = ctx.frames.get(uc)
            off = ctx.off + (uc - ctx.addr) + 40
            if r is None:
                r = ctx.frames[uc] = SysRegs.from_buffer(self.map, off)
            ctx.regs_off = off
            ctx.q_rax = (off >> 3) + 13
            if old is not None:  # the same thread's bases: nothing new to apply
                r.orig_rax, r._fs, r._gs = old.orig_rax, old._fs, old._gs
            ctx.regs = r
            ctx.uc = uc

    # --- address spaces ---------------------------------------------------
    def _stub_elf(self, slot_off):
        code = bytearray(STUB)
        code_off = _CODE_OFF
        base_addr = stub.STUB_BASE + code_off
        struct.pack_into("<Q", code, SYMBOLS["param_global_off"], self.region_off)
        struct.pack_into("<Q", code, SYMBOLS["param_slot_off"], self.region_off + slot_off)
        filt = _filter(base_addr, base_addr + SYMBOLS["stub_code_end"])
        assert len(filt) <= 16 * 8
        struct.pack_into("<H6xQ", code, SYMBOLS["fprog"], len(filt) // 8, base_addr + SYMBOLS["filter"])
        code[SYMBOLS["filter"]:SYMBOLS["filter"] + len(filt)] = filt
        total = code_off + len(code)
        ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1,
                           base_addr + SYMBOLS["stub_start"], 64, 0, 0, 64, 56, 1, 0, 0, 0)
        phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, stub.STUB_BASE, stub.STUB_BASE, total, total, 0x1000)
        return ehdr + phdr + bytes(code)

    def prepare(self):
        """Start the zygote stub (fork, exec, its filter: a few ms) while
        the sandbox is being built; the first new_address_space waits for it."""
        if self.zygote is None and self._zygote_starting is None:
            off = self.alloc_slot()
            elf = self._stub_elf(off)
            fd = os.memfd_create("bastion-systrap", os.MFD_CLOEXEC)
            os.write(fd, elf)
            me = os.getpid()
            pid = os.fork()
            if pid == 0:  # the zygote
                base.exec_stub(fd, {stub.MEMFD_FD: self.memfd, EVENTFD_FD: self.eventfd}, me)
            os.close(fd)
            control = SysContext(None, 0, off, STUB_SLOTS)
            control.control = True
            asp = SysAddressSpace(self, pid, control)
            self.stubs[pid] = asp
            self._zygote_starting = asp

    def _make_zygote(self):
        self.prepare()
        asp, self._zygote_starting = self._zygote_starting, None
        self.await_ready(asp.control)
        self.initial_fpstate = asp.control.fpstate()
        self.zygote = asp

    def new_address_space(self):
        if self.zygote is None:
            self._make_zygote()
        # the stub forked ahead (at the last call) is usually up by now; the
        # next one forks on the zygote's CPU while the app runs
        spare, self._spare = self._spare or self._fork_stub(), None
        off, first = spare
        pid = self._result(self.zygote.control)
        if pid >= 2**64 - 4095:
            self.free_slot(off)
            self.free_slot(first)
            raise OSError(2**64 - pid, "fork of a stub failed")
        control = SysContext(None, 0, off, STUB_SLOTS)
        control.control = True
        asp = SysAddressSpace(self, pid, control)
        self.stubs[pid] = asp
        ctx = asp.slots[1] = SysContext(asp, 1, first, STUB_SLOTS + SLOT)
        try:
            self.await_ready(control)
            self.await_ready(ctx)
        except BaseException:
            ctx.alive = False
            raise
        asp.contexts.add(ctx)
        self._spare = self._fork_stub()
        return asp, ctx

    def _fork_stub(self):
        """Have the zygote fork a stub with its first app thread started (the
        child maps that thread's slot and clones it itself: no commands of
        their own); the pid comes from _result on the zygote's control.
        Returns (control slot offset, first thread's slot offset)."""
        off = self.alloc_slot()
        first = self.alloc_slot()
        self.u32[(first + OFF_CTID) >> 2] = 1
        self._send(self.zygote.control, CMD_FORK, _NR_CLONE, _CLONE_PARENT | signal.SIGCHLD,
                   self.region_off + off, self.region_off + first, _CLONE_THREAD)
        return off, first

    # --- running app threads ------------------------------------------------
    def resume(self, ctx):
        cmd = CMD_RESUME
        changes = _CHANGES[0]
        if ctx.seen != changes:  # a base set or a mapping change queued somewhere since
            ctx.seen = changes
            asp = ctx.aspace
            if asp.pending:
                if len(asp.contexts) == 1:  # the only thread: it runs them on its way back
                    asp.take(ctx)
                    cmd = CMD_RUN
                else:
                    asp.flush()
            r = ctx.regs
            if r.fs_base != ctx.fs_applied or (r.gs_base or ctx.addr) != ctx.gs_applied:
                self._set_bases(ctx, r)
        u32 = self.u32
        u32[ctx.w_cmd] = cmd
        if ctx.run_idx < 0:
            running = self.running
            ctx.run_idx = len(running)
            running.append(ctx)
            self.run_ptrs[ctx.run_idx] = self.base_addr + ctx.off
        # st_resume in Python: state = CMD, a full barrier, then FUTEX_WAKE
        # if the thread went to sleep (its xchg of SLEEPING and our fence
        # order the two sides: one of us sees the other's store)
        u32[ctx.w_state] = CMD
        fence = self.fence
        fence.acquire()
        fence.release()
        if u32[ctx.w_sleeping]:
            # a wake only: the state word may already hold its next EVENT
            hs.futex_wake(self.base_addr + ctx.off)

    def cycle(self, ctx, rax):
        # (see base.Platform.cycle) resume's st_resume and poll_one's poll
        # written out again: this is most syscalls' whole round trip
        running = self.running
        if ctx.run_idx < 0 or ctx.seen != _CHANGES[0] or len(running) > _CYCLE_MAX:
            ctx.regs.rax = rax
            self.resume(ctx)
            return None
        u32 = self.u32
        self.u64[ctx.q_rax] = rax
        u32[ctx.w_cmd] = CMD_RESUME
        i = ctx.w_state
        u32[i] = CMD
        fence = self.fence
        fence.acquire()
        fence.release()
        if u32[ctx.w_sleeping]:
            hs.futex_wake(self.base_addr + ctx.off)
        if len(running) == 1:
            if u32[i] != EVENT:
                if self.cpu_hint and u32[ctx.w_cpu] == u32[_W_SENTRY_CPU]:
                    return None
                for _ in _PY_POLLS:
                    if u32[i] == EVENT:
                        break
                else:
                    self.polled = True
                    return None
            c = ctx
        else:
            c = self._next_event(ctx)
            if c is None:
                return None
            i = c.w_state
        if u32[c.w_signo] != _SIGSYS:  # a fault or kick: the kernel's loop takes it (_event)
            return None
        self.trapped = u32[c.w_info]  # from a trap, not a patched site (as _event's info)
        u32[i] = HANDLING
        if self.u64[c.q_uc] != c.uc:
            self._take_frame(c)
        a = _ARGS.unpack_from(self.map, c.regs_off)
        c.regs.orig_rax = a[6]
        self.cycled = c
        return a

    def _next_event(self, ctx):
        """cycle's poll where several threads run: _scan from the one after
        ctx (ctx last: a thread that makes syscall after syscall cannot keep
        the others waiting)."""
        running = self.running
        j = ctx.run_idx + 1
        c = self._scan(running[j:] + running[:j])
        if c is None:
            self.polled = True
        return c

    def _set_bases(self, ctx, r):
        """Have the thread load the fs and gs bases of r on its way back."""
        off = ctx.off
        setfs = 0
        if r.fs_base != ctx.fs_applied:
            _U64.pack_into(self.map, off + OFF_FSBASE, r.fs_base)
            ctx.fs_applied = r.fs_base
            setfs = 1
        gs = r.gs_base or ctx.addr  # an app without a gs base of its own: the slot's (patch_entry)
        if gs != ctx.gs_applied:
            _U64.pack_into(self.map, off + OFF_GSBASE, gs)
            ctx.gs_applied = gs
            setfs |= 2
        self.u32[(off + OFF_SETFS) >> 2] = setfs

    def stop_running(self, ctx):
        i = ctx.run_idx
        if i < 0:
            return
        running = self.running
        last = running.pop()
        if last is not ctx:
            running[i] = last
            last.run_idx = i
            self.run_ptrs[i] = self.run_ptrs[len(running)]
        ctx.run_idx = -1

    def release_context(self, ctx):
        if not ctx.alive:
            return
        ctx.alive = False
        self.stop_running(ctx)
        ctx.aspace.contexts.discard(ctx)
        self.u32[(ctx.off + OFF_CMD) >> 2] = CMD_EXIT
        self.resume_native(self._ptr(ctx))

    # --- events ---------------------------------------------------------------
    def fileno(self):
        return self.ep.fileno()

    def prepare_sleep(self):
        """Before the kernel sleeps in its epoll: spin a little, then tell the
        stubs to write the eventfd. True if an event is already there."""
        n = len(self.running)
        polled, self.polled = self.polled, False
        if 0 < n <= _CYCLE_MAX and not polled and self._poll():
            return True
        if n and self.spin(self.run_ptrs_addr, n, _SPIN_ROUNDS) >= 0:
            return True
        return self._announce_sleep(n)

    def nap(self, ctx):
        self.u32[ctx.w_nap] = 1

    def nap_waiting(self):
        # a yielding stub thread takes turns with the gofer on a CPU: tar over
        # /usr/share/doc ~10% faster, python3 -c pass ~6%
        u32 = self.u32
        for c in self.running:
            if u32[c.w_state] == HANDLING:
                u32[c.w_nap] = 1

    def poll_one(self):
        """The one running thread's next event if it comes within a short
        poll of its state word in Python (~15 us at most), else None. The
        one-thread case of _scan's test written out, and the event taken in
        the same call: this is the hot path of every syscall."""
        running = self.running
        if len(running) != 1:
            return None
        ctx = running[0]
        u32 = self.u32
        i = ctx.w_state
        s = u32[i]
        if s == EVENT:  # usually there already: the stub's side is shorter than ours
            self.polled = False
            return self._event(ctx)
        # (w_cpu sits on another cache line of the slot, which the stub
        # writes at every hand-over: read only when the answer is not there)
        if s == HANDLING or self.polled or (self.cpu_hint and u32[ctx.w_cpu] == u32[_W_SENTRY_CPU]):
            return None
        for _ in _PY_POLLS:
            if u32[i] == EVENT:
                return self._event(ctx)
        return None

    def _poll(self):
        """_scan of the running threads: True, and self.hit is the index of
        the one with an event."""
        c = self._scan(self.running)
        if c is None:
            return False
        self.hit = c.run_idx
        return True

    def _scan(self, order):
        """The first of these running threads whose state word is EVENT,
        read in Python for a short poll (~15 us at most), or None. The poll
        reads only the threads running app code (one blocked in a syscall,
        HANDLING, cannot answer: a server's idle workers), and only when
        there are at most _PY_POLL_MAX of them (st_spin polls many,
        natively). Not when one of them last handed over on our CPU: it
        cannot answer before we give the CPU up (st_spin yields for it)."""
        u32 = self.u32
        cpu = u32[_W_SENTRY_CPU] if self.cpu_hint else -1  # -1: no CPU is ours
        live = None
        for c in order:
            s = u32[c.w_state]
            if s == EVENT:
                return c
            if s != HANDLING:
                if u32[c.w_cpu] == cpu:
                    return None
                if live is None:
                    live = [c]
                else:
                    live.append(c)
        if live is None or len(live) > _PY_POLL_MAX:
            return None
        for _ in (_PY_POLLS if len(live) == 1 else _PY_POLLS_FEW):
            for c in live:
                if u32[c.w_state] == EVENT:
                    return c
        return None

    def _announce_sleep(self, n):
        """Tell the stubs to write the eventfd from now on; True if an event
        came before they could see it."""
        self.slept = True  # wait() must look at the eventfd and stub deaths
        self.xchg(self.sleeping_ptr, 1)
        return bool(n) and self.spin(self.run_ptrs_addr, n, 1) >= 0

    def block(self):
        n = len(self.running)
        polled, self.polled = self.polled, False
        # one thread: the kernel has just polled it (poll_one)
        if 1 < n <= _CYCLE_MAX and not polled and self._poll():
            return
        if n:
            i = self.spin(self.run_ptrs_addr, n, _SPIN_ROUNDS)
            if i >= 0:
                self.hit = i  # for wait_one
                return
        if not self._announce_sleep(n):
            self.ep.poll(-1)

    def wait(self):
        events = []
        if self.slept:  # the hot path (an event found by spinning) skips this
            self.slept = False
            self.u32[0] = 0
            try:
                os.read(self.eventfd, 8)
            except BlockingIOError:
                pass
            self._collect_deaths(events)
        running = self.running
        n = len(running)
        self.hit = -1
        if n <= _CYCLE_MAX:  # a few: read in Python, cheaper than ctypes calls
            u32 = self.u32
            for c in running:
                if u32[c.w_state] == EVENT:
                    events.append(self._event(c))
            return events
        i = 0
        while i < n:
            j = self.spin(self.run_ptrs_addr + 8 * i, n - i, 1)
            if j < 0:
                break
            i += j
            events.append(self._event(running[i]))
            i += 1
        return events

    def wait_one(self):
        i = self.hit
        if i < 0 or self.slept:
            return self.wait()
        self.hit = -1
        return [self._event(self.running[i])]

    def _event(self, ctx):
        """The event of a thread whose state word is EVENT."""
        u32 = self.u32
        u32[ctx.w_state] = HANDLING
        if self.u64[ctx.q_uc] != ctx.uc:  # a frame elsewhere than the last
            self._take_frame(ctx)
        signo = u32[ctx.w_signo]
        if signo == _SIGSYS:
            r = ctx.regs
            r.orig_rax = r.rax
            # info: trapped (a site the kernel may patch), not from a patched site
            return ctx, _SYSCALL, u32[ctx.w_info] != 0
        if signo == _SIGURG:
            return ctx, base.INTERRUPT, None
        if signo == 0:  # the host refused its batch of mapping changes (CMD_RUN)
            return ctx, base.EXITED, signal.SIGKILL
        m = self.map
        off = ctx.off
        info = off + (_U64.unpack_from(m, off + OFF_INFO)[0] - ctx.addr)
        code = struct.unpack_from("<i", m, info + 8)[0]
        addr = _U64.unpack_from(m, info + 16)[0]
        return ctx, base.FAULT, (signo, code, addr)

    def _collect_deaths(self, events):
        """Stubs that died while their threads were the kernel's (killed from
        outside, out of memory): each live thread becomes an EXITED event."""
        self._reap()
        dead, self._dead = self._dead, []
        for asp in dead:
            if not asp.dead:
                for c in list(asp.contexts):
                    if c.alive:
                        c.alive = False
                        self.stop_running(c)
                        events.append((c, base.EXITED, 9))

    def _reap(self):
        """Collect dead stubs (every stub is our child); free their slots."""
        try:
            os.read(self.sigfd, 1024)
        except BlockingIOError:
            pass
        dead = []
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            asp = self.stubs.pop(pid, None)
            if asp is not None:
                live = [c for c in asp.contexts if c.alive]
                for c in asp.slots.values():
                    self.stop_running(c)
                    self.free_slot(c.off)
                asp.slots = {}
                asp.contexts = set(live)  # for _collect_deaths
                dead.append(asp)
        self._dead += dead
        return dead


def _filter(lo, hi):
    """Allow host syscalls made from [lo, hi) (the stub's code), trap the rest."""
    def insn(code, jt, jf, k):
        return struct.pack("<HBBI", code, jt, jf, k)
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    trap, allow, kill = 0x00030000, 0x7FFF0000, 0x80000000
    assert lo >> 32 == hi >> 32
    return b"".join([
        insn(ld, 0, 0, 4),                             # 0 arch
        insn(jeq, 0, 7, 0xC000003E),                   # 1 -> 9 kill
        insn(ld, 0, 0, 12),                            # 2 ip, high half
        insn(jeq, 0, 4, lo >> 32),                     # 3 -> 8 trap
        insn(ld, 0, 0, 8),                             # 4 ip, low half
        insn(jge, 0, 2, lo & 0xFFFFFFFF),              # 5 below -> 8 trap
        insn(jge, 1, 0, hi & 0xFFFFFFFF),              # 6 above -> 8 trap
        insn(ret, 0, 0, allow),                        # 7
        insn(ret, 0, 0, trap),                         # 8
        insn(ret, 0, 0, kill),                         # 9
    ])
