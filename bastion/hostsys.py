"""Every raw host system call Bastion makes that Python's os module lacks.

Keeping them in one module makes the sentry's host surface easy to audit and,
later, to confine with a seccomp allowlist. Everything here is a thin ctypes
wrapper that raises OSError on failure, like the os module does.
"""

import ctypes
import os
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# Host syscall numbers we call through syscall(2).
_NR_PTRACE = 101
_NR_PRCTL = 157
_NR_OPENAT2 = 437
_NR_FALLOCATE = 285
_NR_SIGNALFD4 = 289
_NR_FUTEX = 202
_NR_TGKILL = 234
_NR_GETDENTS64 = 217


def _check(ret):
    if ret == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


class Regs(ctypes.Structure):
    """struct user_regs_struct (x86-64), the layout PTRACE_GETREGS uses."""

    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
        "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
        "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")]

    def copy(self):
        r = Regs()
        ctypes.memmove(ctypes.byref(r), ctypes.byref(self), ctypes.sizeof(Regs))
        return r

    def load(self, other):
        ctypes.memmove(ctypes.byref(self), ctypes.byref(other), ctypes.sizeof(Regs))


REG_NAMES = [f[0] for f in Regs._fields_]
FPREGS_SIZE = 512  # struct user_fpregs_struct (fxsave layout)

# ptrace requests (linux/ptrace.h)
PTRACE_TRACEME = 0
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_GETFPREGS = 14
PTRACE_SETFPREGS = 15
PTRACE_SYSCALL = 24
PTRACE_SYSEMU = 31
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_INTERRUPT = 0x4207

PTRACE_O_TRACESYSGOOD = 1
PTRACE_O_TRACEFORK = 2
PTRACE_O_TRACECLONE = 8
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_FORK = 1
PTRACE_EVENT_CLONE = 3

_ptrace = _libc.ptrace
_ptrace.restype = ctypes.c_long
_ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]


def ptrace(req, pid, addr=None, data=None):
    ret = _ptrace(req, pid, addr, data)
    if ret == -1:
        e = ctypes.get_errno()
        if e:
            raise OSError(e, os.strerror(e))
    return ret


def ptrace_getregs(tid, regs):
    if _ptrace(PTRACE_GETREGS, tid, None, ctypes.byref(regs)) == -1:
        _check(-1)


def ptrace_setregs(tid, regs):
    if _ptrace(PTRACE_SETREGS, tid, None, ctypes.byref(regs)) == -1:
        _check(-1)


def ptrace_getfpregs(tid):
    buf = ctypes.create_string_buffer(FPREGS_SIZE)
    _check(_ptrace(PTRACE_GETFPREGS, tid, None, buf))
    return buf.raw


def ptrace_setfpregs(tid, data):
    buf = ctypes.create_string_buffer(bytes(data), FPREGS_SIZE)
    _check(_ptrace(PTRACE_SETFPREGS, tid, None, buf))


PTRACE_GETREGSET, PTRACE_SETREGSET = 0x4204, 0x4205
NT_X86_XSTATE = 0x202
XSTATE_MAX = 16384


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def ptrace_getxstate(tid):
    """The thread's whole XSAVE area (x87, SSE, AVX, ...), as the CPU saves it."""
    buf = ctypes.create_string_buffer(XSTATE_MAX)
    iov = _IoVec(ctypes.cast(buf, ctypes.c_void_p), XSTATE_MAX)
    _check(_ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, ctypes.byref(iov)))
    return buf.raw[:iov.len]


def ptrace_setxstate(tid, data):
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    iov = _IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
    _check(_ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, ctypes.byref(iov)))


def ptrace_getsiginfo(tid):
    buf = ctypes.create_string_buffer(128)
    _check(_ptrace(PTRACE_GETSIGINFO, tid, None, buf))
    return buf.raw


def ptrace_geteventmsg(tid):
    v = ctypes.c_ulong()
    _check(_ptrace(PTRACE_GETEVENTMSG, tid, None, ctypes.byref(v)))
    return v.value


def ptrace_resume(req, tid, sig=0):
    """PTRACE_CONT / PTRACE_SYSEMU / PTRACE_SYSCALL with an injected signal."""
    if _ptrace(req, tid, None, sig) == -1:
        _check(-1)


