/* Scheduling as Linux keeps it per thread: policies and real-time
   priorities (sched_setscheduler/setparam/setattr and their getters), nice
   through sched_setattr, SCHED_RESET_ON_FORK, what a process without
   CAP_SYS_NICE may change (RLIMIT_RTPRIO, RLIMIT_NICE, another user's
   threads), CPU affinity (inherited, shown in /proc) and I/O priority. Run as root; the
   unprivileged parts run in a child. */
#include "common.h"
#include <sched.h>
#include <sys/resource.h>

/* the kernel's struct (linux/sched/types.h, whose sched_param clashes with libc's) */
struct sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif
#define FLAG_KEEP_POLICY 0x08
#define FLAG_KEEP_PARAMS 0x10

static int setattr_(int pid, struct sched_attr *a, unsigned flags) {
    return syscall(SYS_sched_setattr, pid, a, flags);
}

static int getattr_(int pid, struct sched_attr *a, unsigned size, unsigned flags) {
    return syscall(SYS_sched_getattr, pid, a, size, flags);
}

static void show(const char *when, int pid) {
    struct sched_param p = {-1};
    int pol = sched_getscheduler(pid);
    sched_getparam(pid, &p);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, pid);
    printf("%s: policy %#x priority %d nice %d\n", when, pol, p.sched_priority, nice);
}

static void show_attr(const char *when, int pid) {
    struct sched_attr a;
    memset(&a, 0xff, sizeof a);
    int r = getattr_(pid, &a, sizeof a, 0);
    if (r < 0) { printf("%s: getattr %s\n", when, en(errno)); return; }
    /* sched_runtime of a fair thread is its slice: the host's, not printed */
    printf("%s: size %u policy %u flags %#llx nice %d priority %u", when, a.size, a.sched_policy,
           (unsigned long long)a.sched_flags, a.sched_nice, a.sched_priority);
    if (a.sched_policy == SCHED_DEADLINE)
        printf(" runtime %llu deadline %llu period %llu", (unsigned long long)a.sched_runtime,
               (unsigned long long)a.sched_deadline, (unsigned long long)a.sched_period);
    printf("\n");
}

