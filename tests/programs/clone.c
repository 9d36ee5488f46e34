/* Raw clone flags (CLONE_VM/FILES/FS/SIGHAND/SETTID/exit signal), vfork memory sharing,
   clone3 + pidfd, pidfd_open/pidfd_send_signal/waitid(P_PIDFD), file descriptions shared
   over fork (offset, status flags), memfd seals, eventfd. */
#include "common.h"
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <linux/sched.h>

#define STACK (256 * 1024)
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static volatile int shared_value;
static int child_fn_set(void *arg) {
    shared_value = (int)(long)arg;
    return 7;
}

static int child_fn_fd(void *arg) {
    (void)arg;
    int fd = open("/dev/null", O_RDONLY);   /* lands in the shared table with CLONE_FILES */
    return fd >= 0 ? 0 : 1;
}

static int child_fn_chdir(void *arg) {
    (void)arg;
    return chdir("/usr") == 0 ? 0 : 1;
}

static char *new_stack(void) {
    char *s = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return s + STACK;
}

static void clone_vm_and_friends(void) {
    int st;
    shared_value = 0;
    pid_t c = clone(child_fn_set, new_stack(), CLONE_VM | SIGCHLD, (void *)42);
    waitpid(c, &st, 0);
    printf("CLONE_VM: parent sees %d, child %s\n", shared_value, wstatus(st));
    shared_value = 0;
    c = clone(child_fn_set, new_stack(), SIGCHLD, (void *)43);
    waitpid(c, &st, 0);
    printf("no CLONE_VM: parent sees %d\n", shared_value);

    int probe = dup(0);
    close(probe);   /* the next free descriptor is `probe` */
    c = clone(child_fn_fd, new_stack(), CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    waitpid(c, &st, 0);
    printf("CLONE_FILES: child's open visible here: %d\n", fcntl(probe, F_GETFD) != -1);
    close(probe);
    c = clone(child_fn_fd, new_stack(), CLONE_VM | SIGCHLD, NULL);
    waitpid(c, &st, 0);
    printf("no CLONE_FILES: visible here: %d\n", fcntl(probe, F_GETFD) != -1);

    char cwd[256];
    chdir("/");
    c = clone(child_fn_chdir, new_stack(), CLONE_VM | CLONE_FS | SIGCHLD, NULL);
    waitpid(c, &st, 0);
    getcwd(cwd, sizeof cwd);
    printf("CLONE_FS: cwd now %s\n", cwd);
    chdir("/");
    c = clone(child_fn_chdir, new_stack(), CLONE_VM | SIGCHLD, NULL);
    waitpid(c, &st, 0);
    getcwd(cwd, sizeof cwd);
    printf("no CLONE_FS: cwd now %s\n", cwd);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int s) { (void)s; got_usr1++; }

static int child_quick(void *arg) { (void)arg; return 3; }

static void exit_signal(void) {
    signal(SIGUSR1, on_usr1);
    pid_t c = clone(child_quick, new_stack(), CLONE_VM | SIGUSR1, NULL);
    int st;
    R(waitpid(c, &st, 0));            /* not a SIGCHLD child: invisible without __WCLONE */
    pid_t w = waitpid(c, &st, __WALL);
    printf("__WALL: reaped=%d %s, SIGUSR1 received=%d\n", w == c, wstatus(st), got_usr1);
    c = clone(child_quick, new_stack(), CLONE_VM | 0, NULL);   /* no exit signal at all */
    w = waitpid(c, &st, __WCLONE);
    printf("__WCLONE: reaped=%d %s\n", w == c, wstatus(st));
    signal(SIGUSR1, SIG_DFL);
}

static pid_t ptid, ctid;
static int child_tids(void *arg) { (void)arg; return ctid == getpid() ? 0 : 1; }

static void settid_flags(void) {
    ptid = ctid = 0;
    pid_t c = clone(child_tids, new_stack(), CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD,
                    NULL, &ptid, NULL, &ctid);
    int st;
    waitpid(c, &st, 0);
    printf("PARENT_SETTID=%d child saw CHILD_SETTID: %s\n", ptid == c, wstatus(st));
}

static void vfork_shares_memory(void) {
    volatile int v = 1;
    pid_t c = vfork();
    if (c == 0) {
        v = 2;   /* writes the parent's memory: the parent is suspended until _exit */
        _exit(0);
    }
    printf("after vfork child: v=%d\n", v);
}

static int pidfd_events(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLPRI, 0};
    int n = poll(&p, 1, 0);
    return n < 0 ? -errno : p.revents;
}

static void pidfd_pid_line(int fd, pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY);
    ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
    if (f >= 0) close(f);
    buf[n > 0 ? n : 0] = 0;
    char *l = strstr(buf, "\nPid:");
    printf("fdinfo Pid is the child's: %d\n", l && atoi(l + 5) == pid);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("link %s\n", buf);
}

