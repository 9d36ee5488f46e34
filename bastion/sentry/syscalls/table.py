"""The syscall table: every x86-64 syscall number -> handler and support level.

One line per syscall. "full": Linux semantics as far as the tests know.
"partial": works for common use; the handler's docstring or module says where
it differs. A syscall not listed returns ENOSYS and is logged once by name.

"fs.sys_read" below names the handler sys_read of syscalls/fs.py (fd/*.py
for epoll, eventfd, inotify, pidfd, signalfd, timerfd). Each module is imported on
the first call of one of its syscalls: a sandbox's start-up does not pay
for the modules its program never uses (sockets, epoll, inotify, ...).
"""

import importlib

from ...abi.sysno import MAX, NUMBERS


def _resolve(where):
    """The handler "module.name" names (module: a key of MODULES), imported."""
    module, name = where.split(".")
    return getattr(importlib.import_module(MODULES[module]), name)


class _First:
    """A kernel's table entry until its first call: imports the handler,
    puts it in the table in its place, and calls it."""

    __slots__ = ("where", "table", "nr")

    def __init__(self, where, table, nr):
        self.where, self.table, self.nr = where, table, nr

    def __call__(self, *args):
        fn = self.table[self.nr] = _resolve(self.where)
        return fn(*args)


_FD = __package__.rpartition(".")[0] + ".fd"
MODULES = {m: f"{_FD}.{m}" for m in ("epoll", "eventfd", "inotify", "pidfd", "signalfd", "timerfd")}
MODULES.update({m: f"{__package__}.{m}" for m in (
    "fs", "misc", "mm", "mount", "net", "poll", "process", "ptrace", "sched", "signal", "time",
    "timers")})

