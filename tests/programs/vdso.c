/* The vDSO: AT_SYSINFO_EHDR, every clock through glibc (the vDSO when there is
   one) against the raw syscall, gettimeofday/time, clock_getres, getcpu, and
   private semantics of the [vdso]/[vvar] mappings (mprotect, munmap, fork).
   Only booleans and errno names are printed: native and Bastion must agree. */
#include "common.h"
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long sys_clock(int clk, struct timespec *ts) {
    long r = syscall(SYS_clock_gettime, clk, ts);
    return r == -1 ? -errno : r;
}

static long lib_clock(int clk, struct timespec *ts) {
    return clock_gettime(clk, ts) == -1 ? -errno : 0;
}

/* start address of the /proc/self/maps line named `name`, or 0 */
static unsigned long maps_start(const char *name) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long start = 0, a, b;
    while (f && fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        size_t n = strlen(line), k = strlen(name);
        if (n >= k && strcmp(line + n - k, name) == 0 && sscanf(line, "%lx-%lx", &a, &b) == 2) {
            start = a;
            break;
        }
    }
    if (f) fclose(f);
    return start;
}

static void auxv(void) {
    unsigned long e = getauxval(AT_SYSINFO_EHDR);
    CHECK(e != 0);
    if (!e) return;
    CHECK(memcmp((char *)e, "\177ELF", 4) == 0);
    CHECK(maps_start(" [vdso]") == e);
    CHECK(maps_start(" [vvar]") != 0);
    CHECK(maps_start(" [vvar]") < e);
}

static void clocks(void) {
    /* every clock id, some invalid ones, and a CPU clock of this process */
    /* not 8, 9 (the alarm clocks: EINVAL natively without an RTC) */
    int ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 100, -1, -6, -2};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int c = ids[i];
        struct timespec v1 = {0}, s = {0}, v2 = {0};
        long r1 = lib_clock(c, &v1), rs = sys_clock(c, &s), r2 = lib_clock(c, &v2);
        int cpu = c == 2 || c == 3 || c < 0;
        if (r1 || rs || r2) {
            printf("clock %d: %s %s %s\n", c, en(-r1), en(-rs), en(-r2));
            continue;
        }
        long long d = ns(s) - ns(v1);
        int close = d < 50000000LL && d > -50000000LL;
        /* the syscall's time lies between the two vDSO reads (1 ms slack: CPU clocks
           tick in the sentry) */
        int slack = cpu ? 20000000 : 1000000;
        int ordered = ns(v1) <= ns(s) + slack && ns(s) <= ns(v2) + slack && ns(v1) <= ns(v2);
        printf("clock %d: ok, close to the syscall %d, ordered %d\n", c, close, ordered);
    }
}

static void monotonic(void) {
    int ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec t;
        clock_gettime(ids[i], &t);
        long long prev = ns(t), first = prev;
        int back = 0;
        for (int j = 0; j < 200000; j++) {
            clock_gettime(ids[i], &t);
            if (ns(t) < prev) back++;
            prev = ns(t);
        }
        printf("clock %d: backwards %d, advanced %d\n", ids[i], back, prev > first || ids[i] == CLOCK_MONOTONIC_COARSE);
    }
    /* across a sleep, vDSO and syscall agree on the elapsed time */
    struct timespec a, b, sa, sb;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sys_clock(CLOCK_MONOTONIC, &sa);
    msleep(30);
    clock_gettime(CLOCK_MONOTONIC, &b);
    sys_clock(CLOCK_MONOTONIC, &sb);
    long long dv = ns(b) - ns(a), ds = ns(sb) - ns(sa);
    printf("slept >= 30ms: %d, vDSO and syscall agree within 5ms: %d\n", dv >= 30000000,
           llabs(dv - ds) < 5000000);
    /* an absolute sleep on a vDSO deadline wakes at or after it, as read by the vDSO */
    clock_gettime(CLOCK_MONOTONIC, &a);
    a.tv_nsec += 20000000;
    if (a.tv_nsec >= 1000000000) { a.tv_sec++; a.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("woke at or after the deadline: %d\n", ns(b) >= ns(a));
}

static void realtime(void) {
    struct timespec ts, sts;
    struct timeval tv, stv;
    struct timezone tz = {-1, -1};
    clock_gettime(CLOCK_REALTIME, &ts);
    R(gettimeofday(&tv, &tz));
    time_t t = time(NULL), t2 = 0;
    time_t t3 = time(&t2);
    R(syscall(SYS_gettimeofday, &stv, NULL));
    sys_clock(CLOCK_REALTIME, &sts);
    long long tvns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    printf("gettimeofday within 50ms of clock_gettime: %d\n", llabs(tvns - ns(ts)) < 50000000);
    printf("gettimeofday within 50ms of the syscall: %d\n",
           llabs(tvns - (stv.tv_sec * 1000000000LL + stv.tv_usec * 1000LL)) < 50000000);
    printf("usec in range: %d, tz written: %d\n", tv.tv_usec >= 0 && tv.tv_usec < 1000000,
           tz.tz_minuteswest != -1 && tz.tz_dsttime != -1);
    printf("clock_gettime within 50ms of the syscall: %d\n", llabs(ns(sts) - ns(ts)) < 50000000);
    printf("time() within 1s: %d, stores: %d %d\n", labs(t - ts.tv_sec) <= 1, t2 == t3,
           labs(t3 - t) <= 1);
    R(gettimeofday(NULL, NULL));
    struct timespec tai;
    clock_gettime(CLOCK_TAI, &tai);
    printf("tai within 1 min of realtime: %d\n", llabs(ns(tai) - ns(ts)) < 60000000000LL);
}

