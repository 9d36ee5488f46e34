/* poll, ppoll, select, pselect6: readiness of pipes, files and eventfds, timeouts,
   POLLNVAL/EBADF, EINTR, the temporary signal mask and select's remaining time. */
#include "common.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/resource.h>

static volatile int got_sig;
static void on_sig(int s) { (void)s; got_sig++; }

static void poll_basic(void) {
    int p[2];
    pipe(p);
    struct pollfd f[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}, {999, POLLIN, 0}};
    R(poll(f, 4, 0));
    for (int i = 0; i < 4; i++) printf("revents[%d]=%#x\n", i, f[i].revents);
    write(p[1], "x", 1);
    R(poll(f, 2, 0));
    printf("after write: %#x %#x\n", f[0].revents, f[1].revents);
    close(p[1]);
    R(poll(f, 1, 0));
    printf("writer closed: %#x\n", f[0].revents);
    int q[2];
    pipe(q);
    close(q[0]);
    struct pollfd g = {q[1], POLLOUT, 0};
    R(poll(&g, 1, 0));
    printf("reader closed: %#x\n", g.revents);
    struct pollfd h = {q[1], 0, 0};
    R(poll(&h, 1, 0));
    printf("no events asked: %#x\n", h.revents);
    close(p[0]);
    close(q[1]);
}

static void poll_files(void) {
    int fd = open("/dev/null", O_RDWR);
    int ef = eventfd(0, 0);
    struct pollfd f[2] = {{fd, POLLIN | POLLOUT | POLLPRI, 0}, {ef, POLLIN | POLLOUT, 0}};
    R(poll(f, 2, 0));
    printf("/dev/null=%#x eventfd=%#x\n", f[0].revents, f[1].revents);
    uint64_t one = 1;
    write(ef, &one, 8);
    R(poll(f + 1, 1, 0));
    printf("eventfd after write=%#x\n", f[1].revents);
    close(fd);
    close(ef);
}

static void poll_timeout_and_wakeup(void) {
    int p[2];
    pipe(p);
    struct pollfd f = {p[0], POLLIN, 0};
    double t0 = mono_ms();
    R(poll(&f, 1, 60));
    CHECK(mono_ms() - t0 >= 55);
    pid_t c = fork();
    if (c == 0) { msleep(50); write(p[1], "y", 1); _exit(0); }
    R(poll(&f, 1, -1));
    printf("revents=%#x\n", f.revents);
    waitpid(c, NULL, 0);
    close(p[0]);
    close(p[1]);
}

static void poll_eintr(void) {
    int p[2];
    pipe(p);
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa = {0};
        sa.sa_handler = on_sig;
        sa.sa_flags = restart ? SA_RESTART : 0;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 0}, {0, 30000}};
        setitimer(ITIMER_REAL, &it, NULL);
        struct pollfd f = {p[0], POLLIN, 0};
        got_sig = 0;
        R(poll(&f, 1, 5000));
        printf("SA_RESTART=%d handler ran: %d\n", restart, got_sig);
    }
    signal(SIGALRM, SIG_DFL);
    close(p[0]);
    close(p[1]);
}

static void poll_errors(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct pollfd f = {0, POLLIN, 0};
    R(poll(&f, rl.rlim_cur + 1, 0));
    struct pollfd *volatile bad = (struct pollfd *)8;
    R(poll(bad, 1, 0));
    R(poll(NULL, 0, 10));
}

static void ppoll_sigmask(void) {
    int p[2];
    pipe(p);
    signal(SIGUSR1, on_sig);
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    struct pollfd f = {p[0], POLLIN, 0};
    struct timespec ts = {0, 0};
    got_sig = 0;
    R(ppoll(&f, 1, &ts, &block));
    printf("blocked during ppoll: ran=%d\n", got_sig);
    R(ppoll(&f, 1, NULL, &empty));
    printf("unblocked during ppoll: ran=%d\n", got_sig);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGUSR1));
    /* ready fd + pending signal: returns the fd and keeps the signal blocked */
    raise(SIGUSR1);
    write(p[1], "z", 1);
    got_sig = 0;
    R(ppoll(&f, 1, NULL, &block));
    printf("ran=%d\n", got_sig);
    struct timespec big = {5, 0};
    R(syscall(SYS_ppoll, &f, 1, &big, &empty, 4));
    ts.tv_nsec = 2000000000L;
    R(ppoll(&f, 1, &ts, NULL));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    signal(SIGUSR1, SIG_DFL);
    close(p[0]);
    close(p[1]);
}

static void select_basic(void) {
    int p[2];
    pipe(p);
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    R(select(p[1] + 1, &r, &w, NULL, &tv));
    printf("r=%d w=%d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
    write(p[1], "a", 1);
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w); FD_SET(p[0], &w);
    R(select(p[1] + 1, &r, &w, NULL, &tv));
    printf("r=%d w1=%d w0=%d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &w), FD_ISSET(p[0], &w));
    /* fds past the table's size are ignored, closed ones inside it are
       EBADF: make the table 256 wide first, whatever we inherited. */
    dup2(p[0], 200); close(200);
    FD_ZERO(&r);
    FD_SET(200, &r);
    R(select(201, &r, NULL, NULL, &tv));
    {
        static fd_set big[4];
        FD_SET(3000, &big[0]);
        R(select(3001, &big[0], NULL, NULL, &tv));
    }
    R(select(-1, NULL, NULL, NULL, &tv));
    tv.tv_usec = -1;
    R(select(0, NULL, NULL, NULL, &tv));
    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_usec = 0;
    read(p[0], &tv, 1);
    tv.tv_sec = 0; tv.tv_usec = 0;
    R(select(p[0] + 1, &r, NULL, NULL, &tv));
    printf("eof readable=%d\n", FD_ISSET(p[0], &r));
    close(p[0]);
}

static void select_timeout(void) {
    struct timeval tv = {0, 50000};
    double t0 = mono_ms();
    R(select(0, NULL, NULL, NULL, &tv));
    CHECK(mono_ms() - t0 >= 45);
    printf("left: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) { msleep(30); write(p[1], "y", 1); _exit(0); }
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 5; tv.tv_usec = 0;
    R(select(p[0] + 1, &r, NULL, NULL, &tv));
    CHECK(tv.tv_sec < 5 && tv.tv_sec >= 3);
    waitpid(c, NULL, 0);
    close(p[0]);
    close(p[1]);
}

static void select_eintr(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timeval tv = {5, 0};
    got_sig = 0;
    R(select(0, NULL, NULL, NULL, &tv));
    printf("ran=%d time updated=%d\n", got_sig, tv.tv_sec < 5);
    signal(SIGALRM, SIG_DFL);
}

static void pselect_sigmask(void) {
    signal(SIGUSR1, on_sig);
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    struct timespec ts = {0, 1000000};
    got_sig = 0;
    R(pselect(0, NULL, NULL, NULL, &ts, &block));
    printf("ran=%d\n", got_sig);
    R(pselect(0, NULL, NULL, NULL, NULL, &empty));
    printf("ran=%d\n", got_sig);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGUSR1));
    struct { const sigset_t *ss; size_t len; } arg = {&empty, 4};
    R(syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, &arg));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    signal(SIGUSR1, SIG_DFL);
}

MAIN(SECTION(poll_basic), SECTION(poll_files), SECTION(poll_timeout_and_wakeup), SECTION(poll_eintr),
     SECTION(poll_errors), SECTION(ppoll_sigmask), SECTION(select_basic), SECTION(select_timeout),
     SECTION(select_eintr), SECTION(pselect_sigmask))
