/* epoll and eventfd: argument errors, level/edge triggered, EPOLLONESHOT, EPOLLRDHUP,
   EPOLLEXCLUSIVE, nested sets and ELOOP, closed fds leaving the set, blocking waits,
   epoll_pwait's signal mask, and the eventfd EPOLLET quirk (every write is an edge). */
#include "common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

static volatile int got_sig;
static void on_sig(int s) { (void)s; got_sig++; }

static int add(int ep, int fd, uint32_t ev, uint64_t data) {
    struct epoll_event e = {.events = ev, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static void show(int ep, int max, int timeout) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, max, timeout);
    printf("wait: %d", n);
    if (n < 0) printf(" %s", en(errno));
    for (int i = 0; i < n; i++) printf(" [%#x data=%llu]", evs[i].events, (unsigned long long)evs[i].data.u64);
    printf("\n");
}

static void errors(void) {
    R(epoll_create(0));
    R(epoll_create(-1));
    R(epoll_create1(0x1234));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    R(fcntl(ep, F_GETFD));
    int p[2];
    pipe(p);
    struct epoll_event e = {.events = EPOLLIN};
    R(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e));
    R(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e));
    R(epoll_ctl(ep, 99, p[0], &e));
    R(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
    int f = open("/etc/passwd", O_RDONLY);
    R(epoll_ctl(ep, EPOLL_CTL_ADD, f, &e));
    R(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    R(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    R(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    R(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    R(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    struct epoll_event evs[1];
    R(epoll_wait(ep, evs, 0, 0));
    volatile int neg = -1;
    R(epoll_wait(ep, evs, neg, 0));
    R(epoll_wait(p[0], evs, 1, 0));
    R(epoll_wait(999, evs, 1, 0));
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    R(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    R(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    e.events = EPOLLIN;
    R(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    R(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e));
    close(f); close(p[0]); close(p[1]); close(ep);
}

static void level_triggered(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 7);
    add(ep, p[1], EPOLLOUT, 8);
    show(ep, 8, 0);
    write(p[1], "ab", 2);
    show(ep, 8, 0);
    show(ep, 8, 0);
    char c;
    read(p[0], &c, 1);
    show(ep, 8, 0);
    read(p[0], &c, 1);
    show(ep, 8, 0);
    close(p[1]);
    show(ep, 8, 0);
    close(p[0]); close(ep);
}

static void edge_triggered(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN | EPOLLET, 1);
    show(ep, 8, 0);
    write(p[1], "a", 1);
    show(ep, 8, 0);
    show(ep, 8, 0);
    write(p[1], "b", 1);   /* a new write is a new edge */
    show(ep, 8, 0);
    char c;
    read(p[0], &c, 1);     /* reading makes no edge for EPOLLIN */
    show(ep, 8, 0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 2};
    R(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));   /* MOD re-arms */
    show(ep, 8, 0);
    close(p[0]); close(p[1]); close(ep);
}

static void oneshot(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN | EPOLLONESHOT, 3);
    write(p[1], "a", 1);
    show(ep, 8, 0);
    show(ep, 8, 0);
    write(p[1], "b", 1);
    show(ep, 8, 0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 4};
    R(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    show(ep, 8, 0);
    show(ep, 8, 0);
    close(p[0]); close(p[1]); close(ep);
}

static void eventfd_basics(void) {
    R(eventfd(0, 0x1234));
    int ef = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 0;
    R(read(ef, &v, 4));
    R(read(ef, &v, 8));
    printf("v=%llu\n", (unsigned long long)v);
    R(read(ef, &v, 8));
    v = 0xffffffffffffffffULL;
    R(write(ef, &v, 8));
    v = 0xfffffffffffffffeULL;
    R(write(ef, &v, 8));
    v = 1;
    R(write(ef, &v, 8));
    struct pollfd pf = {ef, POLLIN | POLLOUT, 0};
    poll(&pf, 1, 0);
    printf("full: %#x\n", pf.revents);
    R(read(ef, &v, 8));
    close(ef);
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    R(fcntl(sem, F_GETFD));
    R(read(sem, &v, 8)); printf("v=%llu\n", (unsigned long long)v);
    R(read(sem, &v, 8)); printf("v=%llu\n", (unsigned long long)v);
    R(read(sem, &v, 8));
    close(sem);
    /* a blocking read woken by another process */
    int b = eventfd(0, 0);
    pid_t c = fork();
    if (c == 0) { msleep(30); uint64_t one = 5; write(b, &one, 8); _exit(0); }
    R(read(b, &v, 8)); printf("v=%llu\n", (unsigned long long)v);
    waitpid(c, NULL, 0);
    close(b);
}

static void eventfd_et_quirk(void) {
    int ep = epoll_create1(0), ef = eventfd(0, EFD_NONBLOCK);
    add(ep, ef, EPOLLIN | EPOLLET, 9);
    show(ep, 8, 0);
    uint64_t one = 1;
    write(ef, &one, 8);
    show(ep, 8, 0);
    show(ep, 8, 0);
    write(ef, &one, 8);    /* still readable, yet a new edge */
    show(ep, 8, 0);
    uint64_t zero = 0;
    write(ef, &zero, 8);   /* even adding 0 */
    show(ep, 8, 0);
    uint64_t v;
    read(ef, &v, 8);
    printf("count=%llu\n", (unsigned long long)v);
    show(ep, 8, 0);
    close(ef); close(ep);
}

static void rdhup_and_hup(void) {
    int ep = epoll_create1(0), s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    add(ep, s[0], EPOLLIN | EPOLLRDHUP, 1);
    show(ep, 8, 0);
    shutdown(s[1], SHUT_WR);
    show(ep, 8, 0);
    close(s[1]);
    show(ep, 8, 0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u64 = 2};
    epoll_ctl(ep, EPOLL_CTL_MOD, s[0], &e);
    show(ep, 8, 0);
    close(s[0]); close(ep);
}

static void closed_fd_leaves_set(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 5);
    int d = dup(p[0]);
    close(p[0]);              /* the description lives on through d */
    write(p[1], "a", 1);
    show(ep, 8, 0);
    R(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL));  /* registered under the old fd number */
    close(d);                 /* now gone: the set forgets it */
    int p2[2];
    pipe(p2);
    write(p2[1], "b", 1);
    show(ep, 8, 0);
    add(ep, p2[0], EPOLLIN, 6);
    close(p2[0]);
    show(ep, 8, 0);
    close(p[1]); close(p2[1]); close(ep);
}

static void one_file_many_items(void) {
    int ep = epoll_create1(0), ep2 = epoll_create1(0), p[2];
    pipe(p);
    write(p[1], "x", 1);
    int d = dup(p[0]);
    R(add(ep, p[0], EPOLLIN, 1));
    R(add(ep, d, EPOLLIN, 2));      /* the same file under another fd: a second item */
    R(add(ep2, p[0], EPOLLIN, 3));
    show(ep, 8, 0);
    R(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    show(ep, 8, 0);
    close(p[0]);                    /* the file lives on through d: every item stays */
    show(ep, 8, 0);
    show(ep2, 8, 0);
    close(d);                       /* released: it leaves both sets */
    show(ep, 8, 0);
    show(ep2, 8, 0);
    /* a blocking wait on a set holding a nested set holding a pipe */
    int inner = epoll_create1(0), q[2];
    pipe(q);
    R(add(inner, q[0], EPOLLIN, 4));
    R(add(ep, inner, EPOLLIN, 5));
    for (int i = 0; i < 2; i++) {
        pid_t c = fork();
        if (c == 0) { msleep(20); write(q[1], "y", 1); _exit(0); }
        show(ep, 8, -1);
        waitpid(c, NULL, 0);
        show(inner, 8, 0);
        char ch;
        read(q[0], &ch, 1);
    }
    close(q[0]); close(q[1]); close(p[1]); close(inner); close(ep); close(ep2);
}

static void nested(void) {
    int outer = epoll_create1(0), inner = epoll_create1(0), p[2];
    pipe(p);
    add(inner, p[0], EPOLLIN, 1);
    R(add(outer, inner, EPOLLIN, 2));
    R(add(inner, outer, EPOLLIN, 3));
    show(outer, 8, 0);
    write(p[1], "x", 1);
    show(outer, 8, 0);
    show(inner, 8, 0);
    struct pollfd pf = {outer, POLLIN, 0};
    R(poll(&pf, 1, 0));
    printf("poll on epoll fd: %#x\n", pf.revents);
    char c;
    read(p[0], &c, 1);
    show(outer, 8, 0);
    close(p[0]); close(p[1]); close(inner); close(outer);
}

static void blocking_waits(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 1);
    double t0 = mono_ms();
    show(ep, 8, 50);
    CHECK(mono_ms() - t0 >= 45);
    pid_t c = fork();
    if (c == 0) { msleep(30); write(p[1], "x", 1); _exit(0); }
    show(ep, 8, -1);
    waitpid(c, NULL, 0);
    struct epoll_event ev;
    struct timespec ts = {0, 0};
    R(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8));
    char ch;
    read(p[0], &ch, 1);
    ts.tv_nsec = 20000000;
    R(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8));
    /* a signal ends the wait with EINTR even with SA_RESTART */
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    got_sig = 0;
    R(epoll_wait(ep, &ev, 1, 5000));
    printf("ran=%d\n", got_sig);
    signal(SIGALRM, SIG_DFL);
    close(p[0]); close(p[1]); close(ep);
}

