"""--strace: one line per syscall, `[pid] name(args) = result`, decoded the
way strace does for the common argument kinds."""

import os
import sys

from ..abi import errno as E
from ..abi.sysno import NAMES

# argument kinds: s = C string, i = signed int, x = hex, d = fd, o = octal, p = pointer
SIGS = {
    "read": "dpi", "write": "dsi", "open": "sxo", "openat": "dsxo", "close": "d",
    "stat": "sp", "lstat": "sp", "fstat": "dp", "newfstatat": "dspx", "access": "so",
    "faccessat": "dso", "faccessat2": "dsox", "execve": "spp", "chdir": "s", "mkdir": "so",
    "mkdirat": "dso", "unlink": "s", "unlinkat": "dsx", "rmdir": "s", "readlink": "spi",
    "readlinkat": "dspi", "rename": "ss", "renameat": "dsds", "renameat2": "dsdsx",
    "symlink": "ss", "link": "ss", "chmod": "so", "chown": "sii", "truncate": "si",
    "statx": "dsxxp", "mmap": "pxxxdx", "munmap": "pi", "mprotect": "pix", "brk": "p",
    "dup": "d", "dup2": "dd", "dup3": "ddx", "pipe2": "px", "lseek": "dii", "ioctl": "dxp",
    "fcntl": "dxx", "wait4": "ipxp", "kill": "ii", "exit_group": "i", "exit": "i",
    "clone": "xpppp", "getdents64": "dpi", "pread64": "dpii", "pwrite64": "dsii",
    "rt_sigaction": "ippi", "rt_sigprocmask": "ippi", "futex": "pxipxx", "nanosleep": "pp",
}


_ESC = {9: "\\t", 10: "\\n", 13: "\\r", 34: '\\"', 92: "\\\\"}


def quote(b):
    """A C-style quoted string, as strace prints it."""
    out = []
    for c in b:
        if c in _ESC:
            out.append(_ESC[c])
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append(f"\\{c:o}")
    return '"' + "".join(out) + '"'


class Strace:
    def __init__(self, dest):
        self.out = sys.stderr if dest in ("-", "", None) else open(dest, "a", buffering=1)
        self.pending = {}

    def _str(self, t, addr):
        if addr == 0:
            return "NULL"
        try:
            s = t.mm.read_cstr(addr, 4096)
        except Exception:
            return f"{addr:#x}"
        return quote(s[:32]) + ("..." if len(s) > 32 else "")

    def _args(self, t, nr, regs):
        name = NAMES.get(nr, f"syscall_{nr}")
        vals = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
        sig = SIGS.get(name, "xxx")
        out = []
        for kind, v in zip(sig, vals):
            if kind == "s":
                out.append(self._str(t, v))
            elif kind in "id":
                v &= 0xFFFFFFFF if kind == "d" else 0xFFFFFFFFFFFFFFFF
                bits = 32 if kind == "d" else 64
                out.append(str(v - (1 << bits) if v >> (bits - 1) else v) if not (kind == "d" and v == 0xFFFFFF9C) else "AT_FDCWD")
            elif kind == "o":
                out.append(f"0{v:o}")
            elif kind == "p":
                out.append("NULL" if v == 0 else f"{v:#x}")
            else:
                out.append(f"{v:#x}")
        return name, ", ".join(out)

    def enter(self, t, nr, regs):
        self.pending[t.tid] = self._args(t, nr, regs)

    def exit(self, t, nr, regs, ret):
        name, args = self.pending.pop(t.tid, None) or self._args(t, nr, regs)
        if -4096 < ret < 0:
            res = f"-1 {E.NAMES.get(-ret, str(-ret))} ({os.strerror(-ret)})"
        elif name in ("mmap", "brk") and ret > 0:
            res = f"{ret:#x}"
        else:
            res = str(ret)
        self.out.write(f"[{t.tid}] {name}({args}) = {res}\n")
