"""execve: load an ELF (static, static-PIE, dynamic, PIE) or a #! script into a
fresh address space and build the initial stack (fs/binfmt_elf.c)."""

import os
import struct

from ..abi import errno as E
from ..abi.caps import CAP_SYS_PTRACE
from ..abi.errno import SyscallError
from .mm.memfile import PAGE
from .mm.mm import MM, PROT_EXEC, PROT_READ, PROT_WRITE, page_up
from .vfs.inode import allow_write_access, deny_write_access
from .vfs.path import MS_NOSUID

PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
ET_EXEC, ET_DYN = 2, 3
ELF_ET_DYN_BASE = 0x555555554000
STACK_SIZE = 8 << 20
MAX_ARG_STRLEN = 32 * PAGE        # include/uapi/linux/binfmts.h
ARG_MAX = 2 * 1024 * 1024 // 4 * 4  # a quarter of the 8 MiB stack rlimit
BINPRM_BUF_SIZE = 256

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")

AT = dict(NULL=0, SYSINFO_EHDR=33, PHDR=3, PHENT=4, PHNUM=5, PAGESZ=6, BASE=7, FLAGS=8, ENTRY=9, UID=11,
          EUID=12, GID=13, EGID=14, PLATFORM=15, HWCAP=16, CLKTCK=17, SECURE=23,
          RANDOM=25, HWCAP2=26, EXECFN=31, MINSIGSTKSZ=51)


def _host_auxv():
    """HWCAP values of this CPU, read once from the sentry's own auxv."""
    vals = {}
    try:
        with open("/proc/self/auxv", "rb") as f:
            data = f.read()
        for i in range(0, len(data), 16):
            k, v = struct.unpack_from("<QQ", data, i)
            vals[k] = v
    except OSError:
        pass
    return vals


HOST_AUXV = _host_auxv()


class Image:
    """What exec needs to know about the loaded program."""

    def __init__(self):
        self.entry = 0
        self.phdr = 0
        self.phnum = 0
        self.base = 0
        self.interp_entry = 0
        self.end = 0
        self.vdso = 0


def parse_shebang(head):
    line = head[2:].split(b"\n", 1)[0] if b"\n" in head[:BINPRM_BUF_SIZE] else head[2:BINPRM_BUF_SIZE]
    line = line.replace(b"\t", b" ").strip()
    if not line:
        raise SyscallError(E.ENOEXEC)
    interp, _, arg = line.partition(b" ")
    arg = arg.strip()
    return interp, (arg or None)


def _read_phdrs(inode, head):
    if len(head) < 64 or head[:4] != b"\x7fELF":
        raise SyscallError(E.ENOEXEC)
    eh = _EHDR.unpack_from(head)
    ident, etype, machine = eh[0], eh[1], eh[2]
    if ident[4] != 2 or ident[5] != 1 or machine != 62 or etype not in (ET_EXEC, ET_DYN):
        raise SyscallError(E.ENOEXEC)
    phoff, phentsize, phnum = eh[5], eh[9], eh[10]
    if phentsize != 56 or phnum == 0 or phnum > 128:
        raise SyscallError(E.ENOEXEC)
    raw = inode.read_at(phoff, 56 * phnum)
    if len(raw) < 56 * phnum:
        raise SyscallError(E.ENOEXEC)
    phdrs = [_PHDR.unpack_from(raw, i * 56) for i in range(phnum)]
    return etype, eh[4], phoff, phdrs


