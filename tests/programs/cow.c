/* fork's private memory is copied on write (sentry/mm/mm.py MM.fork): after
   a fork each side sees only its own writes, whoever writes (the app, or the
   kernel on its behalf: read(2) into a buffer, a futex word), however the
   memory is changed later (mprotect, mremap, madvise, munmap), and with
   threads running while the parent forks. */
#define _GNU_SOURCE
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MB (1 << 20)
/* Bigger than what fork copies at once (mm.py FORK_COPY_MAX): shared, copy on write. */
#define SHARED_SIZE (256 << 10)

static void *shared_map(void) {
    return mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static unsigned long sum(const unsigned char *p, size_t n) {
    unsigned long s = 0;
    for (size_t i = 0; i < n; i += 4096) s += p[i] + (unsigned long)i * p[i];
    return s;
}

/* Both sides write the same pages after the fork, many times over. */
static void both_write(void) {
    size_t n = 8 * MB;
    unsigned char *big = malloc(n);
    memset(big, 1, n);
    static int counter = 100;
    for (int round = 0; round < 3; round++) {
        pid_t c = fork();
        if (c == 0) {
            counter += 1000;
            for (size_t i = 0; i < n; i += 8192) big[i] = 7;
            printf("child %d: counter %d, sum %lu\n", round, counter, sum(big, n));
            _exit(0);
        }
        counter += 1;
        big[4096 * round] = 9;
        int st;
        waitpid(c, &st, 0);
        printf("parent %d: counter %d, sum %lu, child %s\n", round, counter, sum(big, n), wstatus(st));
    }
    free(big);
}

/* The kernel writes into inherited memory for the app: read(2), a wait
   status, an rt_sigaction old action. */
static void kernel_writes(void) {
    char *buf = shared_map();
    int *statusp = (int *)(buf + 128 * 1024);
    strcpy(buf, "parent's buffer");
    *statusp = -1;
    int p[2];
    if (pipe(p)) _exit(3);
    pid_t c = fork();
    if (c == 0) {
        R(read(p[0], buf, 63));
        pid_t g = fork();
        if (g == 0) _exit(5);
        waitpid(g, statusp, 0);
        printf("child: buf \"%s\", status %s\n", buf, wstatus(*statusp));
        _exit(0);
    }
    if (write(p[1], "from the pipe", 13) != 13) _exit(3);
    waitpid(c, NULL, 0);
    printf("parent: buf \"%s\", status %d\n", buf, *statusp);
}

static int *futex_word;  /* alone in its mapping: nothing else writes it */

static void *waiter(void *arg) {
    (void)arg;
    while (__atomic_load_n(futex_word, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

/* A futex word inherited from the parent: a thread of the child waits on
   it, another writes it (which gives the child its own copy of the page)
   and wakes the waiter, which must wake. */
static void futex_after_fork(void) {
    futex_word = shared_map();
    *futex_word = 0;
    pid_t c = fork();
    if (c == 0) {
        pthread_t t;
        pthread_create(&t, NULL, waiter, NULL);
        msleep(50);  /* the waiter is asleep on the word */
        __atomic_store_n(futex_word, 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        pthread_join(t, NULL);
        printf("child: waiter woke\n");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("parent: word %d, child %s\n", *futex_word, wstatus(st));
}

/* Inherited memory changed by the child in other ways. */
static void remap_protect_discard(void) {
    size_t n = SHARED_SIZE;
    unsigned char *m = shared_map();
    memset(m, 3, n);
    unsigned char *ro = shared_map();
    ro[0] = 4;
    mprotect(ro, SHARED_SIZE, PROT_READ);
    pid_t c = fork();
    if (c == 0) {
        R(madvise(m, 4096, MADV_DONTNEED));
        printf("child: after DONTNEED %d %d\n", m[0], m[4096]);
        R(mprotect(m + 4096, 4096, PROT_READ));
        R(mprotect(m + 4096, 4096, PROT_READ | PROT_WRITE));
        m[4096] = 8;
        unsigned char *moved = mremap(m + 8 * 4096, 8 * 4096, 16 * 4096, MREMAP_MAYMOVE);
        moved[0] = 9;
        printf("child: %d %d %d %d\n", m[0], m[4096], moved[0], moved[4096]);
        pid_t g = fork();  /* a grandchild of the same pages */
        if (g == 0) {
            ro[0] = 5;  /* read-only: SIGSEGV, not a copy */
            _exit(0);
        }
        int st;
        waitpid(g, &st, 0);
        printf("grandchild writing read-only memory: %s\n", wstatus(st));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    R(munmap(m + 2 * 4096, 4096));
    printf("parent: %d %d %d %d, ro %d\n", m[0], m[4096], m[8 * 4096], m[15 * 4096], ro[0]);
}

static volatile int spinning = 1;
static volatile unsigned long *ticks;

static void *ticker(void *arg) {
    (void)arg;
    while (spinning) (*ticks)++;
    return NULL;
}

/* A thread keeps writing while its process forks: the child's copy is the
   memory as of the fork, and stays so. */
static void fork_while_writing(void) {
    ticks = shared_map();
    pthread_t t;
    pthread_create(&t, NULL, ticker, NULL);
    msleep(20);
    int p[2];
    if (pipe(p)) _exit(3);
    for (int i = 0; i < 5; i++) {
        pid_t c = fork();
        if (c == 0) {
            unsigned long a = *ticks;
            msleep(20);
            char ok = *ticks == a ? 'y' : 'n';
            if (write(p[1], &ok, 1) != 1) _exit(3);
            _exit(0);
        }
        waitpid(c, NULL, 0);
    }
    spinning = 0;
    pthread_join(t, NULL);
    char r[6] = {0};
    if (read(p[0], r, 5) != 5) _exit(3);
    printf("children whose memory stayed as at their fork: %s\n", r);
}

MAIN(SECTION(both_write), SECTION(kernel_writes), SECTION(futex_after_fork),
     SECTION(remap_protect_discard), SECTION(fork_while_writing))
