"""The stub program: a tiny static ELF that Bastion writes itself.

A stub is the host process that holds one app address space. It has no libc
and no stack; it only (1) unmaps everything the host kernel gave it except its
own page, (2) installs a seccomp filter that kills any host syscall not issued
from the trampoline, (3) stops on `int3` to say it is ready. The tracer then
runs app code in it, and injects host syscalls (mmap of the memory file,
munmap, mprotect, clone, exit) by pointing rip at the trampoline:

    trampoline:  syscall ; int3

App syscalls never run on the host: PTRACE_SYSEMU stops them before seccomp.
The filter is the second wall for the case where the tracer is bypassed.
"""

import struct

# The stub's page lives at the very top of the app's address range; the app
# sees user space end at STUB_BASE (the sentry never maps app memory there).
STUB_BASE = 0x7FF000000000
STUB_SIZE = 0x1000
STUB_END = STUB_BASE + STUB_SIZE
HOST_TASK_TOP = 0x7FFFFFFFF000
# The fd at which every stub holds the memory file (its only host fd).
MEMFD_FD = 3

AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_KILL_PROCESS = 0x80000000


def _mov_eax(v):
    return b"\xb8" + struct.pack("<I", v)


def _mov_edi(v):
    return b"\xbf" + struct.pack("<I", v)


def _mov_esi(v):
    return b"\xbe" + struct.pack("<I", v)


def _movabs(reg_byte, v):  # 48 b8+r imm64
    return b"\x48" + bytes([reg_byte]) + struct.pack("<Q", v)


def _rdi(v):
    return _movabs(0xBF, v)


def _rsi(v):
    return _movabs(0xBE, v)


def _rdx(v):
    return _movabs(0xBA, v)


SYSCALL = b"\x0f\x05"
INT3 = b"\xcc"


def _filter(allowed_ip):
    def insn(code, jt, jf, k):
        return struct.pack("<HBBI", code, jt, jf, k)
    ld, jeq, ret = 0x20, 0x15, 0x06
    return b"".join([
        insn(ld, 0, 0, 4),                       # arch
        insn(jeq, 0, 5, AUDIT_ARCH_X86_64),
        insn(ld, 0, 0, 8),                       # instruction_pointer, low half
        insn(jeq, 0, 3, allowed_ip & 0xFFFFFFFF),
        insn(ld, 0, 0, 12),                      # high half
        insn(jeq, 0, 1, allowed_ip >> 32),
        insn(ret, 0, 0, SECCOMP_RET_ALLOW),
        insn(ret, 0, 0, SECCOMP_RET_KILL_PROCESS),
    ]), 8


def build():
    """Return (elf_bytes, ready_addr, trampoline_addr)."""
    ehdr_size, phdr_size = 64, 56
    code_off = ehdr_size + phdr_size

    def code(fprog_addr):
        return b"".join([
            _mov_eax(11), b"\x31\xff", _rsi(STUB_BASE), SYSCALL,            # munmap below
            _mov_eax(11), _rdi(STUB_END), _rsi(HOST_TASK_TOP - STUB_END), SYSCALL,
            _mov_eax(157), _mov_edi(38), _mov_esi(1), b"\x31\xd2",           # NO_NEW_PRIVS
            b"\x45\x31\xd2", b"\x45\x31\xc0", SYSCALL,
            _mov_eax(317), _mov_edi(1), b"\x31\xf6", _rdx(fprog_addr), SYSCALL,  # seccomp
        ])

    pre = code(0)
    ready = STUB_BASE + code_off + len(pre)
    tramp = ready + 1
    body_len = len(pre) + 1 + len(SYSCALL) + 1
    body_len = (body_len + 7) & ~7
    fprog_addr = STUB_BASE + code_off + body_len
    filt, n = _filter(tramp + 2)
    filt_addr = fprog_addr + 16
    body = code(fprog_addr) + INT3 + SYSCALL + INT3
    body = body.ljust(body_len, b"\x90")
    body += struct.pack("<H6xQ", n, filt_addr) + filt
    total = code_off + len(body)
    assert total <= STUB_SIZE
    ehdr = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1, STUB_BASE + code_off,
        ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, STUB_BASE, STUB_BASE, total, total, 0x1000)
    return ehdr + phdr + body, ready, tramp
