"""Processes and threads: clone, fork, execve, exit, wait, ids, sessions."""

import os
import struct

from ...abi import errno as E
from ...abi import signals as S
from ...abi.caps import CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_CHROOT
from ...abi.errno import SyscallError
from .. import loader, ptrace
from . import sched
from ..vfs.inode import O_NONBLOCK
from .util import AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, path_arg, read_ptr_array, s32

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x20000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED = 0x100000, 0x200000, 0x400000
CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP = 0x800000, 0x1000000, 0x2000000
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO = \
    0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000, 0x80000000
CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP = 0x100000000, 0x200000000
_NS_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
    CLONE_NEWPID | CLONE_NEWNET

WNOHANG, WUNTRACED, WCONTINUED, WEXITED, WNOWAIT = 1, 2, 8, 4, 0x01000000
__WNOTHREAD, __WALL, __WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3


def do_clone(t, flags, stack, parent_tid, child_tid, tls, exit_signal):
    k = t.kernel
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise SyscallError(E.EINVAL)
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise SyscallError(E.EINVAL)
    if flags & CLONE_FS and flags & CLONE_NEWNS:
        raise SyscallError(E.EINVAL)
    if flags & _NS_FLAGS & ~(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS):
        raise SyscallError(E.EPERM if flags & (CLONE_NEWUSER | CLONE_NEWPID) else E.EINVAL)
    if flags & _NS_FLAGS and not t.tg.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(E.EPERM)
    sched.may_fork(t)
    if not k.limits.may_fork(t):
        raise SyscallError(E.EAGAIN)
    regs = t.ctx.regs
    fp = t.ctx.fpstate()
    if flags & CLONE_VM:
        mm = t.mm
        ctx = mm.aspace.new_context(t.ctx)
        mm.users += 1
    else:
        aspace, ctx = k.platform.new_address_space()
        mm = t.mm.fork(k.memfile, aspace, regs.rsp)
    if flags & CLONE_THREAD:
        tg = t.tg
    else:
        parent = t.tg.parent if flags & CLONE_PARENT else t.tg
        sigacts = t.tg.sigactions if flags & CLONE_SIGHAND else t.tg.sigactions.copy()
        if flags & CLONE_CLEAR_SIGHAND:
            sigacts.actions = [(S.SIG_IGN, 0, 0, 0) if a[0] == S.SIG_IGN else (S.SIG_DFL, 0, 0, 0)
                               for a in sigacts.actions]
        tg = k.new_group(parent, sigacts, t.tg.creds.copy(), [list(r) for r in t.tg.rlimits])
        tg.exit_signal = exit_signal
        tg.no_new_privs = t.tg.no_new_privs
    if flags & CLONE_FILES:
        files = t.files
        files.users += 1
    else:
        files = t.files.copy()
    fs = t.fs if flags & CLONE_FS else t.fs.copy()
    child = k.new_task(tg, mm, files, fs, ctx, tid=None if flags & CLONE_THREAD else tg.pid)
    child.comm = t.comm
    sched.fork(t, child)
    child.sigmask = t.sigmask
    child.altstack = t.altstack if not flags & CLONE_VM or flags & CLONE_VFORK else (0, S.SS_DISABLE, 0)
    r = child.ctx.regs
    r.load(regs)
    r.rax = 0
    if stack:
        r.rsp = stack
    if flags & CLONE_SETTLS:
        r.fs_base = tls
    child.ctx.set_fpstate(fp)
    if flags & CLONE_CHILD_SETTID:
        try:
            mm.write_u32(child_tid, child.tid)
        except SyscallError:
            pass
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    if flags & CLONE_PARENT_SETTID:
        try:
            t.mm.write_u32(parent_tid, child.tid)
        except SyscallError:
            pass
    return child


def start_child(t, child, flags):
    """Let the new task run; vfork parents wait for exec or exit."""
    k = t.kernel
    if t.ptrace is None or not ptrace.new_child(t, child, flags & CLONE_VFORK, child.tg.exit_signal
                                                if not flags & CLONE_THREAD else -1):
        k.return_to_user(child, from_syscall=False)
    if flags & CLONE_VFORK:
        child.vfork_parent = t
        t.sys_state = {"vfork_done": False, "child": child.tid}


