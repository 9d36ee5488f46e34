"""Syscall patching: a trapped `mov $nr, %eax; syscall` site is rewritten to
jump into the platform's patch entry, so later calls from it skip the trap.

The platform (systrap) makes a syscall trap with a host signal, which costs
more than the rest of a round trip to the sentry. Most syscalls come from a
few libc sites of the form `b8 imm32 0f 05`. When one traps, the kernel
rewrites its 5-byte `mov` into a `jmp rel32` to a thunk of its own that does
what the mov did and passes the return address the way a syscall would:

    site:   jmp thunk            (was: mov eax, nr)
    site+5: syscall              (unchanged)
    thunk:  mov eax, nr; lea rcx, [site+7]; jmp [platform.patch_entry]

Only the `mov` changes, in one atomic 8-byte store, and the `syscall` after
it stays: a thread that already ran the old `mov` and is about to run the
`syscall` traps as before, one that reaches the site runs the jmp; no
thread can see half an instruction. Nothing is pushed (the red zone below
the app's stack pointer is never touched), and the patch entry saves every
register into a frame the sentry reads like a trap's.

Three more forms are taken over the same way, the thunk doing what the
jmp replaced and what lies between it and the syscall: glibc's syscall()
function ends in `mov 0x8(%rsp), %r9; syscall` (4c 8b 4c 24 08 0f 05); its
open_nocancel in `mov $-100, %edi; syscall` (AT_FDCWD; also `mov $imm`
into esi or edx); and its futex calls in `mov $202, %eax; xor $op, %sil;
syscall` (b8 ca 00 00 00 40 80 f6 XX 0f 05), whose jmp replaces the mov
and whose thunk does the mov and the xor (`_replay`). The first
instruction is always the 5 bytes the jmp takes, so no instruction starts
inside the jmp; the xor stays in place, and code that jumps to it runs on
to the syscall, which traps. One syscall() site serves every number a
program passes (Rust's futex and getrandom, for one); a threaded Python
program's GIL trapped ~5,000 times at the futex form, every ls ~27 times
at open_nocancel. A thunk sets rcx with `lea rcx, [rip + disp32]` (it is
within a rel32 of its site), so a 9-byte replay fits a 32-byte slot.

glibc's read (nr 0) has another form, `xor eax, eax; syscall; cmp rax,
-4096` (31 c0 0f 05 48 3d 00 f0 ff ff): four bytes before the return
address, too few for a jmp, so the jmp also covers the start of the `cmp`,
which the thunk does instead, then jumps back:

    site:    jmp thunk           (was: xor eax, eax; syscall; first byte of the cmp)
    thunk:   xor eax, eax; movabs rcx, cont; jmp [patch_entry]
             syscall             (a restarted read traps here: cont - 2)
    cont:    cmp rax, -4096; jmp site+10

A thread at site+2 or site+4 (between the xor and the syscall, or back from
it) would land inside the jmp, so this form is patched only while no other
thread of its address space runs app code (the others all in the sentry,
as for an unaligned site below: glibc's read in a threaded program has
this form too), before the read that trapped is served; every thread at
either place has its rip moved to the thunk's (Patches.remap: site+2 and
site+4 to their places in the thunk): the one that trapped, another
blocked in a read at the same site or stopped between its xor and its
syscall; rt_sigreturn applies the same map to a signal frame saved at
either place before the patch.

A site whose 5 bytes do not sit in one aligned 8-byte word (glibc's
getdents64, futex, some mmap and ioctl sites) is rewritten in one atomic
16-byte store (lock cmpxchg16b) where they sit in one aligned 16-byte
block, as the 8-byte one; else it is patched only while every thread of
its address space is in the sentry (the one that trapped there, the others
blocked in a syscall or stopped): no thread can run the bytes being
written, and the mapping changes reach the host before any of them runs
again. While others run, the site is looked at again at its next trap. A thread stopped between
the site's mov and its syscall resumes at the syscall, which the patch does
not touch. Its thunk takes two slots; the second holds what the
site did (`mov eax, nr; jmp site+5`), and undoing the patch (`disable`)
turns the thunk's first instruction into a short jump to it, one atomic
store inside the thunk, instead of restoring the site under threads that
may be running it.

Where a patch is not safe it is not made: an unaligned site while another
thread of its address space runs, a site in a shared, writable or special mapping,
or whose immediate is not the number that trapped. A page-cache page shared by processes is
first made private to this one (a process maps a library at its own
address; the thunk's return address is this process's). Thunks live in
small anonymous r-x pages within a rel32 jump of their sites. When the app
sets its own gs base (which the patch entry uses to find its thread's
frame) every patch of that address space is undone for good.

A site is patched when it traps the second time, not the first: a thunk
and a private copy of the code page cost ~40 µs, ~10 trapped calls, and
most sites of a short process (ld.so's, a program's start-up) make one
call (measured: a shell running ls ten times ~15% faster, fork+exec ~10%).
A long-running program pays one more trap per site.

What stays visible: the app can read its patched code bytes and sees the
thunk pages in /proc/self/maps; `--no-patch` turns patching off.

For checkpoint/restore: patched bytes and thunks are ordinary app memory
and Patches is plain data, but each thunk holds the address of the
platform's patch_entry: a restore onto another build of the stub must
rewrite the thunks (or undo every patch, as `disable` does).
"""