def _map_elf(mm, inode, etype, phdrs, name, bias_hint):
    loads = [p for p in phdrs if p[0] == PT_LOAD]
    if not loads:
        raise SyscallError(E.ENOEXEC)
    lo = min(p[3] for p in loads) & ~(PAGE - 1)
    hi = page_up(max(p[3] + p[6] for p in loads))
    if etype == ET_DYN:
        bias = mm.find_free(hi - lo, bias_hint) - lo if bias_hint is not None else \
            mm.find_free(hi - lo) - lo
    else:
        bias = 0
    fsize = inode.size
    for p in loads:
        _, flags, off, vaddr, _, filesz, memsz, _ = p
        prot = (PROT_READ if flags & 4 else 0) | (PROT_WRITE if flags & 2 else 0) | \
            (PROT_EXEC if flags & 1 else 0)
        start = (vaddr + bias) & ~(PAGE - 1)
        delta = (vaddr + bias) - start
        end = page_up(vaddr + bias + memsz)
        fstart = off - delta
        valid = max(0, min(off + filesz, fsize) - fstart)
        if memsz > filesz:  # bss: file bytes end at filesz, zeros after
            mm.map_file_private(start, end - start, prot | PROT_WRITE, inode, fstart, valid, name)
            if not prot & PROT_WRITE:
                mm.protect(start, end - start, prot)
        else:
            mm.map_file_private(start, end - start, prot, inode, fstart,
                                min(end - start, max(0, fsize - fstart)), name)
    return bias, hi + bias


def load(kernel, t, dentry, path, argv, envp, depth=0):
    """Build a new MM for `dentry`'s program: (mm, ctx, entry ip, stack
    pointer, the credentials it runs with, whether its exec is a secure one),
    which do_execve commits."""
    inode = dentry.inode
    head = inode.read_at(0, BINPRM_BUF_SIZE)
    if head[:2] == b"#!":
        if depth > 4:
            raise SyscallError(E.ELOOP)
        interp, arg = parse_shebang(head)
        ipath = os.fsdecode(interp)
        idn = kernel.lookup(t, ipath, follow=True, opening=True)
        kernel.check_exec(t, idn)
        new_argv = [interp] + ([arg] if arg else []) + [os.fsencode(path)] + argv[1:]
        return load(kernel, t, idn, ipath, new_argv, envp, depth + 1)
    etype, entry, phoff, phdrs = _read_phdrs(inode, head)
    size = sum(len(a) + 1 for a in argv) + sum(len(e) + 1 for e in envp)
    if size > ARG_MAX:
        raise SyscallError(E.E2BIG)
    interp = None
    for p in phdrs:
        if p[0] == PT_INTERP:
            interp = inode.read_at(p[2], p[5]).rstrip(b"\0")
    if interp:
        idn = kernel.lookup(t, os.fsdecode(interp), follow=True, opening=True)
        iphdrs = _read_phdrs(idn.inode, idn.inode.read_at(0, BINPRM_BUF_SIZE))
    # the credentials it runs with: those of the ELF file, not a script's
    creds = t.tg.creds.copy()
    tracing = t.ptrace
    secure = creds.exec(inode, dentry.mount.flags & MS_NOSUID, t.tg.no_new_privs,
                        tracing is not None and not tracing.tracer.creds.capable(CAP_SYS_PTRACE))
    # the point of no return: a process that is the only user of its address
    # space gets it emptied and reused (no new stub); otherwise a new one
    deny_write_access(inode)  # ETXTBSY while it is open for writing; held by the new mm
    try:
        old = t.mm
        if old is not None and old.users == 1 and len(t.tg.tasks) == 1:
            old.clear()
            aspace, ctx = old.aspace, t.ctx
            aspace.unmap(0, kernel.platform.max_user_address)
            ctx.set_fpstate(kernel.platform.initial_fpstate)
        else:
            aspace, ctx = kernel.platform.new_address_space()
        mm = MM(kernel.memfile, aspace, kernel.platform.max_user_address)
    except BaseException:
        allow_write_access(inode)
        raise
    mm.exe_inode = inode
    try:
        stack_top = mm.top - 0x10000
        mm.mmap_base = stack_top - STACK_SIZE - (128 << 20)
        img = Image()
        bias, end = _map_elf(mm, inode, etype, phdrs, path, ELF_ET_DYN_BASE if etype == ET_DYN else None)
        img.entry = entry + bias
        img.phnum = len(phdrs)
        phdr_vaddr = None
        for p in phdrs:
            if p[0] == PT_PHDR:
                phdr_vaddr = p[3]
        if phdr_vaddr is None:
            for p in phdrs:
                if p[0] == PT_LOAD and p[2] <= phoff < p[2] + p[5]:
                    phdr_vaddr = p[3] + (phoff - p[2])
        img.phdr = (phdr_vaddr or 0) + bias
        start_ip = img.entry
        if interp:
            ietype, ientry, _, iph = iphdrs
            ibias, _ = _map_elf(mm, idn.inode, ietype, iph, os.fsdecode(interp), None)
            img.base = ibias
            start_ip = ientry + ibias
        if kernel.vdso is not None:  # like Linux: the next free range of the mmap area
            img.vdso = kernel.vdso.map(mm)
        mm.brk_start = mm.brk = end
        # PT_GNU_STACK with PF_X asks for an executable stack (gcc's
        # trampolines for nested functions that use their caller's locals)
        xstack = any(p[0] == PT_GNU_STACK and p[1] & 1 for p in phdrs)
        mm.map_anon(stack_top - STACK_SIZE, STACK_SIZE,
                    PROT_READ | PROT_WRITE | (PROT_EXEC if xstack else 0), name="[stack]",
                    growsdown=True)
        sp = _build_stack(mm, stack_top, argv, envp, path, img, creds, secure)
        mm.exe_path = dentry.path(kernel.root_dentry)
        return mm, ctx, start_ip, sp, creds, secure
    except BaseException:
        if ctx is t.ctx:  # past the point of no return: the caller kills the process
            mm.clear()
        else:
            mm.release()
        raise


