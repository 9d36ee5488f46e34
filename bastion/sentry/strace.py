"""--strace: one line per syscall, `[pid] name(args) = result`, decoded the
way strace(1) prints it for the common syscalls.

Table-driven: SIGS gives each syscall its argument kinds (one word per
argument, in register order); KINDS maps a kind to a small decoder
`f(call, value) -> str` (or None to leave the argument out, as strace does
for e.g. open's mode without O_CREAT).  Kinds in OUT describe memory the
kernel fills in: they are decoded when the syscall returns, and print as the
bare pointer if it failed.  RETS decodes a few non-decimal results.

Only used when tracing is on.  Nothing here may raise into the kernel: every
decoder falls back to the hex value, and enter/exit swallow everything.
"""

import os
import struct
import sys

from ..abi import errno as E
from ..abi import signals as S
from ..abi.sysno import NAMES

MAXSTR = 32       # strace's default -s
MAXPATH = 4096    # paths print whole, like strace's printpath
MAXARRAY = 32     # elements of argv / iovec / pollfd arrays

# ---------------------------------------------------------------------------
# constant tables

def _bits(*pairs):
    return tuple(pairs)


OPEN_FLAGS = _bits(
    ("O_CREAT", 0o100), ("O_EXCL", 0o200), ("O_NOCTTY", 0o400), ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000), ("O_NONBLOCK", 0o4000), ("O_SYNC", 0o4010000), ("O_DSYNC", 0o10000),
    ("O_ASYNC", 0o20000), ("O_DIRECT", 0o40000), ("O_LARGEFILE", 0o100000),
    ("O_NOFOLLOW", 0o400000), ("O_NOATIME", 0o1000000), ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000), ("O_TMPFILE", 0o20200000), ("O_DIRECTORY", 0o200000))
ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
AT_FLAGS = _bits(
    ("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_REMOVEDIR", 0x200), ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800), ("AT_EMPTY_PATH", 0x1000), ("AT_STATX_FORCE_SYNC", 0x2000),
    ("AT_STATX_DONT_SYNC", 0x4000), ("AT_RECURSIVE", 0x8000))
AT_FDCWD = -100
PROT = _bits(("PROT_READ", 1), ("PROT_WRITE", 2), ("PROT_EXEC", 4), ("PROT_SEM", 8),
             ("PROT_GROWSDOWN", 0x01000000), ("PROT_GROWSUP", 0x02000000))
MAP_TYPE = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_FLAGS = _bits(
    ("MAP_FIXED", 0x10), ("MAP_ANONYMOUS", 0x20), ("MAP_32BIT", 0x40), ("MAP_GROWSDOWN", 0x100),
    ("MAP_DENYWRITE", 0x800), ("MAP_EXECUTABLE", 0x1000), ("MAP_LOCKED", 0x2000),
    ("MAP_NORESERVE", 0x4000), ("MAP_POPULATE", 0x8000), ("MAP_NONBLOCK", 0x10000),
    ("MAP_STACK", 0x20000), ("MAP_HUGETLB", 0x40000), ("MAP_SYNC", 0x80000),
    ("MAP_FIXED_NOREPLACE", 0x100000), ("MAP_UNINITIALIZED", 0x4000000))
MREMAP_FLAGS = _bits(("MREMAP_MAYMOVE", 1), ("MREMAP_FIXED", 2), ("MREMAP_DONTUNMAP", 4))
MADV = {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
        4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
        11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE",
        15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP", 18: "MADV_WIPEONFORK",
        19: "MADV_KEEPONFORK", 20: "MADV_COLD", 21: "MADV_PAGEOUT"}
FADV = {0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL",
        3: "POSIX_FADV_WILLNEED", 4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE"}
MSYNC = _bits(("MS_ASYNC", 1), ("MS_INVALIDATE", 2), ("MS_SYNC", 4))
CLONE_FLAGS = _bits(
    ("CLONE_VM", 0x100), ("CLONE_FS", 0x200), ("CLONE_FILES", 0x400), ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000), ("CLONE_PTRACE", 0x2000), ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000), ("CLONE_THREAD", 0x10000), ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000), ("CLONE_SETTLS", 0x80000), ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000), ("CLONE_DETACHED", 0x400000),
    ("CLONE_UNTRACED", 0x800000), ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000), ("CLONE_NEWUTS", 0x4000000), ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000), ("CLONE_NEWPID", 0x20000000), ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000), ("CLONE_CLEAR_SIGHAND", 0x100000000),
    ("CLONE_INTO_CGROUP", 0x200000000))
SIGHOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
SA_FLAGS = _bits(
    ("SA_RESTORER", 0x04000000), ("SA_ONSTACK", 0x08000000), ("SA_RESTART", 0x10000000),
    ("SA_NODEFER", 0x40000000), ("SA_RESETHAND", 0x80000000), ("SA_SIGINFO", 4),
    ("SA_NOCLDSTOP", 1), ("SA_NOCLDWAIT", 2))
F_CMDS = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
          6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG",
          11: "F_GETSIG", 15: "F_SETOWN_EX", 16: "F_GETOWN_EX", 36: "F_OFD_GETLK",
          37: "F_OFD_SETLK", 38: "F_OFD_SETLKW", 1024: "F_SETLEASE", 1025: "F_GETLEASE",
          1026: "F_NOTIFY", 1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ",
          1033: "F_ADD_SEALS", 1034: "F_GET_SEALS"}
