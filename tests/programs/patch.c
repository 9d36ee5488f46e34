/* Syscall sites of the form `mov $nr, %eax; syscall` (what systrap patches,
   sentry/mm/patch.py), each aligned so that it can be patched, used in ways
   a patch must not change: from racing threads, with live data in the red
   zone and in vector registers, with flags set, interrupted by signals,
   across fork and exec, and after the app sets its own gs base; the vector
   registers in a signal frame, a forked child, a sigreturn and an exec at a
   site (where the sentry needs the FP state that patch_entry leaves in the
   CPU); and sites
   of glibc's read form (`xor %eax, %eax; syscall; cmp`), and one whose mov
   crosses an 8-byte boundary; and glibc's own syscall() (`mov 0x8(%rsp),
   %r9; syscall`, one site for every number). `site`, `read_site`,
   `unaligned_site` and `fn_site` print the first byte of a site after it
   ran (for test_patch.py: not A/B, it differs where patching happens). */
#include "common.h"
#include <pthread.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <ucontext.h>

/* One patchable site per call: 8-byte aligned `mov $nr, %eax; syscall`. */
#define SITE(name, nr)                                                              \
    static __attribute__((noinline, noclone)) long name(void) {                    \
        long r;                                                                     \
        __asm__ volatile(".p2align 3\n\t.globl " #name "_at\n" #name "_at:\n\t"      \
                         "mov $" #nr ", %%eax\n\tsyscall"                            \
                         : "=a"(r) : : "rcx", "r11", "memory");                     \
        return r;                                                                   \
    }
SITE(site_getpid, 39)
SITE(site_getppid, 110)
extern const unsigned char site_getpid_at[];

/* A site whose 5-byte mov crosses an 8-byte boundary and a 16-byte one
   (as glibc's getdents64 may): patched only while no other thread of the
   process runs app code. */
static __attribute__((noinline, noclone)) long site_unaligned(void) {
    long r;
    __asm__ volatile(".p2align 4\n\t.fill 13, 1, 0x90\n\t.globl site_unaligned_at\n"
                     "site_unaligned_at:\n\tmov $39, %%eax\n\tsyscall"
                     : "=a"(r) : : "rcx", "r11", "memory");
    return r;
}
extern const unsigned char site_unaligned_at[];

/* One that crosses an 8-byte boundary inside a 16-byte block: patched in
   one 16-byte store (cmpxchg16b), while other threads run too. */
static __attribute__((noinline, noclone)) long site_unaligned16(void) {
    long r;
    __asm__ volatile(".p2align 4\n\t.fill 5, 1, 0x90\n\t.globl site_unaligned16_at\n"
                     "site_unaligned16_at:\n\tmov $39, %%eax\n\tsyscall"
                     : "=a"(r) : : "rcx", "r11", "memory");
    return r;
}
extern const unsigned char site_unaligned16_at[];

/* glibc's read form: `xor %eax, %eax; syscall; cmp $-4096, %rax`, whose
   first 5 bytes (a jmp after patching) cover the syscall and its return
   address: patched only while the process has one thread. */
static __attribute__((noinline, noclone)) long site_read(int fd, void *buf, long n) {
    long r;
    __asm__ volatile(".p2align 3\n\t.globl site_read_at\nsite_read_at:\n\t"
                     "xor %%eax, %%eax\n\tsyscall\n\tcmp $-4096, %%rax\n\t"
                     : "=a"(r) : "D"(fd), "S"(buf), "d"(n) : "rcx", "r11", "memory", "cc");
    return r;
}
extern const unsigned char site_read_at[];

/* glibc's futex form: `mov $202, %eax; xor $op, %sil; syscall` (the
   thunk does both instructions): FUTEX_WAKE | FUTEX_PRIVATE_FLAG of a word
   nobody waits on, 0. */
static __attribute__((noinline, noclone)) long site_futex_wake(int *word) {
    long r;
    __asm__ volatile(".p2align 3\n\t.globl site_futex_at\nsite_futex_at:\n\t"
                     "mov $202, %%eax\n\txor $0x80, %%sil\n\tsyscall"
                     : "=a"(r) : "D"(word), "S"(1), "d"(1) : "rcx", "r11", "memory");
    return r;
}
extern const unsigned char site_futex_at[];

/* glibc's open_nocancel form: the number set earlier, then `mov $-100,
   %edi; syscall` (AT_FDCWD; the thunk does the mov, eax is the app's). */
static __attribute__((noinline, noclone)) long site_open_cwd(const char *path, long flags) {
    long r;
    __asm__ volatile("mov $257, %%eax\n\tmov %%rdi, %%rsi\n\t"
                     ".p2align 3\n\t.globl site_open_at\nsite_open_at:\n\t"
                     "mov $-100, %%edi\n\tsyscall"
                     : "=a"(r), "+D"(path) : "d"(flags) : "rsi", "rcx", "r11", "memory");
    return r;
}
extern const unsigned char site_open_at[];