static void pidfds(void) {
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    int pfd = syscall(SYS_pidfd_open, c, 0);
    if (pfd < 0) {
        printf("pidfd_open: %s\n", en(errno));
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
        return;
    }
    printf("cloexec %d, flags %o\n", fcntl(pfd, F_GETFD), fcntl(pfd, F_GETFL) & ~O_LARGEFILE);
    pidfd_pid_line(pfd, c);
    printf("running: events %#x\n", pidfd_events(pfd));
    char b[8];
    R(read(pfd, b, sizeof b));
    R(write(pfd, b, sizeof b));
    /* bad input */
    R(syscall(SYS_pidfd_open, c, 1));
    R(syscall(SYS_pidfd_open, 0, 0));
    R(syscall(SYS_pidfd_open, -1, 0));
    R(syscall(SYS_pidfd_open, 999999, 0));
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 8));
    R(syscall(SYS_pidfd_send_signal, 0, SIGTERM, NULL, 0));   /* not a pidfd */
    R(syscall(SYS_pidfd_send_signal, 999, SIGTERM, NULL, 0));
    R(syscall(SYS_pidfd_send_signal, pfd, 99, NULL, 0));
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, (void *)8, 0));
    siginfo_t qi;
    memset(&qi, 0, sizeof qi);
    qi.si_signo = SIGUSR1;
    qi.si_code = SI_QUEUE;
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, &qi, 0));  /* signo differs */
    qi.si_signo = SIGTERM;
    qi.si_code = SI_USER;
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, &qi, 0));  /* SI_USER from a siginfo, to another: EPERM */
    qi.si_code = SI_TKILL;
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, &qi, 0));
    R(syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0));
    siginfo_t si;
    R(waitid(P_PIDFD, 0, &si, WEXITED | WNOHANG));            /* not a pidfd */
    R(waitid(P_PIDFD, -1, &si, WEXITED | WNOHANG));
    memset(&si, 0, sizeof si);
    R(waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
    printf("WNOHANG: pid %d\n", si.si_pid == c);
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
    struct pollfd p = {pfd, POLLIN, 0};
    R(poll(&p, 1, 5000));
    printf("exited: events %#x\n", pidfd_events(pfd));
    memset(&si, 0, sizeof si);
    R(waitid(P_PIDFD, pfd, &si, WEXITED | WNOWAIT));
    printf("P_PIDFD WNOWAIT: pid %d code=%s status=%s\n", si.si_pid == c,
           si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", sigabbrev_np(si.si_status));
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0)); /* a zombie */
    memset(&si, 0, sizeof si);
    R(waitid(P_PIDFD, pfd, &si, WEXITED));
    printf("P_PIDFD: code=%s status=%s\n", si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
           sigabbrev_np(si.si_status));
    printf("reaped: events %#x\n", pidfd_events(pfd));
    R(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0)); /* gone */
    R(waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
    R(syscall(SYS_pidfd_getfd, pfd, 1, 0));
    close(pfd);

    /* a pidfd of our parent is no child of ours; of ourselves, one to signal */
    int me = syscall(SYS_pidfd_open, getpid(), 0);
    R(waitid(P_PIDFD, me, &si, WEXITED | WNOHANG));
    signal(SIGUSR1, SIG_IGN);
    R(syscall(SYS_pidfd_send_signal, me, SIGUSR1, NULL, 0));
    qi.si_signo = SIGUSR1;
    qi.si_code = SI_USER;
    R(syscall(SYS_pidfd_send_signal, me, SIGUSR1, &qi, 0));   /* to ourselves: allowed */
    signal(SIGUSR1, SIG_DFL);
    close(me);

    /* nonblocking: waitid without WNOHANG gives EAGAIN while it runs */
    int sync[2];
    pipe(sync);
    c = fork();
    if (c == 0) {
        int fd = open("/dev/null", O_RDONLY);
        dup2(fd, 7);
        write(sync[1], "x", 1);
        pause();
        _exit(0);
    }
    read(sync[0], b, 1);
    close(sync[0]);
    close(sync[1]);
    pfd = syscall(SYS_pidfd_open, c, PIDFD_NONBLOCK);
    printf("nonblock flags %o\n", fcntl(pfd, F_GETFL) & ~O_LARGEFILE);
    R(waitid(P_PIDFD, pfd, &si, WEXITED));
    /* pidfd_getfd: a copy of the child's fd 7, ours close-on-exec */
    int g = syscall(SYS_pidfd_getfd, pfd, 7, 0);
    if (g >= 0) {
        char path[64], buf[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", g);
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        printf("getfd: %s cloexec %d\n", buf, fcntl(g, F_GETFD));
        close(g);
    } else
        printf("getfd: %s\n", en(errno));
    R(syscall(SYS_pidfd_getfd, pfd, 7, 1));
    R(syscall(SYS_pidfd_getfd, pfd, 99, 0));
    R(syscall(SYS_pidfd_getfd, 0, 7, 0));
    kill(c, SIGKILL);
    p.fd = pfd;
    poll(&p, 1, 5000);
    R(waitid(P_PIDFD, pfd, &si, WEXITED));
    close(pfd);

    struct clone_args ca = {0};
    int pidfd = -1;
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0) _exit(8);
    if (r < 0) { printf("clone3: %s\n", en(errno)); return; }
    printf("clone3 pidfd valid: %d cloexec %d\n", pidfd >= 0, fcntl(pidfd, F_GETFD));
    memset(&si, 0, sizeof si);
    R(waitid(P_PIDFD, pidfd, &si, WEXITED));
    printf("status=%d\n", si.si_status);
    close(pidfd);
    /* clone: the pidfd comes back through parent_tid */
    pidfd = -1;
    r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (r == 0) _exit(9);
    printf("clone pidfd valid: %d\n", r > 0 && pidfd >= 0);
    memset(&si, 0, sizeof si);
    R(waitid(P_PIDFD, pidfd, &si, WEXITED));
    printf("status=%d\n", si.si_status);
    close(pidfd);
    R(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0));
    R(syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &pidfd, 0, 0));
    ca.flags = CLONE_PIDFD;
    ca.pidfd = 8;
    R(syscall(SYS_clone3, &ca, sizeof ca));
}