class WaitInfo(ctypes.Structure):
    """The head of a siginfo_t as waitid(2) fills it. A waitid that writes
    here keeps its event even if a Python signal handler raises right after
    the call returns (os.waitpid's result would be lost)."""
    _fields_ = [("si_signo", ctypes.c_int), ("si_errno", ctypes.c_int),
                ("si_code", ctypes.c_int), ("_pad", ctypes.c_int),
                ("si_pid", ctypes.c_int), ("si_uid", ctypes.c_int),
                ("si_status", ctypes.c_int), ("_rest", ctypes.c_byte * 100)]

    def wait_status(self):
        """The event as a waitpid(2) status word."""
        code, st = self.si_code, self.si_status
        if code == CLD_EXITED:
            return (st & 0xFF) << 8
        if code in (CLD_KILLED, CLD_DUMPED):
            return st | (0x80 if code == CLD_DUMPED else 0)
        if code == CLD_CONTINUED:
            return 0xFFFF
        return (st << 8) | 0x7F  # CLD_TRAPPED / CLD_STOPPED: the stop signal and ptrace event


CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
P_ALL = 0
waitid = _libc.waitid
waitid.restype = ctypes.c_int
waitid.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]


def getcpu():
    """The CPU the calling thread runs on (sched_getcpu(3))."""
    return _check(_libc.sched_getcpu())


def ptrace_traceme():
    _check(_ptrace(PTRACE_TRACEME, 0, None, None))


def ptrace_setoptions(tid, opts):
    _check(_ptrace(PTRACE_SETOPTIONS, tid, None, opts))


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _check(_syscall(_NR_PRCTL, ctypes.c_long(option), ctypes.c_ulong(arg2),
                           ctypes.c_ulong(arg3), ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)))


PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def die_with(parent):
    """In a child just forked from process `parent`: be killed when it
    dies, and die now if it died already (before the prctl, which then
    never fires: the child would outlive the sandbox)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2


def punch_hole(fd, offset, length):
    """Give the pages of a memory file range back to the host."""
    _check(_syscall(_NR_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    ctypes.c_long(offset), ctypes.c_long(length)))


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def malloc_keep(trim, mmap_min):
    """glibc malloc: give freed heap back to the host only past `trim` bytes
    free at its top, and serve allocations below `mmap_min` from the heap.
    (Its defaults move with the process's history: a sentry passing 64 KiB
    pipe buffers could shrink and regrow its heap with brk at every one, and
    fault its pages in again each time.)"""
    _libc.mallopt(M_TRIM_THRESHOLD, trim)
    _libc.mallopt(M_MMAP_THRESHOLD, mmap_min)


def signalfd(signals, flags=os.O_CLOEXEC | os.O_NONBLOCK):
    mask = 0
    for s in signals:
        mask |= 1 << (int(s) - 1)
    m = ctypes.c_ulonglong(mask)
    return _check(_syscall(_NR_SIGNALFD4, -1, ctypes.byref(m), 8, flags))


def tgkill(tgid, tid, sig):
    _check(_syscall(_NR_TGKILL, tgid, tid, sig))


def futex_wake(addr, n=1):
    """FUTEX_WAKE (shared, not private: the waiter is another process) on
    the u32 at host address `addr`; the number woken."""
    return _check(_syscall(_NR_FUTEX, ctypes.c_void_p(addr), 1, n, None, None, 0))


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_ulonglong), ("mode", ctypes.c_ulonglong),
                ("resolve", ctypes.c_ulonglong)]


RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


_dents = ctypes.create_string_buffer(1 << 20)  # getdents64's buffer, reused (1 MiB: sys_getdents64's cap)


def getdents64(fd, n):
    """Up to n bytes (at most 1 MiB) of directory fd's linux_dirent64 records."""
    r = _check(_syscall(_NR_GETDENTS64, fd, _dents, min(n, 1 << 20)))
    return ctypes.string_at(_dents, r)


def getdents64_at(fd, addr, n):
    """getdents64 straight into memory at addr (the memory file's mapping:
    an app's buffer), n bytes at most; the byte count."""
    return _check(_syscall(_NR_GETDENTS64, fd, ctypes.c_void_p(addr), n))