static void policies(void) {
    show("start", 0);
    struct sched_param p = {10};
    R(sched_setscheduler(0, SCHED_FIFO, &p));
    show("fifo 10", 0);
    p.sched_priority = 20;
    R(sched_setparam(0, &p));
    show("setparam 20", 0);
    p.sched_priority = 5;
    R(sched_setscheduler(0, SCHED_RR, &p));
    show("rr 5", 0);
    struct timespec ts = {-1, -1};
    R(sched_rr_get_interval(0, &ts));
    printf("rr interval %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    R(sched_setscheduler(0, SCHED_FIFO, &p));
    R(sched_rr_get_interval(0, &ts));
    printf("fifo interval %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    R(setpriority(PRIO_PROCESS, 0, 3));  /* nice is kept under a real-time policy */
    p.sched_priority = 0;
    R(sched_setscheduler(0, SCHED_BATCH, &p));
    show("batch", 0);
    R(sched_setscheduler(0, SCHED_IDLE, &p));
    show("idle", 0);
    R(sched_setscheduler(0, SCHED_OTHER, &p));
    R(setpriority(PRIO_PROCESS, 0, 0));
    show("other", 0);
    /* bad input */
    p.sched_priority = 1;
    R(sched_setscheduler(0, SCHED_OTHER, &p));
    p.sched_priority = 0;
    R(sched_setscheduler(0, SCHED_FIFO, &p));
    p.sched_priority = 100;
    R(sched_setscheduler(0, SCHED_RR, &p));
    p.sched_priority = 0;
    R(sched_setscheduler(0, 4, &p));
    R(sched_setscheduler(0, 7, &p));
    R(sched_setscheduler(0, -1, &p));
    R(sched_setscheduler(0, SCHED_DEADLINE, &p));
    R(sched_setscheduler(-1, SCHED_OTHER, &p));
    R(sched_setscheduler(0, SCHED_OTHER, NULL));
    R(sched_setscheduler(0, SCHED_OTHER, (void *)8));
    R(sched_setscheduler(999999, SCHED_OTHER, &p));
    R(sched_getscheduler(-1));
    R(sched_getscheduler(999999));
    R(sched_getparam(0, NULL));
    R(sched_getparam(0, (void *)8));
    R(sched_getparam(-1, &p));
    R(sched_setparam(0, NULL));
    R(sched_rr_get_interval(-1, &ts));
    R(sched_rr_get_interval(0, (void *)8));
    int pols[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, 4, SCHED_IDLE, SCHED_DEADLINE, 7, -1};
    for (unsigned i = 0; i < sizeof pols / sizeof *pols; i++) {
        errno = 0;
        int mx = sched_get_priority_max(pols[i]), mn = sched_get_priority_min(pols[i]);
        printf("policy %d: max %d min %d %s\n", pols[i], mx, mn, errno ? en(errno) : "");
    }
    /* another thread's, by tid: a process's threads each have their own */
    p.sched_priority = 7;
    R(sched_setscheduler(0, SCHED_RR, &p));
    pid_t k = fork();
    if (k == 0) { pause(); _exit(0); }
    show("child inherits", k);
    p.sched_priority = 9;
    R(sched_setscheduler(k, SCHED_FIFO, &p));
    show("child set", k);
    show("parent kept", 0);
    kill(k, SIGKILL);
    waitpid(k, NULL, 0);
    p.sched_priority = 0;
    R(sched_setscheduler(0, SCHED_OTHER, &p));
}

static void setattr_getattr(void) {
    struct sched_attr a = {.size = sizeof a, .sched_policy = SCHED_OTHER, .sched_nice = 4};
    R(setattr_(0, &a, 0));
    show_attr("nice 4", 0);
    show("nice 4", 0);
    a = (struct sched_attr){.size = sizeof a, .sched_policy = SCHED_FIFO, .sched_priority = 30,
                            .sched_flags = SCHED_FLAG_RESET_ON_FORK};
    R(setattr_(0, &a, 0));
    show_attr("fifo 30 reset", 0);
    show("fifo 30 reset", 0);
    a = (struct sched_attr){.size = sizeof a, .sched_priority = 40,
                            .sched_flags = FLAG_KEEP_POLICY | SCHED_FLAG_RESET_ON_FORK};
    R(setattr_(0, &a, 0));
    show_attr("keep policy, 40", 0);
    a = (struct sched_attr){.size = sizeof a, .sched_policy = SCHED_RR,
                            .sched_flags = FLAG_KEEP_PARAMS | SCHED_FLAG_RESET_ON_FORK};
    R(setattr_(0, &a, 0));
    show_attr("keep params, rr", 0);
    /* sizes: 0 is the first version's; past ours, the rest must be zero */
    struct { struct sched_attr a; char more[16]; } big;
    memset(&big, 0, sizeof big);
    big.a.size = sizeof big;
    big.a.sched_policy = SCHED_OTHER;
    R(setattr_(0, &big.a, 0));
    big.more[3] = 1;
    big.a.size = sizeof big;
    R(setattr_(0, &big.a, 0));
    printf("size written back: %u\n", big.a.size);
    a = (struct sched_attr){.size = 40, .sched_policy = SCHED_OTHER};
    R(setattr_(0, &a, 0));
    printf("size written back: %u\n", a.size);
    a = (struct sched_attr){.size = 0, .sched_policy = SCHED_BATCH, .sched_nice = -30};
    R(setattr_(0, &a, 0));
    show_attr("size 0, batch, nice -30 (clamped)", 0);
    a = (struct sched_attr){.size = sizeof a, .sched_policy = SCHED_OTHER, .sched_flags = 0x80};
    R(setattr_(0, &a, 0));
    a.sched_flags = 0;
    R(setattr_(0, &a, 1));
    R(setattr_(-1, &a, 0));
    R(setattr_(0, NULL, 0));
    R(setattr_(0, (void *)8, 0));
    a.sched_policy = (unsigned)-5;
    R(setattr_(0, &a, 0));
    /* deadline: runtime <= deadline <= period, at least 1 us */
    a = (struct sched_attr){.size = sizeof a, .sched_policy = SCHED_DEADLINE,
                            .sched_runtime = 2000000, .sched_deadline = 1000000, .sched_period = 3000000};
    R(setattr_(0, &a, 0));
    a.sched_runtime = 100;
    a.sched_deadline = 100;
    R(setattr_(0, &a, 0));
    a.sched_runtime = 0;
    R(setattr_(0, &a, 0));
    /* getattr */
    R(getattr_(0, &a, 47, 0));
    R(getattr_(0, &a, 4097, 0));
    R(getattr_(0, &a, sizeof a, 1));
    R(getattr_(-1, &a, sizeof a, 0));
    R(getattr_(0, NULL, sizeof a, 0));
    R(getattr_(0, (void *)8, sizeof a, 0));
    R(getattr_(999999, &a, sizeof a, 0));
    memset(&a, 0xff, sizeof a);
    R(getattr_(0, &a, 48, 0));
    printf("size %u, util_min untouched: %s\n", a.size, a.sched_util_min == 0xffffffffu ? "yes" : "no");
    memset(&big, 0xff, sizeof big);
    R(getattr_(0, &big.a, sizeof big, 0));
    printf("size %u, past it untouched: %s\n", big.a.size, (unsigned char)big.more[0] == 0xff ? "yes" : "no");
    a = (struct sched_attr){.size = sizeof a, .sched_policy = SCHED_OTHER};
    R(setattr_(0, &a, 0));
}

static void reset_on_fork(void) {
    struct sched_param p = {15};
    R(sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &p));
    show("parent", 0);
    in_child(({ void f(void) { show("child of rr, reset", 0); } f; }));
    p.sched_priority = 0;
    R(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p));
    R(setpriority(PRIO_PROCESS, 0, -5));
    show("parent nice -5", 0);
    in_child(({ void f(void) { show("child of nice -5, reset", 0); } f; }));
    R(setpriority(PRIO_PROCESS, 0, 6));
    in_child(({ void f(void) { show("child of nice 6, reset", 0); } f; }));
    R(sched_setscheduler(0, SCHED_OTHER, &p));  /* root may clear the flag */
    show("cleared", 0);
    p.sched_priority = 3;
    R(sched_setscheduler(0, SCHED_FIFO, &p));
    in_child(({ void f(void) { show("child of fifo", 0); } f; }));
    p.sched_priority = 0;
    R(sched_setscheduler(0, SCHED_OTHER, &p));
    R(setpriority(PRIO_PROCESS, 0, 0));
}