static void shared_descriptions(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/desc.%d", getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    pid_t c = fork();
    if (c == 0) {
        write(fd, "child", 5);
        fcntl(fd, F_SETFL, O_APPEND);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("offset shared over fork: %lld, O_APPEND shared: %d\n", (long long)lseek(fd, 0, SEEK_CUR),
           (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    /* FD_CLOEXEC is per descriptor, not per description */
    int d = dup(fd);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    printf("dup keeps its own FD_CLOEXEC: %d\n", fcntl(d, F_GETFD));
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) { fcntl(p[0], F_SETFL, O_NONBLOCK); _exit(0); }
    waitpid(c, NULL, 0);
    char b;
    R(read(p[0], &b, 1));   /* O_NONBLOCK set by the child applies here: EAGAIN */
}

static void memfd_seals(void) {
    int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
    if (fd < 0) { printf("memfd_create: %s\n", en(errno)); return; }
    write(fd, "abc", 3);
    R(fcntl(fd, F_GET_SEALS));
    R(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW));
    R(fcntl(fd, F_GET_SEALS));
    R(write(fd, "d", 1));
    R(ftruncate(fd, 1));
    R(ftruncate(fd, 100));
    E(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    R(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    R(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    int nos = memfd_create("plain", 0);
    R(fcntl(nos, F_ADD_SEALS, F_SEAL_WRITE));
    char buf[4] = {0};
    R(pread(fd, buf, 3, 0));
    printf("content=%s\n", buf);
    /* a read-only shared mapping of a write-sealed memfd; it cannot become writable */
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("read-only shared mapping: %s\n", ro == MAP_FAILED ? en(errno) : "mapped");
    if (ro != MAP_FAILED) R(mprotect(ro, 4096, PROT_READ | PROT_WRITE));
    /* grow alone: writes inside the size go, past it not */
    int g = memfd_create("grow", MFD_ALLOW_SEALING);
    write(g, "0123456789", 10);
    R(fcntl(g, F_ADD_SEALS, F_SEAL_GROW));
    R(pwrite(g, "ab", 2, 4));
    R(pwrite(g, "ab", 2, 9));
    R(ftruncate(g, 5));
    R(ftruncate(g, 8));
    R(lseek(g, 0, SEEK_END));
    /* a writable shared mapping keeps F_SEAL_WRITE out until it goes */
    int b = memfd_create("busy", MFD_ALLOW_SEALING);
    ftruncate(b, 4096);
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
    R(fcntl(b, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(w, 4096);
    R(fcntl(b, F_ADD_SEALS, F_SEAL_WRITE));
    /* bad seals, a read-only fd, and a file that is no memfd */
    R(fcntl(b, F_ADD_SEALS, 0x40));
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", g);
    int rd = open(p, O_RDONLY);
    R(fcntl(rd, F_ADD_SEALS, F_SEAL_SHRINK));
    R(fcntl(rd, F_GET_SEALS));
    R(fcntl(0, F_GET_SEALS) == -1);
}

static void eventfds(void) {
    int fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    if (fd < 0) { printf("eventfd: %s\n", en(errno)); return; }
    uint64_t v;
    for (int i = 0; i < 4; i++) {
        errno = 0;
        ssize_t n = read(fd, &v, 8);
        printf("semaphore read %d: %zd %s value=%llu\n", i, n, n < 0 ? en(errno) : "", n > 0 ? (unsigned long long)v : 0ULL);
    }
    int e = eventfd(0, 0);
    v = 5;
    write(e, &v, 8);
    v = 7;
    write(e, &v, 8);
    read(e, &v, 8);
    printf("counter mode: %llu\n", (unsigned long long)v);
    v = 0xffffffffffffffffULL;
    R(write(e, &v, 8));
    R(write(e, &v, 4));
}

MAIN(SECTION(clone_vm_and_friends), SECTION(exit_signal), SECTION(settid_flags),
     SECTION(vfork_shares_memory), SECTION(pidfds), SECTION(shared_descriptions), SECTION(memfd_seals),
     SECTION(eventfds))
