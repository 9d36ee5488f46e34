/* Bad user pointers give EFAULT (never a crash of the kernel or of the caller); unknown
   syscalls give ENOSYS.  Raw syscall() is used so libc cannot intercept the pointers. */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>

#define BAD ((void *)1)
#define KERNEL_ADDR ((void *)0xffffffff81000000UL)

static void read_write(void) {
    int p[2];
    pipe(p);
    write(p[1], "data", 4);
    R(syscall(SYS_read, p[0], BAD, 4));
    R(syscall(SYS_read, p[0], KERNEL_ADDR, 4));
    char buf[8];
    R(syscall(SYS_read, p[0], buf, 4));   /* the data is still there after the EFAULTs */
    R(syscall(SYS_write, p[1], BAD, 4));
    R(syscall(SYS_write, 1, NULL, 4));
    R(syscall(SYS_write, 1, NULL, 0));    /* zero length: no access, no error */
    int fd = open("/etc/passwd", O_RDONLY);
    R(syscall(SYS_read, fd, BAD, 16));
    R(syscall(SYS_pread64, fd, BAD, 16, 0));
    R(syscall(SYS_readv, fd, BAD, 1));
    struct iovec iov = {BAD, 16};
    R(syscall(SYS_readv, fd, &iov, 1));
    close(fd);
}

static void paths(void) {
    struct stat st;
    R(syscall(SYS_stat, BAD, &st));
    R(syscall(SYS_stat, "/", BAD));
    R(syscall(SYS_stat, "/", KERNEL_ADDR));
    R(syscall(SYS_open, BAD, O_RDONLY));
    R(syscall(SYS_open, NULL, O_RDONLY));
    R(syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY));
    R(syscall(SYS_mkdir, BAD, 0755));
    R(syscall(SYS_unlink, BAD));
    R(syscall(SYS_chdir, BAD));
    R(syscall(SYS_readlink, "/proc/self/exe", BAD, 100));
    R(syscall(SYS_access, BAD, F_OK));
    R(syscall(SYS_execve, BAD, NULL, NULL));
    char *argv_bad[] = {"x", BAD, NULL};
    R(syscall(SYS_execve, "/bin/true", argv_bad, NULL));
    R(syscall(SYS_execve, "/bin/true", BAD, NULL));
    R(syscall(SYS_getcwd, BAD, 100));
}

static void structs(void) {
    R(syscall(SYS_pipe, BAD));
    R(syscall(SYS_pipe, NULL));
    R(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD));
    R(syscall(SYS_gettimeofday, BAD, NULL));
    R(syscall(SYS_nanosleep, BAD, NULL));
    R(syscall(SYS_uname, BAD));
    R(syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8));
    R(syscall(SYS_rt_sigaction, SIGUSR1, NULL, BAD, 8));
    R(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
    R(syscall(SYS_wait4, -1, BAD, WNOHANG, NULL));
    R(syscall(SYS_sysinfo, BAD));
    R(syscall(SYS_getrlimit, 7, BAD));
    R(syscall(SYS_sigaltstack, BAD, NULL));
    R(syscall(SYS_fstat, 0, BAD));
    R(syscall(SYS_getdents64, open("/", O_RDONLY | O_DIRECTORY), BAD, 4096));
    R(syscall(SYS_futex, BAD, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0));
}

static void partial_buffer(void) {
    /* a buffer whose second page is unmapped */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 4096, 4096);
    memset(p, 'y', 4096);
    int pp[2];
    pipe(pp);
    /* writing from a buffer that runs into the hole */
    R(syscall(SYS_write, pp[1], p + 4096 - 10, 20) >= 0 || errno == EFAULT);
    R(syscall(SYS_write, pp[1], p + 4096, 20));
    /* writes of only the valid part succeed */
    R(syscall(SYS_write, pp[1], p + 4096 - 10, 10));
    R(syscall(SYS_read, 0, p + 4096, 0));
}

static void unknown_syscalls(void) {
    R(syscall(1000));
    R(syscall(1000, 1, 2, 3));
    R(syscall(SYS_getpid) > 0);   /* still alive and working */
}

static void bad_fds(void) {
    char buf[4];
    R(read(-1, buf, 1));
    R(read(1000000, buf, 1));
    R(close(-5));
    R(fcntl(-1, F_GETFD));
    R(fstat(12345, NULL));
    R(syscall(SYS_dup, 777));
    R(lseek(-1, 0, SEEK_SET));
}

MAIN(SECTION(read_write), SECTION(paths), SECTION(structs), SECTION(partial_buffer),
     SECTION(unknown_syscalls), SECTION(bad_fds))