IOCTLS = {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
          0x5405: "TCGETA", 0x5406: "TCSETA", 0x5407: "TCSETAW", 0x5408: "TCSETAF",
          0x5409: "TCSBRK", 0x540A: "TCXONC", 0x540B: "TCFLSH", 0x540C: "TIOCEXCL",
          0x540D: "TIOCNXCL", 0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP",
          0x5411: "TIOCOUTQ", 0x5412: "TIOCSTI", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ",
          0x5415: "TIOCMGET", 0x541B: "FIONREAD", 0x541C: "TIOCLINUX", 0x541D: "TIOCCONS",
          0x5420: "TIOCPKT", 0x5421: "FIONBIO", 0x5422: "TIOCNOTTY", 0x5423: "TIOCSETD",
          0x5424: "TIOCGETD", 0x5429: "TIOCGSID", 0x5441: "TIOCGPTPEER", 0x5450: "FIONCLEX",
          0x5451: "FIOCLEX", 0x5452: "FIOASYNC", 0x80045430: "TIOCGPTN",
          0x40045431: "TIOCSPTLCK", 0x80045432: "TIOCGDEV", 0x80045440: "TIOCGEXCL",
          0x8910: "SIOCGIFNAME", 0x8912: "SIOCGIFCONF", 0x8913: "SIOCGIFFLAGS",
          0x8915: "SIOCGIFADDR", 0x8927: "SIOCGIFHWADDR", 0x8933: "SIOCGIFINDEX"}
WAIT_OPTS = _bits(("WNOHANG", 1), ("WUNTRACED", 2), ("WEXITED", 4), ("WCONTINUED", 8),
                  ("WNOWAIT", 0x1000000), ("__WNOTHREAD", 0x20000000), ("__WALL", 0x40000000),
                  ("__WCLONE", 0x80000000))
ACCESS = _bits(("R_OK", 4), ("W_OK", 2), ("X_OK", 1))
WHENCE = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
AF = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK",
      17: "AF_PACKET"}
SOCK_TYPE = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM",
             5: "SOCK_SEQPACKET", 6: "SOCK_DCCP", 10: "SOCK_PACKET"}
SOCK_FLAGS = _bits(("SOCK_NONBLOCK", 0o4000), ("SOCK_CLOEXEC", 0o2000000))
IPPROTO = {0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP",
           41: "IPPROTO_IPV6", 58: "IPPROTO_ICMPV6", 255: "IPPROTO_RAW"}
