/* Tight loops of syscalls (each its own patched site after two traps, on
   systrap the kernel's fast cycle: sentry/kernel.py _syscall) while the
   kernel has other work: a signal the loop sends itself, timers of the
   process and of another thread, a child, a futex partner. Each such event
   must be seen at the same syscall as natively, or at least soon. */
#include "common.h"
#include <pthread.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile long handled;
static void on_sig(int sig) { (void)sig; handled++; }

static void catch(int sig) {
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sigaction(sig, &sa, NULL);
}

/* Linux delivers a signal a thread sends itself before kill returns. */
static void self_signal(void) {
    catch(SIGUSR1);
    long late = 0;
    pid_t me = getpid();
    for (long i = 0; i < 20000; i++) {
        kill(me, SIGUSR1);
        if (handled != i + 1) late++;
    }
    printf("handled %ld, late %ld\n", handled, late);
}

/* A blocked signal stays pending through any number of syscalls and is
   delivered as sigprocmask unblocks it. */
static void blocked_signal(void) {
    catch(SIGUSR2);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 5000; i++) getppid();
    printf("while blocked: %ld\n", handled);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("after unblock: %ld\n", handled);
}

/* Timers of the process end while it makes syscalls: an interval timer's
   signals come, and a one-shot timer's comes on time (natively within a
   tick of its expiry; the margin here is 250 ms). */
static void itimer_in_loop(void) {
    catch(SIGALRM);
    long before = handled;
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    while (handled < before + 10) getppid();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("ticks seen: %s\n", handled >= before + 10 ? "yes" : "no");
    int late = 0;
    for (int round = 0; round < 5; round++) {
        before = handled;
        struct itimerval once = {{0, 0}, {0, 2000}};
        double t0 = mono_ms();
        setitimer(ITIMER_REAL, &once, NULL);
        while (handled == before) getppid();
        if (mono_ms() - t0 > 250) late++;
    }
    printf("one-shot timers late: %d\n", late);
}

static volatile int woke;
static void *sleeper(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        msleep(1);
        woke++;
    }
    return NULL;
}

/* Another thread's sleeps end while this one makes syscalls. */
static void sleeping_thread(void) {
    pthread_t th;
    pthread_create(&th, NULL, sleeper, NULL);
    while (woke < 20) getppid();
    pthread_join(th, NULL);
    printf("woke %d times\n", woke);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn, rounds = 5000;

static void *partner(void *arg) {
    long me = (long)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&mu);
        while (turn != me) pthread_cond_wait(&cv, &mu);
        turn = !me;
        getppid();
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

/* Two threads that take turns: each wakes the other with a futex. */
static void futex_turns(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, partner, (void *)0L);
    pthread_create(&b, NULL, partner, (void *)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("turns done, turn %d\n", turn);
}

/* A child sleeps and writes; the parent polls a non-blocking pipe. */
static void child_writes(void) {
    int p[2];
    if (pipe2(p, O_NONBLOCK)) return;
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 5; i++) {
            msleep(1);
            if (write(p[1], "x", 1) != 1) _exit(2);
        }
        _exit(0);
    }
    int got = 0;
    char ch;
    while (got < 5) {
        if (read(p[0], &ch, 1) == 1) got++;
        getppid();
    }
    int st;
    waitpid(c, &st, 0);
    printf("got %d, child %s\n", got, wstatus(st));
}

/* Errors returned in a loop keep their values. */
static void errors_in_loop(void) {
    long ebadf = 0, efault = 0, enoent = 0;
    for (int i = 0; i < 3000; i++) {
        char c;
        if (read(-1, &c, 1) == -1 && errno == EBADF) ebadf++;
        if (fstat(0, (struct stat *)8) == -1 && errno == EFAULT) efault++;
        if (access("/nonexistent/hot_loop", F_OK) == -1 && errno == ENOENT) enoent++;
    }
    printf("EBADF %ld, EFAULT %ld, ENOENT %ld\n", ebadf, efault, enoent);
}

/* The fs base set in a loop (arch_prctl, as a thread library or a
   language runtime does) is the one the next instructions use: each round
   points fs at another block and reads through it. Raw syscalls only while
   fs is not libc's (its TLS lives there). */
static long raw2(long nr, long a, long b) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

static void fs_base_in_loop(void) {
    static long blocks[2][2] = {{0x1111, 0}, {0x2222, 0}};
    unsigned long libc_fs;
    long wrong = 0, failed = 0;
    if (raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&libc_fs)) failed++;
    for (int i = 0; i < 4000; i++) {
        long want = blocks[i & 1][0], got;
        if (raw2(SYS_arch_prctl, ARCH_SET_FS, (long)blocks[i & 1])) failed++;
        raw2(SYS_getppid, 0, 0);
        __asm__ volatile("mov %%fs:0, %0" : "=r"(got));
        if (raw2(SYS_arch_prctl, ARCH_SET_FS, (long)libc_fs)) failed++;
        if (got != want) wrong++;
    }
    printf("wrong %ld, failed %ld\n", wrong, failed);
}

int main(int argc, char **argv) {
    struct section secs[] = {
        SECTION(self_signal), SECTION(blocked_signal), SECTION(itimer_in_loop),
        SECTION(sleeping_thread), SECTION(futex_turns), SECTION(child_writes),
        SECTION(errors_in_loop), SECTION(fs_base_in_loop),
    };
    return run_sections(secs, sizeof secs / sizeof secs[0], argc, argv);
}
