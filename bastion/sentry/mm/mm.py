"""Address spaces: the VMA set of one app process, over the memory file.

The VMA set here is the truth; the platform's host mappings follow it (every
change is pushed to `self.aspace`). Each VMA covers a contiguous range of the
memory file, so an app address translates to a file offset with one bisect.
Private VMAs own their range; shared anonymous ranges are reference-counted
so they outlive munmap in one process while another still maps them.
"""

import bisect

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..vfs.inode import allow_write_access, deny_write_access
from .memfile import PAGE

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE = 0x01, 0x02
FORK_COPY_MAX = 64 << 10  # writable private VMAs up to this size are copied at fork
LAZY_WINDOW = 128 << 10  # a lazy VMA's fault brings this much of the file in (aligned)
# a read-only file mapping up to this size is filled at once, a bigger one as
# it is touched (lazy): a library's text is touched all over and mapped again
# by every exec, where a lazy VMA's fragments would cost host calls each time
# (fork+exec of /bin/true +5%); cc1's 20 MB of text is touched in parts
LAZY_MIN = 4 << 20


def page_up(n):
    return (n + PAGE - 1) & ~(PAGE - 1)


class SharedRange:
    """A memory-file range mapped by one or more VMAs: MAP_SHARED ones, pages
    borrowed from a file's page cache or the vDSO, or (`cow`) the private
    pages of processes related by fork, until one writes (copy on write).
    `owner` is set when the range belongs to a tmpfs file or a page cache,
    which then frees it itself. `refs` counts the VMAs (pieces) using it.
    A copy-on-write range also knows the address it was mapped at when
    shared (`addr`) and the address spaces that shared it (`mms`), so the
    last VMA on it can be found when the others go (MM._last_holder)."""

    __slots__ = ("off", "length", "refs", "owner", "cow", "addr", "mms")

    def __init__(self, off, length, owner=None, cow=False):
        self.off, self.length, self.refs, self.owner, self.cow = off, length, 0, owner, cow
        self.addr = 0
        self.mms = ()


class VMA:
    __slots__ = ("start", "end", "prot", "shared", "off", "name", "share",
                 "file_off", "dev", "ino", "growsdown", "maywrite", "source", "eof_prot", "lazy")

    def __init__(self, start, end, prot, shared, off, name="", share=None,
                 file_off=0, dev=0, ino=0, growsdown=False, maywrite=True):
        self.start, self.end, self.prot, self.shared, self.off = start, end, prot, shared, off
        self.name, self.share, self.file_off, self.dev, self.ino = name, share, file_off, dev, ino
        self.growsdown = growsdown
        # False: a shared mapping of a file opened without write access,
        # which mprotect may not make writable (Linux's VM_MAYWRITE)
        self.maywrite = maywrite
        # the inode of a private file mapping, whose bytes MADV_DONTNEED
        # brings back (None: anonymous, shared, or past the file's pages)
        self.source = None
        # None, or for pages wholly past the end of the file that an mmap
        # maps: the protection asked for, while `prot` is 0, so that a touch
        # by the app faults (SIGBUS, as Linux) and a copy by the sentry gets
        # EFAULT (MM.eof_fault)
        self.eof_prot = None
        # None, or for page-cache pages borrowed before all were filled: the
        # inode whose page cache they are. The host maps the chunks not yet
        # filled with no access; a touch faults and fills them
        # (MM.lazy_fault), and the sentry fills what it reads (MM.fill)
        self.lazy = None

    def part(self, start, end):
        """A copy of this VMA restricted to [start, end)."""
        d = start - self.start
        v = VMA(start, end, self.prot, self.shared, self.off + d, self.name, self.share,
                self.file_off + d, self.dev, self.ino, self.growsdown, self.maywrite)
        v.source = self.source
        v.eof_prot = self.eof_prot
        v.lazy = self.lazy
        if v.share is not None:
            v.share.refs += 1
        return v