import bisect

from ... import hostsys as hs
from ...abi.errno import SyscallError
from .mm import PAGE, PROT_EXEC, PROT_READ, PROT_WRITE

THUNK = 32  # bytes per thunk; a page holds PAGE // THUNK
REACH = (1 << 31) - (1 << 24)  # of a rel32 jump, with a margin
SEEN_MAX = 1 << 16  # return addresses remembered per address space, in trapped and in seen


class Patches:
    """One address space's patch state (MM.patches): plain data, copied on
    fork and dropped on exec."""

    __slots__ = ("trapped", "seen", "sites", "pages", "off", "remap", "unaligned")

    def __init__(self):
        self.trapped = set()  # return addresses of syscalls that trapped once
        self.seen = set()  # return addresses of trapped syscalls already looked at
        self.sites = {}  # patched site -> its original 5 bytes
        self.pages = []  # [address, thunks used] of each thunk page
        self.off = False  # never patch again (the app set its own gs base)
        self.remap = {}  # read-form sites: an address inside the jmp -> the thunk's
        self.unaligned = {}  # patched sites across two words -> their thunk

    def copy(self):
        c = Patches()
        c.trapped, c.seen = set(self.trapped), set(self.seen)
        c.sites, c.off = dict(self.sites), self.off
        c.pages = [list(p) for p in self.pages]
        c.remap = dict(self.remap)
        c.unaligned = dict(self.unaligned)
        return c


_READ_FORM = b"\x31\xc0\x0f\x05\x48\x3d\x00\xf0\xff\xff"
# glibc's syscall(): `mov 0x8(%rsp), %r9; syscall`, the number already in rax
_FN_FORM = b"\x4c\x8b\x4c\x24\x08\x0f\x05"
# `mov $imm32, %edi | %esi | %edx; syscall`, the number already in eax
# (glibc's open_nocancel: `mov $-100, %edi`, AT_FDCWD)
_MOV_ARG = (0xBF, 0xBE, 0xBA)
# `xor $imm8, %sil`: glibc's futex sites put FUTEX_PRIVATE_FLAG in the op
# between `mov $202, %eax` and the syscall
_XOR_SIL = b"\x40\x80\xf6"


def fn_site(mm, rip):
    """Whether the syscall that returns to rip comes from a site of
    syscall()'s form (a read through it is patched as any other syscall,
    not as read's form)."""
    return _code(mm, rip - 7, rip) == _FN_FORM


def wants(mm, rip):
    """Whether a trap with return address rip may still lead to a patch
    (its site was not looked at for good)."""
    p = mm.patches
    return p is None or not (p.off or rip in p.seen)


def consider(mm, rip, nr, entry, stopped=False):
    """Syscall nr trapped with return address rip: patch its site if we can. A
    patch that cannot be made (no memory for a thunk page) is not an error:
    the site keeps trapping. `stopped`: called before the syscall is
    served, with every thread of the address space in the sentry (its
    mapping changes go out before any of them runs again); else after,
    while the app runs. A read (nr 0) from read's own form goes to
    consider_read instead."""
    try:
        _consider(mm, rip, nr, entry, stopped)
    except (SyscallError, OSError):
        pass


def consider_read(mm, regs, entry, others=()):
    """A read that trapped, before it is served, while no other thread of
    its address space runs app code (`others`: the registers of those in
    the sentry): patch a site of the read form and move the rip of every
    thread that is at a place the jmp covers (this one, returning from its
    read; another blocked in a read there, or stopped between its xor and
    its syscall) to the same place in the thunk."""
    p = mm.patches
    rip = regs.rip
    if p is not None and (p.off or rip in p.seen):
        return
    try:
        cont = _consider_read(mm, rip, entry)
    except (SyscallError, OSError):
        return
    if cont is not None:
        regs.rip = cont
        remap = mm.patches.remap
        for r in others:
            r.rip = remap.get(r.rip, r.rip)


