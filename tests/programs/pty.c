/* Pseudo-terminals: /dev/ptmx and /dev/pts, the line discipline (echo,
   canonical editing, raw mode, VMIN/VTIME), window size and SIGWINCH, the
   controlling terminal, job control signals from ^C ^Z ^\ and for background
   process groups, and hangup when the master closes. */
#include "common.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

static int master_open(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) { printf("openpt failed %s\n", en(errno)); exit(1); }
    return m;
}

static int slave_open(int m) {
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) { printf("open slave failed %s\n", en(errno)); exit(1); }
    return s;
}

/* Everything readable now on fd, printed escaped. */
static void drain(const char *what, int fd) {
    char buf[512];
    int n = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
        int r = read(fd, buf + n, sizeof buf - n);
        if (r <= 0) break;
        n += r;
    }
    printf("%s (%d): \"", what, n);
    for (int i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
    printf("\"\n");
}

static void readone(const char *what, int fd) {
    char buf[256];
    int r = read(fd, buf, sizeof buf);
    if (r < 0) { printf("%s: read = -1 %s\n", what, en(errno)); return; }
    printf("%s: read = %d \"", what, r);
    for (int i = 0; i < r; i++) {
        unsigned char c = buf[i];
        if (c >= 32 && c < 127 && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
    printf("\"\n");
}

static void wr(int fd, const char *s) { write(fd, s, strlen(s)); }

/* Typing on the master: Linux hands the bytes to the line discipline from a
   workqueue, so give it a moment before looking at the slave without blocking. */
static void wm(int fd, const char *s) { write(fd, s, strlen(s)); msleep(30); }

/* Read the master until `tok` has come (EIO while no slave is open yet). */
static void wait_for(int m, const char *tok) {
    char buf[256];
    int n = 0;
    while (n < (int)sizeof buf - 1) {
        int r = read(m, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EIO) { msleep(5); continue; }
        if (r <= 0) break;
        n += r;
        buf[n] = 0;
        if (strstr(buf, tok)) break;
    }
}

static void pty_open(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    char *name = ptsname(m);
    CHECK(strncmp(name, "/dev/pts/", 9) == 0);
    int locked = -1;
    R(ioctl(m, TIOCGPTLCK, &locked));
    printf("locked=%d\n", locked);
    E(open(name, O_RDWR | O_NOCTTY));
    R(grantpt(m));
    R(unlockpt(m));
    unsigned n = 999;
    R(ioctl(m, TIOCGPTN, &n));
    char buf[64];
    snprintf(buf, sizeof buf, "/dev/pts/%u", n);
    CHECK(strcmp(buf, name) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    CHECK(isatty(s) && isatty(m));
    CHECK(!isatty(1) || 1);
    struct stat st, st2;
    fstat(s, &st);
    stat(name, &st2);
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 136 && minor(st.st_rdev) == n);
    CHECK(st.st_ino == st2.st_ino && st.st_rdev == st2.st_rdev);
    char *tn = ttyname(s);
    CHECK(tn && strcmp(tn, name) == 0);
    fstat(m, &st);
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2);
    R(ioctl(s, TIOCGPTN, &n));
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK(peer >= 0);
    fstat(peer, &st);
    CHECK(major(st.st_rdev) == 136 && minor(st.st_rdev) == n);
    int ld = -1;
    R(ioctl(s, TIOCGETD, &ld));
    printf("ldisc=%d\n", ld);
    /* not our controlling terminal */
    pid_t pg;
    R(ioctl(s, TIOCGPGRP, &pg));
    R(tcgetsid(s));
    close(peer);
    close(s);
    close(m);
    /* the slave goes away with the master */
    E(open(buf, O_RDWR | O_NOCTTY));
}

static void pty_termios_defaults(void) {
    int m = master_open(), s = slave_open(m);
    struct termios t;
    R(tcgetattr(s, &t));
    printf("iflag=%#o oflag=%#o cflag=%#o lflag=%#o\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
    printf("cc:");
    for (int i = 0; i < 17; i++) printf(" %d", t.c_cc[i]);
    printf("\nspeed=%d\n", (int)cfgetospeed(&t));
    /* the master's mode ioctls act on the slave */
    struct termios tm;
    R(tcgetattr(m, &tm));
    CHECK(t.c_iflag == tm.c_iflag && t.c_oflag == tm.c_oflag && t.c_lflag == tm.c_lflag &&
          memcmp(t.c_cc, tm.c_cc, 17) == 0);
    t.c_lflag &= ~ECHO;
    R(tcsetattr(m, TCSANOW, &t));
    R(tcgetattr(s, &tm));
    CHECK(!(tm.c_lflag & ECHO));
    close(s);
    close(m);
}

static void pty_echo_canon(void) {
    int m = master_open(), s = slave_open(m);
    wm(m, "hello\n");
    readone("slave", s);
    drain("echo", m);
    wr(s, "out\nline\n");
    drain("master", m);
    /* erase, kill, word erase, literal next, reprint */
    wm(m, "abx\x7f" "c\n");
    readone("erase", s);
    drain("echo", m);
    wm(m, "foo bar\x15zap\n");
    readone("kill", s);
    drain("echo", m);
    wm(m, "one two\x17three\n");
    readone("werase", s);
    drain("echo", m);
    wm(m, "a\x16\x7f" "b\n");
    readone("lnext", s);
    drain("echo", m);
    wm(m, "ctl\x01x\x7f\x7f\n");
    readone("ctl erase", s);
    drain("echo", m);
    wm(m, "tab\tx\x7f\x7f\n");
    readone("tab erase", s);
    drain("echo", m);
    /* EOF: ends a line without a newline; on an empty line it reads as 0 */
    wm(m, "abc\x04");
    readone("eof line", s);
    wm(m, "\x04");
    readone("eof empty", s);
    drain("echo", m);
    /* a short read takes part of a line; lines never merge */
    wm(m, "12345\nxy\n");
    char b[3];
    R(read(s, b, 3));
    readone("rest", s);
    readone("next", s);
    /* ICRNL: \r reads as \n */
    wm(m, "cr\r");
    readone("icrnl", s);
    drain("echo", m);
    /* FIONREAD counts only complete lines in canonical mode */
    wm(m, "done\npart");
    int n = -1;
    R(ioctl(s, FIONREAD, &n));
    printf("fionread=%d\n", n);
    drain("echo", m);
    /* no echo */
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    wm(m, "\nsecret\n");
    readone("line", s);
    readone("line", s);
    readone("line", s);
    drain("no echo", m);
    close(s);
    close(m);
}

static void pty_raw(void) {
    int m = master_open(), s = slave_open(m);
    wm(m, "typed");  /* an unfinished line becomes readable in raw mode */
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    R(tcsetattr(s, TCSANOW, &t));
    readone("pending", s);
    drain("echo", m);
    wm(m, "\x03\x1a\r\n\x7f");
    readone("raw", s);
    drain("echo", m);
    wr(s, "a\nb");
    drain("opost off", m);
    /* VMIN/VTIME */
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 1;
    tcsetattr(s, TCSANOW, &t);
    double t0 = mono_ms();
    R(read(s, (char[8]){0}, 8));
    CHECK(mono_ms() - t0 >= 80);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    R(read(s, (char[8]){0}, 8));
    t.c_cc[VMIN] = 3;
    tcsetattr(s, TCSANOW, &t);
    wm(m, "xy");
    struct pollfd p = {s, POLLIN, 0};
    R(poll(&p, 1, 0));
    wm(m, "z!");
    R(poll(&p, 1, 0));
    readone("vmin 3", s);
    /* inter-byte timer: MIN 5, TIME 1 returns what came after 0.1s */
    t.c_cc[VMIN] = 5;
    t.c_cc[VTIME] = 1;
    tcsetattr(s, TCSANOW, &t);
    wm(m, "ab");
    readone("vmin 5 vtime 1", s);
    /* O_NONBLOCK: EAGAIN with nothing there */
    fcntl(s, F_SETFL, O_NONBLOCK);
    R(read(s, (char[8]){0}, 8));
    fcntl(m, F_SETFL, O_NONBLOCK);
    R(read(m, (char[8]){0}, 8));
    /* back to canonical: raw input pending becomes a line */
    fcntl(s, F_SETFL, 0);
    wm(m, "raw");
    t.c_lflag |= ICANON;
    tcsetattr(s, TCSANOW, &t);
    readone("canon again", s);
    close(s);
    close(m);
}

static void pty_poll(void) {
    int m = master_open(), s = slave_open(m);
    struct pollfd p[2] = {{m, POLLIN | POLLOUT, 0}, {s, POLLIN | POLLOUT, 0}};
    R(poll(p, 2, 0));
    printf("master %#x slave %#x\n", p[0].revents, p[1].revents);
    wm(m, "x");
    R(poll(p, 2, 0));
    printf("partial line: master %#x slave %#x\n", p[0].revents, p[1].revents);
    wm(m, "\n");
    R(poll(p, 2, 0));
    printf("line: master %#x slave %#x\n", p[0].revents, p[1].revents);
    close(s);
    drain("echo", m);
    R(poll(p, 1, 0));
    printf("slave closed: master %#x\n", p[0].revents);
    R(read(m, (char[8]){0}, 8));
    close(m);
    m = master_open();
    s = slave_open(m);
    close(m);
    p[1].revents = 0;
    R(poll(&p[1], 1, 0));
    printf("master closed: slave %#x\n", p[1].revents);
    R(read(s, (char[8]){0}, 8));
    R(write(s, "x", 1));
    close(s);
}

/* A child that becomes a session leader with the slave as its controlling terminal. */
static pid_t child_session(int m, int *sfd) {
    char *name = ptsname(m);
    pid_t pid = fork();
    if (pid == 0) {
        close(m);
        setsid();
        int s = open(name, O_RDWR | O_NOCTTY);
        if (ioctl(s, TIOCSCTTY, 0) < 0) { printf("TIOCSCTTY failed %s\n", en(errno)); _exit(1); }
        *sfd = s;
        return 0;
    }
    return pid;
}

static volatile int got;
static void on_sig(int sig) { got = sig; }

static void pty_isig(void) {
    int m = master_open(), s, st;
    pid_t pid = child_session(m, &s);
    if (pid == 0) {
        CHECK(tcgetpgrp(s) == getpid());
        CHECK(tcgetsid(s) == getpid());
        int fd = open("/dev/tty", O_RDWR);
        CHECK(fd >= 0);
        E(ioctl(s, TIOCSCTTY, 0));
        wr(s, "ready\n");
        char b[16];
        read(s, b, sizeof b);  /* killed by ^C */
        _exit(0);
    }
    wait_for(m, "ready");
    msleep(50);
    wm(m, "partial\x03");
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    drain("echo", m);
    /* ^Z stops the foreground job, ^\ with a handler (a job of the session, so its
       process group is not orphaned and may be stopped) */
    pid = child_session(m, &s);
    if (pid == 0) {
        int p[2];
        pipe(p);
        pid_t job = fork();
        if (job == 0) {
            setpgid(0, 0);
            signal(SIGQUIT, on_sig);
            write(p[1], "x", 1);
            while (!got) pause();
            printf("job got %s\n", sigabbrev_np(got));
            _exit(0);
        }
        setpgid(job, job);
        char c;
        read(p[0], &c, 1);
        R(tcsetpgrp(s, job) == 0);
        wr(s, "ready\n");
        waitpid(job, &st, WUNTRACED);
        printf("job %s\n", wstatus(st));
        kill(job, SIGCONT);
        wr(s, "cont\n");
        waitpid(job, &st, 0);
        printf("job %s\n", wstatus(st));
        _exit(0);
    }
    wait_for(m, "ready");
    wm(m, "\x1a");
    wait_for(m, "cont");
    wm(m, "\x1c");
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    drain("echo", m);
    /* without ISIG, ^C is data */
    pid = child_session(m, &s);
    if (pid == 0) {
        struct termios t;
        tcgetattr(s, &t);
        t.c_lflag &= ~(ISIG | ECHO);
        tcsetattr(s, TCSANOW, &t);
        wr(s, "ready\n");
        readone("no isig", s);
        _exit(0);
    }
    wait_for(m, "ready");
    wm(m, "\x03\n");
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    close(m);
}

static void pty_winsize(void) {
    int m = master_open(), s;
    struct winsize w = {0};
    R(ioctl(m, TIOCGWINSZ, &w));
    printf("initial %dx%d\n", w.ws_row, w.ws_col);
    pid_t pid = child_session(m, &s);
    if (pid == 0) {
        signal(SIGWINCH, on_sig);
        wr(s, "ready\n");
        while (!got) pause();
        struct winsize w2;
        ioctl(s, TIOCGWINSZ, &w2);
        printf("child got %s: %dx%d\n", sigabbrev_np(got), w2.ws_row, w2.ws_col);
        got = 0;
        /* the same size again: no signal */
        ioctl(s, TIOCSWINSZ, &w2);
        msleep(50);
        printf("same size: got=%d\n", got);
        _exit(0);
    }
    wait_for(m, "ready");
    w.ws_row = 33;
    w.ws_col = 101;
    int r = ioctl(m, TIOCSWINSZ, &w);
    int st;
    waitpid(pid, &st, 0);
    printf("TIOCSWINSZ = %d\n", r);
    printf("child %s\n", wstatus(st));
    close(m);
}

static void pty_ctty(void) {
    int m = master_open(), s;
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        E(open("/dev/tty", O_RDWR));
        s = open(ptsname(m), O_RDWR | O_NOCTTY);
        pid_t pg;
        R(ioctl(s, TIOCGPGRP, &pg));
        R(tcsetpgrp(s, getpid()));
        R(ioctl(s, TIOCSCTTY, 0));
        CHECK(tcgetpgrp(s) == getpid());
        int fd = open("/dev/tty", O_RDWR);
        CHECK(fd >= 0);
        wr(fd, "via /dev/tty\n");
        /* a child can't take it: not a session leader */
        pid_t c = fork();
        if (c == 0) {
            R(ioctl(s, TIOCSCTTY, 0));
            setsid();
            R(ioctl(s, TIOCSCTTY, 0));  /* already another session's */
            E(open("/dev/tty", O_RDWR));
            _exit(0);
        }
        waitpid(c, NULL, 0);
        R(tcsetpgrp(s, 99999));
        signal(SIGHUP, SIG_IGN);  /* the leader giving it up hangs up the foreground group */
        R(ioctl(s, TIOCNOTTY));
        E(open("/dev/tty", O_RDWR));
        R(tcgetpgrp(s));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    drain("master", m);
    close(m);
}

static void pty_jobctl(void) {
    int m = master_open(), s;
    pid_t pid = child_session(m, &s);
    if (pid == 0) {
        /* a background process group of this session */
        int st;
        pid_t bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            R(write(s, "bg write\n", 9));  /* no TOSTOP: allowed */
            char b[8];
            read(s, b, sizeof b);  /* SIGTTIN stops us */
            printf("bg continued\n");
            _exit(0);
        }
        setpgid(bg, bg);
        waitpid(bg, &st, WUNTRACED);
        printf("bg %s\n", wstatus(st));
        kill(bg, SIGKILL);
        waitpid(bg, &st, 0);
        struct termios t;
        tcgetattr(s, &t);
        t.c_lflag |= TOSTOP;
        tcsetattr(s, TCSANOW, &t);
        bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            write(s, "stopped\n", 8);  /* SIGTTOU */
            _exit(0);
        }
        setpgid(bg, bg);
        waitpid(bg, &st, WUNTRACED);
        printf("bg %s\n", wstatus(st));
        /* foreground it: the write goes through */
        R(tcsetpgrp(s, bg));
        kill(bg, SIGCONT);
        waitpid(bg, &st, 0);
        printf("bg %s\n", wstatus(st));
        signal(SIGTTOU, SIG_IGN);
        R(tcsetpgrp(s, getpid()));
        signal(SIGTTOU, SIG_DFL);
        bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            signal(SIGTTOU, SIG_IGN);
            R(write(s, "ignored\n", 8));
            R(tcsetpgrp(s, getpgrp()));  /* allowed with SIGTTOU ignored */
            signal(SIGTTIN, SIG_IGN);
            fcntl(s, F_SETFL, O_NONBLOCK);  /* foreground now: no SIGTTIN, nothing to read */
            R(read(s, (char[8]){0}, 8));
            _exit(0);
        }
        setpgid(bg, bg);
        waitpid(bg, &st, 0);
        printf("bg %s\n", wstatus(st));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    drain("master", m);
    close(m);
}

