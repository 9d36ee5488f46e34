"""Memory syscalls: mmap, munmap, mprotect, brk, mremap, madvise, ..."""

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..mm.memfile import PAGE
from ..mm.mm import MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, page_up
from ..task import RLIM_INFINITY, RLIMIT_AS
from ..vfs.memfs import SEALS_WRITE
from .util import s32

MAP_SHARED_VALIDATE, MAP_FIXED, MAP_ANONYMOUS = 0x03, 0x10, 0x20
MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED = 0x100, 0x800, 0x1000, 0x2000
MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK = 0x4000, 0x8000, 0x10000, 0x20000
MAP_HUGETLB, MAP_SYNC, MAP_FIXED_NOREPLACE, MAP_UNINITIALIZED = 0x40000, 0x80000, 0x100000, 0x4000000
_KNOWN = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE |
          MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK |
          MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | MAP_UNINITIALIZED | (0x3F << 26))
TASK_UNMAPPED_MIN = 0x10000  # vm.mmap_min_addr


def may_expand(t, mm, grow, addr=None):
    """ENOMEM if `grow` more bytes of mappings (at addr: less what is mapped
    there already, which they replace) would pass RLIMIT_AS (Linux's
    may_expand_vm). Only a limited process counts its mappings."""
    limit = t.tg.rlimits[RLIMIT_AS][0]
    if limit == RLIM_INFINITY:
        return
    total = 0
    for v in mm.vmas:
        total += v.end - v.start
        if addr is not None and v.start < addr + grow and addr < v.end:
            total -= min(v.end, addr + grow) - max(v.start, addr)
    if total + grow > limit:
        raise SyscallError(E.ENOMEM)