def _consider_read(mm, rip, entry):
    p = mm.patches
    if p is None:
        p = mm.patches = Patches()
    if _first_trap(p, rip):
        return None
    p.seen.add(rip)
    site = rip - 4
    word = site & ~7
    if site - word > 3:
        return None
    code = _code(mm, word, site + 10)
    if code is None or code[site - word:] != _READ_FORM:
        return None
    thunk = _thunk(mm, p, site, 2)
    if thunk is None:
        return None
    cont = thunk + 28
    mm.write(thunk, b"\x31\xc0\x48\xb9" + cont.to_bytes(8, "little") +
             b"\xff\x25\x00\x00\x00\x00" + entry.to_bytes(8, "little") + b"\x0f\x05" +
             _READ_FORM[4:] + _jmp(cont + 6, site + 10),
             force=True)
    p.sites[site] = _write_jmp(mm, site, thunk)
    p.remap[site + 2] = cont - 2
    p.remap[site + 4] = cont
    return cont


def _first_trap(p, rip):
    """Whether this is the site's first trap (noted; patched at its
    second), or the address space has looked at too many sites already."""
    if rip in p.trapped:
        return len(p.seen) >= SEEN_MAX
    if len(p.trapped) < SEEN_MAX:
        p.trapped.add(rip)
    return True


def _code(mm, lo, hi):
    """The bytes of [lo, hi) if they are code we may rewrite: private,
    read-only, executable and not special (writable code, a JIT's, may be
    rewritten by the app under us); else None. They may lie in two VMAs: a
    site whose syscall ends on the next page, next to a page made private
    for another patch (libc's openat trapped ~27 times in every ls)."""
    out = b""
    a = lo
    while a < hi:
        v = mm.find(a)
        if v is None or v.shared or v.prot & PROT_WRITE or not v.prot & PROT_EXEC \
                or v.name.startswith("["):
            return None
        end = min(hi, v.end)
        if v.lazy is not None:
            mm.fill(v, a, end - a)
        o = v.off + (a - v.start)
        out += bytes(mm.view[o:o + end - a])
        a = end
    return out


def _replay(code, nr):
    """The instructions before a trapped syscall that a thunk does instead,
    if they are a form we know, else None. code: the 11 bytes before its
    return address. The first is always 5 bytes long, so the jmp replaces
    it exactly and no instruction starts inside the jmp; the others stay
    in place (code that jumps to one runs on to the syscall, which traps)."""
    if code[-2:] != b"\x0f\x05":
        return None
    mov = code[-7:-2]
    if mov[0] == 0xB8:  # mov $nr, %eax
        return mov if int.from_bytes(mov[1:], "little") == nr else None
    if mov[0] in _MOV_ARG or mov == _FN_FORM[:5]:  # the number is in eax already
        return mov
    if code[:1] == b"\xb8" and code[5:8] == _XOR_SIL and int.from_bytes(code[1:5], "little") == nr:
        return code[:9]  # glibc's futex: mov $202, %eax; xor $op, %sil
    return None


def _consider(mm, rip, nr, entry, stopped):
    p = mm.patches
    if p is None:
        p = mm.patches = Patches()
    if p.off or rip in p.seen or _first_trap(p, rip):
        return
    before = _code(mm, rip - 11, rip) or _code(mm, rip - 7, rip) or b""
    replay = _replay(before.rjust(11, b"\0"), nr)
    if replay is None:
        p.seen.add(rip)
        return
    site = rip - 2 - len(replay)
    word = site & ~7
    # the 5 bytes must lie in one aligned 8-byte word (or 16-byte block,
    # with cmpxchg16b), or no other thread may run them while they change:
    # looked at again at its next trap, when the others may all be in the
    # sentry
    aligned = site - word <= 3
    in_block = site & 15 <= 11 and hs.has_cx16()
    if not aligned and not in_block and not stopped:
        return
    p.seen.add(rip)
    if _code(mm, word, max(word + 8, rip)) is None:
        return
    thunk = _thunk(mm, p, site, 1 if aligned else 2)
    if thunk is None:
        return
    # what the site did, then rcx = the return address (lea: a thunk is
    # within a rel32 of its site) and on to the patch entry
    lea = rip - (thunk + len(replay) + 7)
    mm.write(thunk, replay + b"\x48\x8d\x0d" + (lea & 0xFFFFFFFF).to_bytes(4, "little") +
             b"\xff\x25\x00\x00\x00\x00" + entry.to_bytes(8, "little"), force=True)
    if not aligned:
        # the second slot: what the site did, for disable() to jump to
        mm.write(thunk + THUNK, replay[:5] + _jmp(thunk + THUNK + 5, site + 5), force=True)
        p.unaligned[site] = thunk
    if not stopped:
        # The app runs again already: a new thunk page must be in the host
        # before the jmp to it can be seen (at once, where the code page is
        # the process's own; a page-cache page is remapped in order after it).
        mm.aspace.flush()
    if aligned:
        p.sites[site] = _write_jmp(mm, site, thunk)
    elif not stopped:  # others run: in one atomic 16-byte store
        _write_jmp(mm, site, thunk, 16)
    else:  # no thread runs these bytes: written as they are, across words
        _private(mm, site)
        _private(mm, site + 4)  # the 5 bytes may end on the next page
        mm.write(site, _jmp(site, thunk), force=True)


