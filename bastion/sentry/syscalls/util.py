"""Small helpers shared by syscall handlers: argument conversion and
struct copies to and from app memory."""

import struct
import time

from ...abi import errno as E
from ...abi.errno import SyscallError

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_EACCESS = 0x200
PATH_MAX = 4096


def s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def s64(x):
    return x - (1 << 64) if x & (1 << 63) else x


def path_arg(t, addr):
    """A pathname argument as str (surrogateescape)."""
    if addr == 0:
        raise SyscallError(E.EFAULT)
    # os.fsdecode's own decoding, without its Python-level call (every path syscall)
    return t.mm.read_cstr(addr, PATH_MAX).decode("utf-8", "surrogateescape")


def dir_dentry(t, dirfd):
    """The dentry a *at() call starts from."""
    dirfd = s32(dirfd)
    if dirfd == AT_FDCWD:
        return t.fs.cwd
    f = t.files.get(dirfd)
    if f.dentry is None:
        raise SyscallError(E.ENOTDIR)
    return f.dentry


def resolve_at(t, dirfd, pathaddr, flags=0, follow=True):
    """Resolve (dirfd, path) honoring AT_EMPTY_PATH; returns a dentry or File."""
    path = path_arg(t, pathaddr)
    if not path:
        if flags & AT_EMPTY_PATH:
            dirfd = s32(dirfd)
            if dirfd == AT_FDCWD:
                return t.fs.cwd
            f = t.files.get(dirfd)
            return f.dentry if f.dentry is not None else f
        raise SyscallError(E.ENOENT)
    return t.kernel.lookup(t, path, follow, dir_dentry(t, dirfd) if path[0] != "/" else None)


def read_timespec(t, addr):
    sec, nsec = struct.unpack("<qq", t.mm.read(addr, 16))
    if nsec < 0 or nsec >= 10**9 or sec < 0:
        raise SyscallError(E.EINVAL)
    return sec * 10**9 + nsec


def write_timespec(t, addr, ns):
    t.mm.write(addr, struct.pack("<qq", ns // 10**9, ns % 10**9))


def read_itimerspec(t, addr):
    """struct itimerspec at addr: (interval, value) in ns; EINVAL if bad."""
    return read_timespec(t, addr), read_timespec(t, addr + 16)


def write_itimerspec(t, addr, value, interval):
    t.mm.write(addr, struct.pack("<qqqq", interval // 10**9, interval % 10**9,
                                 value // 10**9, value % 10**9))


REALTIME_CLOCKS = (0, 8, 11)  # CLOCK_REALTIME, CLOCK_REALTIME_ALARM, CLOCK_TAI


def timer_deadline(clock, value, absolute):
    """The monotonic deadline of a timer set to `value` ns on `clock`: the
    kernel's timer heap runs on the monotonic clock, so an absolute
    realtime value is converted now."""
    now = time.monotonic_ns()
    if not absolute:
        return now + value
    return now + (value - time.time_ns()) if clock in REALTIME_CLOCKS else value


_PTRS = [struct.Struct(f"<{n}Q") for n in range(65)]


def read_ptr_array(t, addr, limit=1 << 17):
    """A NULL-terminated array of C strings (argv, envp). The pointers are
    read up to 64 at a time (as many as the VMA holds): an execve reads ~40."""
    out = []
    if addr == 0:
        return out
    mm = t.mm
    while True:
        v = mm.find(addr)
        n = min(64, (v.end - addr) >> 3) if v is not None else 0
        if n == 0:  # no whole pointer in this VMA: EFAULT, or one across two VMAs
            ptrs = (mm.read_u64(addr),)
            n = 1
        else:
            ptrs = _PTRS[n].unpack(mm.read(addr, 8 * n))
        for p in ptrs:
            if p == 0:
                return out
            out.append(mm.read_cstr(p, 32 * 4096))
        if len(out) > limit:
            raise SyscallError(E.E2BIG)
        addr += 8 * n