static void *racer(void *arg) {
    long pid = (long)arg, bad = 0;
    for (int i = 0; i < 30000; i++)
        if (site_getpid() != pid) bad++;
    return (void *)bad;
}

/* n threads of fn(arg) at once; the sum of what they return. */
static long race(int n, void *(*fn)(void *), void *arg) {
    pthread_t t[8];
    long sum = 0;
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, fn, arg);
    for (int i = 0; i < n; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    return sum;
}

static void threads_race(void) {
    long bad = race(4, racer, (void *)(long)getpid());
    printf("4 threads x 30000 calls of one site, wrong results: %ld\n", bad);
}

/* 16 words below the stack pointer (the red zone a leaf function may use),
   a syscall from a site, the words read back: nothing may have touched them. */
static void red_zone(void) {
    long ok = 1;
    for (int round = 0; round < 3; round++) {
        long same;
        __asm__ volatile(
            "mov $0x5a5a0000, %%rdx\n\t"
            "mov $-128, %%rcx\n"
            "1:\n\t"
            "lea (%%rdx,%%rcx), %%r8\n\t"
            "mov %%r8, (%%rsp,%%rcx)\n\t"
            "add $8, %%rcx\n\t"
            "jnz 1b\n\t"
            ".p2align 3\n\t"
            "mov $39, %%eax\n\t"
            "syscall\n\t"
            "mov $1, %0\n\t"
            "mov $0x5a5a0000, %%rdx\n\t"
            "mov $-128, %%rcx\n"
            "2:\n\t"
            "lea (%%rdx,%%rcx), %%r8\n\t"
            "cmp %%r8, (%%rsp,%%rcx)\n\t"
            "je 3f\n\t"
            "movq $0, %0\n"
            "3:\n\t"
            "add $8, %%rcx\n\t"
            "jnz 2b\n\t"
            : "=&r"(same) : : "rax", "rcx", "rdx", "r8", "r11", "memory");
        ok &= same;
    }
    printf("red zone kept across 3 calls: %ld\n", ok);
}

/* xmm0-15 (and ymm upper halves where there is AVX) hold patterns across a
   syscall from a site; a native syscall keeps every vector register. */
static void vector_regs(void) {
    static unsigned char in[16][32] __attribute__((aligned(32))), out[16][32] __attribute__((aligned(32)));
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 32; j++) in[i][j] = (unsigned char)(i * 37 + j * 11 + 1);
    int avx = __builtin_cpu_supports("avx");
    for (int round = 0; round < 3; round++) {
        memset(out, 0, sizeof out);
        if (avx) {
            __asm__ volatile(
#define L(n) "vmovdqa " #n "*32(%0), %%ymm" #n "\n\t"
#define S(n) "vmovdqa %%ymm" #n ", " #n "*32(%1)\n\t"
                L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13) L(14) L(15)
                ".p2align 3\n\tmov $39, %%eax\n\tsyscall\n\t"
                S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
                "vzeroupper\n\t"
                : : "r"(in), "r"(out)
                : "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
        } else {
            __asm__ volatile(
#define LX(n) "movdqa " #n "*32(%0), %%xmm" #n "\n\t"
#define SX(n) "movdqa %%xmm" #n ", " #n "*32(%1)\n\t"
                LX(0) LX(1) LX(2) LX(3) LX(4) LX(5) LX(6) LX(7) LX(8) LX(9) LX(10) LX(11) LX(12) LX(13) LX(14) LX(15)
                ".p2align 3\n\tmov $39, %%eax\n\tsyscall\n\t"
                SX(0) SX(1) SX(2) SX(3) SX(4) SX(5) SX(6) SX(7) SX(8) SX(9) SX(10) SX(11) SX(12) SX(13) SX(14) SX(15)
                : : "r"(in), "r"(out)
                : "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
            for (int i = 0; i < 16; i++) memcpy(out[i] + 16, in[i] + 16, 16);
        }
        printf("round %d: vector registers kept: %d\n", round, memcmp(in, out, sizeof in) == 0);
    }
}

/* syscall nr(a1, a2, 0, 0, 0) from a site of its own, with the vector
   registers loaded from in[16][32] right before it (ymm0-15 where there is
   AVX, else xmm0-15) and stored to out right after it. */