def openat2(dirfd, path, flags, mode=0, resolve=0):
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return _check(_syscall(_NR_OPENAT2, dirfd, os.fsencode(path), ctypes.byref(how),
                           ctypes.sizeof(how)))


def block_signals(sigs):
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)


# --- the CPU's time-stamp counter (sentry/vdso) ---------------------------
# Not syscalls, but host hardware the sentry reads: two tiny functions of
# machine code in a read+exec page, called through ctypes.
_CODE = bytes.fromhex(
    "0faee8"        # rdtsc:  lfence            (no earlier load passes it)
    "0f31"          #         rdtsc
    "48c1e220"      #         shl rdx, 32
    "4809d0"        #         or rax, rdx
    "c3"            #         ret
    "53"            # cpuid:  push rbx          (cpuid(leaf, u32 out[4]))
    "89f8"          #         mov eax, edi
    "31c9"          #         xor ecx, ecx
    "4989f0"        #         mov r8, rsi
    "0fa2"          #         cpuid
    "418900"        #         mov [r8], eax
    "41895804"      #         mov [r8+4], ebx
    "41894808"      #         mov [r8+8], ecx
    "4189500c"      #         mov [r8+12], edx
    "5b"            #         pop rbx
    "c3"            #         ret
    "4889f0"        # xchg64: mov rax, rsi      (xchg64(u64 *p, u64 v): the old value)
    "488707"        #         xchg [rdi], rax   (atomic, a full barrier)
    "c3"            #         ret
    "53"            # store128: push rbx        (store128(u64 p[2], u64 lo, u64 hi))
    "4889f3"        #         mov rbx, rsi
    "4889d1"        #         mov rcx, rdx
    "488b07"        #         mov rax, [rdi]
    "488b5708"      #         mov rdx, [rdi+8]
    "f0480fc70f"    # 1:      lock cmpxchg16b [rdi]
    "75f9"          #         jnz 1b
    "5b"            #         pop rbx
    "c3"            #         ret
    "89f0"          # cmpxchg32: mov eax, esi   (cmpxchg32(u32 *p, u32 old, u32 new): the
    "f00fb117"      #         lock cmpxchg [rdi], edx     value found, old if it was stored)
    "c3")           #         ret
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_code = None


def load_code(code):
    """Map machine code read+exec and return its address (written first, then
    made executable: never W+X). The pages stay for the process's life."""
    size = (len(code) + 4095) & ~4095
    addr = _libc.mmap(None, size, 3, 0x22, -1, 0)  # RW, MAP_PRIVATE|MAP_ANONYMOUS
    if addr in (None, ctypes.c_void_p(-1).value):
        _check(-1)
    ctypes.memmove(addr, code, len(code))
    _check(_libc.mprotect(addr, size, 5))  # R|X
    return addr


def _code_page():
    global _code
    if _code is None:
        addr = load_code(_CODE)
        _code = (ctypes.CFUNCTYPE(ctypes.c_uint64)(addr),
                 ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_void_p)(addr + 13),
                 ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64)(addr + 40),
                 ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)(addr + 47),
                 ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                                  ctypes.c_uint32)(addr + 70))
    return _code


def cmpxchg32(addr, old, new):
    """Compare-and-swap the u32 at sentry address addr (the memory file's
    mapping) atomically, as app threads running beside it do theirs (PI
    futex words): the value found there, `old` if `new` was stored."""
    return _code_page()[4](addr, old, new)


def rdtsc():
    """The time-stamp counter, after earlier loads (lfence; rdtsc)."""
    return _code_page()[0]()


def store64(buf, off, value):
    """Store 8 bytes at `off` of a writable buffer (an mmap) in one atomic
    instruction: patching code that app threads may be running."""
    assert off % 8 == 0
    _code_page()[2](ctypes.addressof(ctypes.c_char.from_buffer(buf, off)), value)


def store128(buf, off, value):
    """Store 16 bytes at `off` (16-aligned) of a writable buffer in one
    atomic instruction (lock cmpxchg16b), as store64; only where has_cx16()."""
    assert off % 16 == 0
    _code_page()[3](ctypes.addressof(ctypes.c_char.from_buffer(buf, off)),
                    value & 0xFFFFFFFFFFFFFFFF, value >> 64)


_cx16 = None