static void pty_hangup(void) {
    int m = master_open(), s;
    int p[2];
    pipe(p);
    pid_t pid = child_session(m, &s);
    if (pid == 0) {
        signal(SIGHUP, on_sig);
        wr(s, "ready\n");
        char c;
        read(p[0], &c, 1);
        printf("child got %s\n", sigabbrev_np(got));
        R(read(s, (char[8]){0}, 8));
        R(write(s, "x", 1));
        E(open("/dev/tty", O_RDWR));
        _exit(0);
    }
    wait_for(m, "ready");
    close(m);
    msleep(50);
    write(p[1], "x", 1);
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
}

/* A session leader with no controlling terminal that opens a tty without
   O_NOCTTY gets it as its controlling terminal; masters never become one. */
static void pty_open_ctty(void) {
    int m = master_open();
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int m2 = posix_openpt(O_RDWR);  /* a master: never the ctty */
        E(open("/dev/tty", O_RDWR));
        int s = open(ptsname(m), O_RDWR | O_NOCTTY);
        E(open("/dev/tty", O_RDWR));
        close(s);
        s = open(ptsname(m), O_RDWR);  /* this one takes it */
        CHECK(open("/dev/tty", O_RDWR) >= 0);
        CHECK(tcgetpgrp(s) == getpid());
        pid_t sid;
        R(ioctl(s, TIOCGSID, &sid) == 0 && sid == getpid());
        /* a child in its own session does not steal it by opening */
        pid_t c = fork();
        if (c == 0) {
            setsid();
            int s2 = open(ptsname(m), O_RDWR);
            CHECK(s2 >= 0);
            E(open("/dev/tty", O_RDWR));
            _exit(0);
        }
        waitpid(c, NULL, 0);
        (void)m2;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    close(m);
}

int main(int argc, char **argv) {
    struct section s[] = {
        SECTION(pty_open), SECTION(pty_termios_defaults), SECTION(pty_echo_canon),
        SECTION(pty_raw), SECTION(pty_poll), SECTION(pty_isig), SECTION(pty_winsize),
        SECTION(pty_ctty), SECTION(pty_jobctl), SECTION(pty_hangup), SECTION(pty_open_ctty),
    };
    return run_sections(s, sizeof s / sizeof s[0], argc, argv);
}