#define LV(n) "vmovdqa " #n "*32(%[in]), %%ymm" #n "\n\t"
#define SV(n) "vmovdqa %%ymm" #n ", " #n "*32(%[out])\n\t"
#define LVX(n) "movdqa " #n "*32(%[in]), %%xmm" #n "\n\t"
#define SVX(n) "movdqa %%xmm" #n ", " #n "*32(%[out])\n\t"
#define VEC_CLOBBERS "rcx", "rdx", "r8", "r10", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", \
    "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define VEC_SITE(name, nr)                                                                    \
    static __attribute__((noinline, noclone)) long name(long a1, long a2, void *in, void *out) { \
        long r;                                                                               \
        if (__builtin_cpu_supports("avx"))                                                    \
            __asm__ volatile(LV(0) LV(1) LV(2) LV(3) LV(4) LV(5) LV(6) LV(7) LV(8) LV(9) LV(10) \
                             LV(11) LV(12) LV(13) LV(14) LV(15)                               \
                             "xor %%edx, %%edx\n\txor %%r10d, %%r10d\n\txor %%r8d, %%r8d\n\t"  \
                             ".p2align 3\n\tmov $" #nr ", %%eax\n\tsyscall\n\t"                \
                             SV(0) SV(1) SV(2) SV(3) SV(4) SV(5) SV(6) SV(7) SV(8) SV(9) SV(10) \
                             SV(11) SV(12) SV(13) SV(14) SV(15) "vzeroupper\n\t"              \
                             : "=a"(r) : "D"(a1), "S"(a2), [in] "r"(in), [out] "r"(out)       \
                             : VEC_CLOBBERS);                                                 \
        else                                                                                  \
            __asm__ volatile(LVX(0) LVX(1) LVX(2) LVX(3) LVX(4) LVX(5) LVX(6) LVX(7) LVX(8)    \
                             LVX(9) LVX(10) LVX(11) LVX(12) LVX(13) LVX(14) LVX(15)           \
                             "xor %%edx, %%edx\n\txor %%r10d, %%r10d\n\txor %%r8d, %%r8d\n\t"  \
                             ".p2align 3\n\tmov $" #nr ", %%eax\n\tsyscall\n\t"                \
                             SVX(0) SVX(1) SVX(2) SVX(3) SVX(4) SVX(5) SVX(6) SVX(7) SVX(8)    \
                             SVX(9) SVX(10) SVX(11) SVX(12) SVX(13) SVX(14) SVX(15)           \
                             : "=a"(r) : "D"(a1), "S"(a2), [in] "r"(in), [out] "r"(out)       \
                             : VEC_CLOBBERS);                                                 \
        return r;                                                                             \
    }
VEC_SITE(vec_kill, 62)
VEC_SITE(vec_fork, 56)
VEC_SITE(vec_arch_prctl, 158)

static unsigned char vin[16][32] __attribute__((aligned(32))), vout[16][32] __attribute__((aligned(32)));

/* Fresh patterns in vin (a new one each round), vout cleared. */
static void vec_fill(int round) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 32; j++) vin[i][j] = (unsigned char)(i * 37 + j * 11 + round * 5 + 1);
    memset(vout, 0, sizeof vout);
}

/* Whether vout holds vin (the low 16 bytes of each register only, without AVX). */
static int vec_kept(void) {
    int n = __builtin_cpu_supports("avx") ? 32 : 16;
    for (int i = 0; i < 16; i++)
        if (memcmp(vin[i], vout[i], n)) return 0;
    return 1;
}

/* A signal delivered on the way back from a site, in every round (the site
   is patched after its second trap): its frame holds the registers of the
   syscall, and what the handler changes there (xmm0's first bytes, ymm0's
   upper half's first bytes: XSAVE's YMM_Hi128 at 576) is what the app has
   after the return. */
static volatile int frame_seen;
static void on_usr1_vec(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    int ok = 1;
    for (int i = 0; i < 16; i++) ok &= !memcmp(fp + 160 + 16 * i, vin[i], 16);  /* _xmm[i] */
    if (__builtin_cpu_supports("avx"))
        for (int i = 0; i < 16; i++) ok &= !memcmp(fp + 576 + 16 * i, vin[i] + 16, 16);
    frame_seen = ok;
    for (int j = 0; j < 4; j++) fp[160 + j] ^= 0xff;
    if (__builtin_cpu_supports("avx"))
        for (int j = 0; j < 4; j++) fp[576 + j] ^= 0xff;
}

/* The handler returns through a restorer of our own, whose rt_sigreturn
   site is patched too (glibc's `mov $15, %rax` form is not). */
extern void vec_restorer(void);
__asm__(".text\n\t.p2align 3\n\t.globl vec_restorer\nvec_restorer:\n\t"
        "mov $15, %eax\n\tsyscall\n\thlt\n\t");

static void signal_vectors(void) {
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ksa = {
        (void *)on_usr1_vec, SA_SIGINFO | 0x04000000 /* SA_RESTORER */, (void *)vec_restorer, 0};
    R(syscall(SYS_rt_sigaction, SIGUSR1, &ksa, NULL, 8));
    int avx = __builtin_cpu_supports("avx");
    for (int round = 0; round < 4; round++) {
        vec_fill(round);
        frame_seen = -1;
        long r = vec_kill(getpid(), SIGUSR1, vin, vout);
        for (int j = 0; j < 4; j++) {
            vin[0][j] ^= 0xff;
            if (avx) vin[0][16 + j] ^= 0xff;
        }
        printf("round %d: kill %ld, the frame had the registers: %d, after it: %d\n",
               round, r, frame_seen, vec_kept());
    }
}

/* fork from a site, every round: the child starts with the parent's vector
   registers, and the parent keeps them. */
