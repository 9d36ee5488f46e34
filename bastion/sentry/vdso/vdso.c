/* Bastion's vDSO: time and getcpu without a trap into the sentry.
 *
 * Built by build.py (gcc, no libc) into image.py; never compiled at run time.
 * The functions read the vvar page the sentry maps one page before this
 * image (struct vvar below, written by vdso/__init__.py under a seqcount):
 * clock = base[clk] + ((tsc - tsc_base) * mult) >> 32. Whatever the page
 * does not serve (no usable TSC, CPU-time clocks, bad clock ids) is passed to
 * the real syscall, so errors and semantics stay the sentry's.
 */
#include <stdint.h>

#define NCLOCKS 12
#define SHIFT 32
#define NSEC 1000000000ULL

/* Layout shared with vdso/__init__.py (VVAR); the asserts keep them in step. */
struct vvar {
    uint32_t seq;              /* odd while the sentry updates the page */
    uint32_t clocks;           /* bit per clock id served here; 0: no usable TSC */
    uint64_t tsc_base;
    uint64_t mult;             /* ns per TSC cycle, << SHIFT */
    uint32_t cpu, node;        /* what getcpu reports */
    uint64_t base[NCLOCKS];    /* ns of each clock at tsc_base */
    uint64_t res[NCLOCKS];     /* clock_getres, ns */
};
_Static_assert(__builtin_offsetof(struct vvar, tsc_base) == 8, "vvar layout");
_Static_assert(__builtin_offsetof(struct vvar, cpu) == 24, "vvar layout");
_Static_assert(__builtin_offsetof(struct vvar, base) == 32, "vvar layout");
_Static_assert(__builtin_offsetof(struct vvar, res) == 32 + 8 * NCLOCKS, "vvar layout");

/* Placed by vdso.lds one page before the image: reached rip-relative, so the
   image needs no relocation. */
extern const volatile struct vvar vvar __attribute__((visibility("hidden")));

struct timespec { int64_t tv_sec; int64_t tv_nsec; };
struct timeval { int64_t tv_sec; int64_t tv_usec; };
struct timezone { int tz_minuteswest; int tz_dsttime; };

#define barrier() __asm__ volatile("" ::: "memory")

static inline long sys2(long nr, long a, long b)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Clock `clk` in ns into *out; 0 if the page does not serve it. */
static inline int clock_ns(unsigned clk, uint64_t *out)
{
    uint32_t seq;
    uint64_t ns;
    if (clk >= NCLOCKS || !(vvar.clocks & (1u << clk)))
        return 0;
    do {
        while ((seq = vvar.seq) & 1)
            __asm__ volatile("pause");
        barrier();
        uint64_t base = vvar.base[clk], tb = vvar.tsc_base, mult = vvar.mult;
        uint64_t now = rdtsc_ordered();
        uint64_t delta = now > tb ? now - tb : 0;
        ns = base + (uint64_t)(((unsigned __int128)delta * mult) >> SHIFT);
        barrier();
    } while (seq != vvar.seq);
    *out = ns;
    return 1;
}

int __vdso_clock_gettime(int clk, struct timespec *ts)
{
    uint64_t ns;
    if (!clock_ns((unsigned)clk, &ns))
        return sys2(228, clk, (long)ts);   /* clock_gettime */
    ts->tv_sec = ns / NSEC;
    ts->tv_nsec = ns % NSEC;
    return 0;
}

int __vdso_clock_getres(int clk, struct timespec *res)
{
    unsigned c = (unsigned)clk;
    if (c >= NCLOCKS || !(vvar.clocks & (1u << c)))
        return sys2(229, clk, (long)res);  /* clock_getres */
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = vvar.res[c];
    }
    return 0;
}

int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
{
    uint64_t ns;
    if (tv) {
        if (!clock_ns(0, &ns))
            return sys2(96, (long)tv, (long)tz);  /* gettimeofday */
        tv->tv_sec = ns / NSEC;
        tv->tv_usec = ns % NSEC / 1000;
    }
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

int64_t __vdso_time(int64_t *tloc)
{
    uint64_t ns;
    if (!clock_ns(0, &ns))
        return sys2(201, (long)tloc, 0);  /* time */
    int64_t s = ns / NSEC;
    if (tloc)
        *tloc = s;
    return s;
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
    (void)cache;
    if (cpu)
        *cpu = vvar.cpu;
    if (node)
        *node = vvar.node;
    return 0;
}

/* The unversioned names glibc and others also look up, as Linux exports them. */
int clock_gettime(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int clock_getres(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
int gettimeofday(struct timeval *, struct timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