def _vfork_wait(t):
    st = t.sys_state
    if isinstance(st, dict) and "vfork_done" in st:
        if st["vfork_done"]:
            return st["child"]
        try:
            t.block()
        except SyscallError as e:
            if e.errno == E.ERESTARTSYS:  # vfork waits are not interruptible
                t.blocked = True
                t.waiting = []
                from ..sched import Blocked
                raise Blocked()
            raise
    return None


def sys_clone(t, flags, stack, parent_tid, child_tid, tls, _a6):
    done = _vfork_wait(t)
    if done is not None:
        return done
    exit_signal = flags & 0xFF
    flags &= ~0xFF
    if flags & CLONE_PIDFD:  # clone() returns the pidfd through parent_tid
        _check_pidfd(t, flags, parent_tid, parent_tid)
    child = do_clone(t, flags, stack, parent_tid, child_tid, tls, exit_signal)
    if flags & CLONE_PIDFD:
        _give_pidfd(t, child, parent_tid)
    start_child(t, child, flags)
    if flags & CLONE_VFORK:
        return _vfork_wait(t) or child.tid
    return child.tid


def sys_clone3(t, uargs, size, *_):
    done = _vfork_wait(t)
    if done is not None:
        return done
    if size < 64 or size > 4096:
        raise SyscallError(E.EINVAL)
    raw = t.mm.read(uargs, min(size, 88)).ljust(88, b"\0")
    (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
     set_tid, set_tid_size, cgroup) = struct.unpack("<11Q", raw)
    if exit_signal > 64 or set_tid_size:
        raise SyscallError(E.EINVAL)
    if flags & CLONE_PIDFD:
        _check_pidfd(t, flags, pidfd, parent_tid)
    child = do_clone(t, flags, stack + stack_size if stack else 0, parent_tid, child_tid, tls,
                     exit_signal)
    if flags & CLONE_PIDFD:
        _give_pidfd(t, child, pidfd)
    start_child(t, child, flags)
    if flags & CLONE_VFORK:
        return _vfork_wait(t) or child.tid
    return child.tid


def _check_pidfd(t, flags, addr, parent_tid):
    """CLONE_PIDFD: refuse what Linux refuses before a child is made: beside
    CLONE_THREAD (as before 6.9), CLONE_DETACHED, a CLONE_PARENT_SETTID
    writing the same place, and a bad address (no child made for nothing)."""
    if flags & (CLONE_THREAD | CLONE_DETACHED) or (
            flags & CLONE_PARENT_SETTID and addr == parent_tid):
        raise SyscallError(E.EINVAL)
    t.mm.check(addr, 4, write=True)


def _give_pidfd(t, child, addr):
    """The new process's pidfd, in t's fd table only (a table shared with
    CLONE_FILES shows it to the child too, as Linux's)."""
    from ..fd import pidfd
    t.mm.write_u32(addr, pidfd.install(t, child.tg))


def sys_fork(t, *_):
    return sys_clone(t, S.SIGCHLD, 0, 0, 0, 0, 0)


def sys_vfork(t, *_):
    return sys_clone(t, CLONE_VM | CLONE_VFORK | S.SIGCHLD, 0, 0, 0, 0, 0)