def has_cx16():
    """Whether the CPU has cmpxchg16b (CPUID.1:ECX bit 13)."""
    global _cx16
    if _cx16 is None:
        _cx16 = bool(cpuid(1)[2] & (1 << 13))
    return _cx16


def cpuid(leaf):
    """(eax, ebx, ecx, edx) of CPUID `leaf` (subleaf 0)."""
    out = (ctypes.c_uint32 * 4)()
    _code_page()[1](leaf, out)
    return tuple(out)


def set_controlling_tty(fd):
    """Make host terminal `fd` the controlling terminal of this process's new
    session (TIOCSCTTY): its window-size changes then reach us as SIGWINCH."""
    import fcntl
    import termios
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


# --- host network (net/hostinet.py, --network host) ---------------------------
# Host sockets themselves are Python socket objects (the sentry owns them);
# what the socket module cannot express, and the queries of the host's
# interfaces, are here.

_connect = _libc.connect
_connect.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]


def connect_unspec(fd):
    """connect(fd, {AF_UNSPEC}): dissolve a UDP association, abort a TCP one."""
    _check(_connect(fd, bytes(16), 16))


SIOCGIFCONF = 0x8912
IFREQ_SIZE = 40


def ifconf(fd, size=16384):
    """SIOCGIFCONF on a host socket: the packed struct ifreq entries (IPv4)."""
    import fcntl
    import struct
    buf = ctypes.create_string_buffer(size)
    req = struct.pack("<i4xQ", size, ctypes.addressof(buf))
    out = fcntl.ioctl(fd, SIOCGIFCONF, req)
    n = struct.unpack_from("<i", out)[0]
    return buf.raw[:n]


def ifreq_ioctl(fd, req, ifreq):
    """A SIOCGIF* query with a 40-byte struct ifreq (no pointers inside)."""
    import fcntl
    return fcntl.ioctl(fd, req, bytes(ifreq[:IFREQ_SIZE]).ljust(IFREQ_SIZE, b"\0"))


def int_ioctl(fd, req):
    """An ioctl that writes one int (SIOCINQ, SIOCOUTQ, SIOCATMARK)."""
    import fcntl
    import struct
    return struct.unpack("<i", fcntl.ioctl(fd, req, bytes(4)))[0]


def rtnl_dump(kind, body):
    """One NETLINK_ROUTE dump request (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE)
    to the host kernel; returns the reply's messages (header included, the
    final NLMSG_DONE left out) as one bytes. Read-only."""
    import socket
    import struct
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0) as s:
        s.settimeout(2)
        s.bind((0, 0))
        seq = 1
        s.send(struct.pack("<IHHII", 16 + len(body), kind, 0x301, seq, 0) + body)
        out = bytearray()
        while True:
            data = s.recv(65536)
            if not data:
                break
            off = 0
            while off + 16 <= len(data):
                ln, typ = struct.unpack_from("<IH", data, off)
                if ln < 16 or off + ln > len(data):
                    return bytes(out)
                if typ == 3:  # NLMSG_DONE
                    return bytes(out)
                if typ == 2:  # NLMSG_ERROR
                    err = struct.unpack_from("<i", data, off + 16)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return bytes(out)
                out += data[off:off + ln]
                off += (ln + 3) & ~3
    return bytes(out)


def ptrace_step_helper(code, off):
    """The ptrace platform's pt_step (platform/ptrace_step.S): SETREGS,
    SYSEMU, waitid and GETREGS in one call from the sentry's hot path."""
    return ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p)(load_code(code) + off)


def native_helpers(code, syms):
    """The systrap platform's sentry-side helpers (platform/systrap_stub.S,
    assembled at development time): machine code put in an executable page
    and called through ctypes. They are host-syscall code like the rest of
    this module: st_resume issues FUTEX_WAKE. `syms`: their offsets in
    `code`. Returns (spin, resume, xchg, has_rdpid)."""
    base = load_code(code)
    spin = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_long)(
        base + syms["st_spin"])
    resume = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(base + syms["st_resume"])
    xchg = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int)(base + syms["st_xchg"])
    has_rdpid = ctypes.CFUNCTYPE(ctypes.c_int)(base + syms["st_has_rdpid"])
    return spin, resume, xchg, has_rdpid
