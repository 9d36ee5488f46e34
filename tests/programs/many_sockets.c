/* 10,000 sockets opened and closed in batches: AF_UNIX socketpairs (stream,
   datagram, seqpacket), TCP and UDP sockets (IPv4 and IPv6, some bound), and
   listening/connected/accepted TCP triples carrying a byte. Then as many as
   RLIMIT_NOFILE allows held open at once. Between phases the program stops on
   a read of stdin ("PAUSE") so the test can count the sentry's host fds.
   The sockets held at once also sit in one epoll set while they are closed.
   Output is deterministic; no port numbers are printed. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define TOTAL 10000
#define BATCH 2000

static int fds[TOTAL + 16];
static int nfds, failures;

static void keep(int fd, const char *what) {
    if (fd < 0) {
        if (failures++ < 5) printf("%s: %s\n", what, en(errno));
        return;
    }
    fds[nfds++] = fd;
}

static void pause_for_test(const char *what) {
    char c;
    printf("PAUSE %s\n", what);
    if (read(0, &c, 1) != 1) printf("stdin closed\n");
}

/* A listener, a connected client and the accepted end; one byte each way. */
static void triple(int family) {
    int l = socket(family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET; a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6; a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    if (bind(l, (struct sockaddr *)&ss, len) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&ss, &len)) {
        keep(-1, "listener");
        close(l);
        return;
    }
    keep(l, "listener");
    int c = socket(family, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&ss, len)) { keep(-1, "connect"); close(c); return; }
    keep(c, "connect");
    int a = accept(l, NULL, NULL);
    keep(a, "accept");
    char b = 'x';
    if (write(c, &b, 1) != 1 || read(a, &b, 1) != 1 || write(a, &b, 1) != 1 || read(c, &b, 1) != 1)
        keep(-1, "triple data");
}

static void udp_bound(int family) {
    int s = socket(family, SOCK_DGRAM, 0);
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (bind(s, (struct sockaddr *)&a, sizeof a)) { close(s); s = -1; }
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
        if (bind(s, (struct sockaddr *)&a, sizeof a)) { close(s); s = -1; }
    }
    keep(s, "udp bind");
}

/* Open about n fds of every kind; returns how many were opened. */
static int open_mix(int n) {
    int start = nfds;
    for (int i = 0; nfds - start < n; i++) {
        int sv[2];
        switch (i % 10) {
        case 0: case 1:
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) { keep(sv[0], ""); keep(sv[1], ""); }
            else keep(-1, "socketpair stream");
            break;
        case 2:
            if (socketpair(AF_UNIX, i % 20 == 2 ? SOCK_DGRAM : SOCK_SEQPACKET, 0, sv) == 0) {
                keep(sv[0], ""); keep(sv[1], "");
            } else keep(-1, "socketpair dgram/seqpacket");
            break;
        case 3: keep(socket(AF_INET, SOCK_STREAM, 0), "tcp4"); break;
        case 4: keep(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), "tcp6"); break;
        case 5: keep(socket(AF_INET, SOCK_DGRAM, 0), "udp4"); break;
        case 6: udp_bound(i % 20 == 6 ? AF_INET : AF_INET6); break;
        case 7: keep(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), "unix"); break;
        case 8: keep(socket(AF_UNIX, SOCK_DGRAM, 0), "unix dgram"); break;
        case 9:
            if (i % 50 == 9) triple(i % 100 == 9 ? AF_INET : AF_INET6);
            else keep(socket(AF_INET, SOCK_STREAM, 0), "tcp4");
            break;
        }
    }
    return nfds - start;
}

static void close_all(void) {
    for (int i = 0; i < nfds; i++)
        if (close(fds[i])) keep(-1, "close");
    nfds = 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < TOTAL + 64 ? rl.rlim_max : TOTAL + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
    int first = dup(0);
    close(first);

    open_mix(16); /* warm up: whatever a first socket of each kind sets up */
    close_all();
    pause_for_test("before");

    int opened = 0;
    while (opened < TOTAL) opened += open_mix(BATCH), close_all();
    printf("batches: %d sockets opened and closed\n", opened >= TOTAL ? TOTAL : opened);

    /* as many at once as the limit allows (10,000 where RLIMIT_NOFILE permits) */
    int room = (int)rl.rlim_cur - first - 8;
    int ep = epoll_create1(0);
    room -= 1;
    int at_once = open_mix(room < TOTAL ? room : TOTAL);
    int top = dup(0);
    printf("at once: %s\n", at_once >= (room < TOTAL ? room : TOTAL) ? "ok" : "short");
    close(top);
    /* all of them in one epoll set, as a server's connections: closing
       them empties the set */
    int added = 0;
    for (int i = 0; i < nfds; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fds[i]};
        added += epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) == 0;
    }
    struct epoll_event got[4];
    printf("epoll: %s\n", added == nfds ? "all added" : "short");
    close_all();
    CHECK(epoll_wait(ep, got, 4, 0) == 0);
    close(ep);

    int again = dup(0);
    CHECK(again == first);
    close(again);
    printf("failures: %d\n", failures);
    pause_for_test("after");
    return 0;
}
