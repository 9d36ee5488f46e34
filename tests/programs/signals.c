/* sigaction (SA_SIGINFO, SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_ONSTACK), sigprocmask,
   sigpending, sigsuspend, raise, kill, sigqueue, sigtimedwait, sigaltstack, SIGSEGV with
   si_addr, alarm, setitimer. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/signalfd.h>
#include <ucontext.h>

static volatile sig_atomic_t hits, last_sig, last_code, last_pid_ok, last_val, blocked_inside;
static int order[16];
static volatile sig_atomic_t norder;

static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_sig = sig;
    last_code = si->si_code;
    last_pid_ok = si->si_pid == getpid();
    last_val = si->si_value.sival_int;
    if (norder < 16) order[norder++] = si->si_value.sival_int;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    blocked_inside = sigismember(&cur, sig);
}

static void on_plain(int sig) { hits++; last_sig = sig; }

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa = {0};
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void install_plain(int sig, void (*h)(int), int flags) {
    struct sigaction sa = {0};
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const char *code_name(int c) {
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    default: return "other";
    }
}

static void reset(void) { hits = 0; last_sig = 0; last_code = 0; norder = 0; }

static void siginfo_fields(void) {
    install(SIGUSR1, on_info, 0);
    reset();
    raise(SIGUSR1);
    printf("raise: hits=%d sig=%s code=%s pid_ok=%d blocked_inside=%d\n", hits,
           sigabbrev_np(last_sig), code_name(last_code), last_pid_ok, blocked_inside);
    reset();
    kill(getpid(), SIGUSR1);
    printf("kill: hits=%d code=%s pid_ok=%d\n", hits, code_name(last_code), last_pid_ok);
    reset();
    union sigval v = {.sival_int = 1234};
    sigqueue(getpid(), SIGUSR1, v);
    printf("sigqueue: hits=%d code=%s value=%d\n", hits, code_name(last_code), last_val);
    signal(SIGUSR1, SIG_DFL);
}

static void sigaction_query(void) {
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_plain;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    R(sigaction(SIGUSR1, &sa, &old));
    printf("old handler was SIG_DFL: %d\n", old.sa_handler == SIG_DFL);
    R(sigaction(SIGUSR1, NULL, &old));
    printf("now: ours=%d restart=%d mask has USR2=%d\n", old.sa_handler == on_plain,
           !!(old.sa_flags & SA_RESTART), sigismember(&old.sa_mask, SIGUSR2));
    R(sigaction(SIGKILL, &sa, NULL));
    R(sigaction(SIGSTOP, &sa, NULL));
    R(sigaction(0, &sa, NULL));
    R(sigaction(65, &sa, NULL));
    R(sigaction(SIGKILL, NULL, &old));
    signal(SIGUSR1, SIG_DFL);
}

static void mask_and_pending(void) {
    install(SIGUSR1, on_info, 0);
    reset();
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    raise(SIGUSR1);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked: hits=%d pending USR1=%d USR2=%d\n", hits, sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: hits=%d (standard signals coalesce)\n", hits);
    sigpending(&pend);
    printf("pending after: %d\n", sigismember(&pend, SIGUSR1));
    /* SIGKILL and SIGSTOP cannot be blocked */
    sigfillset(&s);
    sigprocmask(SIG_SETMASK, &s, &old);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("fillset: KILL=%d STOP=%d TERM=%d\n", sigismember(&cur, SIGKILL),
           sigismember(&cur, SIGSTOP), sigismember(&cur, SIGTERM));
    sigprocmask(SIG_SETMASK, &old, NULL);
    R(sigprocmask(99, &s, NULL));
    signal(SIGUSR1, SIG_DFL);
}

static void rt_queue(void) {
    install(SIGRTMIN, on_info, 0);
    reset();
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &s, &old);
    for (int i = 1; i <= 5; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i * 11});
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("rt hits=%d order:", hits);
    for (int i = 0; i < norder; i++) printf(" %d", order[i]);
    printf("\n");
    /* lower-numbered pending signals are delivered first */
    install(SIGRTMIN + 2, on_info, 0);
    reset();
    sigaddset(&s, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &s, &old);
    sigqueue(getpid(), SIGRTMIN + 2, (union sigval){.sival_int = 2});
    sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 0});
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("priority order: %d %d\n", order[0], order[1]);
    signal(SIGRTMIN, SIG_DFL);
    signal(SIGRTMIN + 2, SIG_DFL);
}