static void fork_vectors(void) {
    for (int round = 0; round < 4; round++) {
        vec_fill(round);
        long c = vec_fork(SIGCHLD, 0, vin, vout);
        if (c == 0) _exit(vec_kept() ? 0 : 1);
        int st;
        waitpid((pid_t)c, &st, 0);
        printf("round %d: child's registers %s, parent's kept: %d\n", round,
               WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "kept" : "wrong", vec_kept());
    }
}

/* The carry flag and every register but rax, rcx and r11 (a syscall's own)
   across a syscall from a site: set in asm, checked in asm. */
static void flags_and_registers(void) {
    for (int round = 0; round < 3; round++) {
        long ok;
        __asm__ volatile(
            "push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r13\n\tpush %%r14\n\tpush %%r15\n\t"
            "mov $0x1111, %%rbx\n\tmov $0x4242, %%rbp\n\tmov $0x1212, %%r12\n\t"
            "mov $0x1313, %%r13\n\tmov $0x1414, %%r14\n\tmov $0x1515, %%r15\n\t"
            "mov $0x2020, %%rdi\n\tmov $0x2121, %%rsi\n\tmov $0x2222, %%rdx\n\t"
            "mov $0x2828, %%r8\n\tmov $0x2929, %%r9\n\tmov $0x3030, %%r10\n\t"
            "stc\n\t"
            ".p2align 3\n\t"
            "mov $39, %%eax\n\t"
            "syscall\n\t"
            "setc %%al\n\t"
            "movzbl %%al, %%eax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x1111, %%rbx\n\tsetne %%cl\n\tor %%rcx, %%rax\n\t"
            "cmp $0x4242, %%rbp\n\tsetne %%cl\n\tshl $1, %%rcx\n\tor %%rcx, %%rax\n\t"
            "cmp $0x1212, %%r12\n\tsetne %%cl\n\tshl $2, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x1313, %%r13\n\tsetne %%cl\n\tshl $3, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x1414, %%r14\n\tsetne %%cl\n\tshl $4, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x1515, %%r15\n\tsetne %%cl\n\tshl $5, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x2020, %%rdi\n\tsetne %%cl\n\tshl $6, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x2121, %%rsi\n\tsetne %%cl\n\tshl $7, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x2222, %%rdx\n\tsetne %%cl\n\tshl $8, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x2828, %%r8\n\tsetne %%cl\n\tshl $9, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x2929, %%r9\n\tsetne %%cl\n\tshl $10, %%rcx\n\tor %%rcx, %%rax\n\t"
            "xor %%ecx, %%ecx\n\t"
            "cmp $0x3030, %%r10\n\tsetne %%cl\n\tshl $11, %%rcx\n\tor %%rcx, %%rax\n\t"
            "pop %%r15\n\tpop %%r14\n\tpop %%r13\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx\n\t"
            : "=a"(ok) : : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
        printf("round %d: carry kept %ld, registers changed (bit mask): %#lx\n", round, ok & 1,
               (unsigned long)ok >> 1);
    }
}

/* Queued signals (they are not merged: the count is exact) sent to a thread
   that spends its time in a site: each interrupts it wherever it is. */
static volatile long handled;
static void on_rt(int sig) { (void)sig; handled++; }
static volatile int looping, stop;

static void *site_loop(void *arg) {
    long ppid = (long)arg, bad = 0;
    looping = 1;
    while (!stop)
        if (site_getppid() != ppid) bad++;
    return (void *)bad;
}

static void signals_in_loop(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_rt;
    sa.sa_flags = SA_RESTART;
    R(sigaction(SIGRTMIN, &sa, NULL));
    pthread_t t;
    pthread_create(&t, NULL, site_loop, (void *)(long)getppid());
    while (!looping) sched_yield();
    int sent = 0;
    for (int i = 0; i < 500; i++) {
        union sigval v = {.sival_int = i};
        if (pthread_sigqueue(t, SIGRTMIN, v) == 0) sent++;
        if (i % 50 == 0) usleep(200);
    }
    while (handled < sent) sched_yield();
    stop = 1;
    void *bad;
    pthread_join(t, &bad);
    printf("sent %d, handled %ld, wrong results %ld\n", sent, handled, (long)bad);
}

/* A signal to a thread that alternates syscalls at a site and stretches of
   app code with none: each must arrive while it runs that code, however
   close to a syscall's way out it was sent (the sandbox kicks the thread,
   and a kick that lands in its own code on the way back must not be lost:
   with no syscall to come, only the kick brings the signal). The sender
   waits for each before the next; "late" counts those that took more than
   a second. */
static volatile long kicks_sent, kicks_handled;
static void on_kick(int sig) { (void)sig; kicks_handled = kicks_sent; }

static void *kick_target(void *arg) {
    long ppid = (long)arg, late = 0;
    looping = 1;
    while (!stop) {
        for (int i = 0; i < 16; i++) site_getppid();
        if (kicks_handled == kicks_sent) continue;
        struct timespec a, b;  /* no syscall until it comes (the vDSO's clock traps nothing) */
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (;;) {
            if (kicks_handled == kicks_sent) break;
            clock_gettime(CLOCK_MONOTONIC, &b);
            if ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) > 1000000000L) {
                late++;
                break;
            }
        }
    }
    (void)ppid;
    return (void *)late;
}