class MM:
    """One app address space."""

    def __init__(self, memfile, aspace, top):
        self.memfile = memfile
        self.view = memfile.view
        self.aspace = aspace
        self.top = top  # first address the app may not use
        self.vmas = []
        self.starts = []
        self.brk_start = self.brk = 0
        self.mmap_base = top - (1 << 30)  # below the stack area
        self.users = 1  # tasks (threads, vfork children) using it
        self.exe_path = ""
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.auxv = b""
        self.patches = None  # patch.Patches: syscall sites rewritten in this address space
        self.exe_inode = None  # the program's inode, kept from writers (ETXTBSY) while mapped
        self.changes = 0  # VMAs made writable in the host (_own, protect): see cow_fault

    # --- lookup ---------------------------------------------------------

    def find(self, addr):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            v = self.vmas[i]
            if addr < v.end:
                return v
        return None

    def at(self, addr, n, need):
        """The memory file offset of [addr, addr+n) (n > 0) when one VMA
        holds it all with `need` among its rights, else -1: the fast path of
        every copy from or to the app."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            v = self.vmas[i]
            if addr + n <= v.end and v.prot & need:
                if need & PROT_WRITE and v.share is not None and v.share.cow:
                    self._own(v)
                if v.lazy is not None:
                    self.fill(v, addr, n)
                return v.off + (addr - v.start)
        return -1

    def _insert(self, v):
        i = bisect.bisect_left(self.starts, v.start)
        self.starts.insert(i, v.start)
        self.vmas.insert(i, v)

    def _remove_at(self, i):
        del self.starts[i]
        return self.vmas.pop(i)

    # --- app memory access ----------------------------------------------

    def _span(self, addr, n, need):
        """Yield (file_offset, length) pieces for [addr, addr+n) or raise EFAULT."""
        end = addr + n
        while addr < end:
            v = self.find(addr)
            if v is None or not (v.prot & need):
                raise SyscallError(E.EFAULT)
            if need & PROT_WRITE and v.share is not None and v.share.cow:
                self._own(v)
            k = min(end, v.end) - addr
            if v.lazy is not None:
                self.fill(v, addr, k)
            yield v.off + (addr - v.start), k
            addr += k

    def read(self, addr, n):
        if n <= 0:
            return b""
        v = self.find(addr)
        if v is not None and addr + n <= v.end and v.prot & PROT_READ:
            if v.lazy is not None:
                self.fill(v, addr, n)
            o = v.off + (addr - v.start)
            return self.view[o:o + n].tobytes()
        return b"".join(self.view[o:o + k].tobytes() for o, k in self._span(addr, n, PROT_READ))

    def write(self, addr, data, force=False):
        n = len(data)
        if n == 0:
            return
        need = PROT_READ | PROT_WRITE | PROT_EXEC if force else PROT_WRITE
        v = self.find(addr)
        if v is not None and addr + n <= v.end and v.prot & need:
            if v.share is not None and v.share.cow:
                self._own(v)
            o = v.off + (addr - v.start)
            self.view[o:o + n] = data
            return
        pos = 0
        for o, k in list(self._span(addr, n, need)):
            self.view[o:o + k] = data[pos:pos + k]
            pos += k

    def check(self, addr, n, write=False):
        need = PROT_WRITE if write else PROT_READ
        v = self.find(addr)
        if v is not None and addr + n <= v.end and v.prot & need:
            return
        for _ in self._span(addr, n, need):
            pass

    def peek(self, addr, n):
        """A tracer's read (PTRACE_PEEKDATA): whatever the protection, as
        Linux's FOLL_FORCE; in one VMA, not in pages past a file's end."""
        v = self.find(addr)
        if v is None or addr + n > v.end or v.eof_prot is not None:
            raise SyscallError(E.EFAULT)
        if v.lazy is not None:
            self.fill(v, addr, n)
        o = v.off + (addr - v.start)
        return self.view[o:o + n].tobytes()

    def poke(self, addr, data):
        """A tracer's write (PTRACE_POKEDATA: a breakpoint into program
        text): whatever the protection; pages borrowed from a page cache,
        or shared since a fork, get a private copy first."""
        v = self.find(addr)
        if v is None or addr + len(data) > v.end or v.eof_prot is not None:
            raise SyscallError(E.EFAULT)
        if not v.shared and v.share is not None:
            self._unborrow(v)
            self.aspace.map(v.start, v.end - v.start, v.prot, v.off)
        o = v.off + (addr - v.start)
        self.view[o:o + len(data)] = data

    def read_cstr(self, addr, limit=4096):
        """A NUL-terminated string; ENAMETOOLONG past `limit` bytes."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:  # the common case, inline: the NUL within 256 bytes, in one VMA
            v = self.vmas[i]
            if addr < v.end and v.prot & PROT_READ:
                if v.lazy is not None:
                    self.fill(v, addr, min(256, v.end - addr))
                o = v.off + (addr - v.start)
                e = self.memfile.map.find(b"\0", o, min(o + 256, v.off + (v.end - v.start)))
                if e >= 0 and e - o < limit:
                    return self.view[o:e].tobytes()
        out = b""
        while True:
            v = self.find(addr)
            if v is None or not v.prot & PROT_READ:
                raise SyscallError(E.EFAULT)
            if v.lazy is not None:
                self.fill(v, addr, min(v.end - addr, limit + 1))
            o = v.off + (addr - v.start)
            chunk_end = v.off + (v.end - v.start)
            # search in steps so a string at the start of a big VMA stays cheap
            step = 256
            while o < chunk_end:
                e = min(o + step, chunk_end)
                i = self.map_find(o, e)
                if i >= 0:
                    out += self.view[o:i].tobytes()
                    if len(out) >= limit:
                        raise SyscallError(E.ENAMETOOLONG)
                    return out
                out += self.view[o:e].tobytes()
                if len(out) >= limit:
                    raise SyscallError(E.ENAMETOOLONG)
                o = e
                step = min(step * 4, 65536)
            addr = v.end

    def map_find(self, start, end):
        return self.memfile.map.find(b"\0", start, end)

    def read_u64(self, addr):
        return int.from_bytes(self.read(addr, 8), "little")

    def write_u64(self, addr, val):
        self.write(addr, (val & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def read_u32(self, addr):
        return int.from_bytes(self.read(addr, 4), "little")

    def write_u32(self, addr, val):
        self.write(addr, (val & 0xFFFFFFFF).to_bytes(4, "little"))

    # --- address space layout ---------------------------------------------

    def find_free(self, length, hint=0):
        """Top-down search for a gap of `length` bytes, near `hint` if possible."""
        if hint and hint + length <= self.top and self._is_free(hint, length):
            return hint
        end = self.mmap_base
        for i in range(len(self.vmas) - 1, -1, -1):
            v = self.vmas[i]
            if v.start >= end:
                continue
            if v.end <= end - length:
                return end - length
            end = v.start
        if end - length >= 0x10000:
            return end - length
        raise SyscallError(E.ENOMEM)

    def _is_free(self, addr, length):
        i = bisect.bisect_left(self.starts, addr + length)
        return i == 0 or self.vmas[i - 1].end <= addr

    def _drop(self, v):
        share = v.share
        if share is not None:
            share.refs -= 1
            if share.refs == 0 and share.owner is None:
                self.memfile.free(share.off, share.length)
            elif share.refs == 1 and share.cow:
                self._last_holder(share)
        else:
            self.memfile.free(v.off, v.end - v.start)

    def _carve(self, start, end):
        """Remove [start, end) from the VMA set; return the removed pieces."""
        removed = []
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while i < len(self.vmas):
            v = self.vmas[i]
            if v.start >= end:
                break
            if v.end <= start:
                i += 1
                continue
            self._remove_at(i)
            if v.start < start:
                self._insert(v.part(v.start, start))
                i += 1
            if v.end > end:
                self._insert(v.part(end, v.end))
            mid = v.part(max(v.start, start), min(v.end, end))
            if v.share is not None:
                v.share.refs -= 1
            removed.append(mid)
        return removed

    def unmap(self, start, length):
        end = start + length
        for v in self._carve(start, end):
            self._drop(v)
        self.aspace.unmap(start, length)

    def map_anon(self, addr, length, prot, shared=False, name="", growsdown=False):
        """Map fresh zero pages at addr (which the caller has chosen)."""
        if not self._is_free(addr, length):
            for v in self._carve(addr, addr + length):
                self._drop(v)
        off = self.memfile.alloc(length)
        share = None
        if shared:
            share = SharedRange(off, length)
            share.refs = 1
        v = VMA(addr, addr + length, prot, shared, off, name, share, growsdown=growsdown)
        self._insert(v)
        self.aspace.map(addr, length, prot, off)
        return v

    def map_file_shared(self, addr, length, prot, off, owner, name):
        """Map a tmpfs file's pages (memory-file offset `off`) MAP_SHARED:
        every mapping and read/write of the file see the same bytes."""
        return self._map_owned(addr, length, prot, off, owner, name, True)

    def map_borrowed(self, addr, length, prot, off, owner, name, lazy=None, file_off=0):
        """Map MAP_PRIVATE pages that `owner` keeps in the memory file at `off`
        (page cache, the vDSO): shared by every process until one makes them
        writable (protect gives it its own copy). `lazy`: the page cache's
        inode, whose bytes from `file_off` are filled as they are touched."""
        return self._map_owned(addr, length, prot, off, owner, name, False, lazy, file_off)

    def _map_owned(self, addr, length, prot, off, owner, name, shared, lazy=None, file_off=0):
        """Map a memory-file range that `owner` frees, not this address space."""
        if not self._is_free(addr, length):
            for v in self._carve(addr, addr + length):
                self._drop(v)
        share = SharedRange(off, length, owner)
        share.refs = 1
        v = VMA(addr, addr + length, prot, shared, off, name, share, file_off)
        v.lazy = lazy
        self._insert(v)
        self._host_map(self.aspace, v, prot)
        return v

    def _host_map(self, aspace, v, prot):
        """Map v in the host with prot, except, for a lazy VMA, the chunks
        not in the page cache yet: with no access (a touch faults, and
        lazy_fault fills them). A lazy VMA found all filled stops being one."""
        length = v.end - v.start
        if v.lazy is not None:
            lo = v.file_off
            runs = v.lazy.cached_runs(lo, lo + length)
            if runs != [(lo, lo + length)]:
                aspace.map(v.start, length, 0, v.off)
                for a, b in runs:
                    aspace.protect(v.start + (a - lo), b - a, prot)
                self.changes += 1  # a fault here is new, even where one was before (lazy_fault)
                return
            v.lazy = None
        aspace.map(v.start, length, prot, v.off)

    def fill(self, v, addr, n):
        """Bring [addr, addr+n) of lazy v into the page cache: the sentry is
        about to read it."""
        v.lazy.page_cache(self.memfile, v.file_off + (addr - v.start), n)

    def _fill_all(self, v):
        """All of lazy v into the page cache: it is to be seen whole (a
        private copy, an mprotect that makes it accessible)."""
        v.lazy.page_cache(self.memfile, v.file_off, v.end - v.start)
        v.lazy = None

    def lazy_fault(self, addr, t):
        """A fault at addr by task t in page-cache pages: True if the access
        is to run again. In a lazy VMA, the LAZY_WINDOW around addr is
        filled and the run of filled chunks it lies in mapped with the VMA's
        protection. Elsewhere (or after that) the fault may be stale: another
        thread's fault mapped the page since. Either way, a second fault
        there with nothing changed is the app's (a call into pages that are
        not executable, a write to them)."""
        v = self.find(addr)
        if v is None or v.shared or v.share is None or not v.prot & (PROT_READ | PROT_EXEC):
            return False
        if t.fault_retried == (addr, self.changes):
            return False
        src = v.lazy
        if src is not None:
            lo = v.file_off
            hi = lo + (v.end - v.start)
            fo = lo + (addr - v.start)
            start = max(lo, fo & ~(LAZY_WINDOW - 1))
            src.page_cache(self.memfile, start, min(hi, start + LAZY_WINDOW) - start)
            for a, b in src.cached_runs(lo, hi):
                if a <= fo < b:
                    self.aspace.protect(v.start + (a - lo), b - a, v.prot)
                    if a == lo and b == hi:
                        v.lazy = None
                    break
            self.changes += 1
        t.fault_retried = (addr, self.changes)
        return True

    def map_file_private(self, addr, length, prot, inode, off, valid, name, eof=False):
        """A MAP_PRIVATE file mapping: file bytes [off, off+valid), zeros after
        (an ELF segment's bss); with `eof` (mmap), the pages wholly past the
        file's end are past_eof pages instead of zeros.
        A read-only mapping of a cacheable file borrows the page-cache pages
        (no copy, shared by every process; made private on mprotect(WRITE))."""
        dev = inode.fs.dev if inode.fs is not None else 0
        size = inode.size
        src = inode.cache_source()
        cache = src.page_cache if src is not None else None
        end = page_up(size)  # of the file's pages
        if eof and off + length > end:
            head = max(0, end - off)
            if head:
                v = self.map_file_private(addr, head, prot, inode, off, min(valid, head), name)
            tail = self.map_anon(addr + head, length - head, 0, name=name)
            tail.file_off, tail.dev, tail.ino, tail.source = off + head, dev, inode.ino, inode
            tail.eof_prot = prot
            return v if head else tail
        if cache is not None and not prot & PROT_WRITE and off < end and \
                valid >= min(length, size - off):
            head = min(length, end - off)
            lazy = head > LAZY_MIN
            base = cache(self.memfile, off, head, not lazy)
            if base is not None:
                # the file's pages borrowed (a big range filled as it is
                # touched); past the last one, zeros, not a copy of the file
                v = self.map_borrowed(addr, head, prot, base + off, inode, name,
                                      src if lazy else None, off)
                v.dev, v.ino, v.source = dev, inode.ino, inode
                if head < length:
                    tail = self.map_anon(addr + head, length - head, prot, name=name)
                    tail.file_off, tail.dev, tail.ino = end, dev, inode.ino
                return v
        base = None
        if cache is not None and off + length <= end and (not prot & PROT_WRITE or valid > 0):
            base = cache(self.memfile, off, valid)
        v = self.map_anon(addr, length, prot, name=name)
        v.file_off, v.dev, v.ino, v.source = off, dev, inode.ino, inode
        if valid > 0:
            if base is not None:
                self.memfile.copy(v.off, base + off, valid)
            else:
                data = inode.read_at(off, valid)
                self.memfile.view[v.off:v.off + len(data)] = data
        return v

    def eof_fault(self, addr):
        """A fault at addr: None if not in past-EOF pages (VMA.eof_prot);
        True if the file has grown over them since (they hold the file's
        bytes now, with the protection asked for: the access runs again);
        False if they are still past the end (the app gets SIGBUS)."""
        v = self.find(addr)
        if v is None or v.eof_prot is None:
            return None
        covered = page_up(v.source.size) - v.file_off  # bytes of v in the file now
        if covered <= addr - v.start:
            return False
        end = v.start + min(covered, v.end - v.start)
        for p in self._carve(v.start, end):
            p.prot, p.eof_prot = p.eof_prot, None
            self._insert(p)
            self.unshare(p)
            self.reread(p, p.start, p.end - p.start)
            self.aspace.protect(p.start, p.end - p.start, p.prot)
        self.changes += 1
        return True

    def reread(self, v, addr, length):
        """MADV_DONTNEED on private pages: a file mapping's read the file
        again (its bytes, zeros past its end), an anonymous one's zeros."""
        off = v.off + (addr - v.start)
        self.memfile.zero(off, length)
        inode = v.source
        if inode is not None:
            pos = v.file_off + (addr - v.start)
            data = inode.read_at(pos, max(0, min(length, inode.size - pos)))
            self.memfile.view[off:off + len(data)] = data

    def grow(self, v, new_end):
        """Extend a private anonymous VMA in place (mremap): it moves to a
        bigger memory-file range so that it stays one VMA, as Linux's does."""
        length = new_end - v.start
        off = self.memfile.alloc(length)
        self.memfile.copy(off, v.off, v.end - v.start)
        self.memfile.free(v.off, v.end - v.start)
        v.off = off
        v.end = new_end
        self.aspace.map(v.start, length, v.prot, off)

    def _unborrow(self, v):
        """Give a VMA that borrows page-cache pages its own copy."""
        if v.share.cow:
            self._own(v)
            return
        length = v.end - v.start
        if v.lazy is not None:
            self._fill_all(v)
        off = self.memfile.alloc(length)
        self.memfile.copy(off, v.off, length)
        v.share.refs -= 1
        v.share = None
        v.off = off

    def protect(self, start, length, prot):
        end = start + length
        # Linux: ENOMEM if any part of the range is unmapped
        a = start
        while a < end:
            v = self.find(a)
            if v is None:
                raise SyscallError(E.ENOMEM)
            if prot & PROT_WRITE and (not v.maywrite or v.share is not None and
                                      not getattr(v.share.owner, "maywrite", True)):  # [vvar]
                raise SyscallError(E.EACCES)
            a = v.end
        remap = []
        past_eof = []
        for v in self._carve(start, end):
            self._insert(v)
            if v.eof_prot is not None:  # stays inaccessible in the host
                v.eof_prot = prot
                past_eof.append(v)
                continue
            if prot & PROT_WRITE and not v.shared and v.share is not None:
                self._unborrow(v)
                remap.append(v)
            elif v.lazy is not None and prot:
                self._fill_all(v)
            v.prot = prot
        if not past_eof:
            self.aspace.protect(start, length, prot)
        else:
            for v in self.vmas[bisect.bisect_left(self.starts, start):
                               bisect.bisect_left(self.starts, end)]:
                if v.eof_prot is None:
                    self.aspace.protect(v.start, v.end - v.start, prot)
        for v in remap:
            self.aspace.map(v.start, v.end - v.start, prot, v.off)
        if prot & PROT_WRITE:
            self.changes += 1

    def set_brk(self, new):
        if new < self.brk_start:
            return self.brk
        old_top = page_up(self.brk)
        new_top = page_up(new)
        if new_top > old_top:
            if not self._is_free(old_top, new_top - old_top):
                return self.brk
            self.map_anon(old_top, new_top - old_top, PROT_READ | PROT_WRITE, name="[heap]")
        elif new_top < old_top:
            self.unmap(new_top, old_top - new_top)
        self.brk = new
        return new

    def fork(self, memfile, aspace, sp=0):
        """A copy of this address space for a forked child. Private pages are
        not copied: both address spaces map them read-only in the host and
        share them (SharedRange.cow) until one of them writes (_own, on the
        write fault or a write by the sentry), as Linux's fork does. Except
        where both sides write at once (the forking thread's stack, at `sp`,
        and small writable VMAs: libc's data, a program's .bss): a copy now
        costs less than the two faults (a 200 MB Python process forks in
        6 ms instead of 170; fork+exec of a small program as before)."""
        child = MM(memfile, aspace, self.top)
        if self.exe_inode is not None:
            child.exe_inode = self.exe_inode
            deny_write_access(self.exe_inode)  # (cannot fail: this one holds it already)
        for name in ("brk_start", "brk", "mmap_base", "exe_path", "arg_start", "arg_end",
                     "env_start", "env_end", "auxv"):
            setattr(child, name, getattr(self, name))
        if self.patches is not None:
            child.patches = self.patches.copy()
        protected = False
        for v in self.vmas:
            length = v.end - v.start
            if v.share is None and v.prot & PROT_WRITE and \
                    (length <= FORK_COPY_MAX or v.start <= sp < v.end):
                off = memfile.alloc(length)
                memfile.copy(off, v.off, length)
                c = VMA(v.start, v.end, v.prot, False, off, v.name, None, v.file_off,
                        v.dev, v.ino, v.growsdown)
                c.source = v.source
                child.vmas.append(c)
                child.starts.append(c.start)
                aspace.map(c.start, length, c.prot, c.off)
                continue
            share = v.share
            if share is None:  # private pages: shared from now on, copy on write
                share = v.share = SharedRange(v.off, length, cow=True)
                share.refs = 1
                share.addr = v.start
                share.mms = [self]
                if v.prot & PROT_WRITE:
                    self.aspace.protect(v.start, length, v.prot & ~PROT_WRITE)
                    protected = True
            if share.cow:  # (the address spaces that exited since: dropped)
                share.mms = [m for m in share.mms if m.vmas] + [child]
            c = v.part(v.start, v.end)
            child.vmas.append(c)
            child.starts.append(c.start)
            child._host_map(aspace, c, c.prot & ~PROT_WRITE if c.share.cow else c.prot)
        if protected and self.users > 1:
            # other threads of ours run: no write of theirs may reach the
            # child's pages once fork returns
            self.aspace.flush()
        return child

    def unshare(self, v):
        """Give v pages of its own if it shares them copy-on-write since a
        fork (before the sentry changes them in place)."""
        if v.share is not None and v.share.cow:
            self._own(v)

    def _own(self, v):
        """Give v, whose private pages it shares with processes related by
        fork, pages of its own: a copy, or the range itself where no other
        VMA uses it any more (the rest of the range freed). Mapped writable
        in the host again."""
        share = v.share
        length = v.end - v.start
        if share.refs == 1:
            if v.off > share.off:
                self.memfile.free(share.off, v.off - share.off)
            tail = share.off + share.length - (v.off + length)
            if tail > 0:
                self.memfile.free(v.off + length, tail)
        else:
            off = self.memfile.alloc(length)
            self.memfile.copy(off, v.off, length)
            share.refs -= 1
            v.off = off
            if share.refs == 1:
                self._last_holder(share)
        v.share = None
        self.aspace.map(v.start, length, v.prot, v.off)
        self.changes += 1

    def _last_holder(self, share):
        """One VMA is left on a copy-on-write range: if it is writable, in
        another address space whose platform takes mapping changes at any
        time (`deferred`), and still where the range was shared, it takes
        the range now (no copy: _own), mapped writable at that process's
        next resume, instead of at its next write fault (~70 us each; a
        shell's fork then exec made ~4 in the shell). Elsewhere (a munmap
        or mprotect split it; ptrace) its write fault still does it."""
        for mm in share.mms:
            if mm is not self:
                v = mm.find(share.addr)
                if v is not None and v.share is share:
                    if v.prot & PROT_WRITE and mm.aspace.deferred:
                        mm._own(v)
                    return

    def cow_fault(self, addr, t):
        """A fault at addr by task t: True if the access is to run again. In a
        writable VMA whose pages are shared copy-on-write, t wrote: give it
        its own pages. In a writable VMA of its own, the fault may be stale
        (another thread's fault gave the VMA its pages, or another thread's
        mprotect made it writable, after t's write hit the read-only host
        mapping): run it once more, and if it faults there again with no
        change since, it is the app's."""
        v = self.find(addr)
        if v is None or not v.prot & PROT_WRITE:
            return False
        if v.share is not None:
            if not v.share.cow:
                return False
            self._own(v)
            return True
        seen = (addr, self.changes)
        if t.fault_retried == seen:
            return False
        t.fault_retried = seen
        return True

    def clear(self):
        """Drop every VMA (exec reusing this address space)."""
        for v in self.vmas:
            self._drop(v)
        self.vmas = []
        self.starts = []
        self.patches = None
        if self.exe_inode is not None:
            allow_write_access(self.exe_inode)
            self.exe_inode = None

    def release(self):
        """Drop every VMA and the host address space (last user gone)."""
        self.clear()
        self.aspace.release()