def do_execve(t, dentry, path, argv, envp):
    k = t.kernel
    k.check_exec(t, dentry)
    if not argv:
        argv = []
    old_tid = t.tid  # PTRACE_EVENT_EXEC's message
    reusing = t.mm is not None and t.mm.users == 1 and len(t.tg.tasks) == 1
    try:
        mm, ctx, ip, sp, creds, secure = loader.load(k, t, dentry, path, argv, envp)
    except SyscallError:
        if reusing and not t.mm.vmas:  # the old image is gone: nothing to return to
            k.exit_group(t, S.SIGSEGV)
            return None
        raise
    tg = t.tg
    tg.creds = creds
    if secure:
        tg.pdeathsig = 0  # a parent may not signal a more privileged program
    # de_thread: every other thread of the process dies
    for other in list(tg.tasks):
        if other is not t:
            k._exit_now(other)
    old_mm, old_ctx = t.mm, t.ctx
    if old_ctx is ctx:  # the address space was reused
        old_mm = None
    if old_mm is not None:  # None for the first process and for reuse
        k.account_times(t)
        old_ctx.owner = None
        old_mm.users -= 1
        if old_mm.users <= 0:
            k.note_maxrss(t.tg, old_mm)
            old_mm.release()
        else:
            k.platform.release_context(old_ctx)
    t.mm = mm
    t.ctx = ctx
    ctx.owner = t
    r = ctx.regs
    for name in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11",
                 "r12", "r13", "r14", "r15", "fs_base", "gs_base"):
        setattr(r, name, 0)
    r.rip = ip
    r.rsp = sp
    r.eflags = 0x202
    r.orig_rax = 2**64 - 1
    if t.files.users > 1:
        t.files.users -= 1
        t.files = t.files.copy()
    t.files.close_on_exec()
    if tg.posix_timers:
        from .timers import delete_all
        delete_all(k, tg)
    acts = tg.sigactions
    if any(tg is not g and g.sigactions is acts for g in k.groups.values()):
        tg.sigactions = acts = acts.copy()
    acts.actions = [(S.SIG_IGN, 0, 0, 0) if a[0] == S.SIG_IGN else (S.SIG_DFL, 0, 0, 0)
                    for a in acts.actions]
    t.altstack = (0, S.SS_DISABLE, 0)
    t.comm = os.fsencode(os.path.basename(path))[:15]
    t.clear_child_tid = 0
    t.robust_list = 0
    if t.vfork_parent is not None:
        k.vfork_done(t)
    if t.ptrace is not None:
        ptrace.exec_done(t, old_tid)
    return 0


def sys_execve(t, pathaddr, argv, envp, *_):
    path = path_arg(t, pathaddr)
    a = read_ptr_array(t, argv)
    e = read_ptr_array(t, envp)
    d = t.kernel.lookup(t, path, True, opening=True)
    return do_execve(t, d, path, a, e)


def sys_execveat(t, dirfd, pathaddr, argv, envp, flags, _a6):
    from .util import resolve_at
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise SyscallError(E.EINVAL)
    path = path_arg(t, pathaddr)
    d = resolve_at(t, dirfd, pathaddr, flags, not flags & AT_SYMLINK_NOFOLLOW)
    if not hasattr(d, "mount"):
        raise SyscallError(E.EACCES)
    if d.inode.is_link():
        raise SyscallError(E.ELOOP)
    if not path:
        path = f"/dev/fd/{s32(dirfd)}"
    return do_execve(t, d, path, read_ptr_array(t, argv), read_ptr_array(t, envp))


def sys_exit(t, code, *_):
    t.kernel.exit_thread(t, (code & 0xFF) << 8)
    return None


def sys_exit_group(t, code, *_):
    t.kernel.exit_group(t, (code & 0xFF) << 8)
    return None


def _matches(t, tg, pid):
    if pid < -1:
        return tg.pgid == -pid
    if pid == -1:
        return True
    if pid == 0:
        return tg.pgid == t.tg.pgid
    return tg.pid == pid


def _wait_common(t, match, options, pid=0):
    """Find a child state change: (tg, kind, status) or None. A tracee's
    ptrace-stop comes first: (task, "trapped", status); any task of any
    process this one traces is waited for, as with __WALL, and a pid asked
    for names a tracee by its tid (a traced thread, as Linux's wait)."""
    children = t.tg.children
    tracees = t.tg.tracees
    if not children and not tracees:
        raise SyscallError(E.ECHILD)
    any_match = False
    for x in tracees:
        if x.tid == pid if pid > 0 else match(x.tg):
            any_match = True
            p = x.ptrace
            if p.report is not None:
                return x, "trapped", (p.report << 8) | 0x7F
            if p.exited is not None and options & WEXITED:
                return x, "traced_exit", p.exited
    for c in list(children):
        if not match(c):
            continue
        if c.exit_signal != S.SIGCHLD and not options & (__WALL | __WCLONE):
            continue
        any_match = True
        if c.zombie and options & WEXITED:
            return c, "exit", c.exit_status
        if c.stop_report is not None:
            kind, sig = c.stop_report
            if kind == "stopped" and options & WUNTRACED and c.stopped:
                return c, kind, (sig << 8) | 0x7F
            if kind == "continued" and options & WCONTINUED:
                return c, kind, 0xFFFF
    if not any_match:
        raise SyscallError(E.ECHILD)
    return None