static void pwait_sigmask(void) {
    int ep = epoll_create1(0);
    signal(SIGUSR1, on_sig);
    sigset_t block, empty, now;
    sigemptyset(&block); sigaddset(&block, SIGUSR1); sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    struct epoll_event ev;
    got_sig = 0;
    R(epoll_pwait(ep, &ev, 1, 10, &block));
    printf("ran=%d\n", got_sig);
    R(epoll_pwait(ep, &ev, 1, -1, &empty));
    printf("ran=%d\n", got_sig);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGUSR1));
    R(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &empty, 4));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    signal(SIGUSR1, SIG_DFL);
    close(ep);
}

static void maxevents_round_robin(void) {
    int ep = epoll_create1(0), p[3][2];
    for (int i = 0; i < 3; i++) { pipe(p[i]); write(p[i][1], "x", 1); add(ep, p[i][0], EPOLLIN, i); }
    show(ep, 2, 0);
    show(ep, 2, 0);
    show(ep, 2, 0);
    for (int i = 0; i < 3; i++) { close(p[i][0]); close(p[i][1]); }
    close(ep);
}

MAIN(SECTION(errors), SECTION(level_triggered), SECTION(edge_triggered), SECTION(oneshot),
     SECTION(eventfd_basics), SECTION(eventfd_et_quirk), SECTION(rdhup_and_hup),
     SECTION(closed_fd_leaves_set), SECTION(one_file_many_items), SECTION(nested), SECTION(blocking_waits), SECTION(pwait_sigmask),
     SECTION(maxevents_round_robin))