static void kicks_on_the_way_out(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_kick;
    sa.sa_flags = SA_RESTART;
    R(sigaction(SIGUSR2, &sa, NULL));
    looping = stop = 0;
    pthread_t t;
    pthread_create(&t, NULL, kick_target, (void *)(long)getppid());
    while (!looping) sched_yield();
    int n = 3000;
    for (int i = 1; i <= n; i++) {
        kicks_sent = i;
        pthread_kill(t, SIGUSR2);
        while (kicks_handled != i) sched_yield();
    }
    stop = 1;
    void *late;
    pthread_join(t, &late);
    printf("signals sent %d, handled %ld, late %ld\n", n, kicks_handled, (long)late);
}

static void fork_and_exec(char **argv0) {
    long pid = site_getpid();
    pid_t c = fork();
    if (c == 0) {
        printf("child: site gives its own pid: %d\n", site_getpid() == getpid() && getpid() != pid);
        execl(argv0[0], argv0[0], "site_after_exec", (char *)NULL);
        _exit(99);
    }
    int st;
    waitpid(c, &st, 0);
    printf("parent: site still gives its pid: %d; child %s\n", site_getpid() == pid, wstatus(st));
}

static void site_after_exec(void) {
    long ok = 1;
    for (int i = 0; i < 1000; i++) ok &= site_getpid() == getpid();
    printf("after exec: %ld\n", ok);
    fflush(stdout);
    _exit(7);
}

/* An app with its own gs base (as Wine has): patched sites find their frame
   through gs, so the sandbox must give them up and still run the app. */
static void own_gs(void) {
    static long gsbuf[4] = {0x6767, 2, 3, 4};
    long ok = 1;
    for (int i = 0; i < 100; i++) ok &= site_getpid() == getpid();
    /* the gs base set from a site patched before (the way back reloads the
       thread's whole state from the patch frame, vector registers too) */
    long got = 0;
    int vec = 1;
    for (int round = 0; round < 3; round++) {
        vec_fill(round);
        vec_arch_prctl(ARCH_GET_GS, (long)&got, vin, vout);
        vec &= vec_kept();
    }
    vec_fill(3);
    R(vec_arch_prctl(ARCH_SET_GS, (long)gsbuf, vin, vout));
    vec &= vec_kept();
    long v, base = 0;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
    for (int i = 0; i < 100; i++) ok &= site_getpid() == getpid();
    R(syscall(SYS_arch_prctl, ARCH_GET_GS, &base));
    __asm__ volatile("mov %%gs:8, %0" : "=r"(v) : "0"(v));
    printf("gs:0 then gs:8 read back: %ld, base: %d, sites fine: %ld, vector registers kept: %d\n",
           v, base == (long)gsbuf, ok, vec);
}

/* A site in writable code (a JIT's): the app may rewrite it at any time,
   so it is never patched. */
static void jit_site(void) {
    static const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3};  /* getpid; ret */
    unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(m, code, sizeof code);
    long (*f)(void) = (long (*)(void))m;
    long ok = 1;
    for (int i = 0; i < 5; i++) ok &= f() == getpid();
    printf("results fine: %ld, first byte after 5 calls: %02x\n", ok, m[0]);
}

/* Reads from the read-form site: plain, interrupted by a signal with and
   without SA_RESTART, then from two threads at once. */
static int rpipe[2];
static void on_alarm(int sig) { (void)sig; handled++; if (write(rpipe[1], "r", 1) != 1) _exit(3); }
static void *reader(void *arg) {
    long sum = 0;
    char c;
    for (int i = 0; i < 2000; i++) sum += site_read(rpipe[0], &c, 1) == 1 ? c : 1000;
    return (void *)sum;
}
static void alarm_read(int flags) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    R(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {{0, 0}, {0, 20000}};
    R(setitimer(ITIMER_REAL, &it, NULL));
    char c = 0;
    long r = site_read(rpipe[0], &c, 1);  /* blocks until the alarm */
    if (r == -EINTR) r = site_read(rpipe[0], &c, 1);  /* the handler's byte */
    printf("%s: read %ld byte '%c', handled %ld\n", flags ? "SA_RESTART" : "no restart", r, c,
           handled);
}
static void read_form(void) {
    R(pipe(rpipe));
    char buf[64];
    long sum = 0;
    for (int i = 0; i < 100; i++) {
        if (write(rpipe[1], "abcdefgh", 8) != 8) _exit(3);
        long n = site_read(rpipe[0], buf, sizeof buf);
        for (long j = 0; j < n; j++) sum += buf[j];
    }
    printf("single thread: sum %ld, a bad fd gives %ld\n", sum, site_read(-1, buf, 1));
    alarm_read(SA_RESTART);
    alarm_read(0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < 4000; i++)
        if (write(rpipe[1], "x", 1) != 1) _exit(3);
    long total = 0;
    for (int i = 0; i < 2; i++) {
        void *v;
        pthread_join(t[i], &v);
        total += (long)v;
    }
    printf("two threads: sum %ld\n", total);
}