SOL = {0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"}
SO = {1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE",
      6: "SO_BROADCAST", 7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE", 10: "SO_OOBINLINE",
      13: "SO_LINGER", 15: "SO_REUSEPORT", 16: "SO_PASSCRED", 17: "SO_PEERCRED",
      18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT", 20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD",
      38: "SO_PROTOCOL", 39: "SO_DOMAIN"}
TCP_OPTS = {1: "TCP_NODELAY", 2: "TCP_MAXSEG", 4: "TCP_KEEPIDLE", 5: "TCP_KEEPINTVL",
            6: "TCP_KEEPCNT"}
SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
MSG_FLAGS = _bits(("MSG_OOB", 1), ("MSG_PEEK", 2), ("MSG_DONTROUTE", 4), ("MSG_CTRUNC", 8),
                  ("MSG_TRUNC", 0x20), ("MSG_DONTWAIT", 0x40), ("MSG_EOR", 0x80),
                  ("MSG_WAITALL", 0x100), ("MSG_NOSIGNAL", 0x4000), ("MSG_MORE", 0x8000),
                  ("MSG_CMSG_CLOEXEC", 0x40000000))
FUTEX_OPS = {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE",
             4: "FUTEX_CMP_REQUEUE", 5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI",
             7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI", 9: "FUTEX_WAIT_BITSET",
             10: "FUTEX_WAKE_BITSET", 11: "FUTEX_WAIT_REQUEUE_PI", 12: "FUTEX_CMP_REQUEUE_PI",
             13: "FUTEX_LOCK_PI2"}
ARCH_PRCTL = {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS",
              0x1004: "ARCH_GET_GS", 0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID"}
RLIMITS = {0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK",
           4: "RLIMIT_CORE", 5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE",
           8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS", 10: "RLIMIT_LOCKS", 11: "RLIMIT_SIGPENDING",
           12: "RLIMIT_MSGQUEUE", 13: "RLIMIT_NICE", 14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME"}
CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
          3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
          6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
          9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI"}
GRND = _bits(("GRND_NONBLOCK", 1), ("GRND_RANDOM", 2), ("GRND_INSECURE", 4))
STATX_MASK = _bits(("STATX_ALL", 0xfff), ("STATX_BASIC_STATS", 0x7ff), ("STATX_TYPE", 1),
                   ("STATX_MODE", 2), ("STATX_NLINK", 4), ("STATX_UID", 8), ("STATX_GID", 0x10),
                   ("STATX_ATIME", 0x20), ("STATX_MTIME", 0x40), ("STATX_CTIME", 0x80),
                   ("STATX_INO", 0x100), ("STATX_SIZE", 0x200), ("STATX_BLOCKS", 0x400),
                   ("STATX_BTIME", 0x800), ("STATX_MNT_ID", 0x1000))
EPOLL_CTL = {1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"}
CLOEXEC_NONBLOCK = _bits(("O_NONBLOCK", 0o4000), ("O_CLOEXEC", 0o2000000))
EFD_FLAGS = _bits(("EFD_SEMAPHORE", 1), ("EFD_NONBLOCK", 0o4000), ("EFD_CLOEXEC", 0o2000000))
EPOLL_FLAGS = _bits(("EPOLL_CLOEXEC", 0o2000000),)
PR_OPTS = {1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE",
           4: "PR_SET_DUMPABLE", 8: "PR_SET_KEEPCAPS", 15: "PR_SET_NAME", 16: "PR_GET_NAME",
           22: "PR_SET_SECCOMP", 23: "PR_CAPBSET_READ", 35: "PR_SET_MM",
           36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER",
           38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS", 0x53564d41: "PR_SET_VMA"}
POLL_EVENTS = _bits(("POLLIN", 1), ("POLLPRI", 2), ("POLLOUT", 4), ("POLLERR", 8),
                    ("POLLHUP", 0x10), ("POLLNVAL", 0x20), ("POLLRDNORM", 0x40),
                    ("POLLRDBAND", 0x80), ("POLLWRNORM", 0x100), ("POLLWRBAND", 0x200),
                    ("POLLMSG", 0x400), ("POLLRDHUP", 0x2000))
S_IFMT = {0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o60000: "S_IFBLK",
          0o40000: "S_IFDIR", 0o20000: "S_IFCHR", 0o10000: "S_IFIFO"}
RESTART_TEXT = {512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
                513: ("ERESTARTNOINTR", "To be restarted"),
                514: ("ERESTARTNOHAND", "To be restarted if no handler"),
                516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal")}

# ---------------------------------------------------------------------------
# signatures: one word per argument, in register order.

SIGS = {k: tuple(v.split()) for k, v in {
    # files
    "read": "fd outbuf size", "write": "fd inbuf size",
    "pread64": "fd outbuf size long", "pwrite64": "fd inbuf size long",
    "readv": "fd iov_out int", "writev": "fd iov_in int",
    "preadv": "fd iov_out int long", "pwritev": "fd iov_in int long",
    "preadv2": "fd iov_out int long hex", "pwritev2": "fd iov_in int long hex",
    "open": "path oflags openmode", "openat": "dirfd path oflags openmode",
    "creat": "path mode", "close": "fd", "close_range": "uint uint hex",
    "stat": "path stat", "lstat": "path stat", "fstat": "fd stat",
    "newfstatat": "dirfd path stat atflags", "statx": "dirfd path statx_flags statx_mask ptr",
    "statfs": "path ptr", "fstatfs": "fd ptr",
    "access": "path accmode", "faccessat": "dirfd path accmode",
    "faccessat2": "dirfd path accmode atflags",
    "lseek": "fd long whence", "getdents64": "fd dirents size", "getdents": "fd dirents size",
    "readlink": "path outbuf size", "readlinkat": "dirfd path outbuf size",
    "getcwd": "outstr size", "chdir": "path", "fchdir": "fd", "chroot": "path",
    "mkdir": "path mode", "mkdirat": "dirfd path mode", "rmdir": "path",
    "unlink": "path", "unlinkat": "dirfd path atflags",
    "rename": "path path", "renameat": "dirfd path dirfd path",
    "renameat2": "dirfd path dirfd path hex",
    "link": "path path", "linkat": "dirfd path dirfd path atflags",
    "symlink": "path path", "symlinkat": "path dirfd path",
    "chmod": "path mode", "fchmod": "fd mode", "fchmodat": "dirfd path mode",
    "chown": "path int int", "lchown": "path int int", "fchown": "fd int int",
    "fchownat": "dirfd path int int atflags",
    "truncate": "path long", "ftruncate": "fd long", "fallocate": "fd int long long",
    "fsync": "fd", "fdatasync": "fd", "sync": "", "syncfs": "fd", "flock": "fd int",
    "mknod": "path filemode hex", "mknodat": "dirfd path filemode hex", "umask": "mode",
    "utimensat": "dirfd path ptr atflags", "dup": "fd", "dup2": "fd fd", "dup3": "fd fd fdflags",
    "pipe": "pipefds", "pipe2": "pipefds fdflags", "fcntl": "fd fcntl_cmd fcntl_arg",
    "ioctl": "fd ioctl_req ioctl_arg", "sendfile": "fd fd ptr size",
    "copy_file_range": "fd ptr fd ptr size hex", "splice": "fd ptr fd ptr size hex",
    "fadvise64": "fd long long fadvice", "memfd_create": "str hex",
    "inotify_init1": "fdflags", "inotify_add_watch": "fd path hex",
    "eventfd2": "uint efd_flags", "eventfd": "uint",
    "epoll_create": "int", "epoll_create1": "epoll_flags",
    "epoll_ctl": "fd epoll_op fd ptr", "epoll_wait": "fd ptr int int",
    "epoll_pwait": "fd ptr int int sigset_in size",
    "poll": "pollfds uint int", "ppoll": "pollfds uint timespec sigset_in size",
    "select": "int ptr ptr ptr ptr", "pselect6": "int ptr ptr ptr timespec ptr",
    "getxattr": "path str ptr size", "lgetxattr": "path str ptr size",
    "fgetxattr": "fd str ptr size", "setxattr": "path str ptr size hex",
    "listxattr": "path ptr size", "llistxattr": "path ptr size", "flistxattr": "fd ptr size",
    "mount": "str path str hex ptr", "umount2": "path hex",
    # memory
    "mmap": "ptr size prot mapflags int hex", "munmap": "ptr size",
    "mprotect": "ptr size prot", "brk": "ptr", "mremap": "ptr size size mremap_flags ptr",
    "madvise": "ptr size madv", "msync": "ptr size msync_flags", "mlock": "ptr size",
    "munlock": "ptr size", "mincore": "ptr size ptr",
    # processes
    "execve": "path argv envp", "execveat": "dirfd path argv envp atflags",
    "exit": "int", "exit_group": "int", "clone": "clone", "clone3": "clone3 size",
    "fork": "", "vfork": "", "wait4": "int wstatus wait_opts ptr",
    "waitid": "int int ptr wait_opts ptr",
    "kill": "int signal", "tkill": "int signal", "tgkill": "int int signal",
    "getpid": "", "getppid": "", "gettid": "", "getuid": "", "geteuid": "", "getgid": "",
    "getegid": "", "getpgrp": "", "setsid": "", "getpgid": "int", "getsid": "int",
    "setpgid": "int int", "setuid": "int", "setgid": "int", "setreuid": "int int",
    "setregid": "int int", "setresuid": "int int int", "setresgid": "int int int",
    "getresuid": "ptr ptr ptr", "getresgid": "ptr ptr ptr", "getgroups": "int ptr",
    "setgroups": "int ptr", "set_tid_address": "ptr", "set_robust_list": "ptr size",
    "get_robust_list": "int ptr ptr", "rseq": "ptr hex hex hex",
    "arch_prctl": "arch_prctl ptr", "prctl": "prctl hex hex hex hex",
    "prlimit64": "int rlimit_res rlimit_in rlimit_out", "getrlimit": "rlimit_res rlimit_out",
    "setrlimit": "rlimit_res rlimit_in", "getrusage": "int ptr", "times": "ptr",
    "uname": "utsname", "sysinfo": "ptr", "personality": "hex",
    "sched_yield": "", "sched_getaffinity": "int size ptr", "sched_setaffinity": "int size ptr",
    "getpriority": "int int", "setpriority": "int int int", "getcpu": "ptr ptr ptr",
    "capget": "ptr ptr", "capset": "ptr ptr", "unshare": "clone_flags",
    "pidfd_open": "int hex", "pidfd_send_signal": "fd signal ptr hex",
    # signals
    "rt_sigaction": "signal sigaction_in sigaction_out size",
    "rt_sigprocmask": "sighow sigset_in sigset_out size",
    "rt_sigpending": "sigset_out size", "rt_sigsuspend": "sigset_in size",
    "rt_sigtimedwait": "sigset_in ptr timespec size", "rt_sigqueueinfo": "int signal ptr",
    "rt_tgsigqueueinfo": "int int signal ptr", "sigaltstack": "ptr ptr",
    "signalfd4": "fd sigset_in size fdflags", "signalfd": "fd sigset_in size",
    "pause": "", "alarm": "uint", "rt_sigreturn": "sigframe",
    # time
    "nanosleep": "timespec ptr", "clock_nanosleep": "clock timer_flags timespec ptr",
    "clock_gettime": "clock timespec_out", "clock_getres": "clock timespec_out",
    "clock_settime": "clock timespec", "gettimeofday": "ptr ptr", "time": "ptr",
    "getitimer": "int ptr", "setitimer": "int ptr ptr",
    "timerfd_create": "clock fdflags", "timerfd_settime": "fd hex ptr ptr",
    "timerfd_gettime": "fd ptr", "futex": "futex",
    "getrandom": "outbuf_hex size grnd",
    # sockets
    "socket": "af socktype sockproto", "socketpair": "af socktype sockproto pipefds",
    "bind": "fd sockaddr_in uint", "connect": "fd sockaddr_in uint", "listen": "fd int",
    "accept": "fd sockaddr_out ptr", "accept4": "fd sockaddr_out ptr sockflags",
    "getsockname": "fd sockaddr_out ptr", "getpeername": "fd sockaddr_out ptr",
    "sendto": "fd inbuf size msgflags sockaddr_in uint",
    "recvfrom": "fd outbuf size msgflags sockaddr_out ptr",
    "sendmsg": "fd ptr msgflags", "recvmsg": "fd ptr msgflags",
    "shutdown": "fd shut", "setsockopt": "fd sol sockopt ptr uint",
    "getsockopt": "fd sol sockopt ptr ptr",
}.items()}

NORETURN = frozenset(("exit", "exit_group"))

# ---------------------------------------------------------------------------
# primitive formatting


def s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def s64(v):
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


def ptr(v):
    return "NULL" if v == 0 else f"{v:#x}"


def flags(v, table, zero="0"):
    """`A|B|0x..` from a (name, mask) table; multi-bit masks match whole."""
    if v == 0:
        return zero
    out = []
    for name, m in table:
        if v & m == m:
            out.append(name)
            v &= ~m
    if v:
        out.append(f"{v:#x}")
    return "|".join(out)


def enum(v, table):
    return table.get(v, str(v) if v < 0x10000 else f"{v:#x}")


_ESC = {9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def quote(b, more=False, hexall=False):
    """A C string literal the way strace prints it; `more` appends `...`."""
    out = []
    n = len(b)
    for i, c in enumerate(b):
        if hexall:
            out.append(f"\\x{c:02x}")
        elif c in _ESC:
            out.append(_ESC[c])
        elif 32 <= c < 127:
            out.append(chr(c))
        elif i + 1 < n and 48 <= b[i + 1] <= 55:  # a digit follows: full 3 digits
            out.append(f"\\{c:03o}")
        else:
            out.append(f"\\{c:o}")
    return '"' + "".join(out) + '"' + ("..." if more else "")


def mode_str(v):
    return ("0" + format(v & 0o7777, "o")).rjust(3, "0")


def signame(n):
    if n in S.NAMES:
        return S.NAMES[n]
    if n == 32:
        return "SIGRTMIN"
    if 32 < n <= 64:
        return f"SIGRT_{n - 32}"
    return str(n)


def sigset(mask):
    """strace's `[INT TERM]`, or `~[...]` when most signals are set."""
    def names(m):
        return " ".join(signame(i + 1)[3:] for i in range(64) if m >> i & 1)
    if bin(mask).count("1") > 32:
        return "~[" + names(~mask & ((1 << 64) - 1)) + "]"
    return "[" + names(mask) + "]"


# ---------------------------------------------------------------------------
# memory access (every failure raises; the caller falls back to the pointer)


def read_cstr(t, addr, limit):
    """Up to `limit` bytes of a C string: (bytes, truncated)."""
    out = b""
    mm = t.mm
    while len(out) <= limit:
        n = min(4096 - (addr & 4095), limit + 1 - len(out))
        chunk = mm.read(addr, n)
        i = chunk.find(b"\0")
        if i >= 0:
            return out + chunk[:i], False
        out += chunk
        addr += n
    return out[:limit], True


def u64(t, addr):
    return struct.unpack("<Q", t.mm.read(addr, 8))[0]


def u32(t, addr):
    return struct.unpack("<I", t.mm.read(addr, 4))[0]


# ---------------------------------------------------------------------------
# argument decoders: f(call, v) -> str, or None to omit the argument


class Call:
    """One syscall being decoded; `i` is the index of the argument at hand."""
    __slots__ = ("t", "name", "raw", "sp", "parts", "ret", "i")

    def __init__(self, t, name, raw, sp):
        self.t, self.name, self.raw, self.sp = t, name, raw, sp
        self.parts, self.ret, self.i = [], None, 0


def d_int(c, v): return str(s32(v))
def d_long(c, v): return str(s64(v))
def d_uint(c, v): return str(v & 0xFFFFFFFF)
def d_size(c, v): return str(v)
def d_hex(c, v): return f"{v:#x}" if v else "0"
def d_ptr(c, v): return ptr(v)
def d_mode(c, v): return mode_str(v)


def d_dirfd(c, v):
    v = s32(v)
    return "AT_FDCWD" if v == AT_FDCWD else str(v)


def d_path(c, v):
    if v == 0:
        return "NULL"
    s, more = read_cstr(c.t, v, MAXPATH)
    return quote(s, more)


def d_str(c, v):
    if v == 0:
        return "NULL"
    s, more = read_cstr(c.t, v, MAXSTR)
    return quote(s, more)


def _buf(c, v, n, hexall=False):
    if v == 0:
        return "NULL"
    n = max(0, n)
    data = c.t.mm.read(v, min(n, MAXSTR))
    return quote(data, n > MAXSTR, hexall)


def d_inbuf(c, v): return _buf(c, v, c.raw[c.i + 1])
def d_outbuf(c, v): return _buf(c, v, c.ret)
def d_outbuf_hex(c, v): return _buf(c, v, c.ret, True)


def d_outstr(c, v):
    s, more = read_cstr(c.t, v, MAXPATH)
    return quote(s, more)


def d_oflags(c, v):
    v &= 0xFFFFFFFF
    rest = flags(v & ~3, OPEN_FLAGS, "")
    return ACCMODE[v & 3] + ("|" + rest if rest else "")


def d_openmode(c, v):
    fl = c.raw[c.i - 1]
    return mode_str(v) if fl & 0o100 or (fl & 0o20200000) == 0o20200000 else None


def d_filemode(c, v):
    t = v & 0o170000
    return (S_IFMT[t] + "|" if t in S_IFMT else "") + mode_str(v)


def d_atflags(c, v):
    v &= 0xFFFFFFFF
    if c.name == "faccessat2":
        return flags(v, (("AT_EACCESS", 0x200),) + AT_FLAGS)
    return flags(v, AT_FLAGS)


def d_statx_flags(c, v):
    v &= 0xFFFFFFFF
    s = flags(v, AT_FLAGS, "")
    if not v & 0x6000:
        s = "AT_STATX_SYNC_AS_STAT" + ("|" + s if s else "")
    return s


def d_statx_mask(c, v): return flags(v & 0xFFFFFFFF, STATX_MASK)
def d_accmode(c, v): return flags(v & 0xFFFFFFFF, ACCESS, "F_OK")
def d_whence(c, v): return enum(v & 0xFFFFFFFF, WHENCE)
def d_fdflags(c, v): return flags(v & 0xFFFFFFFF, CLOEXEC_NONBLOCK)
def d_efd_flags(c, v): return flags(v & 0xFFFFFFFF, EFD_FLAGS)
def d_epoll_flags(c, v): return flags(v & 0xFFFFFFFF, EPOLL_FLAGS)
def d_epoll_op(c, v): return enum(v & 0xFFFFFFFF, EPOLL_CTL)


def d_prot(c, v): return flags(v & 0xFFFFFFFF, PROT, "PROT_NONE")


def d_mapflags(c, v):
    v &= 0xFFFFFFFF
    kind = MAP_TYPE.get(v & 3, f"{v & 3:#x}")
    rest = flags(v & ~3, MAP_FLAGS, "")
    return kind + ("|" + rest if rest else "")


def d_mremap_flags(c, v): return flags(v & 0xFFFFFFFF, MREMAP_FLAGS)
def d_madv(c, v): return enum(v & 0xFFFFFFFF, MADV)
def d_msync_flags(c, v): return flags(v & 0xFFFFFFFF, MSYNC)
def d_signal(c, v): return signame(s32(v)) if s32(v) > 0 else str(s32(v))
def d_sighow(c, v): return enum(v & 0xFFFFFFFF, SIGHOW)


def d_clone_flags(c, v):
    sig = v & 0xFF
    s = flags(v & ~0xFF, CLONE_FLAGS, "")
    if sig:
        s = (s + "|" if s else "") + signame(sig)
    return s or "0"


def d_sigset_in(c, v):
    return "NULL" if v == 0 else sigset(u64(c.t, v))


def _sigaction(c, v):
    if v == 0:
        return "NULL"
    h, fl, restorer, mask = struct.unpack("<QQQQ", c.t.mm.read(v, 32))
    hs = {0: "SIG_DFL", 1: "SIG_IGN"}.get(h, f"{h:#x}")
    s = f"{{sa_handler={hs}, sa_mask={sigset(mask)}, sa_flags={flags(fl, SA_FLAGS)}"
    if fl & S.SA_RESTORER:
        s += f", sa_restorer={ptr(restorer)}"
    return s + "}"


def d_fcntl_cmd(c, v): return enum(v & 0xFFFFFFFF, F_CMDS)


def d_fcntl_arg(c, v):
    cmd = c.raw[1] & 0xFFFFFFFF
    if cmd in (1, 3, 9, 11, 16, 1025, 1032, 1034):  # F_GET*: no argument
        return None
    if cmd == 2:
        return flags(v & 0xFFFFFFFF, (("FD_CLOEXEC", 1),))
    if cmd == 4:
        return d_oflags(c, v)
    if cmd in (5, 6, 7, 15, 36, 37, 38):
        return ptr(v)
    return str(s32(v))


def d_ioctl_req(c, v): return IOCTLS.get(v & 0xFFFFFFFF, f"{v & 0xFFFFFFFF:#x}")
IOCTL_INT_ARG = frozenset((0x541B, 0x5411, 0x540F, 0x5410, 0x5421, 0x5429, 0x80045430,
                           0x40045431, 0x5424, 0x5423))  # FIONREAD TIOCOUTQ TIOCGPGRP ...


def d_ioctl_arg(c, v):
    """`[n]` for the requests whose argument is an int pointer, else the pointer."""
    if c.raw[1] & 0xFFFFFFFF in IOCTL_INT_ARG:
        return f"[{struct.unpack('<i', c.t.mm.read(v, 4))[0]}]"
    return ptr(v)


def d_wait_opts(c, v): return flags(v & 0xFFFFFFFF, WAIT_OPTS)


def d_wstatus(c, v):
    if c.ret == 0:  # WNOHANG and nothing to report: the status was not written
        return ptr(v)
    st = u32(c.t, v)
    sig = st & 0x7F
    if sig == 0:
        s = f"WIFEXITED(s) && WEXITSTATUS(s) == {st >> 8 & 0xFF}"
    elif sig == 0x7F:
        s = f"WIFSTOPPED(s) && WSTOPSIG(s) == {signame(st >> 8 & 0xFF)}"
    elif st == 0xFFFF:
        s = "WIFCONTINUED(s)"
    else:
        s = f"WIFSIGNALED(s) && WTERMSIG(s) == {signame(sig)}"
        if st & 0x80:
            s += " && WCOREDUMP(s)"
    return f"[{{{s}}}]"


def d_argv(c, v):
    if v == 0:
        return "NULL"
    out = []
    for i in range(MAXARRAY + 1):
        p = u64(c.t, v + 8 * i)
        if p == 0:
            return "[" + ", ".join(out) + "]"
        if i == MAXARRAY:
            break
        out.append(d_str(c, p))
    return "[" + ", ".join(out) + ", ...]"


def d_envp(c, v):
    if v == 0:
        return "NULL"
    n = 0
    while n < 100000 and u64(c.t, v + 8 * n):
        n += 1
    return f"{v:#x} /* {n} vars */"


def d_pipefds(c, v):
    a, b = struct.unpack("<ii", c.t.mm.read(v, 8))
    return f"[{a}, {b}]"


def d_stat(c, v):
    b = c.t.mm.read(v, 56)
    mode, = struct.unpack_from("<I", b, 24)
    rdev, size = struct.unpack_from("<Qq", b, 40)
    s = "{st_mode=" + d_filemode(c, mode)
    if mode & 0o170000 in (0o20000, 0o60000):
        major = (rdev >> 8) & 0xFFF | (rdev >> 32) & ~0xFFF
        minor = rdev & 0xFF | (rdev >> 12) & ~0xFF
        s += f", st_rdev=makedev({major:#x}, {minor:#x})"
    else:
        s += f", st_size={size}"
    return s + ", ...}"


def d_dirents(c, v):
    n, off, total = 0, 0, c.ret
    data = c.t.mm.read(v, total)
    while off + 18 <= total:
        reclen, = struct.unpack_from("<H", data, off + 16)
        if reclen == 0:
            break
        n, off = n + 1, off + reclen
    return f"{v:#x} /* {n} entries */"


def _iov(c, v, cnt, total):
    cnt = min(s32(cnt), MAXARRAY) if s32(cnt) > 0 else 0
    out = []
    for i in range(cnt):
        base, ln = struct.unpack("<QQ", c.t.mm.read(v + 16 * i, 16))
        shown = ln if total is None else max(0, min(ln, total))
        if total is not None:
            total -= shown
        out.append(f"{{iov_base={_buf(c, base, shown)}, iov_len={ln}}}")
    return "[" + ", ".join(out) + "]"


def d_iov_in(c, v): return _iov(c, v, c.raw[c.i + 1], None)
def d_iov_out(c, v): return _iov(c, v, c.raw[c.i + 1], c.ret)


def d_pollfds(c, v):
    n = min(c.raw[1] & 0xFFFFFFFF, MAXARRAY)
    out = []
    for i in range(n):
        fd, ev, _ = struct.unpack("<ihh", c.t.mm.read(v + 8 * i, 8))
        out.append(f"{{fd={fd}, events={flags(ev & 0xFFFF, POLL_EVENTS)}}}")
    return "[" + ", ".join(out) + ("" if n == c.raw[1] & 0xFFFFFFFF else ", ...") + "]"


def _timespec(c, v):
    if v == 0:
        return "NULL"
    sec, nsec = struct.unpack("<qq", c.t.mm.read(v, 16))
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def _rlim(x):
    if x == (1 << 64) - 1:
        return "RLIM64_INFINITY"
    return f"{x // 1024}*1024" if x and x % 1024 == 0 else str(x)


def _rlimit(c, v):
    if v == 0:
        return "NULL"
    cur, mx = struct.unpack("<QQ", c.t.mm.read(v, 16))
    return f"{{rlim_cur={_rlim(cur)}, rlim_max={_rlim(mx)}}}"


def d_utsname(c, v):
    b = c.t.mm.read(v, 65 * 2)
    sysname, node = (x.split(b"\0")[0] for x in (b[:65], b[65:]))
    return f"{{sysname={quote(sysname)}, nodename={quote(node)}, ...}}"


def d_af(c, v): return enum(v & 0xFFFFFFFF, AF)


def d_socktype(c, v):
    v &= 0xFFFFFFFF
    s = SOCK_TYPE.get(v & 0xF, f"{v & 0xF:#x}")
    rest = flags(v & ~0xF, SOCK_FLAGS, "")
    return s + ("|" + rest if rest else "")


def d_sockflags(c, v): return flags(v & 0xFFFFFFFF, SOCK_FLAGS)


def d_sockproto(c, v):
    if c.raw[0] & 0xFFFFFFFF in (2, 10):
        return enum(v & 0xFFFFFFFF, IPPROTO)
    return str(s32(v))


def _sockaddr(c, v, ln):
    if v == 0:
        return "NULL"
    b = c.t.mm.read(v, max(2, min(ln, 128)))
    fam, = struct.unpack_from("<H", b)
    s = "{sa_family=" + AF.get(fam, str(fam))
    if fam == 1:
        path = b[2:]
        if path[:1] == b"\0":
            s += ", sun_path=@" + quote(path[1:].split(b"\0")[0])
        else:
            s += ", sun_path=" + quote(path.split(b"\0")[0])
    elif fam == 2 and len(b) >= 8:
        port, = struct.unpack_from(">H", b, 2)
        s += f", sin_port=htons({port}), sin_addr=inet_addr(\"{'.'.join(map(str, b[4:8]))}\")"
    elif fam == 10 and len(b) >= 24:
        import socket
        port, = struct.unpack_from(">H", b, 2)
        addr = socket.inet_ntop(socket.AF_INET6, b[8:24])
        s += f", sin6_port=htons({port}), sin6_addr=inet_pton(AF_INET6, \"{addr}\")"
    return s + "}"


def d_sockaddr_in(c, v): return _sockaddr(c, v, c.raw[c.i + 1] & 0xFFFFFFFF)


def d_sockaddr_out(c, v):
    lenp = c.raw[c.i + 1]
    return _sockaddr(c, v, u32(c.t, lenp) if lenp else 0)


def d_sol(c, v): return enum(v & 0xFFFFFFFF, SOL)


def d_sockopt(c, v):
    lvl = c.raw[1] & 0xFFFFFFFF
    table = SO if lvl == 1 else TCP_OPTS if lvl == 6 else {}
    return enum(v & 0xFFFFFFFF, table)


def d_futex(c, v):
    """The whole argument list: which arguments futex prints depends on op."""
    r = c.raw
    op = r[1] & 0xFFFFFFFF
    cmd = op & 0x7F
    ops = FUTEX_OPS.get(cmd, str(cmd)) + ("_PRIVATE" if op & 128 else "")
    if op & 256:
        ops += "|FUTEX_CLOCK_REALTIME"
    out = [ptr(r[0]), ops, str(s32(r[2]))]
    if cmd in (0, 9, 11, 6, 13):  # waits: timeout
        out.append(_safe(_timespec, c, r[3]))
    elif cmd in (3, 4, 5, 12):  # requeues: val2, uaddr2
        out += [str(r[3] & 0xFFFFFFFF), ptr(r[4])]
        if cmd != 3:
            out.append(f"{r[5] & 0xFFFFFFFF:#x}" if cmd == 5 else str(s32(r[5])))
    if cmd in (9, 10):
        out.append("FUTEX_BITSET_MATCH_ANY" if r[5] & 0xFFFFFFFF == 0xFFFFFFFF
                   else f"{r[5] & 0xFFFFFFFF:#x}")
    return ", ".join(out)


def d_clone(c, v):
    """clone(flags, stack, parent_tid, child_tid, tls), printed strace-style."""
    fl, stack, ptid, ctid, tls = c.raw[:5]
    out = [f"child_stack={ptr(stack)}", f"flags={d_clone_flags(c, fl)}"]
    if fl & 0x100000:
        out.append(f"parent_tid={ptr(ptid)}")
    if fl & (0x1000000 | 0x200000):
        out.append(f"child_tidptr={ptr(ctid)}")
    if fl & 0x80000:
        out.append(f"tls={ptr(tls)}")
    return ", ".join(out)


def d_clone3(c, v):
    fl, pidfd, ctid, ptid, esig, stack, ssize, tls = struct.unpack("<8Q", c.t.mm.read(v, 64))
    out = [f"flags={d_clone_flags(c, fl)}"]
    if fl & 0x1000:
        out.append(f"pidfd={ptr(pidfd)}")
    if fl & (0x1000000 | 0x200000):
        out.append(f"child_tid={ptr(ctid)}")
    if fl & 0x100000:
        out.append(f"parent_tid={ptr(ptid)}")
    out.append(f"exit_signal={signame(esig) if esig else 0}")
    out += [f"stack={ptr(stack)}", f"stack_size={ssize:#x}"]
    if fl & 0x80000:
        out.append(f"tls={ptr(tls)}")
    return "{" + ", ".join(out) + "}"


def d_sigframe(c, v):
    """rt_sigreturn's only argument: the mask saved in the frame at the stack top."""
    try:
        return f"{{mask={sigset(u64(c.t, c.sp + 296))}}}"
    except Exception:
        return f"{c.sp:#x}"


def d_arch_prctl(c, v): return ARCH_PRCTL.get(v & 0xFFFFFFFF, f"{v:#x}")


def d_prctl(c, v):
    v &= 0xFFFFFFFF
    return PR_OPTS.get(v, str(v))


KINDS = {
    "int": d_int, "long": d_long, "uint": d_uint, "size": d_size, "hex": d_hex, "ptr": d_ptr,
    "fd": d_int, "dirfd": d_dirfd, "mode": d_mode, "filemode": d_filemode,
    "path": d_path, "str": d_str, "inbuf": d_inbuf, "outbuf": d_outbuf,
    "outbuf_hex": d_outbuf_hex, "outstr": d_outstr,
    "oflags": d_oflags, "openmode": d_openmode, "atflags": d_atflags,
    "statx_flags": d_statx_flags, "statx_mask": d_statx_mask, "accmode": d_accmode,
    "whence": d_whence, "fdflags": d_fdflags, "efd_flags": d_efd_flags,
    "epoll_flags": d_epoll_flags, "epoll_op": d_epoll_op,
    "prot": d_prot, "mapflags": d_mapflags, "mremap_flags": d_mremap_flags, "madv": d_madv,
    "msync_flags": d_msync_flags,
    "signal": d_signal, "sighow": d_sighow, "sigset_in": d_sigset_in,
    "sigset_out": d_sigset_in, "sigaction_in": _sigaction, "sigaction_out": _sigaction,
    "clone_flags": d_clone_flags, "clone": d_clone, "clone3": d_clone3, "futex": d_futex,
    "fcntl_cmd": d_fcntl_cmd, "fcntl_arg": d_fcntl_arg, "ioctl_req": d_ioctl_req, "ioctl_arg": d_ioctl_arg,
    "wait_opts": d_wait_opts, "wstatus": d_wstatus, "argv": d_argv, "envp": d_envp,
    "pipefds": d_pipefds, "stat": d_stat, "dirents": d_dirents,
    "iov_in": d_iov_in, "iov_out": d_iov_out, "pollfds": d_pollfds,
    "timespec": _timespec, "timespec_out": _timespec,
    "rlimit_res": lambda c, v: enum(v & 0xFFFFFFFF, RLIMITS),
    "rlimit_in": _rlimit, "rlimit_out": _rlimit,
    "clock": lambda c, v: enum(v & 0xFFFFFFFF, CLOCKS),
    "grnd": lambda c, v: flags(v & 0xFFFFFFFF, GRND),
    "timer_flags": lambda c, v: flags(v & 0xFFFFFFFF, (("TIMER_ABSTIME", 1),)),
    "utsname": d_utsname, "af": d_af, "socktype": d_socktype, "sockflags": d_sockflags,
    "sockproto": d_sockproto, "sockaddr_in": d_sockaddr_in, "sockaddr_out": d_sockaddr_out,
    "sol": d_sol, "sockopt": d_sockopt, "shut": lambda c, v: enum(v & 0xFFFFFFFF, SHUT),
    "msgflags": lambda c, v: flags(v & 0xFFFFFFFF, MSG_FLAGS),
    "arch_prctl": d_arch_prctl, "prctl": d_prctl, "sigframe": d_sigframe,
    "fadvice": lambda c, v: enum(v & 0xFFFFFFFF, FADV),
}

# kinds the kernel fills in: decoded at exit, the bare pointer if the call failed
OUT = frozenset(("ioctl_arg", "outbuf", "outbuf_hex", "outstr", "sigset_out", "sigaction_out", "wstatus",
                 "pipefds", "stat", "dirents", "iov_out", "timespec_out", "rlimit_out",
                 "utsname", "sockaddr_out"))


def _safe(f, c, v):
    try:
        return f(c, v)
    except Exception:
        return ptr(v)


# ---------------------------------------------------------------------------
# results

def ret_hex(c, r): return f"{r:#x}"


def ret_fcntl(c, r):
    cmd = c.raw[1] & 0xFFFFFFFF
    if cmd == 3:
        return f"{r:#x} (flags {d_oflags(c, r)})"
    if cmd == 1:
        return f"{r:#x} (flags {flags(r, (('FD_CLOEXEC', 1),))})"
    return str(r)


RETS = {"mmap": ret_hex, "brk": ret_hex, "mremap": ret_hex, "shmat": ret_hex,
        "fcntl": ret_fcntl}


def result(c, ret):
    if -4096 < ret < 0:
        err = -ret
        if err in RESTART_TEXT:
            return "? %s (%s)" % RESTART_TEXT[err]
        name = E.NAMES.get(err, str(err))
        return f"-1 {name} ({os.strerror(err)})"
    f = RETS.get(c.name)
    return f(c, ret) if f is not None else str(ret)


# ---------------------------------------------------------------------------


class Strace:
    def __init__(self, dest):
        self.out = sys.stderr if dest in ("-", "", None) else open(dest, "a", buffering=1)
        self.pending = {}

    def _start(self, t, nr, regs):
        """Decode the input arguments; output ones wait for the result."""
        name = NAMES.get(nr, f"syscall_{nr:#x}")
        raw = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
        c = Call(t, name, raw, regs.rsp)
        sig = SIGS.get(name, ("hex",) * 3)
        for i, (kind, v) in enumerate(zip(sig, raw)):
            c.i = i
            if kind in OUT:
                c.parts.append((kind, v))
            else:
                c.parts.append(_safe(KINDS.get(kind, d_hex), c, v))
        return c

    def _finish(self, c, ret):
        c.ret = ret
        for i, p in enumerate(c.parts):
            if isinstance(p, tuple):
                kind, v = p
                c.i = i
                failed = -4096 < ret < 0
                c.parts[i] = ptr(v) if failed or v == 0 else _safe(KINDS[kind], c, v)
        return f"[{c.t.tid}] {c.name}({self._args(c)}) = {result(c, ret)}\n"

    @staticmethod
    def _args(c):
        return ", ".join(p if isinstance(p, str) else ptr(p[1]) for p in c.parts if p is not None)

    def enter(self, t, nr, regs):
        try:
            c = self._start(t, nr, regs)
            if c.name in NORETURN:
                self.pending.pop(t.tid, None)
                self.out.write(f"[{t.tid}] {c.name}({self._args(c)}) = ?\n")
            else:
                self.pending[t.tid] = c
        except Exception:
            pass

    def exit(self, t, nr, regs, ret):
        try:
            c = self.pending.pop(t.tid, None)
            if c is None or c.name != NAMES.get(nr, c.name):
                c = self._start(t, nr, regs)
            self.out.write(self._finish(c, ret))
        except Exception:
            pass