def _build_stack(mm, top, argv, envp, execfn, img, creds, secure):
    # the strings at the top, from the lowest: the platform string, argv,
    # envp, the file name (where Linux puts them), in one write
    strs = [b"x86_64", *argv, *envp, os.fsencode(execfn)]
    block = b"\0".join(strs) + b"\0"
    sp = top - len(block)
    mm.write(sp, block)
    addrs = []
    a = sp
    for s in strs:
        addrs.append(a)
        a += len(s) + 1
    plat_addr, execfn_addr = addrs[0], addrs[-1]
    arg_addrs = addrs[1:1 + len(argv)]
    env_addrs = addrs[1 + len(argv):-1]
    mm.env_start = mm.arg_end = env_addrs[0] if env_addrs else execfn_addr
    mm.arg_start = arg_addrs[0] if arg_addrs else mm.arg_end
    mm.env_end = execfn_addr
    sp -= 16
    rand_addr = sp
    mm.write(rand_addr, os.urandom(16))
    sp &= ~15
    auxv = [(AT["SYSINFO_EHDR"], img.vdso)] if img.vdso else []
    auxv += [
        (AT["PHDR"], img.phdr), (AT["PHENT"], 56), (AT["PHNUM"], img.phnum),
        (AT["PAGESZ"], PAGE), (AT["BASE"], img.base), (AT["FLAGS"], 0), (AT["ENTRY"], img.entry),
        (AT["UID"], creds.ruid), (AT["EUID"], creds.euid), (AT["GID"], creds.rgid),
        (AT["EGID"], creds.egid), (AT["PLATFORM"], plat_addr),
        (AT["HWCAP"], HOST_AUXV.get(16, 0)), (AT["CLKTCK"], 100), (AT["SECURE"], int(secure)),
        (AT["RANDOM"], rand_addr), (AT["HWCAP2"], HOST_AUXV.get(26, 0)),
        (AT["EXECFN"], execfn_addr), (AT["MINSIGSTKSZ"], HOST_AUXV.get(51, 2048)), (0, 0)]
    words = [len(argv)] + arg_addrs + [0] + env_addrs + [0]
    for k, v in auxv:
        words += [k, v]
    if len(words) % 2:
        sp -= 8
    sp -= 8 * len(words)
    mm.write(sp, struct.pack(f"<{len(words)}Q", *words))
    mm.auxv = struct.pack(f"<{2 * len(auxv)}Q", *[x for kv in auxv for x in kv])
    return sp