/* A signal frame saved at the read-form site before it was patched: the
   first read there blocks while a second thread lives (no patch), the
   thread interrupts it and ends, and the handler reads at the same site
   (now patched). Its return must not land inside the new jmp. */
static volatile int helper_done;
static void on_usr1(int sig) {
    (void)sig;
    while (!helper_done) sched_yield();
    usleep(20000);  /* the helper's exit is through */
    char c;
    if (write(rpipe[1], "hi", 2) != 2) _exit(3);
    handled = site_read(rpipe[0], &c, 1) == 1 && c == 'h';
}
static void *interrupter(void *arg) {
    usleep(20000);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    helper_done = 1;
    return NULL;
}
static void read_form_frame(void) {
    R(pipe(rpipe));
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    R(sigaction(SIGUSR1, &sa, NULL));
    pthread_t self = pthread_self(), t;
    pthread_create(&t, NULL, interrupter, &self);
    pthread_detach(t);
    char c = 0;
    long r = site_read(rpipe[0], &c, 1);
    printf("handler read ok: %ld; restarted read %ld byte '%c'\n", handled, r, c);
}

static void read_site(void) {
    char c;
    if (pipe(rpipe)) _exit(3);
    for (int i = 0; i < 3; i++) {
        if (write(rpipe[1], "z", 1) != 1) _exit(3);
        site_read(rpipe[0], &c, 1);
    }
    printf("%02x\n", site_read_at[0]);
}

static void *unaligned_racer(void *arg) {
    long pid = (long)arg, bad = 0;
    for (int i = 0; i < 20000; i++)
        if (site_unaligned() != pid) bad++;
    return (void *)bad;
}

/* An unaligned site patched while the process had one thread, then run by
   racing threads, then given up (the app's own gs base) while they race. */
static void unaligned_race(void) {
    static long gsbuf[4];
    pthread_t t[3];
    long pid = getpid(), bad = 0;
    for (int i = 0; i < 100; i++) bad += site_unaligned() != pid;
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, unaligned_racer, (void *)pid);
    for (int i = 0; i < 5000; i++) bad += site_unaligned() != pid;
    R(syscall(SYS_arch_prctl, ARCH_SET_GS, gsbuf));
    for (int i = 0; i < 5000; i++) bad += site_unaligned() != pid;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("one unaligned site, 4 threads, own gs base midway, wrong results: %ld\n", bad);
}

static void *idle_thread(void *arg) {
    int *fd = arg;
    char c;
    return (void *)(long)read(fd[0], &c, 1);
}

/* The first byte of the unaligned site after three calls: in a process of
   one thread, in one whose other thread is blocked in a read (in the
   sentry: the site is patched), and in one whose other thread runs app code
   (not patched: it could be running the bytes). Each in a fresh process
   (execve'd, so unpatched). */
static void run_self(const char *section) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "patch", section, (char *)NULL);
        _exit(4);
    }
    int st;
    waitpid(pid, &st, 0);
}

static void unaligned_site(void) {
    for (int i = 0; i < 3; i++) site_unaligned();
    printf("%02x ", site_unaligned_at[0]);
    run_self("unaligned_site_blocked");
    run_self("unaligned_site_running");
}

static volatile pid_t reader_tid;
static void *blocked_reader(void *arg) {
    reader_tid = gettid();
    return idle_thread(arg);
}

/* Wait until thread tid sleeps (blocked in a syscall), as /proc shows it. */
static void wait_sleeping(pid_t tid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    for (;;) {
        int f = open(path, O_RDONLY);
        ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
        if (f >= 0) close(f);
        if (n <= 0) _exit(5);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'S') return;
    }
}

static void unaligned_site_blocked(void) {
    int fd[2];
    pthread_t t;
    if (pipe(fd) || pthread_create(&t, NULL, blocked_reader, fd)) _exit(3);
    while (!reader_tid) {}
    wait_sleeping(reader_tid);
    for (int i = 0; i < 3; i++) site_unaligned();
    printf("%02x ", site_unaligned_at[0]);
    if (write(fd[1], "x", 1) != 1) _exit(3);
    pthread_join(t, NULL);
}

/* glibc's read form in a process of two threads: the other one blocked in
   a read at the same site (in the sentry; back at site+4 when it returns)
   while this one's reads get the site patched: it must come back through
   the thunk. `read_site_threads` prints the site's first byte after;
   `read_form_threads` (A/B) what each read got. */
static int tpipe[2];
static volatile pid_t site_reader_tid;
static void *site_reader(void *arg) {
    (void)arg;
    char c = 0;
    site_reader_tid = gettid();
    long r = site_read(tpipe[0], &c, 1);
    return (void *)(r == 1 ? (long)c : -r);
}

