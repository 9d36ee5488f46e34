/* pipe, pipe2, EOF, PIPE_BUF atomicity, EPIPE/SIGPIPE, O_NONBLOCK, F_GETPIPE_SZ/F_SETPIPE_SZ,
   FIONREAD, large transfers through fork, blocking reader woken by writer. */
#include "common.h"
#include <limits.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>

static void basic(void) {
    int p[2];
    R(pipe(p));
    printf("fds: %d %d\n", p[0], p[1]);
    R(write(p[1], "hello", 5));
    char buf[16] = {0};
    R(read(p[0], buf, sizeof buf));
    printf("got: %s\n", buf);
    R(write(p[0], "x", 1));   /* wrong end */
    R(read(p[1], buf, 1));
    R(close(p[1]));
    R(read(p[0], buf, sizeof buf));   /* EOF */
    R(lseek(p[0], 0, SEEK_SET));
    struct stat st;
    fstat(p[0], &st);
    printf("S_ISFIFO=%d\n", S_ISFIFO(st.st_mode));
    R(fcntl(p[0], F_GETFL) & O_ACCMODE);
    close(p[0]);
}

static void pipe2_flags(void) {
    int p[2];
    R(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    R(fcntl(p[0], F_GETFD));
    R(fcntl(p[1], F_GETFD));
    R((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    char c;
    R(read(p[0], &c, 1));   /* empty + nonblocking: EAGAIN */
    R(pipe2(p, 0x1234));
}

static void nonblocking_capacity(void) {
    int p[2];
    pipe2(p, O_NONBLOCK);
    R(fcntl(p[1], F_GETPIPE_SZ));
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    long total = 0;
    ssize_t n;
    while ((n = write(p[1], buf, sizeof buf)) > 0) total += n;
    printf("filled: total=%ld then %s\n", total, en(errno));
    int avail = -1;
    R(ioctl(p[0], FIONREAD, &avail));
    printf("FIONREAD=%d\n", avail);
    /* reading a page frees room for a small write; a PIPE_BUF-sized one is all or nothing */
    read(p[0], buf, 4096);
    R(write(p[1], buf, 50));
    R(write(p[1], buf, 4096));
    close(p[0]);
    close(p[1]);
}

static void setpipe_sz(void) {
    int p[2];
    pipe(p);
    R(fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
    R(fcntl(p[0], F_GETPIPE_SZ));
    R(fcntl(p[1], F_SETPIPE_SZ, 5000));   /* rounded up to a power-of-two number of pages */
    R(fcntl(p[1], F_SETPIPE_SZ, 0));
    R(fcntl(p[1], F_GETPIPE_SZ));
    fcntl(p[1], F_SETPIPE_SZ, 8192);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    char buf[4096] = {0};
    long total = 0;
    ssize_t n;
    while ((n = write(p[1], buf, sizeof buf)) > 0) total += n;
    printf("8 KiB pipe holds %ld\n", total);
    /* shrinking below the data held fails with EBUSY */
    R(fcntl(p[1], F_SETPIPE_SZ, 4096));
    int fd = open("/dev/null", O_RDONLY);
    R(fcntl(fd, F_GETPIPE_SZ));
}

static void pipe_buf_atomic(void) {
    /* 4 writers x 64 writes of PIPE_BUF bytes: every PIPE_BUF chunk read back is uniform */
    int p[2];
    pipe(p);
    pid_t kids[4];
    for (int w = 0; w < 4; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            close(p[0]);
            char buf[PIPE_BUF];
            memset(buf, 'A' + w, sizeof buf);
            for (int i = 0; i < 64; i++)
                if (write(p[1], buf, sizeof buf) != PIPE_BUF) _exit(1);
            _exit(0);
        }
    }
    close(p[1]);
    char chunk[PIPE_BUF];
    int counts[4] = {0}, torn = 0, chunks = 0;
    for (;;) {
        size_t got = 0;
        while (got < PIPE_BUF) {
            ssize_t n = read(p[0], chunk + got, PIPE_BUF - got);
            if (n <= 0) break;
            got += n;
        }
        if (got == 0) break;
        chunks++;
        for (size_t i = 1; i < got; i++) if (chunk[i] != chunk[0]) { torn++; break; }
        if (chunk[0] >= 'A' && chunk[0] <= 'D') counts[chunk[0] - 'A']++;
    }
    int ok = 1;
    for (int w = 0; w < 4; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    printf("PIPE_BUF=%d chunks=%d torn=%d per-writer=%d,%d,%d,%d writers ok=%d\n", PIPE_BUF, chunks,
           torn, counts[0], counts[1], counts[2], counts[3], ok);
}

static volatile int got_pipe;
static void on_pipe(int s) { (void)s; got_pipe++; }

static void epipe_sigpipe(void) {
    int p[2];
    pipe(p);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    R(write(p[1], "x", 1));
    signal(SIGPIPE, SIG_DFL);
    pid_t c = fork();
    if (c == 0) {
        write(p[1], "x", 1);
        _exit(0);   /* not reached: SIGPIPE kills */
    }
    int st;
    waitpid(c, &st, 0);
    printf("default SIGPIPE: %s\n", wstatus(st));
    /* with a handler: handler runs, write fails with EPIPE */
    signal(SIGPIPE, on_pipe);
    R(write(p[1], "x", 1));
    printf("handler ran: %d\n", got_pipe);
    signal(SIGPIPE, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    sigprocmask(SIG_BLOCK, &s, NULL);
    R(write(p[1], "x", 1));
    sigset_t pend;
    sigpending(&pend);
    printf("blocked SIGPIPE pending: %d\n", sigismember(&pend, SIGPIPE));
    siginfo_t si;
    struct timespec ts = {0, 0};
    int sig = sigtimedwait(&s, &si, &ts);
    printf("dequeued %s si_code=%d (SI_USER=0)\n", sigabbrev_np(sig), si.si_code);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    close(p[1]);
}

static void eof_after_all_writers_close(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        for (int i = 0; i < 3; i++) {
            char line[32];
            int n = snprintf(line, sizeof line, "line %d\n", i);
            write(p[1], line, n);
            msleep(5);
        }
        _exit(0);
    }
    close(p[1]);
    char buf[128];
    int total = 0;
    ssize_t n;
    while ((n = read(p[0], buf + total, sizeof buf - total)) > 0) total += n;
    printf("%.*s", total, buf);
    R(n);
    waitpid(c, NULL, 0);
    close(p[0]);
}

static void writer_blocks_until_read(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        static char big[1 << 20];
        for (size_t i = 0; i < sizeof big; i++) big[i] = i % 253;
        size_t off = 0;
        while (off < sizeof big) {
            ssize_t n = write(p[1], big + off, sizeof big - off);
            if (n <= 0) _exit(1);
            off += n;
        }
        _exit(0);
    }
    close(p[1]);
    static unsigned char got[1 << 20];
    size_t total = 0;
    ssize_t n;
    msleep(20);   /* let the writer fill the pipe and block */
    while ((n = read(p[0], got + total, sizeof got - total)) > 0) total += n;
    int ok = total == sizeof got;
    for (size_t i = 0; ok && i < total; i++) ok = got[i] == i % 253;
    int st;
    waitpid(c, &st, 0);
    printf("1 MiB through a pipe: intact=%d writer %s\n", ok, wstatus(st));
    close(p[0]);
}

static void reader_woken(void) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        msleep(30);
        write(p[1], "wake", 4);
        _exit(0);
    }
    char buf[8] = {0};
    double t0 = mono_ms();
    R(read(p[0], buf, sizeof buf));
    printf("read %s after waiting >= 20ms: %d\n", buf, mono_ms() - t0 >= 20);
    waitpid(c, NULL, 0);
}

static void dup_keeps_pipe_open(void) {
    int p[2];
    pipe(p);
    int w2 = dup(p[1]);
    close(p[1]);
    write(w2, "x", 1);
    close(w2);
    char buf[4];
    R(read(p[0], buf, 4));
    R(read(p[0], buf, 4));
}

static void shell_pipeline_via_exec(void) {
    /* parent -> sort -> parent, with both ends redirected by dup2 */
    int in[2], out[2];
    pipe(in);
    pipe(out);
    pid_t c = fork();
    if (c == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execlp("sort", "sort", "-n", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    write(in[1], "10\n9\n100\n1\n", 11);
    close(in[1]);
    char buf[64];
    int total = 0;
    ssize_t n;
    while ((n = read(out[0], buf + total, sizeof buf - total)) > 0) total += n;
    printf("%.*s", total, buf);
    int st;
    waitpid(c, &st, 0);
    printf("sort %s\n", wstatus(st));
}

static void readv_partial(void) {
    int p[2];
    pipe(p);
    write(p[1], "abcdef", 6);
    char a[4] = {0}, b[4] = {0};
    struct iovec { void *base; size_t len; } iov[2] = {{a, 3}, {b, 3}};
    R(syscall(SYS_readv, p[0], iov, 2));
    printf("%s %s\n", a, b);
}

static void poll_pipe_states(void) {
    int p[2];
    pipe(p);
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    R(poll(fds, 2, 0));
    printf("empty: r=%#x w=%#x\n", fds[0].revents, fds[1].revents);
    write(p[1], "x", 1);
    R(poll(fds, 2, 0));
    printf("data: r=%#x w=%#x\n", fds[0].revents, fds[1].revents);
    close(p[1]);
    fds[1].fd = -1;
    R(poll(fds, 2, 0));
    printf("writer closed, data left: r=%#x\n", fds[0].revents);
    char c;
    read(p[0], &c, 1);
    R(poll(fds, 1, 0));
    printf("writer closed, drained: r=%#x\n", fds[0].revents);
    int q[2];
    pipe(q);
    close(q[0]);
    struct pollfd w = {q[1], POLLOUT, 0};
    R(poll(&w, 1, 0));
    printf("reader closed: w=%#x\n", w.revents);
    struct pollfd bad = {999, POLLIN, 0};
    R(poll(&bad, 1, 0));
    printf("bad fd: %#x\n", bad.revents);
    /* a blocking poll is woken by a writer in another process */
    int r2[2];
    pipe(r2);
    pid_t ch = fork();
    if (ch == 0) { msleep(30); write(r2[1], "y", 1); _exit(0); }
    struct pollfd pr = {r2[0], POLLIN, 0};
    double t0 = mono_ms();
    R(poll(&pr, 1, 5000));
    printf("woken after >= 20ms: %d\n", mono_ms() - t0 >= 20);
    waitpid(ch, NULL, 0);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(r2[0], &rs);
    struct timeval tv = {0, 0};
    R(select(r2[0] + 1, &rs, NULL, NULL, &tv));
    printf("select readable: %d\n", FD_ISSET(r2[0], &rs));
}

MAIN(SECTION(basic), SECTION(pipe2_flags), SECTION(nonblocking_capacity), SECTION(setpipe_sz),
     SECTION(pipe_buf_atomic), SECTION(epipe_sigpipe), SECTION(eof_after_all_writers_close),
     SECTION(writer_blocks_until_read), SECTION(reader_woken), SECTION(dup_keeps_pipe_open),
     SECTION(shell_pipeline_via_exec), SECTION(readv_partial), SECTION(poll_pipe_states))
