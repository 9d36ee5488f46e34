"""The syscall table: every x86-64 syscall number -> handler and support level.

One line per syscall. FULL: Linux semantics as far as the tests know.
PARTIAL: works for common use; the handler's docstring or module says where
it differs. A syscall not listed returns ENOSYS and is logged once by name.

`fs.sys_read` below names the handler sys_read of syscalls/fs.py (fd/*.py
for epoll, eventfd, inotify, signalfd, timerfd). Each module is imported on
the first call of one of its syscalls: a sandbox's start-up does not pay
for the modules its program never uses (sockets, epoll, inotify, ...).
"""

import importlib

from ...abi.sysno import MAX, NUMBERS


class _Handler:
    """A handler not imported yet: `module.name`."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def resolve(self):
        return getattr(importlib.import_module(self.module), self.name)


class _Module:
    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _Handler(self._module, name)


class _First:
    """A kernel's table entry until its first call: imports the handler,
    puts it in the table in its place, and calls it."""

    __slots__ = ("handler", "table", "nr")

    def __init__(self, handler, table, nr):
        self.handler, self.table, self.nr = handler, table, nr

    def __call__(self, *args):
        fn = self.table[self.nr] = self.handler.resolve()
        return fn(*args)


epoll, eventfd, inotify, signalfd, timerfd = (
    _Module(f"{__package__.rpartition('.')[0]}.fd.{m}")
    for m in ("epoll", "eventfd", "inotify", "signalfd", "timerfd"))
fs, misc, mm, mount, net, poll, process, signal, time = (
    _Module(f"{__package__}.{m}")
    for m in ("fs", "misc", "mm", "mount", "net", "poll", "process", "signal", "time"))

FULL, PARTIAL = "full", "partial"

ENTRIES = [
    # files
    ("read", fs.sys_read, FULL),
    ("write", fs.sys_write, FULL),
    ("open", fs.sys_open, FULL),
    ("openat", fs.sys_openat, FULL),
    ("openat2", fs.sys_openat2, PARTIAL),
    ("creat", fs.sys_creat, FULL),
    ("close", fs.sys_close, FULL),
    ("close_range", fs.sys_close_range, FULL),
    ("pread64", fs.sys_pread64, FULL),
    ("pwrite64", fs.sys_pwrite64, FULL),
    ("readv", fs.sys_readv, FULL),
    ("writev", fs.sys_writev, FULL),
    ("preadv", fs.sys_preadv, FULL),
    ("pwritev", fs.sys_pwritev, FULL),
    ("preadv2", fs.sys_preadv2, PARTIAL),
    ("pwritev2", fs.sys_pwritev2, PARTIAL),
    ("lseek", fs.sys_lseek, FULL),
    ("sendfile", fs.sys_sendfile, FULL),
    ("copy_file_range", fs.sys_copy_file_range, PARTIAL),
    ("splice", fs.sys_splice, PARTIAL),
    ("tee", fs.sys_tee, PARTIAL),
    ("dup", fs.sys_dup, FULL),
    ("dup2", fs.sys_dup2, FULL),
    ("dup3", fs.sys_dup3, FULL),
    ("fcntl", fs.sys_fcntl, FULL),
    ("ioctl", fs.sys_ioctl, PARTIAL),
    ("flock", fs.sys_flock, FULL),
    ("pipe", fs.sys_pipe, FULL),
    ("pipe2", fs.sys_pipe2, FULL),
    ("stat", fs.sys_stat, FULL),
    ("lstat", fs.sys_lstat, FULL),
    ("fstat", fs.sys_fstat, FULL),
    ("newfstatat", fs.sys_newfstatat, FULL),
    ("statx", fs.sys_statx, PARTIAL),
    ("statfs", fs.sys_statfs, PARTIAL),
    ("fstatfs", fs.sys_fstatfs, PARTIAL),
    ("access", fs.sys_access, FULL),
    ("faccessat", fs.sys_faccessat, FULL),
    ("faccessat2", fs.sys_faccessat2, FULL),
    ("readlink", fs.sys_readlink, FULL),
    ("readlinkat", fs.sys_readlinkat, FULL),
    ("getdents64", fs.sys_getdents64, FULL),
    ("getcwd", fs.sys_getcwd, FULL),
    ("chdir", fs.sys_chdir, FULL),
    ("fchdir", fs.sys_fchdir, FULL),
    ("umask", fs.sys_umask, FULL),
    ("mknod", fs.sys_mknod, PARTIAL),
    ("mknodat", fs.sys_mknodat, PARTIAL),
    ("mkdir", fs.sys_mkdir, FULL),
    ("mkdirat", fs.sys_mkdirat, FULL),
    ("rmdir", fs.sys_rmdir, FULL),
    ("unlink", fs.sys_unlink, FULL),
    ("unlinkat", fs.sys_unlinkat, FULL),
    ("rename", fs.sys_rename, FULL),
    ("renameat", fs.sys_renameat, FULL),
    ("renameat2", fs.sys_renameat2, FULL),
    ("link", fs.sys_link, FULL),
    ("linkat", fs.sys_linkat, FULL),
    ("symlink", fs.sys_symlink, FULL),
    ("symlinkat", fs.sys_symlinkat, FULL),
    ("chmod", fs.sys_chmod, FULL),
    ("fchmod", fs.sys_fchmod, FULL),
    ("fchmodat", fs.sys_fchmodat, FULL),
    ("fchmodat2", fs.sys_fchmodat2, FULL),
    ("chown", fs.sys_chown, FULL),
    ("lchown", fs.sys_lchown, FULL),
    ("fchown", fs.sys_fchown, FULL),
    ("fchownat", fs.sys_fchownat, FULL),
    ("utimensat", fs.sys_utimensat, FULL),
    ("utimes", fs.sys_utimes, FULL),
    ("utime", fs.sys_utime, FULL),
    ("truncate", fs.sys_truncate, FULL),
    ("ftruncate", fs.sys_ftruncate, FULL),
    ("fallocate", fs.sys_fallocate, PARTIAL),
    ("fsync", fs.sys_fsync, FULL),
    ("fdatasync", fs.sys_fsync, FULL),
    ("syncfs", fs.sys_fsync, FULL),
    ("sync", fs.sys_sync, FULL),
    ("sync_file_range", fs.sys_fsync, FULL),
    ("fadvise64", fs.sys_fadvise64, FULL),
    ("getxattr", fs.sys_getxattr, PARTIAL),
    ("lgetxattr", fs.sys_lgetxattr, PARTIAL),
    ("fgetxattr", fs.sys_fgetxattr, PARTIAL),
    ("listxattr", fs.sys_listxattr, PARTIAL),
    ("llistxattr", fs.sys_llistxattr, PARTIAL),
    ("flistxattr", fs.sys_flistxattr, PARTIAL),
    ("setxattr", fs.sys_setxattr, PARTIAL),
    ("lsetxattr", fs.sys_setxattr, PARTIAL),
    ("fsetxattr", fs.sys_setxattr, PARTIAL),
    ("removexattr", fs.sys_removexattr, PARTIAL),
    ("lremovexattr", fs.sys_removexattr, PARTIAL),
    ("fremovexattr", fs.sys_removexattr, PARTIAL),
    ("memfd_create", fs.sys_memfd_create, PARTIAL),
    ("mount", mount.sys_mount, PARTIAL),
    ("umount2", mount.sys_umount2, PARTIAL),
    # polling and event files
    ("poll", poll.sys_poll, FULL),
    ("ppoll", poll.sys_ppoll, FULL),
    ("select", poll.sys_select, FULL),
    ("pselect6", poll.sys_pselect6, FULL),
    ("epoll_create", epoll.sys_epoll_create, FULL),
    ("epoll_create1", epoll.sys_epoll_create1, FULL),
    ("epoll_ctl", epoll.sys_epoll_ctl, FULL),
    ("epoll_wait", epoll.sys_epoll_wait, FULL),
    ("epoll_pwait", epoll.sys_epoll_pwait, FULL),
    ("epoll_pwait2", epoll.sys_epoll_pwait2, FULL),
    ("eventfd", eventfd.sys_eventfd, FULL),
    ("eventfd2", eventfd.sys_eventfd2, FULL),
    ("timerfd_create", timerfd.sys_timerfd_create, FULL),
    ("timerfd_settime", timerfd.sys_timerfd_settime, PARTIAL),
    ("timerfd_gettime", timerfd.sys_timerfd_gettime, FULL),
    ("signalfd", signalfd.sys_signalfd, FULL),
    ("signalfd4", signalfd.sys_signalfd4, FULL),
    ("inotify_init", inotify.sys_inotify_init, PARTIAL),
    ("inotify_init1", inotify.sys_inotify_init1, PARTIAL),
    ("inotify_add_watch", inotify.sys_inotify_add_watch, PARTIAL),
    ("inotify_rm_watch", inotify.sys_inotify_rm_watch, PARTIAL),
    # sockets
    ("socket", net.sys_socket, PARTIAL),
    ("socketpair", net.sys_socketpair, PARTIAL),
    ("bind", net.sys_bind, FULL),
    ("listen", net.sys_listen, FULL),
    ("accept", net.sys_accept, FULL),
    ("accept4", net.sys_accept4, FULL),
    ("connect", net.sys_connect, FULL),
    ("getsockname", net.sys_getsockname, FULL),
    ("getpeername", net.sys_getpeername, FULL),
    ("sendto", net.sys_sendto, FULL),
    ("recvfrom", net.sys_recvfrom, FULL),
    ("sendmsg", net.sys_sendmsg, FULL),
    ("recvmsg", net.sys_recvmsg, FULL),
    ("shutdown", net.sys_shutdown, FULL),
    ("getsockopt", net.sys_getsockopt, PARTIAL),
    ("setsockopt", net.sys_setsockopt, PARTIAL),
    # memory
    ("mmap", mm.sys_mmap, PARTIAL),
    ("munmap", mm.sys_munmap, FULL),
    ("mprotect", mm.sys_mprotect, FULL),
    ("brk", mm.sys_brk, FULL),
    ("mremap", mm.sys_mremap, PARTIAL),
    ("madvise", mm.sys_madvise, PARTIAL),
    ("msync", mm.sys_msync, PARTIAL),
    ("mincore", mm.sys_mincore, PARTIAL),
    ("mlock", mm.sys_mlock, PARTIAL),
    ("munlock", mm.sys_mlock, PARTIAL),
    ("mlock2", mm.sys_mlock, PARTIAL),
    ("mlockall", mm.sys_mlockall, PARTIAL),
    ("munlockall", mm.sys_mlock, PARTIAL),
    # processes
    ("clone", process.sys_clone, FULL),
    ("clone3", process.sys_clone3, PARTIAL),
    ("fork", process.sys_fork, FULL),
    ("vfork", process.sys_vfork, FULL),
    ("execve", process.sys_execve, FULL),
    ("execveat", process.sys_execveat, FULL),
    ("exit", process.sys_exit, FULL),
    ("exit_group", process.sys_exit_group, FULL),
    ("wait4", process.sys_wait4, FULL),
    ("waitid", process.sys_waitid, FULL),
    ("getpid", process.sys_getpid, FULL),
    ("gettid", process.sys_gettid, FULL),
    ("getppid", process.sys_getppid, FULL),
    ("set_tid_address", process.sys_set_tid_address, FULL),
    ("getpgid", process.sys_getpgid, FULL),
    ("getpgrp", process.sys_getpgrp, FULL),
    ("setpgid", process.sys_setpgid, FULL),
    ("getsid", process.sys_getsid, FULL),
    ("setsid", process.sys_setsid, FULL),
    ("getuid", process.sys_getuid, FULL),
    ("geteuid", process.sys_geteuid, FULL),
    ("getgid", process.sys_getgid, FULL),
    ("getegid", process.sys_getegid, FULL),
    ("setuid", process.sys_setuid, FULL),
    ("setgid", process.sys_setgid, FULL),
    ("setreuid", process.sys_setreuid, FULL),
    ("setregid", process.sys_setregid, FULL),
    ("setresuid", process.sys_setresuid, FULL),
    ("setresgid", process.sys_setresgid, FULL),
    ("getresuid", process.sys_getresuid, FULL),
    ("getresgid", process.sys_getresgid, FULL),
    ("setfsuid", process.sys_setfsuid, FULL),
    ("setfsgid", process.sys_setfsgid, FULL),
    ("getgroups", process.sys_getgroups, FULL),
    ("setgroups", process.sys_setgroups, FULL),
    ("chroot", process.sys_chroot, FULL),
    ("unshare", process.sys_unshare, PARTIAL),
    # signals
    ("rt_sigaction", signal.sys_rt_sigaction, FULL),
    ("rt_sigprocmask", signal.sys_rt_sigprocmask, FULL),
    ("rt_sigpending", signal.sys_rt_sigpending, FULL),
    ("rt_sigsuspend", signal.sys_rt_sigsuspend, FULL),
    ("rt_sigreturn", signal.sys_rt_sigreturn, FULL),
    ("rt_sigtimedwait", signal.sys_rt_sigtimedwait, FULL),
    ("rt_sigqueueinfo", signal.sys_rt_sigqueueinfo, FULL),
    ("rt_tgsigqueueinfo", signal.sys_rt_tgsigqueueinfo, FULL),
    ("sigaltstack", signal.sys_sigaltstack, FULL),
    ("kill", signal.sys_kill, FULL),
    ("tkill", signal.sys_tkill, FULL),
    ("tgkill", signal.sys_tgkill, FULL),
    ("pause", signal.sys_pause, FULL),
    ("restart_syscall", signal.sys_restart_syscall, FULL),
    # time
    ("clock_gettime", time.sys_clock_gettime, FULL),
    ("clock_getres", time.sys_clock_getres, FULL),
    ("clock_settime", time.sys_clock_settime, FULL),
    ("gettimeofday", time.sys_gettimeofday, FULL),
    ("time", time.sys_time, FULL),
    ("nanosleep", time.sys_nanosleep, FULL),
    ("clock_nanosleep", time.sys_clock_nanosleep, FULL),
    ("setitimer", time.sys_setitimer, PARTIAL),
    ("getitimer", time.sys_getitimer, PARTIAL),
    ("alarm", time.sys_alarm, FULL),
    ("times", time.sys_times, PARTIAL),
    ("getrusage", time.sys_getrusage, PARTIAL),
    # system
    ("uname", misc.sys_uname, FULL),
    ("sethostname", misc.sys_sethostname, FULL),
    ("setdomainname", misc.sys_setdomainname, FULL),
    ("arch_prctl", misc.sys_arch_prctl, FULL),
    ("set_robust_list", misc.sys_set_robust_list, FULL),
    ("get_robust_list", misc.sys_get_robust_list, FULL),
    ("rseq", misc.sys_rseq, PARTIAL),
    ("futex", misc.sys_futex, PARTIAL),
    ("prlimit64", misc.sys_prlimit64, FULL),
    ("getrlimit", misc.sys_getrlimit, FULL),
    ("setrlimit", misc.sys_setrlimit, FULL),
    ("sysinfo", misc.sys_sysinfo, FULL),
    ("getrandom", misc.sys_getrandom, FULL),
    ("prctl", misc.sys_prctl, PARTIAL),
    ("personality", misc.sys_personality, PARTIAL),
    ("sched_yield", misc.sys_sched_yield, FULL),
    ("getcpu", misc.sys_getcpu, PARTIAL),
    ("sched_getaffinity", misc.sys_sched_getaffinity, PARTIAL),
    ("sched_setaffinity", misc.sys_sched_setaffinity, PARTIAL),
    ("sched_getscheduler", misc.sys_sched_getscheduler, PARTIAL),
    ("sched_setscheduler", misc.sys_sched_setscheduler, PARTIAL),
    ("sched_getparam", misc.sys_sched_getparam, PARTIAL),
    ("sched_setparam", misc.sys_sched_setparam, PARTIAL),
    ("sched_get_priority_max", misc.sys_sched_get_priority_max, FULL),
    ("sched_get_priority_min", misc.sys_sched_get_priority_min, FULL),
    ("sched_rr_get_interval", misc.sys_sched_rr_get_interval, PARTIAL),
    ("getpriority", misc.sys_getpriority, PARTIAL),
    ("setpriority", misc.sys_setpriority, PARTIAL),
    ("capget", misc.sys_capget, PARTIAL),
    ("capset", misc.sys_capset, PARTIAL),
    ("ioprio_get", misc.sys_ioprio_get, PARTIAL),
    ("ioprio_set", misc.sys_ioprio_set, PARTIAL),
    ("membarrier", misc.sys_membarrier, PARTIAL),
    ("syslog", misc.sys_syslog, PARTIAL),
]


def build():
    """A list indexed by syscall number (None where unsupported); each entry
    imports its handler on its first call."""
    table = [None] * MAX
    for name, handler, _ in ENTRIES:
        nr = NUMBERS[name]
        table[nr] = _First(handler, table, nr)
    return table


def handlers():
    """{name: handler function}, every module imported (tests, tools)."""
    return {name: handler.resolve() for name, handler, _ in ENTRIES}


def support():
    """{name: level} for `bastion syscalls`."""
    return {name: level for name, _, level in ENTRIES}