static void read_threads(int show_site) {
    char c;
    pthread_t t;
    if (pipe(tpipe) || pipe(rpipe) || pthread_create(&t, NULL, site_reader, NULL)) _exit(3);
    while (!site_reader_tid) {}
    wait_sleeping(site_reader_tid);
    long got = 0;
    for (int i = 0; i < 3; i++) {
        if (write(rpipe[1], "m", 1) != 1) _exit(3);
        got += site_read(rpipe[0], &c, 1) == 1 && c == 'm';
    }
    int first = site_read_at[0];
    if (write(tpipe[1], "t", 1) != 1) _exit(3);
    void *res;
    pthread_join(t, &res);
    if (show_site)
        printf("%02x\n", first);
    else
        printf("this thread read %ld of 3; the blocked one read '%c'\n", got, (char)(long)res);
}

static void read_form_threads(void) { read_threads(0); }
static void read_site_threads(void) { read_threads(1); }

static volatile int spinning, spin_stop;
static void *spinner(void *arg) {
    (void)arg;
    spinning = 1;
    while (!spin_stop) {}
    return NULL;
}

static void unaligned_site_running(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, spinner, NULL)) _exit(3);
    while (!spinning) {}
    for (int i = 0; i < 3; i++) site_unaligned();
    printf("%02x\n", site_unaligned_at[0]);
    spin_stop = 1;
    pthread_join(t, NULL);
}

static void *unaligned16_racer(void *arg) {
    long pid = (long)arg, bad = 0;
    for (int i = 0; i < 30000; i++)
        if (site_unaligned16() != pid) bad++;
    return (void *)bad;
}

/* 4 threads on a site patched in one 16-byte store while they run it. */
static void unaligned16_race(void) {
    long bad = race(4, unaligned16_racer, (void *)(long)getpid());
    printf("4 threads x 30000 calls of an unaligned site, wrong results: %ld\n", bad);
}

static void unaligned16_site_running(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, spinner, NULL)) _exit(3);
    while (!spinning) {}
    for (int i = 0; i < 3; i++) site_unaligned16();
    printf("%02x\n", site_unaligned16_at[0]);
    spin_stop = 1;
    pthread_join(t, NULL);
}

static void site(void) {
    for (int i = 0; i < 3; i++) site_getpid();
    printf("%02x\n", site_getpid_at[0]);
}

/* the site's first byte after its first call, then after its second
   (read through a volatile pointer: the bytes are const to the compiler) */
static void site_twice(void) {
    const volatile unsigned char *at = site_getpid_at;
    site_getpid();
    printf("%02x ", at[0]);
    site_getpid();
    printf("%02x\n", at[0]);
}

/* glibc's syscall(): the 7 bytes of its `mov 0x8(%rsp), %r9; syscall`
   within the function, or NULL if this libc has another form. */
static const unsigned char *fn_site_at(void) {
    static const unsigned char form[] = {0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05};
    const unsigned char *f = (const unsigned char *)(void *)syscall;
    for (int i = 0; i < 48; i++)
        if (!memcmp(f + i, form, sizeof form)) return f + i;
    return NULL;
}

/* Calls through syscall(), the site patched at its second trap, must
   behave as natively: six arguments (the sixth, r9, is what the patched
   site's thunk loads: mmap's offset picks the page), errors and errno,
   many numbers from the one site, several threads at once. */
static long fn_ppid;
static void *fn_racer(void *arg) {
    long bad = 0, pid = (long)arg;
    for (int i = 0; i < 20000; i++) {
        if (syscall(SYS_getpid) != pid) bad++;
        if (syscall(SYS_getppid) != fn_ppid) bad++;
    }
    return (void *)bad;
}

static void syscall_fn(void) {
    char path[] = "/tmp/patch_fn_XXXXXX";
    int fd = mkstemp(path);
    char page[4096];
    for (int p = 0; p < 3; p++) {
        memset(page, 'a' + p, sizeof page);
        if (write(fd, page, sizeof page) != (long)sizeof page) _exit(3);
    }
    unlink(path);
    for (int round = 0; round < 4; round++) {
        for (long off = 0; off < 3; off++) {
            char *m = (char *)syscall(SYS_mmap, 0L, 4096L, (long)PROT_READ, (long)MAP_PRIVATE,
                                      (long)fd, off * 4096);
            if (m == MAP_FAILED) _exit(4);
            if (round == 3) printf("page %ld: %c%c\n", off, m[0], m[4095]);
            syscall(SYS_munmap, m, 4096L);
        }
    }
    errno = 0;
    long r = syscall(SYS_close, 12345L);
    printf("close(12345) = %ld, errno %s\n", r, errno == EBADF ? "EBADF" : "other");
    fn_ppid = getppid();
    long bad = race(3, fn_racer, (void *)(long)getpid());
    printf("3 threads x 40000 calls through syscall(), wrong results: %ld\n", bad);
    close(fd);
    /* a read through syscall() (the site patched by now) that blocks until
       an alarm whose handler (SA_RESTART) writes the byte: restarted at
       the site's own syscall instruction, with every argument in place */
    R(pipe(rpipe));
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    R(sigaction(SIGALRM, &sa, NULL));
    for (int round = 0; round < 3; round++) {
        struct itimerval it = {{0, 0}, {0, 20000}};
        R(setitimer(ITIMER_REAL, &it, NULL));
        char c = 0;
        long r = syscall(SYS_read, (long)rpipe[0], &c, 1L);
        printf("restarted read through syscall(): %ld byte '%c'\n", r, c);
    }
    close(rpipe[0]);
    close(rpipe[1]);
}