def _jmp(at, target):
    """`jmp rel32` to target, as code placed at `at`."""
    return b"\xe9" + ((target - (at + 5)) & 0xFFFFFFFF).to_bytes(4, "little")


def _write_jmp(mm, site, thunk, size=8):
    """Replace the 5 bytes at site with `jmp thunk`, in one atomic store of
    the aligned 8-byte word (or, size 16, the 16-byte block: lock
    cmpxchg16b) that holds them; the rest is written with what it holds.
    Returns the 5 bytes replaced."""
    start = site & -size
    v = _private(mm, site)
    o = v.off + (start - v.start)
    old = bytes(mm.view[o:o + size])
    k = site - start
    new = int.from_bytes(old[:k] + _jmp(site, thunk) + old[k + 5:], "little")
    (hs.store64 if size == 8 else hs.store128)(mm.memfile.map, o, new)
    return old[k:k + 5]


def disable(mm):
    """Undo every patch of this address space and make no more (the app
    sets its own gs base, or is traced: sentry/ptrace.py). A site whose
    bytes are no longer our jmp (the app remapped its code) is left alone."""
    p = mm.patches
    if p is None:
        p = mm.patches = Patches()
    p.off = True
    unaligned, p.unaligned = p.unaligned, {}
    for thunk in unaligned.values():
        # its first instruction becomes `jmp thunk+32`: the site's own mov,
        # then back to its syscall, which traps
        v = mm.find(thunk)
        if v is not None:
            mm.unshare(v)  # shared since a fork
        if v is None or v.share is not None:
            continue
        o = v.off + (thunk - v.start)
        cur = bytes(mm.view[o:o + 8])
        if cur[:5] == bytes(mm.view[o + THUNK:o + THUNK + 5]):  # ours, not undone yet
            hs.store64(mm.memfile.map, o, int.from_bytes(b"\xeb\x1e" + cur[2:], "little"))
    sites, p.sites = p.sites, {}
    for site, orig in sites.items():
        v = mm.find(site)
        word = site & ~7
        if v is not None:
            mm.unshare(v)  # shared since a fork
        if v is None or word + 8 > v.end or v.share is not None:
            continue
        o = v.off + (word - v.start)
        cur = bytes(mm.view[o:o + 8])
        k = site - word
        if cur[k] != 0xE9:
            continue
        hs.store64(mm.memfile.map, o, int.from_bytes(cur[:k] + orig + cur[k + 5:], "little"))


def _thunk(mm, p, site, n=1):
    """The address of n free thunk slots in a row within a rel32 jump of
    site, or None."""
    for page in p.pages:
        if page[1] + n <= PAGE // THUNK and abs(page[0] - site) < REACH:
            page[1] += n
            return page[0] + (page[1] - n) * THUNK
    addr = _free_page_near(mm, site)
    if addr is None:
        return None
    mm.map_anon(addr, PAGE, PROT_READ | PROT_EXEC)
    p.pages.append([addr, n])
    return addr


def _free_page_near(mm, site):
    """A free page within reach of site: the nearest gap below the VMA that
    holds it, else above (so a thunk page sits next to its code, out of the
    way of brk and of the top-down mmap area's next choices)."""
    vmas = mm.vmas
    i = bisect.bisect_right(mm.starts, site) - 1
    lo, hi = max(site - REACH, 0x10000), min(site + REACH, mm.top)
    for j in range(i, -1, -1):
        end = vmas[j].start
        if end - PAGE < lo:
            break
        start = vmas[j - 1].end if j > 0 else 0x10000
        if end - start >= PAGE:
            return end - PAGE
    for j in range(i, len(vmas)):
        start = vmas[j].end
        if start + PAGE > hi:
            break
        end = vmas[j + 1].start if j + 1 < len(vmas) else mm.top
        if end - start >= PAGE:
            return start
    return None


def _private(mm, addr):
    """The VMA holding addr, after giving its page a private copy if it was
    borrowed from the page cache (shared by every process that maps it)."""
    v = mm.find(addr)
    if v.share is None:
        return v
    page = addr & ~(PAGE - 1)
    for piece in mm._carve(page, page + PAGE):
        mm._unborrow(piece)
        mm._insert(piece)
        mm.aspace.map(piece.start, piece.end - piece.start, piece.prot, piece.off)
    return mm.find(addr)