def _took_tracee(x, kind):
    """The tracer's wait took tracee x's stop (it stays stopped) or its end
    (it is traced no more)."""
    if kind == "trapped":
        x.ptrace.report = None
    else:
        ptrace.untrace(x)


def sys_wait4(t, pid, statusp, options, rusage, *_):
    pid = s32(pid)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE):
        raise SyscallError(E.EINVAL)
    res = _wait_common(t, lambda c: _matches(t, c, pid), options | WEXITED, pid)
    if res is None:
        if options & WNOHANG:
            return 0
        t.block([t.tg.child_wait], long=True)
    c, kind, status = res
    if statusp:
        t.mm.write_u32(statusp, status)
    if kind in ("trapped", "traced_exit"):  # a task this process traces
        if rusage:
            from .time import rusage_bytes
            t.mm.write(rusage, rusage_bytes(c.tg.utime, c.tg.stime, c.tg.maxrss))
        _took_tracee(c, kind)
        return c.tid
    if rusage:
        from .time import rusage_bytes
        t.mm.write(rusage, rusage_bytes(c.utime + c.cutime, c.stime + c.cstime,
                                        max(c.maxrss, c.cmaxrss)))
    if kind == "exit":
        t.kernel.reap(c)
    else:
        c.stop_report = None
    return c.pid


def sys_waitid(t, idtype, id_, infop, options, rusage, _a6):
    id_ = s32(id_)
    nonblock = 0
    if idtype == P_ALL:
        match = lambda c: True  # noqa: E731
    elif idtype == P_PID:
        match = lambda c: c.pid == id_  # noqa: E731
    elif idtype == P_PGID:
        pg = id_ or t.tg.pgid
        match = lambda c: c.pgid == pg  # noqa: E731
    elif idtype == P_PIDFD:
        if id_ < 0:
            raise SyscallError(E.EINVAL)
        from ..fd import pidfd
        f = pidfd.target(t, id_)
        match = lambda c: c is f.tg  # noqa: E731
        nonblock = f.flags & O_NONBLOCK
    else:
        raise SyscallError(E.EINVAL)
    if not options & (WEXITED | WUNTRACED | WCONTINUED):
        raise SyscallError(E.EINVAL)
    res = _wait_common(t, match, options, id_ if idtype == P_PID else 0)
    if res is None:
        if options & WNOHANG:
            if infop:
                t.mm.write(infop, bytes(128))
            return 0
        if nonblock:  # a nonblocking pidfd's process runs on
            raise SyscallError(E.EAGAIN)
        t.block([t.tg.child_wait], long=True)
    c, kind, status = res
    pid, uid = (c.tid, c.tg.creds.ruid) if kind in ("trapped", "traced_exit") else (c.pid, c.creds.ruid)
    if kind == "trapped":
        code, val = S.CLD_TRAPPED, status >> 8
        if not options & WNOWAIT:
            _took_tracee(c, kind)
    elif kind in ("exit", "traced_exit"):
        code, val = S.child_end(status)
        if not options & WNOWAIT:
            if kind == "exit":
                t.kernel.reap(c)
            else:
                _took_tracee(c, kind)
    elif kind == "stopped":
        code, val = S.CLD_STOPPED, status >> 8
        if not options & WNOWAIT:
            c.stop_report = None
    else:
        code, val = S.CLD_CONTINUED, S.SIGCONT
        if not options & WNOWAIT:
            c.stop_report = None
    if infop:
        t.mm.write(infop, S.siginfo(S.SIGCHLD, code, pid=pid, uid=uid, status=val))
    return 0


# --- ids -------------------------------------------------------------------
def sys_getpid(t, *_):
    return t.tg.pid


def sys_gettid(t, *_):
    return t.tid


def sys_getppid(t, *_):
    p = t.tg.parent
    return p.pid if p is not None else 0