static void unprivileged(void) {
    in_child(({ void f(void) {
        struct rlimit rl = {0, 0};
        R(setrlimit(RLIMIT_RTPRIO, &rl));
        R(setresuid(1000, 1000, 1000));
        struct sched_param p = {1};
        R(sched_setscheduler(0, SCHED_FIFO, &p));
        p.sched_priority = 0;
        R(sched_setscheduler(0, SCHED_BATCH, &p));
        R(sched_setscheduler(0, SCHED_IDLE, &p));
        R(sched_setscheduler(0, SCHED_OTHER, &p));  /* leaving SCHED_IDLE: no */
        show("idle kept", 0);
        R(sched_setscheduler(1, SCHED_OTHER, &p));
        R(sched_getscheduler(1));
        struct sched_attr a = {.size = sizeof a, .sched_policy = SCHED_IDLE, .sched_nice = 5};
        R(setattr_(0, &a, 0));
        a.sched_nice = 2;
        R(setattr_(0, &a, 0));
        a.sched_policy = SCHED_DEADLINE;
        a.sched_runtime = a.sched_deadline = a.sched_period = 1000000;
        R(setattr_(0, &a, 0));
        show_attr("end", 0);
    } f; }));
    in_child(({ void f(void) {
        /* RLIMIT_RTPRIO and RLIMIT_NICE stay 0: raising them needs
           CAP_SYS_RESOURCE, which a container's root may lack */
        R(setpriority(PRIO_PROCESS, 0, 3));
        R(setresuid(1000, 1000, 1000));
        struct sched_param p = {5};
        R(sched_setscheduler(0, SCHED_RR, &p));
        p.sched_priority = 0;
        R(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p));
        R(sched_setscheduler(0, SCHED_OTHER, &p));  /* may not clear reset-on-fork */
        R(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &p));
        show("reset kept", 0);
        struct sched_attr a = {.size = sizeof a, .sched_policy = SCHED_BATCH, .sched_nice = 2,
                               .sched_flags = SCHED_FLAG_RESET_ON_FORK};
        R(setattr_(0, &a, 0));
        a.sched_nice = 9;
        R(setattr_(0, &a, 0));
        show_attr("nice 9", 0);
        R(setpriority(PRIO_PROCESS, 0, 4));
    } f; }));
}

static void print_mask(const char *when, int pid) {
    cpu_set_t s;
    CPU_ZERO(&s);
    int r = sched_getaffinity(pid, sizeof s, &s);
    if (r < 0) { printf("%s: %s\n", when, en(errno)); return; }
    printf("%s: count %d first %s\n", when, CPU_COUNT(&s), CPU_ISSET(0, &s) ? "cpu0" : "not cpu0");
}