static void fn_site(void) {
    const volatile unsigned char *at = fn_site_at();
    if (!at) {
        printf("no such site\n");
        return;
    }
    for (int i = 0; i < 3; i++) syscall(SYS_getppid);
    printf("%02x\n", at[0]);
}

static int futex_word;
static void *futex_racer(void *arg) {
    long bad = 0;
    (void)arg;
    for (int i = 0; i < 20000; i++)
        if (site_futex_wake(&futex_word) != 0) bad++;
    return (void *)bad;
}

/* Sites of the other forms a thunk can take over, from racing threads. */
static void other_forms(void) {
    printf("3 threads x 20000 futex wakes from one site, wrong results: %ld\n",
           race(3, futex_racer, NULL));
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        long fd = site_open_cwd("/dev/null", O_RDONLY | O_CLOEXEC);
        char c;
        if (fd < 0 || read((int)fd, &c, 1) != 0 || close((int)fd) != 0) bad++;
    }
    printf("2000 opens of /dev/null from one site with AT_FDCWD in its mov, failures: %ld\n", bad);
    printf("relative to a missing directory: %s\n", en(-site_open_cwd("nope/x", O_RDONLY)));
}

/* the first bytes of the two sites after they ran (e9: patched) */
static void other_sites(void) {
    for (int i = 0; i < 3; i++) {
        site_futex_wake(&futex_word);
        close((int)site_open_cwd("/dev/null", O_RDONLY));
    }
    printf("%02x %02x\n", site_futex_at[0], site_open_at[0]);
}

static char **argv_saved;
static void fork_and_exec_(void) { fork_and_exec(argv_saved); }

static __attribute__((noinline, noclone)) long site_execve(const char *path, char **argv, char **envp) {
    long r;
    __asm__ volatile(".p2align 3\n\tmov $59, %%eax\n\tsyscall"
                     : "=a"(r) : "D"(path), "S"(argv), "d"(envp) : "rcx", "r11", "memory");
    return r;
}

/* exec from a patched site starts the new program with a fresh FP state:
   the rounding mode set in MXCSR before is gone. */
static void exec_fp_reset(void) {
    char *args[] = {argv_saved[0], "mxcsr_after_exec", NULL};
    for (int i = 0; i < 3; i++) site_execve("/nonexistent/x", args, environ);  /* the site is patched */
    pid_t c = fork();
    if (c == 0) {
        unsigned m = 0x7f80;  /* round toward zero, every exception masked */
        __asm__ volatile("ldmxcsr %0" : : "m"(m));
        site_execve(argv_saved[0], args, environ);
        _exit(99);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child %s\n", wstatus(st));
}

static void mxcsr_after_exec(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    printf("mxcsr after exec: %#x\n", m);
}

int main(int argc, char **argv) {
    argv_saved = argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    struct { const char *name; void (*fn)(void); } s[] = {
        {"threads_race", threads_race}, {"red_zone", red_zone}, {"vector_regs", vector_regs},
        {"flags_and_registers", flags_and_registers}, {"signals_in_loop", signals_in_loop},
        {"kicks_on_the_way_out", kicks_on_the_way_out},
        {"fork_and_exec", fork_and_exec_}, {"site_after_exec", site_after_exec},
        {"own_gs", own_gs}, {"jit_site", jit_site}, {"site", site}, {"site_twice", site_twice},
        {"read_form", read_form},
        {"read_form_frame", read_form_frame}, {"read_site", read_site},
        {"unaligned_race", unaligned_race}, {"unaligned_site", unaligned_site},
        {"unaligned_site_blocked", unaligned_site_blocked},
        {"unaligned_site_running", unaligned_site_running},
        {"syscall_fn", syscall_fn}, {"fn_site", fn_site},
        {"read_form_threads", read_form_threads}, {"read_site_threads", read_site_threads},
        {"signal_vectors", signal_vectors}, {"fork_vectors", fork_vectors},
        {"exec_fp_reset", exec_fp_reset}, {"mxcsr_after_exec", mxcsr_after_exec},
        {"other_forms", other_forms}, {"other_sites", other_sites},
        {"unaligned16_race", unaligned16_race}, {"unaligned16_site_running", unaligned16_site_running},
    };
    for (int a = 1; a < argc; a++)
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
            if (!strcmp(argv[a], s[i].name)) {
                if (strncmp(argv[a], "site", 4) && strncmp(argv[a], "read_site", 9) &&
                    strcmp(argv[a], "other_sites") &&
                    strcmp(argv[a], "fn_site") && strncmp(argv[a], "unaligned_site", 14) &&
                    strcmp(argv[a], "unaligned16_site_running"))
                    printf("== %s\n", s[i].name);
                s[i].fn();
            }
    return 0;
}