def sys_set_tid_address(t, addr, *_):
    t.clear_child_tid = addr
    return t.tid


def _group(t, pid):
    """The process `pid` names (0: the caller's)."""
    pid = s32(pid)
    tg = t.tg if pid == 0 else t.kernel.groups.get(pid)
    if tg is None:
        raise SyscallError(E.ESRCH)
    return tg


def sys_getpgid(t, pid, *_):
    return _group(t, pid).pgid


def sys_getpgrp(t, *_):
    return t.tg.pgid


def sys_setpgid(t, pid, pgid, *_):
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise SyscallError(E.EINVAL)
    tg = t.tg if pid == 0 else t.kernel.groups.get(pid)
    if tg is None or (tg is not t.tg and tg.parent is not t.tg):
        raise SyscallError(E.ESRCH)
    if tg.sid == tg.pid:
        raise SyscallError(E.EPERM)
    if tg.sid != t.tg.sid:
        raise SyscallError(E.EPERM)
    pgid = pgid or tg.pid
    if pgid != tg.pid and not any(g.pgid == pgid and g.sid == t.tg.sid
                                  for g in t.kernel.groups.values()):
        raise SyscallError(E.EPERM)
    tg.pgid = pgid
    return 0


def sys_getsid(t, pid, *_):
    return _group(t, pid).sid


def sys_setsid(t, *_):
    tg = t.tg
    if any(g.pgid == tg.pid for g in t.kernel.groups.values()):
        raise SyscallError(E.EPERM)
    tg.sid = tg.pgid = tg.pid
    return tg.pid


# --- credentials -------------------------------------------------------------
def _cr(t):
    return t.tg.creds


def sys_getuid(t, *_):
    return _cr(t).ruid


def sys_geteuid(t, *_):
    return _cr(t).euid


def sys_getgid(t, *_):
    return _cr(t).rgid


def sys_getegid(t, *_):
    return _cr(t).egid


_NOCHANGE = 0xFFFFFFFF  # (uid_t)-1: leave this id as it is


def _xid(v):
    return v & 0xFFFFFFFF


def _may_setid(c, kind):
    return c.capable(CAP_SETUID if kind == "uid" else CAP_SETGID)


def _ids(c, kind):
    return getattr(c, "r" + kind), getattr(c, "e" + kind), getattr(c, "s" + kind)


def _commit_ids(c, kind, r, e, s):
    """Set the real, effective and saved ids; the fs id follows the
    effective one, and for uids so do the capabilities (Creds.fix_setuid)."""
    old = _ids(c, kind)
    setattr(c, "r" + kind, r)
    setattr(c, "e" + kind, e)
    setattr(c, "s" + kind, s)
    setattr(c, "fs" + kind, e)
    if kind == "uid":
        c.fix_setuid(*old)
    return 0


def _setid(t, kind, v):
    """setuid/setgid: with CAP_SETUID (CAP_SETGID) all three ids, else the
    effective one, to the real or saved id only (kernel/sys.c)."""
    c = _cr(t)
    v = _xid(v)
    if v == _NOCHANGE:
        raise SyscallError(E.EINVAL)
    r, e, s = _ids(c, kind)
    if _may_setid(c, kind):
        return _commit_ids(c, kind, v, v, v)
    if v not in (r, s):
        raise SyscallError(E.EPERM)
    return _commit_ids(c, kind, r, v, s)


def sys_setuid(t, uid, *_):
    return _setid(t, "uid", uid)


def sys_setgid(t, gid, *_):
    return _setid(t, "gid", gid)


def _setre(t, kind, nr, ne):
    """setreuid/setregid: the real id to the old real or effective one, the
    effective to any of the three, unless privileged; the saved id follows
    the new effective id when the real id is set or the effective id moves
    off the old real id, so a dropped privilege cannot be taken back."""
    c = _cr(t)
    nr, ne = _xid(nr), _xid(ne)
    r, e, s = _ids(c, kind)
    free = _may_setid(c, kind)
    if nr != _NOCHANGE and nr not in (r, e) and not free:
        raise SyscallError(E.EPERM)
    if ne != _NOCHANGE and ne not in (r, e, s) and not free:
        raise SyscallError(E.EPERM)
    new_r = r if nr == _NOCHANGE else nr
    new_e = e if ne == _NOCHANGE else ne
    new_s = new_e if nr != _NOCHANGE or (ne != _NOCHANGE and ne != r) else s
    return _commit_ids(c, kind, new_r, new_e, new_s)