# (name, "module.handler", support level): plain constants, so the list costs
# nothing to build at start-up (it was ~2.5 ms of attribute hooks)
ENTRIES = [
    # files
    ("read", "fs.sys_read", "full"),
    ("write", "fs.sys_write", "full"),
    ("open", "fs.sys_open", "full"),
    ("openat", "fs.sys_openat", "full"),
    ("openat2", "fs.sys_openat2", "partial"),
    ("creat", "fs.sys_creat", "full"),
    ("close", "fs.sys_close", "full"),
    ("close_range", "fs.sys_close_range", "full"),
    ("pread64", "fs.sys_pread64", "full"),
    ("pwrite64", "fs.sys_pwrite64", "full"),
    ("readv", "fs.sys_readv", "full"),
    ("writev", "fs.sys_writev", "full"),
    ("preadv", "fs.sys_preadv", "full"),
    ("pwritev", "fs.sys_pwritev", "full"),
    ("preadv2", "fs.sys_preadv2", "partial"),
    ("pwritev2", "fs.sys_pwritev2", "partial"),
    ("lseek", "fs.sys_lseek", "full"),
    ("sendfile", "fs.sys_sendfile", "full"),
    ("copy_file_range", "fs.sys_copy_file_range", "partial"),
    ("splice", "fs.sys_splice", "partial"),
    ("tee", "fs.sys_tee", "partial"),
    ("dup", "fs.sys_dup", "full"),
    ("dup2", "fs.sys_dup2", "full"),
    ("dup3", "fs.sys_dup3", "full"),
    ("fcntl", "fs.sys_fcntl", "full"),
    ("ioctl", "fs.sys_ioctl", "partial"),
    ("flock", "fs.sys_flock", "full"),
    ("pipe", "fs.sys_pipe", "full"),
    ("pipe2", "fs.sys_pipe2", "full"),
    ("stat", "fs.sys_stat", "full"),
    ("lstat", "fs.sys_lstat", "full"),
    ("fstat", "fs.sys_fstat", "full"),
    ("newfstatat", "fs.sys_newfstatat", "full"),
    ("statx", "fs.sys_statx", "partial"),
    ("statfs", "fs.sys_statfs", "partial"),
    ("fstatfs", "fs.sys_fstatfs", "partial"),
    ("access", "fs.sys_access", "full"),
    ("faccessat", "fs.sys_faccessat", "full"),
    ("faccessat2", "fs.sys_faccessat2", "full"),
    ("readlink", "fs.sys_readlink", "full"),
    ("readlinkat", "fs.sys_readlinkat", "full"),
    ("getdents64", "fs.sys_getdents64", "full"),
    ("getcwd", "fs.sys_getcwd", "full"),
    ("chdir", "fs.sys_chdir", "full"),
    ("fchdir", "fs.sys_fchdir", "full"),
    ("umask", "fs.sys_umask", "full"),
    ("mknod", "fs.sys_mknod", "partial"),
    ("mknodat", "fs.sys_mknodat", "partial"),
    ("mkdir", "fs.sys_mkdir", "full"),
    ("mkdirat", "fs.sys_mkdirat", "full"),
    ("rmdir", "fs.sys_rmdir", "full"),
    ("unlink", "fs.sys_unlink", "full"),
    ("unlinkat", "fs.sys_unlinkat", "full"),
    ("rename", "fs.sys_rename", "full"),
    ("renameat", "fs.sys_renameat", "full"),
    ("renameat2", "fs.sys_renameat2", "full"),
    ("link", "fs.sys_link", "full"),
    ("linkat", "fs.sys_linkat", "full"),
    ("symlink", "fs.sys_symlink", "full"),
    ("symlinkat", "fs.sys_symlinkat", "full"),
    ("chmod", "fs.sys_chmod", "full"),
    ("fchmod", "fs.sys_fchmod", "full"),
    ("fchmodat", "fs.sys_fchmodat", "full"),
    ("fchmodat2", "fs.sys_fchmodat2", "full"),
    ("chown", "fs.sys_chown", "full"),
    ("lchown", "fs.sys_lchown", "full"),
    ("fchown", "fs.sys_fchown", "full"),
    ("fchownat", "fs.sys_fchownat", "full"),
    ("utimensat", "fs.sys_utimensat", "full"),
    ("utimes", "fs.sys_utimes", "full"),
    ("utime", "fs.sys_utime", "full"),
    ("truncate", "fs.sys_truncate", "full"),
    ("ftruncate", "fs.sys_ftruncate", "full"),
    ("fallocate", "fs.sys_fallocate", "partial"),
    ("fsync", "fs.sys_fsync", "full"),
    ("fdatasync", "fs.sys_fsync", "full"),
    ("syncfs", "fs.sys_fsync", "full"),
    ("sync", "fs.sys_sync", "full"),
    ("sync_file_range", "fs.sys_fsync", "full"),
    ("fadvise64", "fs.sys_fadvise64", "full"),
    ("getxattr", "fs.sys_getxattr", "partial"),
    ("lgetxattr", "fs.sys_lgetxattr", "partial"),
    ("fgetxattr", "fs.sys_fgetxattr", "partial"),
    ("listxattr", "fs.sys_listxattr", "partial"),
    ("llistxattr", "fs.sys_llistxattr", "partial"),
    ("flistxattr", "fs.sys_flistxattr", "partial"),
    ("setxattr", "fs.sys_setxattr", "partial"),
    ("lsetxattr", "fs.sys_setxattr", "partial"),
    ("fsetxattr", "fs.sys_setxattr", "partial"),
    ("removexattr", "fs.sys_removexattr", "partial"),
    ("lremovexattr", "fs.sys_removexattr", "partial"),
    ("fremovexattr", "fs.sys_removexattr", "partial"),
    ("memfd_create", "fs.sys_memfd_create", "partial"),
    ("mount", "mount.sys_mount", "partial"),
    ("umount2", "mount.sys_umount2", "partial"),
    # polling and event files
    ("poll", "poll.sys_poll", "full"),
    ("ppoll", "poll.sys_ppoll", "full"),
    ("select", "poll.sys_select", "full"),
    ("pselect6", "poll.sys_pselect6", "full"),
    ("epoll_create", "epoll.sys_epoll_create", "full"),
    ("epoll_create1", "epoll.sys_epoll_create1", "full"),
    ("epoll_ctl", "epoll.sys_epoll_ctl", "full"),
    ("epoll_wait", "epoll.sys_epoll_wait", "full"),
    ("epoll_pwait", "epoll.sys_epoll_pwait", "full"),
    ("epoll_pwait2", "epoll.sys_epoll_pwait2", "full"),
    ("eventfd", "eventfd.sys_eventfd", "full"),
    ("eventfd2", "eventfd.sys_eventfd2", "full"),
    ("timerfd_create", "timerfd.sys_timerfd_create", "full"),
    ("timerfd_settime", "timerfd.sys_timerfd_settime", "partial"),
    ("timerfd_gettime", "timerfd.sys_timerfd_gettime", "full"),
    ("signalfd", "signalfd.sys_signalfd", "full"),
    ("signalfd4", "signalfd.sys_signalfd4", "full"),
    ("inotify_init", "inotify.sys_inotify_init", "partial"),
    ("inotify_init1", "inotify.sys_inotify_init1", "partial"),
    ("inotify_add_watch", "inotify.sys_inotify_add_watch", "partial"),
    ("inotify_rm_watch", "inotify.sys_inotify_rm_watch", "partial"),
    # sockets
    ("socket", "net.sys_socket", "partial"),
    ("socketpair", "net.sys_socketpair", "partial"),
    ("bind", "net.sys_bind", "full"),
    ("listen", "net.sys_listen", "full"),
    ("accept", "net.sys_accept", "full"),
    ("accept4", "net.sys_accept4", "full"),
    ("connect", "net.sys_connect", "full"),
    ("getsockname", "net.sys_getsockname", "full"),
    ("getpeername", "net.sys_getpeername", "full"),
    ("sendto", "net.sys_sendto", "full"),
    ("recvfrom", "net.sys_recvfrom", "full"),
    ("sendmsg", "net.sys_sendmsg", "full"),
    ("recvmsg", "net.sys_recvmsg", "full"),
    ("shutdown", "net.sys_shutdown", "full"),
    ("getsockopt", "net.sys_getsockopt", "partial"),
    ("setsockopt", "net.sys_setsockopt", "partial"),
    # memory
    ("mmap", "mm.sys_mmap", "partial"),
    ("munmap", "mm.sys_munmap", "full"),
    ("mprotect", "mm.sys_mprotect", "full"),
    ("brk", "mm.sys_brk", "full"),
    ("mremap", "mm.sys_mremap", "partial"),
    ("madvise", "mm.sys_madvise", "partial"),
    ("msync", "mm.sys_msync", "partial"),
    ("mincore", "mm.sys_mincore", "partial"),
    ("mlock", "mm.sys_mlock", "partial"),
    ("munlock", "mm.sys_mlock", "partial"),
    ("mlock2", "mm.sys_mlock", "partial"),
    ("mlockall", "mm.sys_mlockall", "partial"),
    ("munlockall", "mm.sys_mlock", "partial"),
    # processes
    ("clone", "process.sys_clone", "full"),
    ("clone3", "process.sys_clone3", "partial"),
    ("fork", "process.sys_fork", "full"),
    ("vfork", "process.sys_vfork", "full"),
    ("execve", "process.sys_execve", "full"),
    ("execveat", "process.sys_execveat", "full"),
    ("exit", "process.sys_exit", "full"),
    ("exit_group", "process.sys_exit_group", "full"),
    ("wait4", "process.sys_wait4", "full"),
    ("waitid", "process.sys_waitid", "full"),
    ("pidfd_open", "pidfd.sys_pidfd_open", "partial"),  # no PIDFD_THREAD (Linux 6.9)
    ("pidfd_send_signal", "pidfd.sys_pidfd_send_signal", "full"),
    ("pidfd_getfd", "pidfd.sys_pidfd_getfd", "full"),
    ("ptrace", "ptrace.sys_ptrace", "partial"),  # no debug registers, SYSEMU, LISTEN
    ("process_vm_readv", "ptrace.sys_process_vm_readv", "full"),
    ("process_vm_writev", "ptrace.sys_process_vm_writev", "full"),
    ("getpid", "process.sys_getpid", "full"),
    ("gettid", "process.sys_gettid", "full"),
    ("getppid", "process.sys_getppid", "full"),
    ("set_tid_address", "process.sys_set_tid_address", "full"),
    ("getpgid", "process.sys_getpgid", "full"),
    ("getpgrp", "process.sys_getpgrp", "full"),
    ("setpgid", "process.sys_setpgid", "full"),
    ("getsid", "process.sys_getsid", "full"),
    ("setsid", "process.sys_setsid", "full"),
    ("getuid", "process.sys_getuid", "full"),
    ("geteuid", "process.sys_geteuid", "full"),
    ("getgid", "process.sys_getgid", "full"),
    ("getegid", "process.sys_getegid", "full"),
    ("setuid", "process.sys_setuid", "full"),
    ("setgid", "process.sys_setgid", "full"),
    ("setreuid", "process.sys_setreuid", "full"),
    ("setregid", "process.sys_setregid", "full"),
    ("setresuid", "process.sys_setresuid", "full"),
    ("setresgid", "process.sys_setresgid", "full"),
    ("getresuid", "process.sys_getresuid", "full"),
    ("getresgid", "process.sys_getresgid", "full"),
    ("setfsuid", "process.sys_setfsuid", "full"),
    ("setfsgid", "process.sys_setfsgid", "full"),
    ("getgroups", "process.sys_getgroups", "full"),
    ("setgroups", "process.sys_setgroups", "full"),
    ("chroot", "process.sys_chroot", "full"),
    ("unshare", "process.sys_unshare", "partial"),
    # signals
    ("rt_sigaction", "signal.sys_rt_sigaction", "full"),
    ("rt_sigprocmask", "signal.sys_rt_sigprocmask", "full"),
    ("rt_sigpending", "signal.sys_rt_sigpending", "full"),
    ("rt_sigsuspend", "signal.sys_rt_sigsuspend", "full"),
    ("rt_sigreturn", "signal.sys_rt_sigreturn", "full"),
    ("rt_sigtimedwait", "signal.sys_rt_sigtimedwait", "full"),
    ("rt_sigqueueinfo", "signal.sys_rt_sigqueueinfo", "full"),
    ("rt_tgsigqueueinfo", "signal.sys_rt_tgsigqueueinfo", "full"),
    ("sigaltstack", "signal.sys_sigaltstack", "full"),
    ("kill", "signal.sys_kill", "full"),
    ("tkill", "signal.sys_tkill", "full"),
    ("tgkill", "signal.sys_tgkill", "full"),
    ("pause", "signal.sys_pause", "full"),
    ("restart_syscall", "signal.sys_restart_syscall", "full"),
    # time
    ("clock_gettime", "time.sys_clock_gettime", "full"),
    ("clock_getres", "time.sys_clock_getres", "full"),
    ("clock_settime", "time.sys_clock_settime", "full"),
    ("gettimeofday", "time.sys_gettimeofday", "full"),
    ("time", "time.sys_time", "full"),
    ("nanosleep", "time.sys_nanosleep", "full"),
    ("clock_nanosleep", "time.sys_clock_nanosleep", "full"),
    ("setitimer", "time.sys_setitimer", "partial"),
    ("getitimer", "time.sys_getitimer", "partial"),
    ("timer_create", "timers.sys_timer_create", "partial"),
    ("timer_settime", "timers.sys_timer_settime", "full"),
    ("timer_gettime", "timers.sys_timer_gettime", "full"),
    ("timer_getoverrun", "timers.sys_timer_getoverrun", "full"),
    ("timer_delete", "timers.sys_timer_delete", "full"),
    ("alarm", "time.sys_alarm", "full"),
    ("times", "time.sys_times", "partial"),
    ("getrusage", "time.sys_getrusage", "partial"),
    # system
    ("uname", "misc.sys_uname", "full"),
    ("sethostname", "misc.sys_sethostname", "full"),
    ("setdomainname", "misc.sys_setdomainname", "full"),
    ("arch_prctl", "misc.sys_arch_prctl", "full"),
    ("set_robust_list", "misc.sys_set_robust_list", "full"),
    ("get_robust_list", "misc.sys_get_robust_list", "full"),
    ("rseq", "misc.sys_rseq", "partial"),
    ("futex", "misc.sys_futex", "partial"),
    ("prlimit64", "misc.sys_prlimit64", "full"),
    ("getrlimit", "misc.sys_getrlimit", "full"),
    ("setrlimit", "misc.sys_setrlimit", "full"),
    ("sysinfo", "misc.sys_sysinfo", "full"),
    ("getrandom", "misc.sys_getrandom", "full"),
    ("prctl", "misc.sys_prctl", "partial"),
    ("personality", "misc.sys_personality", "partial"),
    ("sched_yield", "sched.sys_sched_yield", "full"),
    ("getcpu", "sched.sys_getcpu", "partial"),
    ("sched_getaffinity", "sched.sys_sched_getaffinity", "full"),
    ("sched_setaffinity", "sched.sys_sched_setaffinity", "full"),
    ("sched_getscheduler", "sched.sys_sched_getscheduler", "full"),
    ("sched_setscheduler", "sched.sys_sched_setscheduler", "full"),
    ("sched_getparam", "sched.sys_sched_getparam", "full"),
    ("sched_setparam", "sched.sys_sched_setparam", "full"),
    ("sched_setattr", "sched.sys_sched_setattr", "full"),
    ("sched_getattr", "sched.sys_sched_getattr", "full"),
    ("sched_get_priority_max", "sched.sys_sched_get_priority_max", "full"),
    ("sched_get_priority_min", "sched.sys_sched_get_priority_min", "full"),
    ("sched_rr_get_interval", "sched.sys_sched_rr_get_interval", "full"),
    ("getpriority", "misc.sys_getpriority", "partial"),
    ("setpriority", "misc.sys_setpriority", "partial"),
    ("capget", "misc.sys_capget", "partial"),
    ("capset", "misc.sys_capset", "partial"),
    ("ioprio_get", "sched.sys_ioprio_get", "full"),
    ("ioprio_set", "sched.sys_ioprio_set", "full"),
    ("membarrier", "misc.sys_membarrier", "partial"),
    ("syslog", "misc.sys_syslog", "partial"),
]


def _unsupported(t, *_):
    """The table's entry for a number no handler serves: ENOSYS, logged once
    by the kernel. A callable like the handlers, so the hot path calls the
    entry without looking at it first."""
    return t.kernel.unsupported(t, t.ctx.regs.orig_rax)


def build():
    """A list indexed by syscall number, MAX long; each supported entry
    imports its handler on its first call."""
    table = [_unsupported] * MAX
    for name, where, _ in ENTRIES:
        nr = NUMBERS[name]
        table[nr] = _First(where, table, nr)
    return table


def handlers():
    """{name: handler function}, every module imported (tests, tools)."""
    return {name: _resolve(where) for name, where, _ in ENTRIES}


def support():
    """{name: level} for `bastion syscalls`."""
    return {name: level for name, _, level in ENTRIES}
