/* nanosleep, clock_nanosleep (relative and TIMER_ABSTIME), clock_gettime monotonicity,
   clock_getres, gettimeofday/time agreement, CPU clocks, times(), timer accuracy bounds. */
#include "common.h"
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timerfd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return ns(t);
}

static void nanosleep_duration(void) {
    long long t0 = now(CLOCK_MONOTONIC);
    struct timespec req = {0, 50 * 1000000}, rem = {9, 9};
    R(nanosleep(&req, &rem));
    long long el = now(CLOCK_MONOTONIC) - t0;
    printf("slept >= 50ms: %d, < 1s: %d\n", el >= 50000000, el < 1000000000);
    req.tv_nsec = 1000000000;
    R(nanosleep(&req, NULL));
    req.tv_sec = -1;
    req.tv_nsec = 0;
    R(nanosleep(&req, NULL));
    struct timespec zero = {0, 0};
    R(nanosleep(&zero, NULL));
}

static void clock_nanosleep_modes(void) {
    long long t0 = now(CLOCK_MONOTONIC);
    struct timespec rel = {0, 30 * 1000000};
    R(clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL));
    long long el = now(CLOCK_MONOTONIC) - t0;
    printf("relative >= 30ms: %d\n", el >= 30000000);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 40 * 1000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    R(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
    printf("woke at or after the absolute deadline: %d\n", now(CLOCK_MONOTONIC) >= ns(abs));
    /* a deadline in the past returns at once */
    abs.tv_sec -= 10;
    t0 = now(CLOCK_MONOTONIC);
    R(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
    printf("past deadline returned within 100ms: %d\n", now(CLOCK_MONOTONIC) - t0 < 100000000);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_nsec += 20 * 1000000;
    if (rt.tv_nsec >= 1000000000) { rt.tv_sec++; rt.tv_nsec -= 1000000000; }
    R(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &rt, NULL));
    /* clock_nanosleep returns the error number rather than setting errno */
    printf("bad clock: %s\n", en(clock_nanosleep(12345, 0, &rel, NULL)));
}

static void monotonic_increases(void) {
    long long prev = now(CLOCK_MONOTONIC);
    int backwards = 0, same = 0;
    for (int i = 0; i < 2000; i++) {
        long long t = now(CLOCK_MONOTONIC);
        if (t < prev) backwards++;
        if (t == prev) same++;
        prev = t;
    }
    printf("monotonic: went backwards %d times\n", backwards);
    long long a = now(CLOCK_MONOTONIC);
    msleep(20);
    long long b = now(CLOCK_MONOTONIC);
    printf("advanced >= 20ms across a sleep: %d\n", b - a >= 20000000);
    long long m1 = now(CLOCK_MONOTONIC), r1 = now(CLOCK_BOOTTIME);  /* read later: no slack needed */
    printf("boottime >= monotonic: %d\n", r1 >= m1);
    long long raw = now(CLOCK_MONOTONIC_RAW), coarse = now(CLOCK_MONOTONIC_COARSE);
    printf("raw and coarse clocks nonzero: %d %d\n", raw > 0, coarse > 0);
}

static void realtime_agrees(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    printf("gettimeofday within 1s of clock_gettime: %d\n", labs(tv.tv_sec - ts.tv_sec) <= 1);
    printf("time() within 1s: %d\n", labs(t - ts.tv_sec) <= 1);
    printf("after 2020: %d\n", ts.tv_sec > 1577836800);
    /* against the host's real time, via the sandbox's own clock (no host access) */
    long long coarse = now(CLOCK_REALTIME_COARSE);
    printf("realtime coarse within 1s: %d\n", llabs(coarse - ns(ts)) < 1000000000LL);
    R(syscall(SYS_time, NULL) > 0);
}

static void resolution(void) {
    struct timespec r;
    R(clock_getres(CLOCK_MONOTONIC, &r));
    printf("monotonic res <= 1ms: %d\n", r.tv_sec == 0 && r.tv_nsec <= 1000000);
    R(clock_getres(CLOCK_REALTIME, &r));
    R(clock_getres(12345, &r));
    R(clock_gettime(12345, &r));
    R(clock_getres(CLOCK_MONOTONIC, NULL));
}