static void resolution(void) {
    int ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, -1};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec a = {7, 7}, b = {7, 7};
        int r = clock_getres(ids[i], &a) == -1 ? errno : 0;
        long rs = syscall(SYS_clock_getres, ids[i], &b);
        int es = rs == -1 ? errno : 0;
        printf("res %d: %s %s, same value %d\n", ids[i], en(r), en(es),
               a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
    }
    R(clock_getres(CLOCK_MONOTONIC, NULL));
    R(clock_getres(CLOCK_REALTIME_COARSE, NULL));
}

static void cpu(void) {
    unsigned c = 999, n = 999, sc = 999, sn = 999;
    R(getcpu(&c, &n));
    R(syscall(SYS_getcpu, &sc, &sn, NULL));
    long nproc = sysconf(_SC_NPROCESSORS_CONF);
    printf("cpu in range: %d, node 0: %d, syscall's node: %d\n", c < nproc, n == 0, sn == n);
    R(getcpu(NULL, NULL));
    printf("sched_getcpu in range: %d\n", sched_getcpu() >= 0 && sched_getcpu() < nproc);
}

static long long mono_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns(t);
}

/* Linux lets an app mprotect [vdso] writable (its own copy) or unmap it; kernels
   that seal system mappings (CONFIG_MSEAL_SYSTEM_MAPPINGS) refuse. So the checks
   run where it is allowed and print the same either way; stderr says which. */
static void private_mappings(void) {
    unsigned char *vdso = (unsigned char *)getauxval(AT_SYSINFO_EHDR);
    unsigned char *vvar = (unsigned char *)maps_start(" [vvar]");
    if (!vdso || !vvar) { printf("no vdso\n"); return; }
    printf("vvar made writable: %d\n", mprotect(vvar, 4096, PROT_READ | PROT_WRITE) == 0);
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(p[0], &c, 1);   /* the parent has written its copy */
        long long a = mono_now();
        printf("child: image unchanged %d, clock works %d\n", vdso[15] == 0,
               mono_now() >= a && a > 0);
        _exit(0);
    }
    int w = mprotect(vdso, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) == 0;
    fprintf(stderr, "vdso made writable: %d\n", w);
    if (w)
        vdso[15] = 0x5a;   /* e_ident padding */
    long long a = mono_now();
    printf("parent: changed %d, clock works %d\n", !w || vdso[15] == 0x5a,
           mono_now() >= a && a > 0);
    write(p[1], "x", 1);
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    /* a child that unmaps them does not harm the parent */
    pid = fork();
    if (pid == 0) {
        int u = munmap(vvar, 4096) == 0;
        u += munmap(vdso, 4096) == 0;
        fprintf(stderr, "unmapped: %d\n", u);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
    a = mono_now();
    printf("parent: clock works %d\n", mono_now() >= a && a > 0);
    if (w) {
        vdso[15] = 0;
        mprotect(vdso, 4096, PROT_READ | PROT_EXEC);
    }
}

static void exec_fresh(void) {
    /* after exec, a new [vdso] that reads as the original image */
    unsigned char *vdso = (unsigned char *)getauxval(AT_SYSINFO_EHDR);
    if (getenv("VDSO_CHILD")) {
        printf("exec'd: vdso %d, pristine %d\n", vdso != 0, vdso && vdso[15] == 0);
        return;
    }
    if (vdso && mprotect(vdso, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) == 0)
        vdso[15] = 0x5a;
    setenv("VDSO_CHILD", "1", 1);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self_path, self_path, "exec_fresh", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child %s\n", wstatus(st));
}

static void loop(void) {
    /* Bastion-only (test_vdso.py counts the clock_gettime syscalls under --strace) */
    struct timespec t;
    long long sum = 0;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        sum += t.tv_nsec & 1;
    }
    printf("done %d\n", sum >= 0);
}

static void bench(void) {
    /* not run by the tests: how long 1,000,000 clock_gettime calls take */
    struct timespec t;
    long long a = mono_now();
    for (int i = 0; i < 1000000; i++) clock_gettime(CLOCK_MONOTONIC, &t);
    fprintf(stderr, "1e6 clock_gettime: %.3f s\n", (mono_now() - a) / 1e9);
}

MAIN(SECTION(auxv), SECTION(clocks), SECTION(monotonic), SECTION(realtime), SECTION(resolution),
     SECTION(cpu), SECTION(private_mappings), SECTION(exec_fresh), SECTION(loop), SECTION(bench))