def sys_mmap(t, addr, length, prot, flags, fd, off):
    mm = t.mm
    if length == 0 or off & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    length = page_up(length)
    if length > mm.top or prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x01000000 | 0x02000000):
        raise SyscallError(E.EINVAL if length <= mm.top else E.ENOMEM)
    prot &= 7
    typ = flags & 0x03
    if typ not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise SyscallError(E.EINVAL)
    if typ == MAP_SHARED_VALIDATE and flags & ~_KNOWN:
        raise SyscallError(E.EOPNOTSUPP)
    shared = typ != MAP_PRIVATE
    f = None
    name = ""
    if not flags & MAP_ANONYMOUS:
        f = t.files.get(s32(fd))
        inode = f.inode
        if getattr(f, "maps_anonymous", False):  # /dev/zero
            if not f.readable or shared and prot & PROT_WRITE and not f.writable:
                raise SyscallError(E.EACCES)
            name = "/dev/zero (deleted)" if shared else "/dev/zero"
            f = None
    if f is not None:
        if not hasattr(inode, "read_at") or inode.is_dir() or not (inode.is_reg() or
                                                                    getattr(f, "mappable", False)):
            raise SyscallError(E.ENODEV)
        if not f.readable:
            raise SyscallError(E.EACCES)
        if shared and prot & PROT_WRITE and not f.writable:
            raise SyscallError(E.EACCES)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        if addr < TASK_UNMAPPED_MIN or addr + length > mm.top:
            raise SyscallError(E.EPERM if addr < TASK_UNMAPPED_MIN else E.ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and not mm._is_free(addr, length):
            raise SyscallError(E.EEXIST)
    else:
        hint = addr & ~(PAGE - 1) if addr else 0
        if hint and (hint < TASK_UNMAPPED_MIN or hint + length > mm.top):
            hint = 0
        addr = mm.find_free(length, hint)
    may_expand(t, mm, length, addr)
    if f is not None and f.dentry is not None:
        name = f.dentry.path(t.fs.root)
    if f is not None and shared and hasattr(inode, "shared_extent"):
        sealed = getattr(inode, "seals", 0) & SEALS_WRITE  # a memfd's F_SEAL_WRITE, _FUTURE_WRITE
        if sealed and prot & PROT_WRITE:
            raise SyscallError(E.EPERM)
        base = inode.shared_extent(mm.memfile, off + length)
        v = mm.map_file_shared(addr, length, prot, base + off, inode, name)
        v.file_off, v.ino, v.maywrite = off, inode.ino, f.writable and not sealed
        v.dev = inode.fs.dev if inode.fs is not None else 0
        return addr
    if f is None:
        mm.map_anon(addr, length, prot, shared=shared, name=name,
                    growsdown=bool(flags & MAP_GROWSDOWN))
    else:
        valid = max(0, min(length, inode.size - off))
        mm.map_file_private(addr, length, prot, inode, off, valid, name, eof=True)
    return addr


def sys_munmap(t, addr, length, *_):
    if addr & (PAGE - 1) or length == 0 or addr + length > t.mm.top:
        raise SyscallError(E.EINVAL)
    t.mm.unmap(addr, page_up(length))
    return 0


def sys_mprotect(t, addr, length, prot, *_):
    if addr & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    if prot & ~(7 | 0x01000000 | 0x02000000):
        raise SyscallError(E.EINVAL)
    length = page_up(length)
    if length == 0:
        return 0
    if addr + length > t.mm.top:
        raise SyscallError(E.ENOMEM)
    t.mm.protect(addr, length, prot & 7)
    return 0


def sys_brk(t, addr, *_):
    mm = t.mm
    grow = page_up(addr) - page_up(mm.brk)
    if grow > 0 and addr >= mm.brk_start:
        try:
            may_expand(t, mm, grow)
        except SyscallError:
            return mm.brk  # brk fails by returning the old break
    return mm.set_brk(addr)


MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4


def sys_mremap(t, old, old_len, new_len, flags, new_addr, _a6):
    mm = t.mm
    if old & (PAGE - 1) or flags & ~7 or (flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE):
        raise SyscallError(E.EINVAL)
    old_len, new_len = page_up(old_len), page_up(new_len)
    if new_len == 0:
        raise SyscallError(E.EINVAL)
    v = mm.find(old)
    if v is None or old + old_len > v.end or old_len == 0:
        raise SyscallError(E.EFAULT)
    if flags & MREMAP_DONTUNMAP:
        raise SyscallError(E.EINVAL)
    if new_len > old_len:
        may_expand(t, mm, new_len - old_len)
    if not flags & MREMAP_FIXED:
        if new_len <= old_len:
            if new_len < old_len:
                mm.unmap(old + new_len, old_len - new_len)
            return old
        if mm._is_free(old + old_len, new_len - old_len) and old + new_len <= mm.top:
            if v.share is None:  # private pages: grow the VMA itself
                mm.grow(v, old + new_len)
                return old
        if not flags & MREMAP_MAYMOVE:
            raise SyscallError(E.ENOMEM)
        dst = mm.find_free(new_len)
    else:
        dst = new_addr
        if dst & (PAGE - 1) or (dst < old + old_len and old < dst + new_len):
            raise SyscallError(E.EINVAL)
        mm.unmap(dst, new_len)
    nv = mm.map_anon(dst, new_len, v.prot, name=v.name, growsdown=v.growsdown)
    if v.lazy is not None:
        mm.fill(v, old, min(old_len, new_len))
    src_off = v.off + (old - v.start)
    mm.memfile.copy(nv.off, src_off, min(old_len, new_len))
    nv.file_off, nv.ino, nv.dev = v.file_off + (old - v.start), v.ino, v.dev
    nv.source, nv.eof_prot = v.source, v.eof_prot
    mm.unmap(old, old_len)
    return dst


MADV_DONTNEED, MADV_REMOVE, MADV_FREE = 4, 9, 8


def sys_madvise(t, addr, length, advice, *_):
    if addr & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    length = page_up(length)
    mm = t.mm
    if advice in (MADV_DONTNEED, MADV_FREE, MADV_REMOVE):
        a = addr
        end = addr + length
        while a < end:
            v = mm.find(a)
            if v is None:
                raise SyscallError(E.ENOMEM)
            k = min(end, v.end) - a
            mm.unshare(v)  # shared since a fork: its own first
            if v.share is None:  # private pages; borrowed file pages already read as the file
                mm.reread(v, a, k)
            a += k
        return 0
    if advice > 100 and advice not in (0x64, 0x65):
        raise SyscallError(E.EINVAL)
    return 0


def sys_msync(t, addr, length, flags, *_):
    if addr & (PAGE - 1) or flags & ~7 or (flags & 1 and flags & 4):
        raise SyscallError(E.EINVAL)
    a, end = addr, addr + page_up(length)
    while a < end:
        if t.mm.find(a) is None:
            raise SyscallError(E.ENOMEM)
        a = t.mm.find(a).end
    return 0


def sys_mincore(t, addr, length, vec, *_):
    if addr & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    n = page_up(length) // PAGE
    a = addr
    while a < addr + n * PAGE:
        v = t.mm.find(a)
        if v is None:
            raise SyscallError(E.ENOMEM)
        a = v.end
    t.mm.write(vec, b"\x01" * n)
    return 0


def sys_mlock(t, *_):
    return 0


def sys_mlockall(t, flags, *_):
    if not flags or flags & ~7:
        raise SyscallError(E.EINVAL)
    return 0


