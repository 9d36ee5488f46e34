/* AF_INET/AF_INET6 on loopback: TCP connect/accept/data/shutdown/reset, non-blocking
   connect, dual-stack and V6ONLY binds, SO_REUSEADDR, UDP datagrams and ECONNREFUSED,
   options, epoll readiness. Port numbers are never printed (natively they differ). */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int port_of(int fd) {
    struct sockaddr_storage ss; socklen_t l = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &l);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void show(const char *what, struct sockaddr *sa, socklen_t l) {
    char buf[64];
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        printf("%s: AF_INET len=%u %s zero=%d\n", what, l, buf, a->sin_zero[0] | a->sin_zero[7]);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        printf("%s: AF_INET6 len=%u %s flow=%u scope=%u\n", what, l, buf, a->sin6_flowinfo, a->sin6_scope_id);
    } else printf("%s: family %d len=%u\n", what, sa->sa_family, l);
}

static void names(int fd) {
    struct sockaddr_storage ss; socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0) show(" sock", (struct sockaddr *)&ss, l);
    l = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &l) == 0) show(" peer", (struct sockaddr *)&ss, l);
    else printf(" peer: %s\n", en(errno));
}

static struct sockaddr_in in4(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 in6(const char *ip, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int listener4(const char *ip) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4(ip, 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) printf("listener4: %s\n", en(errno));
    return s;
}

static int connect4(const char *ip, int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4(ip, port);
    if (connect(c, (struct sockaddr *)&a, sizeof a)) printf("connect4: %s\n", en(errno));
    return c;
}

/* a port nobody listens on: bound and closed again */
static int free_port(int type) {
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = in4("127.0.0.1", 0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    int p = port_of(s);
    close(s);
    return p;
}

static void tcp_basic(void) {
    int l = listener4("127.0.0.1");
    int p = port_of(l);
    CHECK(p >= 32768 && p <= 60999);
    names(l);
    int c = connect4("127.0.0.1", p);
    struct sockaddr_in peer; socklen_t pl = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &pl);
    show("accept addr", (struct sockaddr *)&peer, pl);
    CHECK(ntohs(peer.sin_port) == port_of(c));
    CHECK(port_of(s) == p);
    names(c); names(s);
    R(write(c, "hello", 5));
    R(send(c, " world", 6, 0));
    int n = -1;
    R(ioctl(s, FIONREAD, &n)); printf("FIONREAD=%d\n", n);
    char buf[64] = {0};
    R(recv(s, buf, 3, MSG_PEEK)); printf("peek: %s\n", buf);
    memset(buf, 0, sizeof buf);
    R(read(s, buf, sizeof buf)); printf("got: %s\n", buf);
    R(recv(s, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr_in from; socklen_t fl = sizeof from;
    R(write(s, "back", 4));
    R(recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)); printf("fromlen=%u\n", fl);
    R(shutdown(c, SHUT_WR));
    R(read(s, buf, sizeof buf));  /* EOF */
    R(write(s, "after", 5));      /* half-closed: the other way still works */
    R(read(c, buf, sizeof buf));
    R(close(s));
    R(read(c, buf, sizeof buf));
    R(close(c)); R(close(l));
}

static void tcp_errors(void) {
    int p = free_port(SOCK_STREAM);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4("127.0.0.1", p);
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    char buf[8];
    R(recv(c, buf, 8, 0));
    R(send(c, "x", 1, MSG_NOSIGNAL));
    R(shutdown(c, SHUT_RDWR));
    names(c);
    struct sockaddr_in bad = in4("8.8.8.8", 0);
    R(bind(c, (struct sockaddr *)&bad, sizeof bad));
    struct sockaddr_in6 a6 = in6("::1", 0);
    R(bind(c, (struct sockaddr *)&a6, sizeof a6));
    R(bind(c, (struct sockaddr *)&a, 8));
    struct sockaddr_in any = in4("0.0.0.0", 0);
    R(bind(c, (struct sockaddr *)&any, sizeof any));
    R(bind(c, (struct sockaddr *)&any, sizeof any));
    R(accept(c, NULL, NULL));
    close(c);
    /* EADDRINUSE and SO_REUSEADDR */
    int l = listener4("127.0.0.1");
    struct sockaddr_in same = in4("127.0.0.1", port_of(l));
    struct sockaddr_in wild = in4("0.0.0.0", port_of(l));
    struct sockaddr_in other = in4("127.0.0.2", port_of(l));
    int d = socket(AF_INET, SOCK_STREAM, 0);
    R(bind(d, (struct sockaddr *)&same, sizeof same));
    R(bind(d, (struct sockaddr *)&wild, sizeof wild));
    R(bind(d, (struct sockaddr *)&other, sizeof other));
    close(d);
    int one = 1;
    d = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    R(bind(d, (struct sockaddr *)&same, sizeof same));  /* the other one listens */
    close(d);
    /* a connection outlives its listener; REUSEADDR lets a new listener bind */
    int cl = connect4("127.0.0.1", port_of(l));
    int sv = accept(l, NULL, NULL);
    close(l);
    d = socket(AF_INET, SOCK_STREAM, 0);
    R(bind(d, (struct sockaddr *)&same, sizeof same));
    close(d);
    d = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    R(bind(d, (struct sockaddr *)&same, sizeof same));
    R(listen(d, 1));
    close(d); close(cl); close(sv);
    /* SO_REUSEPORT: two listeners on one port */
    int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(r2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in z = in4("127.0.0.1", 0);
    R(bind(r1, (struct sockaddr *)&z, sizeof z));
    R(listen(r1, 4));
    z.sin_port = htons(port_of(r1));
    R(bind(r2, (struct sockaddr *)&z, sizeof z));
    R(listen(r2, 4));
    close(r1); close(r2);
    /* UDP and TCP ports are separate */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    l = listener4("127.0.0.1");
    struct sockaddr_in up = in4("127.0.0.1", port_of(l));
    R(bind(u, (struct sockaddr *)&up, sizeof up));
    R(listen(u, 1));
    close(u); close(l);
    R(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    int sp[2];
    R(socketpair(AF_INET, SOCK_STREAM, 0, sp));
}

static void nonblocking_connect(void) {
    int l = listener4("127.0.0.1");
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = in4("127.0.0.1", port_of(l));
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    struct pollfd pf = {c, POLLIN | POLLOUT, 0};
    R(poll(&pf, 1, 5000)); printf("revents=%#x\n", pf.revents);
    int err = -1; socklen_t el = sizeof err;
    R(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el)); printf("SO_ERROR=%s\n", err ? en(err) : "0");
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    CHECK(s >= 0);
    fcntl(l, F_SETFL, O_NONBLOCK);
    R(accept(l, NULL, NULL));
    char buf[8];
    R(read(s, buf, 8));
    close(s); close(c); close(l);
    /* refused */
    int p = free_port(SOCK_STREAM);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = in4("127.0.0.1", p);
    R(connect(c, (struct sockaddr *)&a, sizeof a));
    pf.fd = c; pf.events = POLLIN | POLLOUT;
    R(poll(&pf, 1, 5000)); printf("revents=%#x\n", pf.revents);
    R(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el)); printf("SO_ERROR=%s\n", err ? en(err) : "0");
    R(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el)); printf("SO_ERROR=%s\n", err ? en(err) : "0");
    close(c);
}

static void dual_stack(void) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, one = 1;
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 a = in6("::", 0);
    R(bind(l, (struct sockaddr *)&a, sizeof a));
    R(listen(l, 4));
    names(l);
    int c4 = connect4("127.0.0.1", port_of(l));
    struct sockaddr_storage ss; socklen_t sl = sizeof ss;
    int s4 = accept(l, (struct sockaddr *)&ss, &sl);
    show("v4 client seen as", (struct sockaddr *)&ss, sl);
    names(s4); names(c4);
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to = in6("::1", port_of(l));
    R(connect(c6, (struct sockaddr *)&to, sizeof to));
    sl = sizeof ss;
    int s6 = accept(l, (struct sockaddr *)&ss, &sl);
    show("v6 client seen as", (struct sockaddr *)&ss, sl);
    names(c6);
    int v4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in w = in4("0.0.0.0", port_of(l));
    R(bind(v4, (struct sockaddr *)&w, sizeof w));
    close(v4);
    /* a mapped address on a v6 socket */
    int m = socket(AF_INET6, SOCK_STREAM, 0);
    to = in6("::ffff:127.0.0.1", port_of(l));
    R(connect(m, (struct sockaddr *)&to, sizeof to));
    names(m);
    close(m); close(c4); close(s4); close(c6); close(s6); close(l);
    /* V6ONLY: :: and 0.0.0.0 share a port */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    R(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    a = in6("::", 0);
    R(bind(l, (struct sockaddr *)&a, sizeof a));
    R(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off));
    R(listen(l, 4));
    v4 = socket(AF_INET, SOCK_STREAM, 0);
    w = in4("0.0.0.0", port_of(l));
    R(bind(v4, (struct sockaddr *)&w, sizeof w));
    m = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(m, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    to = in6("::ffff:127.0.0.1", port_of(l));
    R(connect(m, (struct sockaddr *)&to, sizeof to));
    close(m); close(v4); close(l);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in6 x = in6("::1", 1);
    R(sendto(u, "x", 1, 0, (struct sockaddr *)&x, sizeof x));
    close(u);
}

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in la = in4("127.0.0.1", 0);
    R(bind(a, (struct sockaddr *)&la, sizeof la));
    la.sin_port = htons(port_of(a));
    names(b);
    R(sendto(b, "one", 3, 0, (struct sockaddr *)&la, sizeof la));
    R(sendto(b, "second", 6, 0, (struct sockaddr *)&la, sizeof la));
    R(sendto(b, "", 0, 0, (struct sockaddr *)&la, sizeof la));
    CHECK(port_of(b) >= 32768);
    int n = -1;
    R(ioctl(a, FIONREAD, &n)); printf("FIONREAD=%d\n", n);
    char buf[64] = {0};
    struct sockaddr_in from; socklen_t fl = sizeof from;
    R(recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    show("from", (struct sockaddr *)&from, fl);
    CHECK(ntohs(from.sin_port) == port_of(b));
    R(recv(a, buf, 2, MSG_PEEK));
    R(recv(a, buf, 2, MSG_TRUNC));
    struct iovec iov = {buf, 64};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    R(recvmsg(a, &mh, 0)); printf("namelen=%u flags=%#x\n", mh.msg_namelen, mh.msg_flags);
    R(recv(a, buf, sizeof buf, MSG_DONTWAIT));
    R(send(b, "x", 1, 0));
    /* connected UDP */
    R(connect(b, (struct sockaddr *)&la, sizeof la));
    names(b);
    R(send(b, "conn", 4, 0));
    R(recv(a, buf, sizeof buf, 0));
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in bn = in4("127.0.0.1", port_of(b));
    R(sendto(c, "stranger", 8, 0, (struct sockaddr *)&bn, sizeof bn));  /* b only hears a */
    R(sendto(a, "friend", 6, 0, (struct sockaddr *)&bn, sizeof bn));
    memset(buf, 0, sizeof buf);
    R(recv(b, buf, sizeof buf, 0)); printf("got %s\n", buf);
    R(recv(b, buf, sizeof buf, MSG_DONTWAIT));
    close(a);
    R(send(b, "nobody", 6, 0));
    R(recv(b, buf, sizeof buf, MSG_DONTWAIT));
    R(recv(b, buf, sizeof buf, MSG_DONTWAIT));
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    R(connect(b, &un, sizeof un));
    R(send(b, "x", 1, 0));
    R(shutdown(c, SHUT_RD));
    close(b); close(c);
}

static void reset_and_epipe(void) {
    signal(SIGPIPE, SIG_IGN);
    int l = listener4("127.0.0.1");
    int c = connect4("127.0.0.1", port_of(l));
    int s = accept(l, NULL, NULL);
    R(write(c, "unread", 6));
    msleep(50);
    R(close(s));    /* with unread data: RST */
    msleep(50);
    char buf[16];
    R(read(c, buf, sizeof buf));
    R(read(c, buf, sizeof buf));
    close(c);
    /* linger 0 */
    c = connect4("127.0.0.1", port_of(l));
    s = accept(l, NULL, NULL);
    struct linger lg = {1, 0};
    R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    close(s);
    msleep(50);
    R(read(c, buf, sizeof buf));
    close(c);
    /* writing to a closed peer: accepted once, then EPIPE */
    c = connect4("127.0.0.1", port_of(l));
    s = accept(l, NULL, NULL);
    close(s);
    msleep(50);
    R(write(c, "one", 3));
    msleep(50);
    R(write(c, "two", 3));
    R(read(c, buf, sizeof buf));
    struct pollfd pf = {c, POLLIN | POLLOUT, 0};
    R(poll(&pf, 1, 0)); printf("revents=%#x\n", pf.revents);
    close(c);
    /* pending connections of a closed listener are reset */
    c = connect4("127.0.0.1", port_of(l));
    msleep(50);
    close(l);
    msleep(50);
    R(read(c, buf, sizeof buf));
    close(c);
}

static void options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v = -1; socklen_t l = sizeof v;
#define G(lvl, opt) do { v = -1; l = sizeof v; errno = 0; \
    if (getsockopt(s, lvl, opt, &v, &l)) printf("get " #opt ": %s\n", en(errno)); \
    else printf("get " #opt " = %d (len %u)\n", v, l); } while (0)
#define S(lvl, opt, val) do { int x_ = val; R(setsockopt(s, lvl, opt, &x_, sizeof x_)); } while (0)
    G(SOL_SOCKET, SO_TYPE); G(SOL_SOCKET, SO_DOMAIN); G(SOL_SOCKET, SO_PROTOCOL);
    G(SOL_SOCKET, SO_REUSEADDR); S(SOL_SOCKET, SO_REUSEADDR, 1); G(SOL_SOCKET, SO_REUSEADDR);
    S(SOL_SOCKET, SO_REUSEPORT, 1); G(SOL_SOCKET, SO_REUSEPORT);
    S(SOL_SOCKET, SO_KEEPALIVE, 1); G(SOL_SOCKET, SO_KEEPALIVE);
    S(SOL_SOCKET, SO_RCVBUF, 65536); G(SOL_SOCKET, SO_RCVBUF);
    S(SOL_SOCKET, SO_SNDBUF, 65536); G(SOL_SOCKET, SO_SNDBUF);
    G(IPPROTO_TCP, TCP_NODELAY); S(IPPROTO_TCP, TCP_NODELAY, 1); G(IPPROTO_TCP, TCP_NODELAY);
    G(IPPROTO_TCP, TCP_KEEPIDLE); S(IPPROTO_TCP, TCP_KEEPIDLE, 30); G(IPPROTO_TCP, TCP_KEEPIDLE);
    S(IPPROTO_TCP, TCP_KEEPINTVL, 5); G(IPPROTO_TCP, TCP_KEEPINTVL);
    S(IPPROTO_TCP, TCP_KEEPCNT, 3); G(IPPROTO_TCP, TCP_KEEPCNT);
    G(IPPROTO_IP, IP_TTL); S(IPPROTO_IP, IP_TOS, 0x10); G(IPPROTO_IP, IP_TOS);
    G(IPPROTO_IPV6, IPV6_V6ONLY);
    G(SOL_SOCKET, SO_ACCEPTCONN);
    R(listen(s, 1));
    G(SOL_SOCKET, SO_ACCEPTCONN);
    G(SOL_SOCKET, SO_ERROR);
    close(s);
    s = socket(AF_INET6, SOCK_DGRAM, 0);
    G(SOL_SOCKET, SO_TYPE); G(SOL_SOCKET, SO_DOMAIN); G(SOL_SOCKET, SO_PROTOCOL);
    G(IPPROTO_IPV6, IPV6_V6ONLY); S(IPPROTO_IPV6, IPV6_V6ONLY, 1); G(IPPROTO_IPV6, IPV6_V6ONLY);
    G(IPPROTO_TCP, TCP_NODELAY);
    close(s);
}

static void epoll_readiness(void) {
    int l = listener4("127.0.0.1");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    R(epoll_wait(ep, out, 4, 0));
    int c = connect4("127.0.0.1", port_of(l));
    R(epoll_wait(ep, out, 4, 1000));
    int s = accept(l, NULL, NULL);
    R(epoll_wait(ep, out, 4, 0));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET; ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    R(epoll_wait(ep, out, 4, 1000)); printf("events=%#x\n", out[0].events);
    R(epoll_wait(ep, out, 4, 0));
    R(write(c, "ping", 4));
    R(epoll_wait(ep, out, 4, 1000)); printf("events=%#x\n", out[0].events);
    shutdown(c, SHUT_WR);
    R(epoll_wait(ep, out, 4, 1000)); printf("events=%#x\n", out[0].events);
    close(c);
    msleep(20);
    struct pollfd pf = {s, POLLIN | POLLOUT | POLLRDHUP, 0};
    R(poll(&pf, 1, 0)); printf("revents=%#x\n", pf.revents);
    close(s); close(l); close(ep);
}

static void waitall(void) {
    int l = listener4("127.0.0.1");
    int c = connect4("127.0.0.1", port_of(l));
    int s = accept(l, NULL, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        write(c, "abc", 3); msleep(50); write(c, "defgh", 5); msleep(50); _exit(0);
    }
    char buf[16] = {0};
    R(recv(s, buf, 8, MSG_WAITALL)); printf("got %s\n", buf);
    waitpid(pid, NULL, 0);
    /* bulk: 1 MB through a small buffer */
    int small = 4096;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    pid = fork();
    if (pid == 0) {
        char chunk[65536];
        for (int i = 0; i < 16; i++) { memset(chunk, 'a' + i, sizeof chunk); if (write(c, chunk, sizeof chunk) != sizeof chunk) _exit(1); }
        _exit(0);
    }
    close(c);
    long total = 0, sum = 0; char big[10000]; ssize_t n;
    while (total < 16 * 65536 && (n = read(s, big, sizeof big)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += big[i];
        total += n;
    }
    int st; waitpid(pid, &st, 0);
    printf("total=%ld sum=%ld %s\n", total, sum, wstatus(st));
    close(s); close(l);
}

MAIN(SECTION(tcp_basic), SECTION(tcp_errors), SECTION(nonblocking_connect), SECTION(dual_stack),
     SECTION(udp), SECTION(reset_and_epipe), SECTION(options), SECTION(epoll_readiness),
     SECTION(waitall))
