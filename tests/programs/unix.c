/* AF_UNIX sockets: socketpair of each type, message boundaries, MSG_PEEK/TRUNC/WAITALL/
   DONTWAIT/NOSIGNAL, SCM_RIGHTS and SCM_CREDENTIALS, SO_PEERCRED and other options, path
   and abstract names, listen/accept/connect, shutdown, EPIPE/SIGPIPE, errors. */
#include "common.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static volatile int got_sig;
static void on_sig(int s) { (void)s; got_sig++; }

static char dir[64];
static void enter_dir(void) { strcpy(dir, "/tmp/bunixXXXXXX"); mkdtemp(dir); chdir(dir); }
static void leave_dir(void) { chdir("/"); rmdir(dir); }

static socklen_t mkaddr(struct sockaddr_un *a, const char *path, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) { memcpy(a->sun_path + 1, path, strlen(path)); return 2 + 1 + strlen(path); }
    strcpy(a->sun_path, path);
    return sizeof *a;
}

static void socketpair_stream(void) {
    int s[2];
    R(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    struct stat st;
    fstat(s[0], &st);
    printf("S_ISSOCK=%d mode=%o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
    R(write(s[0], "hello", 5));
    R(send(s[0], " world", 6, 0));
    int n = -1;
    R(ioctl(s[1], FIONREAD, &n));
    printf("FIONREAD=%d\n", n);
    char buf[64] = {0};
    R(recv(s[1], buf, 3, MSG_PEEK));
    R(read(s[1], buf, sizeof buf));   /* a stream read crosses writes */
    printf("got: %s\n", buf);
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    R(getsockname(s[0], (struct sockaddr *)&a, &al));
    printf("unnamed len=%d\n", al);
    al = sizeof a;
    R(getpeername(s[0], (struct sockaddr *)&a, &al));
    printf("peer len=%d\n", al);
    R(recv(s[1], buf, 1, MSG_DONTWAIT));
    R(shutdown(s[0], SHUT_WR));
    R(read(s[1], buf, 10));
    R(write(s[1], "back", 4));
    R(read(s[0], buf, 10));
    R(shutdown(s[0], 7));
    int t = 0; socklen_t tl = sizeof t;
    R(getsockopt(s[0], SOL_SOCKET, SO_TYPE, &t, &tl));
    printf("SO_TYPE=%d len=%d\n", t, tl);
    close(s[0]); close(s[1]);
}

static void socketpair_dgram_seqpacket(void) {
    int types[2] = {SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 2; i++) {
        int s[2];
        R(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, s));
        R(fcntl(s[0], F_GETFD));
        send(s[0], "one", 3, 0);
        send(s[0], "second", 6, 0);
        send(s[0], "", 0, 0);
        char buf[16] = {0};
        R(recv(s[1], buf, sizeof buf, 0));
        printf("got: %s\n", buf);
        R(recv(s[1], buf, 3, MSG_PEEK | MSG_TRUNC));
        struct iovec iov = {buf, 3};
        struct msghdr m = {0};
        m.msg_iov = &iov; m.msg_iovlen = 1;
        R(recvmsg(s[1], &m, 0));
        printf("flags: trunc=%d\n", !!(m.msg_flags & MSG_TRUNC));
        R(recv(s[1], buf, sizeof buf, 0));   /* the empty datagram */
        R(recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
        int n = -1;
        send(s[0], "abcd", 4, 0);
        R(ioctl(s[1], FIONREAD, &n));
        printf("FIONREAD=%d\n", n);
        close(s[0]);
        R(recv(s[1], buf, sizeof buf, 0));
        R(recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
        R(send(s[1], "x", 1, MSG_NOSIGNAL));
        R(send(s[1], "x", 1, MSG_NOSIGNAL));
        close(s[1]);
    }
}

static int send_fd(int s, int fd, const char *data) {
    struct iovec iov = {(void *)data, strlen(data)};
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = ctl; m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(s, &m, 0);
}

static int recv_fd(int s, char *buf, int len, int ctllen, int flags, int *mflags) {
    struct iovec iov = {buf, len};
    char ctl[256];
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = ctl; m.msg_controllen = ctllen;
    int n = recvmsg(s, &m, flags);
    if (n < 0) return -1;
    *mflags = m.msg_flags;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static void scm_rights(void) {
    int s[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pipe(p);
    R(send_fd(s[0], p[1], "fd!"));
    close(p[1]);
    char buf[16] = {0};
    int fl;
    int fd = recv_fd(s[1], buf, sizeof buf, 256, MSG_CMSG_CLOEXEC, &fl);
    printf("data=%s got fd: %d cloexec=%d flags=%#x\n", buf, fd >= 0, fcntl(fd, F_GETFD), fl);
    R(write(fd, "through", 7));
    close(fd);
    memset(buf, 0, sizeof buf);
    R(read(p[0], buf, sizeof buf));
    R(read(p[0], buf, sizeof buf));   /* EOF: the passed copy was the last writer */
    /* control buffer too small: the fd is dropped, MSG_CTRUNC */
    int q[2];
    pipe(q);
    send_fd(s[0], q[1], "x");
    fd = recv_fd(s[1], buf, sizeof buf, 4, 0, &fl);
    printf("fd=%d ctrunc=%d\n", fd, !!(fl & MSG_CTRUNC));
    close(q[1]);
    R(read(q[0], buf, 1));
    /* a stream read stops after a message that carried fds */
    pipe(q);
    write(s[0], "ab", 2);
    send_fd(s[0], q[1], "cd");
    write(s[0], "ef", 2);
    memset(buf, 0, sizeof buf);
    fd = recv_fd(s[1], buf, sizeof buf, 256, 0, &fl);
    printf("read %s fd=%d\n", buf, fd >= 0);
    memset(buf, 0, sizeof buf);
    R(read(s[1], buf, sizeof buf));
    printf("then %s\n", buf);
    /* bad fd in SCM_RIGHTS */
    R(send_fd(s[0], 999, "z"));
    /* recv() without a control buffer discards passed fds */
    send_fd(s[0], fd, "w");
    close(fd);
    R(recv(s[1], buf, sizeof buf, 0));
    close(q[1]);
    R(read(q[0], buf, 1));
    close(q[0]); close(p[0]); close(s[0]); close(s[1]);
}

static void credentials(void) {
    int s[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    struct ucred uc;
    socklen_t l = sizeof uc;
    R(getsockopt(s[0], SOL_SOCKET, SO_PEERCRED, &uc, &l));
    printf("peercred pid ok=%d uid ok=%d gid ok=%d len=%d\n", uc.pid == getpid(), uc.uid == geteuid(), uc.gid == getegid(), l);
    int one = 1;
    R(setsockopt(s[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    send(s[0], "c", 1, 0);
    char buf[4], ctl[64];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
    R(recvmsg(s[1], &m, 0));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    printf("cmsg type=%d len=%zu controllen=%zu\n", c ? c->cmsg_type : -1, c ? (size_t)c->cmsg_len : 0, (size_t)m.msg_controllen);
    if (c) { memcpy(&uc, CMSG_DATA(c), sizeof uc); printf("pid ok=%d uid ok=%d\n", uc.pid == getpid(), uc.uid == getuid()); }
    /* explicit credentials */
    char sctl[CMSG_SPACE(sizeof uc)] = {0};
    struct msghdr sm = {0};
    iov.iov_len = 1;
    sm.msg_iov = &iov; sm.msg_iovlen = 1; sm.msg_control = sctl; sm.msg_controllen = sizeof sctl;
    c = CMSG_FIRSTHDR(&sm);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof uc);
    uc.pid = getpid(); uc.uid = getuid(); uc.gid = getgid();
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    R(sendmsg(s[0], &sm, 0));
    c->cmsg_len = CMSG_LEN(4);
    R(sendmsg(s[0], &sm, 0));
    c->cmsg_len = 200;
    R(sendmsg(s[0], &sm, 0));
    int v = 0; l = sizeof v;
    R(getsockopt(s[1], SOL_SOCKET, SO_PASSCRED, &v, &l));
    printf("SO_PASSCRED=%d\n", v);
    close(s[0]); close(s[1]);
}

static void options(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int v; socklen_t l = sizeof v;
    R(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l)); printf("sndbuf=%d\n", v);
    R(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l)); printf("rcvbuf=%d\n", v);
    v = 4096;
    R(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    R(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l)); printf("sndbuf=%d\n", v);
    v = 1;
    R(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    R(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l)); printf("rcvbuf=%d\n", v);
    R(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l)); printf("error=%d\n", v);
    R(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l)); printf("domain=%d\n", v);
    R(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l)); printf("acceptconn=%d\n", v);
    R(getsockopt(s, SOL_SOCKET, 9999, &v, &l));
    R(getsockopt(s, 6, 1, &v, &l));
    struct ucred uc; l = sizeof uc;
    R(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &l));
    printf("no peer: pid=%d uid=%d gid=%d\n", uc.pid, (int)uc.uid, (int)uc.gid);
    int p[2];
    pipe(p);
    R(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &l));
    R(send(p[1], "x", 1, 0));
    close(p[0]); close(p[1]); close(s);
}

static void socket_errors(void) {
    R(socket(AF_UNIX, 99, 0));
    R(socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
    R(socket(AF_UNIX, SOCK_STREAM, 7));
    R(socket(AF_UNIX, SOCK_RAW, 0) >= 0);
    R(socket(1000, SOCK_STREAM, 0));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    char buf[4];
    R(send(s, "x", 1, MSG_NOSIGNAL));
    R(recv(s, buf, 1, 0));
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    R(getpeername(s, (struct sockaddr *)&a, &al));
    R(listen(s, 5));   /* unbound */
    R(accept(s, NULL, NULL));
    R(connect(s, (struct sockaddr *)&a, mkaddr(&a, "/nonexistent/sock", 0)));
    R(connect(s, (struct sockaddr *)&a, mkaddr(&a, "/etc/passwd", 0)));
    R(connect(s, (struct sockaddr *)&a, mkaddr(&a, "no-such-abstract-bastion", 1)));
    R(bind(s, (struct sockaddr *)&a, 1));
    a.sun_family = AF_INET;
    R(bind(s, (struct sockaddr *)&a, sizeof a));
    struct pollfd pf = {s, POLLIN | POLLOUT, 0};
    poll(&pf, 1, 0);
    printf("unconnected stream poll=%#x\n", pf.revents);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    R(listen(d, 1));
    R(accept(d, NULL, NULL));
    R(send(d, "x", 1, 0));
    pf.fd = d;
    poll(&pf, 1, 0);
    printf("unconnected dgram poll=%#x\n", pf.revents);
    close(d); close(s);
}

static void path_names(void) {
    enter_dir();
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a, b;
    socklen_t al = mkaddr(&a, "srv.sock", 0);
    R(bind(l, (struct sockaddr *)&a, al));
    R(bind(l, (struct sockaddr *)&a, al));
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    R(bind(l2, (struct sockaddr *)&a, al));
    struct stat st;
    R(stat("srv.sock", &st));
    printf("S_ISSOCK=%d\n", S_ISSOCK(st.st_mode));
    socklen_t bl = sizeof b;
    R(getsockname(l, (struct sockaddr *)&b, &bl));
    printf("name=%s len=%d\n", b.sun_path, bl);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    R(connect(c, (struct sockaddr *)&a, al));   /* not listening */
    R(listen(l, 4));
    R(connect(c, (struct sockaddr *)&a, al));
    R(connect(c, (struct sockaddr *)&a, al));
    struct pollfd pf = {l, POLLIN, 0};
    R(poll(&pf, 1, 0));
    bl = sizeof b;
    int s = accept4(l, (struct sockaddr *)&b, &bl, SOCK_NONBLOCK);
    printf("accepted=%d peer addr len=%d nonblock=%d\n", s >= 0, bl, !!(fcntl(s, F_GETFL) & O_NONBLOCK));
    bl = sizeof b;
    R(getsockname(s, (struct sockaddr *)&b, &bl));
    printf("accepted name=%s\n", b.sun_path);
    bl = sizeof b;
    R(getpeername(c, (struct sockaddr *)&b, &bl));
    printf("client peer=%s len=%d\n", b.sun_path, bl);
    struct ucred uc; socklen_t ul = sizeof uc;
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
    printf("peercred pid ok=%d\n", uc.pid == getpid());
    R(write(c, "ping", 4));
    char buf[8] = {0};
    R(read(s, buf, sizeof buf));
    R(read(s, buf, sizeof buf));
    R(accept4(l, NULL, NULL, 0x1234));
    /* a connection waiting in another process */
    pid_t k = fork();
    if (k == 0) {
        int cc = socket(AF_UNIX, SOCK_STREAM, 0);
        msleep(30);
        connect(cc, (struct sockaddr *)&a, al);
        write(cc, "from child", 10);
        _exit(0);
    }
    int s2 = accept(l, NULL, NULL);
    memset(buf, 0, sizeof buf);
    R(recv(s2, buf, 10, MSG_WAITALL));
    waitpid(k, NULL, 0);
    R(unlink("srv.sock"));
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    R(connect(c2, (struct sockaddr *)&a, al));
    close(c2); close(s2); close(s); close(c); close(l2); close(l);
    /* dgram between named sockets */
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0), d3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a1, a2;
    socklen_t l1 = mkaddr(&a1, "d1", 0), l2_ = mkaddr(&a2, "d2", 0);
    bind(d1, (struct sockaddr *)&a1, l1);
    bind(d2, (struct sockaddr *)&a2, l2_);
    R(sendto(d1, "to d2", 5, 0, (struct sockaddr *)&a2, l2_));
    bl = sizeof b;
    memset(buf, 0, sizeof buf);
    R(recvfrom(d2, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
    printf("from=%s len=%d data=%s\n", b.sun_path, bl, buf);
    R(connect(d2, (struct sockaddr *)&a1, l1));
    R(sendto(d3, "x", 1, 0, (struct sockaddr *)&a2, l2_));   /* d2 only hears d1 now */
    R(sendto(d3, "x", 1, 0, (struct sockaddr *)&a1, l1));
    bl = sizeof b;
    R(recvfrom(d1, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
    printf("unnamed sender len=%d\n", bl);
    a.sun_family = AF_UNSPEC;
    R(connect(d2, (struct sockaddr *)&a, sizeof a.sun_family));
    R(send(d2, "x", 1, 0));
    close(d1); close(d2); close(d3);
    unlink("d1"); unlink("d2");
    leave_dir();
}

static void abstract_names(void) {
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un a, b;
    socklen_t al = mkaddr(&a, "bastion-test-abstract", 1);
    R(bind(l, (struct sockaddr *)&a, al));
    int l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    R(bind(l2, (struct sockaddr *)&a, al));
    socklen_t bl = sizeof b;
    R(getsockname(l, (struct sockaddr *)&b, &bl));
    printf("len=%d first=%d name=%s\n", bl, b.sun_path[0], b.sun_path + 1);
    listen(l, 1);
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    R(connect(c, (struct sockaddr *)&a, al));
    int s = accept(l, NULL, NULL);
    send(c, "m1", 2, 0);
    send(c, "m2", 2, 0);
    char buf[8] = {0};
    R(recv(s, buf, sizeof buf, 0));
    R(recv(s, buf, sizeof buf, 0));
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    R(connect(st, (struct sockaddr *)&a, al));   /* wrong type */
    /* autobind */
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    sa_family_t fam = AF_UNIX;
    R(bind(u, (struct sockaddr *)&fam, sizeof fam));
    bl = sizeof b;
    R(getsockname(u, (struct sockaddr *)&b, &bl));
    printf("autobind len=%d first=%d\n", bl, b.sun_path[0]);
    close(c);
    R(recv(s, buf, sizeof buf, 0));
    R(send(s, "x", 1, MSG_NOSIGNAL));
    close(u); close(st); close(s); close(l2); close(l);
    int again = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    R(bind(again, (struct sockaddr *)&a, al));   /* the name was freed */
    close(again);
}

static void epipe_and_reset(void) {
    signal(SIGPIPE, on_sig);
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    close(s[1]);
    got_sig = 0;
    R(write(s[0], "x", 1));
    printf("SIGPIPE=%d\n", got_sig);
    R(send(s[0], "x", 1, MSG_NOSIGNAL));
    printf("SIGPIPE=%d\n", got_sig);
    char buf[4];
    R(read(s[0], buf, 4));
    close(s[0]);
    /* unread data at close: the peer's next read is ECONNRESET, then EOF */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    write(s[0], "lost", 4);
    close(s[1]);
    struct pollfd pf = {s[0], POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&pf, 1, 0);
    printf("poll=%#x\n", pf.revents);
    R(read(s[0], buf, 4));
    R(read(s[0], buf, 4));
    close(s[0]);
    signal(SIGPIPE, SIG_DFL);
    pid_t c = fork();
    if (c == 0) {
        socketpair(AF_UNIX, SOCK_STREAM, 0, s);
        close(s[1]);
        write(s[0], "x", 1);
        _exit(0);
    }
    int stt;
    waitpid(c, &stt, 0);
    printf("child: %s\n", wstatus(stt));
}

static void nonblocking_and_waitall(void) {
    int s[2];
    R(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s));
    char buf[4096];
    R(read(s[0], buf, 1));
    memset(buf, 'x', sizeof buf);
    long total = 0;
    int n;
    while ((n = write(s[0], buf, sizeof buf)) > 0) total += n;
    printf("filled: %s big=%d\n", en(errno), total > 100000);
    struct pollfd pf = {s[0], POLLOUT, 0};
    R(poll(&pf, 1, 0));
    long got = 0;
    while ((n = read(s[1], buf, sizeof buf)) > 0) got += n;
    printf("drained all=%d\n", got == total);
    R(poll(&pf, 1, 0));
    close(s[0]); close(s[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 4; i++) { msleep(10); write(s[1], "abc", 3); }
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    R(recv(s[0], buf, 12, MSG_WAITALL));
    printf("%s\n", buf);
    waitpid(c, NULL, 0);
    /* blocked reader woken by a writer in another process */
    c = fork();
    if (c == 0) { msleep(30); write(s[1], "late", 4); _exit(0); }
    memset(buf, 0, sizeof buf);
    R(read(s[0], buf, sizeof buf));
    waitpid(c, NULL, 0);
    close(s[0]); close(s[1]);
}

/* A stream read in pieces that cut writes anywhere: 1-byte writes, a big
   one, peeks between reads, a read that takes the rest of one write and
   the start of the next; every byte in order (a running checksum). */
static void stream_pieces(void) {
    int s[2];
    R(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    static char big[100000], buf[150000];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7 + i / 251);
    for (int i = 0; i < 5; i++) R(write(s[0], big + i, 1));
    R(write(s[0], big, sizeof big));
    R(write(s[0], "tail", 4));
    unsigned long sum = 0, total = 0;
    int sizes[] = {3, 1, 7, 4096, 50001, 2, 65536, 100000};
    for (int i = 0; i < 8 && total < 5 + sizeof big + 4; i++) {
        char p[8];
        ssize_t k = recv(s[1], p, sizeof p, MSG_PEEK | MSG_DONTWAIT);
        ssize_t n = recv(s[1], buf, sizes[i], MSG_DONTWAIT);
        if (n < 0) break;
        int same = k <= 0 || !memcmp(p, buf, k < n ? k : n);
        for (ssize_t j = 0; j < n; j++) sum = sum * 31 + (unsigned char)buf[j];
        total += n;
        printf("read %zd (peek agrees: %d)\n", n, same);
    }
    printf("total %lu sum %lx\n", total, sum);
    close(s[0]);
    close(s[1]);
}

MAIN(SECTION(socketpair_stream), SECTION(stream_pieces), SECTION(socketpair_dgram_seqpacket), SECTION(scm_rights),
     SECTION(credentials), SECTION(options), SECTION(socket_errors), SECTION(path_names),
     SECTION(abstract_names), SECTION(epipe_and_reset), SECTION(nonblocking_and_waitall))