static void affinity(void) {
    int n = sysconf(_SC_NPROCESSORS_ONLN);
    print_mask("start", 0);
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    R(sched_setaffinity(0, sizeof s, &s));
    print_mask("cpu0", 0);
    unsigned cpu = 99;
    R(getcpu(&cpu, NULL));
    printf("running on cpu %u\n", cpu);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Cpus_allowed_list", 17)) fputs(line, stdout);
    fclose(f);
    pid_t k = fork();
    if (k == 0) { print_mask("child", 0); _exit(0); }
    waitpid(k, NULL, 0);
    CPU_ZERO(&s);
    R(sched_setaffinity(0, sizeof s, &s));
    CPU_SET(n + 5, &s);
    R(sched_setaffinity(0, sizeof s, &s));  /* no CPU that exists */
    CPU_SET(0, &s);
    R(sched_setaffinity(0, sizeof s, &s));
    print_mask("cpu0 and one that is not", 0);
    unsigned long word = ~0UL;
    R(sched_setaffinity(0, 1, (cpu_set_t *)&word));  /* short: the rest is zero */
    print_mask("one byte of ones", 0);
    R(sched_setaffinity(0, sizeof s, (cpu_set_t *)8));
    R(sched_setaffinity(999999, sizeof s, &s));
    R(sched_setaffinity(-1, sizeof s, &s));
    R(sched_getaffinity(0, 4, &s));
    R(sched_getaffinity(0, 12, &s));
    R(sched_getaffinity(0, sizeof s, (cpu_set_t *)8));
    R(sched_getaffinity(-1, sizeof s, &s));
    R(sched_getaffinity(999999, sizeof s, &s));
    in_child(({ void f(void) {
        R(setresuid(1000, 1000, 1000));
        cpu_set_t c;
        CPU_ZERO(&c);
        CPU_SET(0, &c);
        R(sched_setaffinity(1, sizeof c, &c));
        print_mask("init, read by another user", 1);
        R(sched_setaffinity(0, sizeof c, &c));
    } f; }));
}

#define IOPRIO(cls, level) ((cls) << 13 | (level))
static long ioprio_get_(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long ioprio_set_(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }

static void ioprio(void) {
    R(ioprio_get_(1, 0));
    R(ioprio_set_(1, 0, IOPRIO(2, 6)));  /* best-effort, level 6 */
    R(ioprio_get_(1, 0));
    R(ioprio_get_(1, getpid()));
    pid_t k = fork();
    if (k == 0) { printf("child: %ld\n", ioprio_get_(1, 0)); _exit(0); }
    waitpid(k, NULL, 0);
    R(ioprio_set_(1, 0, IOPRIO(3, 0)));  /* idle */
    R(ioprio_get_(1, 0));
    R(ioprio_set_(1, 0, IOPRIO(1, 2)));  /* real-time: root's */
    R(ioprio_get_(1, 0));
    R(ioprio_get_(2, 0));  /* the best of the group's (not the user's: the host's others) */
    R(ioprio_set_(1, 0, IOPRIO(0, 1)));
    R(ioprio_set_(1, 0, IOPRIO(4, 0)));
    R(ioprio_set_(1, 0, IOPRIO(7, 0)));
    R(ioprio_set_(0, 0, IOPRIO(2, 0)));
    R(ioprio_set_(4, 0, IOPRIO(2, 0)));
    R(ioprio_get_(4, 0));
    R(ioprio_set_(1, 999999, IOPRIO(2, 0)));
    R(ioprio_get_(1, 999999));
    R(ioprio_set_(1, 0, 0));
    R(ioprio_get_(1, 0));
    in_child(({ void f(void) {
        R(setresuid(1000, 1000, 1000));
        R(ioprio_set_(1, 0, IOPRIO(1, 0)));
        R(ioprio_set_(1, 0, IOPRIO(2, 7)));
        R(ioprio_get_(1, 0));
        R(ioprio_set_(1, 1, IOPRIO(2, 7)));  /* another user's */
        R(ioprio_get_(1, 1));
    } f; }));
}

static struct section secs[] = {
    SECTION(policies), SECTION(setattr_getattr), SECTION(reset_on_fork), SECTION(unprivileged),
    SECTION(affinity), SECTION(ioprio)};

int main(int argc, char **argv) {
    return run_sections(secs, sizeof secs / sizeof secs[0], argc, argv);
}