static void suspend(void) {
    install(SIGUSR1, on_info, 0);
    reset();
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) { msleep(20); kill(parent, SIGUSR1); _exit(0); }
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    R(sigsuspend(&wait_mask));
    printf("hits=%d sig=%s code=%s\n", hits, sigabbrev_np(last_sig), code_name(last_code));
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("mask restored (USR1 blocked again): %d\n", sigismember(&cur, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(c, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
}

static void ignore_and_default(void) {
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored USR1: still alive\n");
    signal(SIGUSR1, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    raise(SIGCHLD);   /* default: ignore */
    raise(SIGWINCH);  /* default: ignore */
    raise(SIGURG);    /* default: ignore */
    printf("default-ignore signals: still alive\n");
    pid_t c = fork();
    if (c == 0) { raise(SIGUSR2); _exit(0); }
    int st;
    waitpid(c, &st, 0);
    printf("default USR2: %s\n", wstatus(st));
}

static void resethand_nodefer(void) {
    install(SIGUSR1, on_info, SA_RESETHAND);
    reset();
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    printf("SA_RESETHAND: hits=%d now default=%d\n", hits, cur.sa_handler == SIG_DFL);
    install(SIGUSR1, on_info, SA_NODEFER);
    reset();
    raise(SIGUSR1);
    printf("SA_NODEFER: blocked inside=%d\n", blocked_inside);
    install(SIGUSR1, on_info, 0);
    reset();
    raise(SIGUSR1);
    printf("default: blocked inside=%d\n", blocked_inside);
    signal(SIGUSR1, SIG_DFL);
}

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_code, fault_sig;
static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_sig = sig;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(jb, 1);
}

static void segv_si_addr(void) {
    install(SIGSEGV, on_fault, 0);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + 4096, 4096, PROT_NONE);
    if (sigsetjmp(jb, 1) == 0) {
        p[4096 + 123] = 1;
        printf("no fault?\n");
    } else {
        printf("PROT_NONE write: sig=%s addr_ok=%d code=%s\n", sigabbrev_np(fault_sig),
               fault_addr == p + 4096 + 123, fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
    }
    munmap(p, 8192);
    if (sigsetjmp(jb, 1) == 0) {
        volatile char x = p[77];
        (void)x;
        printf("no fault?\n");
    } else {
        printf("unmapped read: sig=%s addr_ok=%d code=%s\n", sigabbrev_np(fault_sig),
               fault_addr == p + 77, fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
    }
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)16 = 1;
    } else {
        printf("near-null write: addr=%p code=%s\n", fault_addr,
               fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
    }
    /* the mask is restored by siglongjmp(…, 1): a second fault is caught too */
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("SEGV blocked after longjmp: %d\n", sigismember(&cur, SIGSEGV));
    signal(SIGSEGV, SIG_DFL);
}

static void fix_fault(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    hits++;
    mprotect((void *)((uintptr_t)si->si_addr & ~4095UL), 4096, PROT_READ | PROT_WRITE);
}

static void segv_in_handler_context(void) {
    /* returning from a SIGSEGV handler after fixing the mapping retries the access */
    static char *page;
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = {0};
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = fix_fault;
    sigaction(SIGSEGV, &sa, NULL);
    reset();
    page[10] = 42;
    printf("retried after fix: hits=%d value=%d\n", hits, page[10]);
    signal(SIGSEGV, SIG_DFL);
}

static char *alt_base;
static volatile int on_alt, ss_flags_inside;
static void on_alt_handler(int sig) {
    (void)sig;
    int local;
    on_alt = (char *)&local >= alt_base && (char *)&local < alt_base + 65536;
    stack_t cur;
    sigaltstack(NULL, &cur);
    ss_flags_inside = cur.ss_flags;
}

static void altstack(void) {
    stack_t ss, old;
    alt_base = malloc(65536);
    ss.ss_sp = alt_base;
    ss.ss_size = 65536;
    ss.ss_flags = 0;
    R(sigaltstack(&ss, &old));
    printf("old: disabled=%d\n", old.ss_flags == SS_DISABLE);
    install_plain(SIGUSR1, on_alt_handler, SA_ONSTACK);
    raise(SIGUSR1);
    printf("SA_ONSTACK: ran on alt stack=%d SS_ONSTACK inside=%d\n", on_alt,
           !!(ss_flags_inside & SS_ONSTACK));
    install_plain(SIGUSR1, on_alt_handler, 0);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: ran on alt stack=%d\n", on_alt);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("query: sp_ok=%d size=%zu flags=%d\n", cur.ss_sp == alt_base, cur.ss_size, cur.ss_flags);
    ss.ss_size = 100;
    R(sigaltstack(&ss, NULL));
    ss.ss_flags = SS_DISABLE;
    R(sigaltstack(&ss, NULL));
    signal(SIGUSR1, SIG_DFL);
}

static void overflow_handler(int s) { (void)s; write(1, "caught overflow\n", 16); _exit(0); }
static volatile char *deep_sp;
static int recurse(int n) { volatile char buf[4096]; buf[0] = n; deep_sp = buf; return recurse(n + 1) + buf[0]; }

static void stack_overflow_on_altstack(void) {
    pid_t c = fork();
    if (c == 0) {
        stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        struct sigaction sa = {0};
        sa.sa_flags = SA_ONSTACK;
        sa.sa_handler = overflow_handler;
        sigaction(SIGSEGV, &sa, NULL);
        recurse(0);
        _exit(1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void restart_semantics(void) {
    /* a signal interrupts a blocking pipe read: EINTR without SA_RESTART, resumes with it */
    int fds[2];
    pipe(fds);
    install_plain(SIGALRM, on_plain, 0);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char buf[8];
    reset();
    R(read(fds[0], buf, sizeof buf));
    printf("hits=%d\n", hits);

    install_plain(SIGALRM, on_plain, SA_RESTART);
    reset();
    pid_t c = fork();
    if (c == 0) { msleep(300); write(fds[1], "late", 4); _exit(0); }
    setitimer(ITIMER_REAL, &it, NULL);
    R(read(fds[0], buf, sizeof buf));
    printf("hits=%d data=%.4s\n", hits, buf);
    waitpid(c, NULL, 0);

    /* nanosleep is never restarted: EINTR */
    install_plain(SIGALRM, on_plain, SA_RESTART);
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec ts = {2, 0}, rem;
    R(nanosleep(&ts, &rem));
    printf("remaining > 1s: %d\n", rem.tv_sec >= 1);
    signal(SIGALRM, SIG_DFL);
}

static void alarm_and_itimer(void) {
    install_plain(SIGALRM, on_plain, 0);
    alarm(0);   /* the watchdog's */
    R(alarm(5));
    unsigned left = alarm(0);
    printf("alarm(0) returned 4 or 5: %d\n", left == 4 || left == 5);
    R(alarm(0));

    reset();
    struct itimerval it = {{0, 10000}, {0, 10000}}, cur;
    R(setitimer(ITIMER_REAL, &it, NULL));
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer: interval=%ld.%06ld value<=10ms %d\n", (long)cur.it_interval.tv_sec,
           (long)cur.it_interval.tv_usec, cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 10000);
    double t0 = mono_ms();
    while (hits < 5) pause();
    double el = mono_ms() - t0;
    struct itimerval zero = {0};
    setitimer(ITIMER_REAL, &zero, NULL);
    printf("5 periodic ticks: hits=%d took>=40ms %d\n", hits, el >= 40);
    getitimer(ITIMER_REAL, &cur);
    printf("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

    reset();
    alarm(1);
    t0 = mono_ms();
    pause();
    el = mono_ms() - t0;
    printf("alarm(1): hits=%d waited 0.9-3s %d\n", hits, el > 900 && el < 3000);
    signal(SIGALRM, SIG_DFL);
}

static void alarm_kills_by_default(void) {
    pid_t c = fork();
    if (c == 0) {
        struct itimerval it = {{0, 0}, {0, 10000}};
        setitimer(ITIMER_REAL, &it, NULL);
        for (;;) pause();
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void timedwait(void) {
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, &old);
    raise(SIGUSR2);
    siginfo_t si;
    struct timespec ts = {0, 10000000};
    int sig = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait: %s code=%s\n", sigabbrev_np(sig), code_name(si.si_code));
    R(sigtimedwait(&s, &si, &ts));
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 5});
    sig = sigwaitinfo(&s, &si);
    printf("sigwaitinfo: %s value=%d\n", sigabbrev_np(sig), si.si_value.sival_int);
    int got;
    raise(SIGUSR1);
    sigwait(&s, &got);
    printf("sigwait: %s\n", sigabbrev_np(got));
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void kill_errors(void) {
    R(kill(getpid(), 0));
    R(kill(99999999, SIGTERM));
    R(kill(getpid(), 1000));
    R(raise(0));
}

static volatile int usr2_blocked;
static void usr2_probe(int s) {
    (void)s;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    usr2_blocked = sigismember(&cur, SIGUSR2);
}

static void handler_mask_from_sa_mask(void) {
    struct sigaction sa = {0};
    sa.sa_handler = usr2_probe;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("USR2 blocked inside=%d after=%d\n", usr2_blocked, sigismember(&cur, SIGUSR2));
    signal(SIGUSR1, SIG_DFL);
}

static volatile int depth, maxdepth;
static void h2(int s) { (void)s; depth++; if (depth > maxdepth) maxdepth = depth; depth--; }
static void h1(int s) { (void)s; depth++; raise(SIGUSR2); if (depth > maxdepth) maxdepth = depth; depth--; }

static void nested_signals(void) {
    signal(SIGUSR1, h1);
    signal(SIGUSR2, h2);
    raise(SIGUSR1);
    printf("max nesting depth=%d\n", maxdepth);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

static void fp_clobber(int s) { (void)s; volatile double x = 1.0; for (int i = 0; i < 100; i++) x = x * 3.7 + 1; }

/* A handler that spoils the FP image of its frame before returning: its
   rt_sigreturn gives SIGSEGV (SI_KERNEL), with the frame's registers. */
static int bad_fp_mode;
static void spoil_fp(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    unsigned char *fp = (unsigned char *)((ucontext_t *)ucv)->uc_mcontext.fpregs;
    if (bad_fp_mode == 0) *(unsigned *)(fp + 24) = 0xffffffff;         /* MXCSR's reserved bits */
    if (bad_fp_mode == 1) *(unsigned long *)(fp + 520) = 1UL << 63;    /* XCOMP_BV: compacted */
    if (bad_fp_mode == 2) fp[512 + 20] = 1;                            /* a reserved header byte */
}
static void segv_after_sigreturn(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)ucv;
    printf("SIGSEGV, si_code %d\n", si->si_code);
    _exit(3);
}
static void bad_fp_frame(void) {
    for (bad_fp_mode = 0; bad_fp_mode < 4; bad_fp_mode++) {
        pid_t c = fork();
        if (c == 0) {
            struct sigaction sa = {0};
            sa.sa_sigaction = spoil_fp;
            sa.sa_flags = SA_SIGINFO;
            sigaction(SIGUSR1, &sa, NULL);
            sa.sa_sigaction = segv_after_sigreturn;
            sigaction(SIGSEGV, &sa, NULL);
            raise(SIGUSR1);
            printf("mode %d: returned\n", bad_fp_mode);
            _exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        printf("mode %d: %s\n", bad_fp_mode, wstatus(st));
    }
}

static void fpu_preserved(void) {
    /* the signal frame saves and restores floating point / SSE state */
    signal(SIGUSR1, fp_clobber);
    volatile double a = 1.5, b = 2.25;
    double c = a * b;
    raise(SIGUSR1);
    double d = a * b;
    printf("fp before=%g after=%g same=%d\n", c, d, c == d);
    signal(SIGUSR1, SIG_DFL);
}

static volatile int trap_sig, trap_code;
static void *volatile trap_addr;
static void on_sync(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    trap_sig = sig;
    trap_code = si->si_code;
    trap_addr = si->si_addr;
    /* skip the faulting instruction: idiv %rcx is 3 bytes, ud2 2, hlt 1; after int3 the
       RIP already points past it */
    uc->uc_mcontext.gregs[REG_RIP] += sig == SIGFPE ? 3 : sig == SIGILL ? 2 : sig == SIGSEGV ? 1 : 0;
}

static const char *sync_code(int sig, int code) {
    if (sig == SIGFPE && code == FPE_INTDIV) return "FPE_INTDIV";
    if (sig == SIGILL && code == ILL_ILLOPN) return "ILL_ILLOPN";
    if (sig == SIGTRAP && code == SI_KERNEL) return "SI_KERNEL";
    if (sig == SIGTRAP && code == TRAP_BRKPT) return "TRAP_BRKPT";
    if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
    if (sig == SIGSEGV && code == SI_KERNEL) return "SI_KERNEL";
    static char buf[32];
    snprintf(buf, sizeof buf, "code %d", code);
    return buf;
}

extern char fpe_insn[], ud2_insn[], hlt_insn[];

static void sync_faults_skip_insn(void) {
    /* SIGFPE (idiv by 0), SIGILL (ud2), SIGTRAP (int3), SIGSEGV (hlt in user mode):
       the handler advances RIP in the ucontext, and sigreturn resumes after the instruction */
    install(SIGFPE, on_sync, 0);
    install(SIGILL, on_sync, 0);
    install(SIGTRAP, on_sync, 0);
    install(SIGSEGV, on_sync, 0);
    long out = 7;
    __asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcqo\n"
                     "fpe_insn: idiv %%rcx\n\t"   /* 3 bytes: 48 f7 f9 */
                     : "=a"(out) : : "rcx", "rdx");
    (void)out;
    printf("SIGFPE: %s %s at insn=%d\n", sigabbrev_np(trap_sig), sync_code(trap_sig, trap_code),
           trap_addr == (void *)fpe_insn);
    __asm__ volatile("ud2_insn: ud2\n\t");
    printf("SIGILL: %s %s at insn=%d\n", sigabbrev_np(trap_sig), sync_code(trap_sig, trap_code),
           trap_addr == (void *)ud2_insn);
    __asm__ volatile("int3\n\tnop\n\t");
    printf("SIGTRAP: %s %s\n", sigabbrev_np(trap_sig), sync_code(trap_sig, trap_code));
    __asm__ volatile("hlt_insn: hlt\n\tnop\n\t");
    printf("hlt: %s %s addr=%p\n", sigabbrev_np(trap_sig), sync_code(trap_sig, trap_code), trap_addr);
    signal(SIGFPE, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGTRAP, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
}

static void on_fpe_skip3(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RIP] += 3;   /* idiv %rcx */
    uc->uc_mcontext.gregs[REG_RAX] = 1234; /* the "result" */
    hits++;
}

static void ucontext_registers(void) {
    /* a handler can change general registers through the ucontext */
    install(SIGFPE, on_fpe_skip3, 0);
    reset();
    long out;
    __asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcqo\n\tidiv %%rcx\n\t"
                     : "=a"(out) : : "rcx", "rdx");
    printf("hits=%d rax after handler=%ld\n", hits, out);
    signal(SIGFPE, SIG_DFL);
}

static void sync_signal_kills(void) {
    int kinds[] = {SIGFPE, SIGILL, SIGTRAP, SIGBUS};
    for (int i = 0; i < 4; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (kinds[i] == SIGFPE)
                __asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcqo\n\tidiv %%rcx" ::: "rax", "rcx", "rdx");
            if (kinds[i] == SIGILL) __asm__ volatile("ud2");
            if (kinds[i] == SIGTRAP) __asm__ volatile("int3");
            if (kinds[i] == SIGBUS) raise(SIGBUS);
            _exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        printf("%s: signaled=%d %s\n", sigabbrev_np(kinds[i]), WIFSIGNALED(st), sigabbrev_np(WTERMSIG(st)));
    }
    /* a blocked synchronous fault still kills (the kernel unblocks it) */
    pid_t c = fork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigprocmask(SIG_BLOCK, &s, NULL);
        signal(SIGSEGV, on_plain);
        *(volatile int *)8 = 0;
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("blocked SIGSEGV fault: %s\n", wstatus(st));
    /* an ignored synchronous fault still kills */
    c = fork();
    if (c == 0) {
        signal(SIGFPE, SIG_IGN);
        __asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcqo\n\tidiv %%rcx" ::: "rax", "rcx", "rdx");
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("ignored SIGFPE fault: signaled=%d %s\n", WIFSIGNALED(st), sigabbrev_np(WTERMSIG(st)));
}

static void fork_and_signals(void) {
    /* pending signals are not inherited; the mask and dispositions are; alarms are cleared */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    raise(SIGUSR1);
    signal(SIGUSR2, SIG_IGN);
    alarm(100);
    pid_t c = fork();
    if (c == 0) {
        sigset_t pend, cur;
        sigpending(&pend);
        sigprocmask(SIG_BLOCK, NULL, &cur);
        struct sigaction sa;
        sigaction(SIGUSR2, NULL, &sa);
        printf("child: USR1 pending=%d USR1 blocked=%d USR2 ignored=%d alarm left=%u\n",
               sigismember(&pend, SIGUSR1), sigismember(&cur, SIGUSR1), sa.sa_handler == SIG_IGN,
               alarm(0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    sigset_t pend;
    sigpending(&pend);
    printf("parent: USR1 still pending=%d\n", sigismember(&pend, SIGUSR1));
    alarm(0);
    signal(SIGUSR1, SIG_IGN);   /* discard it */
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

static void itimer_virtual_prof(void) {
    install_plain(SIGVTALRM, on_plain, 0);
    reset();
    struct itimerval it = {{0, 0}, {0, 50000}};
    R(setitimer(ITIMER_VIRTUAL, &it, NULL));
    double t0 = mono_ms();
    volatile double x = 0;
    while (!hits && mono_ms() - t0 < 1000) for (int i = 0; i < 100000; i++) x += i;
    printf("ITIMER_VIRTUAL fired after CPU use: %d (%s)\n", hits, sigabbrev_np(last_sig));
    install_plain(SIGPROF, on_plain, 0);
    reset();
    R(setitimer(ITIMER_PROF, &it, NULL));
    t0 = mono_ms();
    while (!hits && mono_ms() - t0 < 1000) for (int i = 0; i < 100000; i++) x += i;
    printf("ITIMER_PROF fired: %d (%s)\n", hits, sigabbrev_np(last_sig));
    /* sleeping does not consume virtual time */
    reset();
    setitimer(ITIMER_VIRTUAL, &it, NULL);
    msleep(100);
    struct itimerval cur;
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("after sleeping: fired=%d still armed=%d\n", hits, cur.it_value.tv_usec > 0 || cur.it_value.tv_sec > 0);
    /* Linux adds a tick (4 ms at 250 Hz) to the value set */
    printf("armed: 40ms < value <= 60ms %d, interval %ld\n", cur.it_value.tv_sec == 0 &&
           cur.it_value.tv_usec > 40000 && cur.it_value.tv_usec <= 60000, (long)cur.it_interval.tv_usec);
    /* not inherited over fork */
    pid_t c = fork();
    if (c == 0) {
        getitimer(ITIMER_VIRTUAL, &cur);
        printf("child: armed=%d\n", cur.it_value.tv_usec > 0 || cur.it_value.tv_sec > 0);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    struct itimerval zero = {0}, was;
    R(setitimer(ITIMER_VIRTUAL, &zero, &was));
    printf("disarmed, it had: 40ms < value <= 60ms %d\n", was.it_value.tv_sec == 0 &&
           was.it_value.tv_usec > 40000 && was.it_value.tv_usec <= 60000);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("now armed=%d\n", cur.it_value.tv_usec > 0 || cur.it_value.tv_sec > 0);
    /* an interval reloads: several SIGPROFs while the CPU works */
    reset();
    struct itimerval rep = {{0, 20000}, {0, 20000}};
    R(setitimer(ITIMER_PROF, &rep, NULL));
    t0 = mono_ms();
    while (hits < 3 && mono_ms() - t0 < 2000) for (int i = 0; i < 100000; i++) x += i;
    printf("ITIMER_PROF with an interval: 3 signals %d\n", hits >= 3);
    R(setitimer(ITIMER_PROF, &zero, NULL));
    R(setitimer(3, &zero, NULL));
    R(getitimer(3, &cur));
    signal(SIGVTALRM, SIG_DFL);
    signal(SIGPROF, SIG_DFL);
}

static void posix_timers(void) {
    install(SIGRTMIN, on_info, 0);
    reset();
    timer_t tid;
    struct sigevent sev = {0};
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 77;
    if (timer_create(CLOCK_MONOTONIC, &sev, &tid) == -1) {
        printf("timer_create: %s\n", en(errno));
        return;
    }
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    R(timer_settime(tid, 0, &its, NULL));
    while (hits < 3) pause();
    printf("3 ticks: sig=RTMIN+%d code=%s value=%d\n", last_sig - SIGRTMIN, code_name(last_code), last_val);
    struct itimerspec cur;
    R(timer_gettime(tid, &cur));
    printf("interval=%ldns\n", cur.it_interval.tv_nsec);
    R(timer_delete(tid));
    R(timer_delete(tid));
    signal(SIGRTMIN, SIG_DFL);
}

/* Overruns, the default sigevent, SIGEV_NONE, SIGEV_THREAD_ID, fork and the
   argument checks of the POSIX timer calls. */
static volatile sig_atomic_t timer_overrun, timer_tid_ok;
static void on_timer(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_sig = sig;
    last_code = si->si_code;
    last_val = si->si_value.sival_int;
    timer_overrun = si->si_overrun;
    timer_tid_ok = syscall(SYS_gettid) == getpid();
}

static void posix_timers_more(void) {
    timer_t a, b, c;
    struct sigevent sev = {0};
    /* a blocked signal stays queued: 5 more expiries count as its overrun */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &s, &old);
    install(SIGRTMIN + 1, on_timer, 0);
    reset();
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN + 1;
    sev.sigev_value.sival_int = 5;
    R(timer_create(CLOCK_REALTIME, &sev, &a));
    /* (20 ms apart: no second expiry between the unblock and the disarm, even on a busy machine) */
    struct itimerspec its = {{0, 20000000}, {0, 20000000}};
    R(timer_settime(a, 0, &its, NULL));
    msleep(150);
    sigprocmask(SIG_SETMASK, &old, NULL);
    struct itimerspec off = {0};
    R(timer_settime(a, 0, &off, NULL));
    printf("one signal for many expiries: hits=%d code=%s value=%d overrun>=5: %d\n", hits,
           code_name(last_code), last_val, timer_overrun >= 5);
    printf("getoverrun>=5: %d\n", timer_getoverrun(a) >= 5);
    struct itimerspec cur;
    R(timer_gettime(a, &cur));
    printf("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    /* a signal still queued when its timer is set again is dropped */
    sigprocmask(SIG_BLOCK, &s, NULL);
    reset();
    struct itimerspec soon = {{0, 0}, {0, 1000000}};
    R(timer_settime(a, 0, &soon, NULL));
    msleep(20);
    sigset_t pend;
    sigpending(&pend);
    printf("queued: %d\n", sigismember(&pend, SIGRTMIN + 1));
    R(timer_settime(a, 0, &off, NULL));
    sigpending(&pend);
    printf("after disarming: queued %d\n", sigismember(&pend, SIGRTMIN + 1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("hits=%d\n", hits);
    /* and so is one queued when its timer is deleted */
    sigprocmask(SIG_BLOCK, &s, NULL);
    R(timer_settime(a, 0, &soon, NULL));
    msleep(20);
    R(timer_delete(a));
    sigpending(&pend);
    printf("after deleting: queued %d\n", sigismember(&pend, SIGRTMIN + 1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("hits=%d\n", hits);
    /* no sigevent: SIGALRM whose value is the timer's id */
    install(SIGALRM, on_timer, 0);
    reset();
    int kid;  /* by the syscall: glibc's timer_create passes a sigevent of its own */
    R(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &kid));
    struct itimerspec once = {{0, 0}, {0, 2000000}};
    R(syscall(SYS_timer_settime, kid, 0, &once, NULL));
    while (!hits) pause();
    printf("default: sig=%s code=%s value_is_id=%d\n", sigabbrev_np(last_sig),
           code_name(last_code), last_val == kid);
    R(syscall(SYS_timer_delete, kid));
    (void)b;
    signal(SIGALRM, SIG_DFL);
    /* SIGEV_NONE: counts down, sends nothing */
    sev.sigev_notify = SIGEV_NONE;
    R(timer_create(CLOCK_REALTIME, &sev, &c));
    struct itimerspec long_one = {{0, 0}, {100, 0}};
    R(timer_settime(c, 0, &long_one, NULL));
    R(timer_gettime(c, &cur));
    printf("SIGEV_NONE counts down: %d\n", cur.it_value.tv_sec >= 99 && cur.it_value.tv_sec <= 100);
    /* TIMER_ABSTIME on the realtime clock */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = {{0, 0}, {now.tv_sec + 50, now.tv_nsec}};
    R(timer_settime(c, TIMER_ABSTIME, &abs, &cur));
    printf("old value ~100s: %d\n", cur.it_value.tv_sec >= 99);
    R(timer_gettime(c, &cur));
    printf("absolute: ~50s left: %d\n", cur.it_value.tv_sec >= 48 && cur.it_value.tv_sec <= 50);
    /* a forked child has no timers */
    pid_t pid = fork();
    if (pid == 0) {
        errno = 0;
        int r = timer_gettime(c, &cur);
        printf("child: timer_gettime %d %s\n", r, en(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    R(timer_delete(c));
    /* SIGEV_THREAD_ID: to this thread */
    install(SIGRTMIN + 2, on_timer, 0);
    reset();
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN + 2;
    sev._sigev_un._tid = syscall(SYS_gettid);
    R(timer_create(CLOCK_MONOTONIC, &sev, &a));
    R(timer_settime(a, 0, &once, NULL));
    while (!hits) pause();
    printf("thread id: hits=%d to us=%d\n", hits, timer_tid_ok);
    R(timer_delete(a));
    /* bad arguments */
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev._sigev_un._tid = 999999;
    R(timer_create(CLOCK_MONOTONIC, &sev, &a));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 200;
    R(timer_create(CLOCK_MONOTONIC, &sev, &a));
    sev.sigev_notify = 77;
    sev.sigev_signo = SIGRTMIN;
    R(timer_create(CLOCK_MONOTONIC, &sev, &a));
    R(timer_create(12345, NULL, &a));
    R(syscall(SYS_timer_settime, 4242, 0, &once, NULL));
    R(syscall(SYS_timer_gettime, 4242, &cur));
    R(syscall(SYS_timer_getoverrun, 4242));
    R(syscall(SYS_timer_delete, 4242));
    R(timer_create(CLOCK_MONOTONIC, NULL, &a));
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    R(timer_settime(a, 0, &bad, NULL));
    R(syscall(SYS_timer_settime, (long)a, 0, NULL, NULL));
    R(timer_delete(a));
    /* exec deletes them */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 2; i++)
            if (timer_create(CLOCK_MONOTONIC, NULL, &a) != 0) _exit(1);
        execl("/proc/self/exe", "signals", "timers_after_exec", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    signal(SIGRTMIN + 1, SIG_DFL);
    signal(SIGRTMIN + 2, SIG_DFL);
}

static void timers_after_exec(void) {
    struct itimerspec cur;
    for (int id = 0; id < 4; id++)
        R(syscall(SYS_timer_gettime, id, &cur));
}

static void signalfd_read(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int fd = signalfd(-1, &s, SFD_CLOEXEC);
    if (fd < 0) { printf("signalfd: %s\n", en(errno)); return; }
    raise(SIGUSR2);
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 31});
    struct signalfd_siginfo si[2];
    ssize_t n = read(fd, si, sizeof si);
    printf("read %zd bytes = %zd infos\n", n, n / (ssize_t)sizeof si[0]);
    for (int i = 0; i < n / (ssize_t)sizeof si[0]; i++)
        printf("  %s code=%s int=%d pid_ok=%d\n", sigabbrev_np(si[i].ssi_signo), code_name(si[i].ssi_code),
               si[i].ssi_int, si[i].ssi_pid == (uint32_t)getpid());
    fcntl(fd, F_SETFL, O_NONBLOCK);
    R(read(fd, si, sizeof si));
    close(fd);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void kill_process_group_and_broadcast(void) {
    /* kill(0, sig) reaches the whole process group, including the sender (in a new group, so
       the test runner's group is never hit) */
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        signal(SIGUSR1, on_plain);
        reset();
        pid_t c = fork();
        if (c == 0) {
            signal(SIGUSR1, SIG_DFL);
            for (;;) pause();
        }
        usleep(10000);
        R(kill(0, SIGUSR1));
        int st;
        waitpid(c, &st, 0);
        printf("member of our group: %s; sender's handler ran: %d\n", wstatus(st), hits);
        _exit(0);
    }
    waitpid(leader, NULL, 0);
    int st;
    pid_t c;
    /* zombies can still be signalled (kill returns 0) */
    c = fork();
    if (c == 0) _exit(0);
    usleep(20000);
    R(kill(c, 0));
    R(kill(c, SIGTERM));
    waitpid(c, &st, 0);
    printf("zombie reaped: %s\n", wstatus(st));
    R(kill(c, 0));
}

static void sigcont_handler_and_stop_ignored(void) {
    install_plain(SIGCONT, on_plain, 0);
    reset();
    raise(SIGCONT);
    printf("SIGCONT handler ran: %d\n", hits);
    signal(SIGCONT, SIG_DFL);
    /* SIGTSTP with SIG_IGN does not stop */
    signal(SIGTSTP, SIG_IGN);
    raise(SIGTSTP);
    printf("ignored TSTP: still running\n");
    signal(SIGTSTP, SIG_DFL);
}

static int orphan_pipe = -1;
static void orphan_note(int sig) {
    const char *m = sig == SIGHUP ? "hup\n" : "cont\n";
    write(orphan_pipe, m, strlen(m));
}

/* When its parent exits, a process group left with no parent in another
   group of the session is orphaned: stopped members get SIGHUP then SIGCONT,
   and terminal stop signals (SIGTSTP) to it are dropped. */
static void orphaned_pgrp(void) {
    int p[2];
    pipe(p);
    orphan_pipe = p[1];
    pid_t a = fork();
    if (a == 0) {
        pid_t b = fork();
        if (b == 0) {
            close(p[0]);
            setpgid(0, 0);
            signal(SIGHUP, orphan_note);
            signal(SIGCONT, orphan_note);
            raise(SIGSTOP);
            /* now orphaned (our parent is gone): SIGTSTP is dropped */
            raise(SIGTSTP);
            write(p[1], "tstp dropped\n", 13);
            _exit(0);
        }
        int st;
        waitpid(b, &st, WUNTRACED);
        printf("b stopped: %d\n", WIFSTOPPED(st));
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    int st;
    waitpid(a, &st, 0);
    char buf[128];
    int n = 0, r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += r;
    buf[n] = 0;
    printf("%s", buf);
    close(p[0]);
}

MAIN(SECTION(siginfo_fields), SECTION(sigaction_query), SECTION(mask_and_pending),
     SECTION(rt_queue), SECTION(suspend), SECTION(ignore_and_default),
     SECTION(resethand_nodefer), SECTION(segv_si_addr), SECTION(segv_in_handler_context),
     SECTION(altstack), SECTION(stack_overflow_on_altstack), SECTION(restart_semantics),
     SECTION(alarm_and_itimer), SECTION(alarm_kills_by_default), SECTION(timedwait),
     SECTION(kill_errors), SECTION(handler_mask_from_sa_mask), SECTION(nested_signals),
     SECTION(fpu_preserved), SECTION(bad_fp_frame), SECTION(sync_faults_skip_insn), SECTION(ucontext_registers),
     SECTION(sync_signal_kills), SECTION(fork_and_signals), SECTION(itimer_virtual_prof),
     SECTION(posix_timers), SECTION(posix_timers_more), SECTION(timers_after_exec),
     SECTION(signalfd_read), SECTION(kill_process_group_and_broadcast),
     SECTION(sigcont_handler_and_stop_ignored), SECTION(orphaned_pgrp))