static void cpu_clocks(void) {
    long long p0 = now(CLOCK_PROCESS_CPUTIME_ID), t0 = now(CLOCK_THREAD_CPUTIME_ID);
    volatile double x = 0;
    long long start = now(CLOCK_MONOTONIC);
    while (now(CLOCK_MONOTONIC) - start < 200000000LL)   /* burn 200 ms of CPU */
        for (int i = 0; i < 1000000; i++) x += i * 0.5;
    long long p1 = now(CLOCK_PROCESS_CPUTIME_ID), t1 = now(CLOCK_THREAD_CPUTIME_ID);
    printf("process cpu clock advanced >= 50ms: %d\n", p1 - p0 >= 50000000);
    printf("thread cpu clock advanced >= 50ms: %d\n", t1 - t0 >= 50000000);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("getrusage utime+stime >= 50ms: %d\n",
           (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec >= 50000);
    struct tms tm;
    clock_t c = times(&tm);
    printf("times(): returns nonzero: %d, utime+stime > 0: %d\n", c != (clock_t)-1 && c != 0,
           tm.tms_utime + tm.tms_stime > 0);
}

static void sleep_and_usleep(void) {
    long long t0 = now(CLOCK_MONOTONIC);
    R(usleep(30000));
    R(sleep(0));
    long long el = now(CLOCK_MONOTONIC) - t0;
    printf("usleep(30ms) took >= 30ms: %d\n", el >= 30000000);
}

static void many_short_sleeps(void) {
    /* 50 x 1 ms sleeps: total between 50 ms and 2 s */
    long long t0 = now(CLOCK_MONOTONIC);
    for (int i = 0; i < 50; i++) msleep(1);
    long long el = now(CLOCK_MONOTONIC) - t0;
    printf("50 x 1ms: >= 50ms %d, < 2s %d\n", el >= 50000000, el < 2000000000);
}

static void settime_denied_or_ok(void) {
    /* setting the clock must never change the host's clock; inside it may succeed or fail,
       but reading back must still be sane */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    R(clock_settime(CLOCK_MONOTONIC, &ts));
}

static void timerfd_ops(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0) { printf("timerfd_create: %s\n", en(errno)); return; }
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    R(timerfd_settime(fd, 0, &its, NULL));
    msleep(55);
    uint64_t n = 0;
    R(read(fd, &n, sizeof n));
    printf("expirations in 55ms between 3 and 6: %d\n", n >= 3 && n <= 6);
    R(read(fd, &n, 4));   /* buffer too small */
    struct itimerspec cur;
    R(timerfd_gettime(fd, &cur));
    printf("interval=%ldns\n", cur.it_interval.tv_nsec);
    struct itimerspec off = {0};
    timerfd_settime(fd, 0, &off, NULL);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    R(read(fd, &n, sizeof n));
    /* absolute one-shot */
    struct itimerspec abs = {{0, 0}, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &abs.it_value);
    abs.it_value.tv_nsec += 20000000;
    if (abs.it_value.tv_nsec >= 1000000000) { abs.it_value.tv_sec++; abs.it_value.tv_nsec -= 1000000000; }
    fcntl(fd, F_SETFL, 0);
    R(timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
    R(read(fd, &n, sizeof n));
    printf("one-shot count=%llu\n", (unsigned long long)n);
    close(fd);
}

static void on_alrm(int s) { (void)s; }

static void clock_nanosleep_interrupted(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec req = {2, 0}, rem = {0, 0};
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    printf("relative: %s, remaining between 1s and 2s: %d\n", en(r), rem.tv_sec == 1);
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_sec += 2;
    rem.tv_sec = 99;
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, &rem);
    printf("absolute: %s, rem untouched: %d\n", en(r), rem.tv_sec == 99);
    signal(SIGALRM, SIG_DFL);
}

MAIN(SECTION(nanosleep_duration), SECTION(clock_nanosleep_modes), SECTION(monotonic_increases),
     SECTION(realtime_agrees), SECTION(resolution), SECTION(cpu_clocks), SECTION(sleep_and_usleep),
     SECTION(many_short_sleeps), SECTION(settime_denied_or_ok), SECTION(timerfd_ops),
     SECTION(clock_nanosleep_interrupted))