def sys_setreuid(t, r, e, *_):
    return _setre(t, "uid", r, e)


def sys_setregid(t, r, e, *_):
    return _setre(t, "gid", r, e)


def _setres(t, kind, nr, ne, ns):
    """setresuid/setresgid: each id to any of the old three, unless
    privileged; -1 leaves one as it is."""
    c = _cr(t)
    cur = _ids(c, kind)
    vals = []
    for v, old in zip((_xid(nr), _xid(ne), _xid(ns)), cur):
        if v == _NOCHANGE:
            v = old
        elif v not in cur and not _may_setid(c, kind):
            raise SyscallError(E.EPERM)
        vals.append(v)
    return _commit_ids(c, kind, *vals)


def sys_setresuid(t, r, e, s, *_):
    return _setres(t, "uid", r, e, s)


def sys_setresgid(t, r, e, s, *_):
    return _setres(t, "gid", r, e, s)


def sys_getresuid(t, r, e, s, *_):
    c = _cr(t)
    for a, v in ((r, c.ruid), (e, c.euid), (s, c.suid)):
        t.mm.write_u32(a, v)
    return 0


def sys_getresgid(t, r, e, s, *_):
    c = _cr(t)
    for a, v in ((r, c.rgid), (e, c.egid), (s, c.sgid)):
        t.mm.write_u32(a, v)
    return 0


def sys_setfsuid(t, uid, *_):
    """The old fsuid, whether or not it changed (no error, as Linux)."""
    c = _cr(t)
    old = c.fsuid
    uid = _xid(uid)
    if uid != _NOCHANGE and uid != old and (
            uid in (c.ruid, c.euid, c.suid) or c.capable(CAP_SETUID)):
        c.fsuid = uid
        c.fix_setfsuid(old)
    return old


def sys_setfsgid(t, gid, *_):
    c = _cr(t)
    old = c.fsgid
    gid = _xid(gid)
    if gid != _NOCHANGE and (gid in (c.rgid, c.egid, c.sgid) or c.capable(CAP_SETGID)):
        c.fsgid = gid
    return old


def sys_getgroups(t, size, lst, *_):
    g = _cr(t).groups
    size = s32(size)
    if size < 0:
        raise SyscallError(E.EINVAL)
    if size == 0:
        return len(g)
    if size < len(g):
        raise SyscallError(E.EINVAL)
    t.mm.write(lst, struct.pack(f"<{len(g)}I", *g))
    return len(g)


def sys_setgroups(t, size, lst, *_):
    size = s32(size)
    if size < 0 or size > 65536:
        raise SyscallError(E.EINVAL)
    if not _cr(t).capable(CAP_SETGID):
        raise SyscallError(E.EPERM)
    _cr(t).groups = list(struct.unpack(f"<{size}I", t.mm.read(lst, 4 * size))) if size else []
    return 0


def sys_chroot(t, pathaddr, *_):
    d = t.kernel.lookup(t, path_arg(t, pathaddr), True)
    if not d.inode.is_dir():
        raise SyscallError(E.ENOTDIR)
    if not _cr(t).capable(CAP_SYS_CHROOT):
        raise SyscallError(E.EPERM)
    t.fs.root = d
    return 0


def sys_unshare(t, flags, *_):
    if flags & ~(CLONE_FILES | CLONE_FS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_SYSVSEM):
        raise SyscallError(E.EINVAL if flags & ~_NS_FLAGS & ~0xFFF00 else E.EPERM)
    if flags & _NS_FLAGS and not t.tg.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(E.EPERM)  # new namespaces (no user namespaces here)
    if flags & CLONE_FILES and t.files.users > 1:
        t.files.users -= 1
        t.files = t.files.copy()
    if flags & CLONE_FS:
        t.fs = t.fs.copy()
    return 0

