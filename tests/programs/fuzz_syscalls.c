/* Throws random arguments at most syscalls; the sandbox must survive it.
 * Syscalls that would end, block, replace or stop the program are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mman.h>

static int skip(long nr) {
    static const long bad[] = {
        SYS_exit, SYS_exit_group, SYS_execve, SYS_execveat, SYS_rt_sigreturn, SYS_pause,
        SYS_rt_sigsuspend, SYS_fork, SYS_vfork, SYS_clone, SYS_clone3, SYS_kill, SYS_tkill,
        SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_nanosleep,
        SYS_clock_nanosleep, SYS_select, SYS_pselect6, SYS_poll, SYS_ppoll, SYS_epoll_wait,
        SYS_epoll_pwait, SYS_epoll_pwait2, SYS_wait4, SYS_waitid, SYS_futex, SYS_read, SYS_readv,
        SYS_pread64, SYS_preadv, SYS_preadv2, SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_accept,
        SYS_accept4, SYS_msgrcv, SYS_semop, SYS_semtimedop, SYS_rt_sigtimedwait, SYS_munmap,
        SYS_mremap, SYS_mprotect, SYS_brk, SYS_madvise, SYS_mmap, SYS_setitimer, SYS_alarm,
        SYS_arch_prctl, SYS_prctl, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack,
        SYS_setrlimit, SYS_prlimit64, SYS_close, SYS_close_range, SYS_dup2, SYS_dup3, SYS_setsid,
        SYS_sched_yield, SYS_connect, SYS_sendto, SYS_sendmsg, SYS_sendmmsg, SYS_write,
        SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_pwritev2, SYS_sendfile, SYS_splice,
        SYS_tee, SYS_flock, SYS_fcntl, SYS_io_uring_enter, SYS_set_robust_list,
        SYS_set_tid_address, SYS_restart_syscall, SYS_rseq, SYS_reboot, SYS_setuid, SYS_setgid,
        SYS_setresuid, SYS_setresgid, SYS_setreuid, SYS_setregid, SYS_setfsuid, SYS_setfsgid,
        SYS_chroot, SYS_unshare, SYS_setpgid, SYS_umount2, SYS_mount, SYS_ptrace, SYS_copy_file_range,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) if (bad[i] == nr) return 1;
    return nr >= 335 && nr < 424;
}

int main(int argc, char **argv) {
    unsigned seed = argc > 1 ? atoi(argv[1]) : 1;
    long n = argc > 2 ? atol(argv[2]) : 3000;
    srand(seed);
    char *buf = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    signal(SIGPIPE, SIG_IGN);
    long calls = 0;
    for (long i = 0; i < n; i++) {
        long nr = rand() % 460;
        if (skip(nr)) continue;
        long a[6];
        for (int j = 0; j < 6; j++) {
            switch (rand() % 5) {
            case 0: a[j] = rand() % 16; break;                          /* small ints, fds */
            case 1: a[j] = (long)(buf + (rand() % 4096) * 8); break;   /* valid memory */
            case 2: a[j] = (long)rand() << 20; break;                   /* wild pointers */
            case 3: a[j] = -1 - (rand() % 200); break;                  /* negative */
            default: memset(buf, rand() & 0xff, 4096); a[j] = (long)buf; /* garbage struct */
            }
        }
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        calls++;
    }
    printf("survived %ld calls\n", calls > 0 ? 1L : 0L);
    return 0;
}
