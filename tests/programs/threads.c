/* pthreads: create/join, mutex, condvar, barrier, rwlock, TLS, atomics, thread signals,
   exit from a thread, fork from a thread, detached threads. */
#include "common.h"
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#define NT 8

static long counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *count_worker(void *arg) {
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    return (void *)(n * 2);
}

static void mutex_count(void) {
    pthread_t t[NT];
    counter = 0;
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, count_worker, (void *)20000L);
    long sum = 0;
    for (int i = 0; i < NT; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        sum += (long)ret;
    }
    printf("8 threads x 20000 increments: counter=%ld joined sum=%ld\n", counter, sum);
}

static long atomic_counter;
static void *atomic_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 50000; i++) __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void atomics(void) {
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, atomic_worker, NULL);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    printf("atomic counter=%ld\n", atomic_counter);
}

#define QN 16
static int queue[QN], qhead, qtail, qcount, done_producing;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;

static void *producer(void *arg) {
    long base = (long)arg;
    for (int i = 1; i <= 2000; i++) {
        pthread_mutex_lock(&qmu);
        while (qcount == QN) pthread_cond_wait(&not_full, &qmu);
        queue[qtail] = base + i;
        qtail = (qtail + 1) % QN;
        qcount++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qmu);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long sum = 0, n = 0;
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&qmu);
        while (qcount == 0 && !done_producing) pthread_cond_wait(&not_empty, &qmu);
        if (qcount == 0 && done_producing) { pthread_mutex_unlock(&qmu); break; }
        sum += queue[qhead];
        qhead = (qhead + 1) % QN;
        qcount--;
        n++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qmu);
    }
    long *r = malloc(2 * sizeof(long));
    r[0] = sum;
    r[1] = n;
    return r;
}

static void condvar_queue(void) {
    pthread_t p[3], c[3];
    for (long i = 0; i < 3; i++) pthread_create(&c[i], NULL, consumer, NULL);
    for (long i = 0; i < 3; i++) pthread_create(&p[i], NULL, producer, (void *)(i * 100000));
    for (int i = 0; i < 3; i++) pthread_join(p[i], NULL);
    pthread_mutex_lock(&qmu);
    done_producing = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qmu);
    long sum = 0, n = 0;
    for (int i = 0; i < 3; i++) {
        long *r;
        pthread_join(c[i], (void **)&r);
        sum += r[0];
        n += r[1];
    }
    printf("consumed n=%ld sum=%ld\n", n, sum);
}

static pthread_barrier_t bar;
static int phase_seen[NT];
static int phase;
static void *barrier_worker(void *arg) {
    long id = (long)arg;
    for (int round = 0; round < 10; round++) {
        if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_fetch_add(&phase, 1, __ATOMIC_SEQ_CST);
        pthread_barrier_wait(&bar);
        phase_seen[id] += __atomic_load_n(&phase, __ATOMIC_SEQ_CST) == round + 1;
    }
    return NULL;
}

static void barrier(void) {
    pthread_t t[NT];
    pthread_barrier_init(&bar, NULL, NT);
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, barrier_worker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    int ok = 1;
    for (int i = 0; i < NT; i++) ok &= phase_seen[i] == 10;
    printf("10 barrier rounds, all threads in step: %d phase=%d\n", ok, phase);
}

static __thread int tls_value = 7;
static void *tls_worker(void *arg) {
    long id = (long)arg;
    int first = tls_value;
    tls_value = (int)id * 100;
    usleep(2000);
    return (void *)(long)(first == 7 && tls_value == id * 100);
}

static void tls(void) {
    pthread_t t[NT];
    tls_value = 1;
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, tls_worker, (void *)i);
    int ok = 1;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok &= (long)r == 1;
    }
    printf("TLS independent: %d main still %d\n", ok, tls_value);
}

static pid_t main_tid;
static void *ids_worker(void *arg) {
    pid_t *out = arg;
    out[0] = getpid();
    out[1] = gettid();
    return NULL;
}

static void ids(void) {
    pid_t got[NT][2];
    pthread_t t[NT];
    main_tid = gettid();
    for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, ids_worker, got[i]);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    int same_pid = 1, distinct = 1;
    for (int i = 0; i < NT; i++) {
        same_pid &= got[i][0] == getpid();
        distinct &= got[i][1] != getpid();
        for (int j = 0; j < i; j++) distinct &= got[i][1] != got[j][1];
    }
    printf("main tid==pid: %d; threads share pid: %d; tids distinct: %d\n", main_tid == getpid(),
           same_pid, distinct);
}

static volatile pid_t handler_tid;
static void on_usr1(int s) { (void)s; handler_tid = gettid(); }
static sem_t ready, go;
static pid_t worker_tid;
static void *sig_target(void *arg) {
    (void)arg;
    worker_tid = gettid();
    sem_post(&ready);
    sem_wait(&go);
    return NULL;
}

static void thread_directed_signal(void) {
    signal(SIGUSR1, on_usr1);
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, sig_target, NULL);
    sem_wait(&ready);
    pthread_kill(t, SIGUSR1);
    while (handler_tid == 0) usleep(1000);
    printf("pthread_kill handled in target thread: %d\n", handler_tid == worker_tid);
    sem_post(&go);
    pthread_join(t, NULL);
    R(pthread_kill(pthread_self(), 0));
    signal(SIGUSR1, SIG_DFL);
}

static void *blocker(void *arg) {
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    int sig;
    sigwait(&s, &sig);
    return (void *)(long)sig;
}

static void process_signal_to_unblocked_thread(void) {
    /* main blocks USR1; a process-directed kill() must go to the thread that waits for it */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    pthread_t t;
    pthread_create(&t, NULL, blocker, NULL);
    usleep(20000);
    kill(getpid(), SIGUSR1);
    void *r;
    pthread_join(t, &r);
    printf("sigwait in thread got %s\n", sigabbrev_np((int)(long)r));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void *exiter(void *arg) {
    (void)arg;
    usleep(10000);
    printf("thread calls exit(4)\n");
    exit(4);
}

static void exit_from_thread(void) {
    pthread_t t;
    pthread_create(&t, NULL, exiter, NULL);
    for (;;) pause();
}

static void *sleeper(void *arg) { (void)arg; for (;;) pause(); return NULL; }

static void main_thread_exits_group(void) {
    /* returning from main (exit_group) ends all threads */
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, sleeper, NULL);
    printf("main returns with 4 threads blocked\n");
    exit(6);
}

static void *late_print(void *arg) {
    (void)arg;
    usleep(20000);
    printf("last thread still running after main's pthread_exit\n");
    return NULL;
}

static void pthread_exit_main(void) {
    pthread_t t;
    pthread_create(&t, NULL, late_print, NULL);
    pthread_exit(NULL);
}

static void *forker(void *arg) {
    (void)arg;
    pid_t c = fork();
    if (c == 0) {
        /* only the forking thread exists in the child */
        printf("child of thread: alive\n");
        _exit(12);
    }
    int st;
    waitpid(c, &st, 0);
    return (void *)(long)st;
}

static void fork_from_thread(void) {
    pthread_t t, s;
    pthread_create(&s, NULL, sleeper, NULL);
    pthread_create(&t, NULL, forker, NULL);
    void *r;
    pthread_join(t, &r);
    printf("forked from thread: %s\n", wstatus((int)(long)r));
}

static int detached_done;
static void *detached_fn(void *arg) {
    (void)arg;
    __atomic_fetch_add(&detached_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void detached(void) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 16; i++) {
        pthread_t t;
        pthread_create(&t, &a, detached_fn, NULL);
    }
    while (__atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) < 16) usleep(1000);
    printf("16 detached threads ran\n");
}

static void many_threads(void) {
    /* 200 short-lived threads, 8 at a time */
    long total = 0;
    counter = 0;
    for (int round = 0; round < 25; round++) {
        pthread_t t[8];
        for (long i = 0; i < 8; i++) pthread_create(&t[i], NULL, count_worker, (void *)100L);
        for (int i = 0; i < 8; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (long)r;
        }
    }
    printf("200 threads: counter=%ld total=%ld\n", counter, total);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_value;
static void *rw_worker(void *arg) {
    long id = (long)arg;
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        if (id % 2) {
            pthread_rwlock_wrlock(&rw);
            rw_value++;
            rw_value++;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            bad += rw_value % 2;
            pthread_rwlock_unlock(&rw);
        }
    }
    return (void *)bad;
}

static void rwlock(void) {
    pthread_t t[NT];
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, rw_worker, (void *)i);
    long bad = 0;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("rwlock: value=%ld torn reads=%ld\n", rw_value, bad);
}

static void *timed_waiter(void *arg) {
    (void)arg;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 30 * 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &ts);
    pthread_mutex_unlock(&m);
    return (void *)(long)r;
}

static void cond_timeout(void) {
    pthread_t t;
    double t0 = mono_ms();
    pthread_create(&t, NULL, timed_waiter, NULL);
    void *r;
    pthread_join(t, &r);
    double el = mono_ms() - t0;
    printf("pthread_cond_timedwait: %s after >=25ms %d\n", en((int)(long)r), el >= 25);
}

static long futex(int *uaddr, int op, int val, const struct timespec *ts, int *uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static int fword;
static void *futex_waiter(void *arg) {
    (void)arg;
    long r = futex(&fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return (void *)r;
}

static void futex_ops(void) {
    int w = 5;
    struct timespec ts = {0, 20000000};
    R(futex(&w, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));      /* value differs: EAGAIN */
    double t0 = mono_ms();
    R(futex(&w, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0));       /* times out */
    printf("waited >= 15ms: %d\n", mono_ms() - t0 >= 15);
    R(futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));      /* nobody waiting */
    R(futex(&w, 99, 0, NULL, NULL, 0));
    R(futex((int *)((char *)&w + 1), FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));  /* misaligned */
    /* absolute timeout with FUTEX_WAIT_BITSET on CLOCK_MONOTONIC */
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 20000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    R(futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
    /* wake 3 of 4 waiters, then requeue the rest onto another word and wake it */
    pthread_t t[4];
    fword = 0;
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, futex_waiter, NULL);
    usleep(50000);
    long woken = futex(&fword, FUTEX_WAKE_PRIVATE, 3, NULL, NULL, 0);
    printf("woken=%ld\n", woken);
    int other = 0;
    usleep(20000);
    long moved = futex(&fword, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(long)10, &other, 0);
    printf("requeued=%ld\n", moved);
    long w2 = futex(&other, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
    printf("woken from other word=%ld\n", w2);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    R(futex(&fword, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(long)10, &other, 1));  /* val3 mismatch */
}

static int shared_word_proc;
static void futex_shared_across_fork(void) {
    /* a non-private futex on a MAP_SHARED page wakes a waiter in another process */
    int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *word = 0;
    pid_t c = fork();
    if (c == 0) {
        while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0)
            futex(word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(*word);
    }
    usleep(30000);
    __atomic_store_n(word, 9, __ATOMIC_SEQ_CST);
    long n = futex(word, FUTEX_WAKE, 1, NULL, NULL, 0);
    int st;
    waitpid(c, &st, 0);
    printf("woke %ld in child; child %s\n", n, wstatus(st));
    (void)shared_word_proc;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL;   /* exits holding it */
}

static void robust_mutex(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&robust);
    printf("lock after owner died: %s\n", r ? en(r) : "0");
    if (r == EOWNERDEAD) {
        printf("consistent: %d\n", pthread_mutex_consistent(&robust));
        pthread_mutex_unlock(&robust);
    }
    /* across processes: a robust mutex in shared memory, owner process dies */
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    pid_t c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r = pthread_mutex_lock(m);
    printf("shared lock after owner process died: %s\n", r ? en(r) : "0");
}

static pthread_mutex_t *pi_held;
static sem_t pi_locked;
static void *pi_holder(void *arg) {
    (void)arg;
    pthread_mutex_lock(pi_held);
    sem_post(&pi_locked);
    usleep(50000);
    pthread_mutex_unlock(pi_held);
    return NULL;
}

static void *pi_dier(void *arg) {
    (void)arg;
    pthread_mutex_lock(pi_held);
    return NULL;   /* ends holding it */
}

static void *pi_slow_dier(void *arg) {
    (void)arg;
    pthread_mutex_lock(pi_held);
    sem_post(&pi_locked);
    usleep(30000);
    return NULL;   /* ends holding it, a thread waiting for it */
}

static void pi_mutex(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_t m;
    int ir = pthread_mutex_init(&m, &a);
    printf("init PTHREAD_PRIO_INHERIT mutex: %s\n", ir ? en(ir) : "0");
    /* a contended lock: main blocks in FUTEX_LOCK_PI while a thread holds it */
    pi_held = &m;
    pthread_t h;
    sem_init(&pi_locked, 0, 0);
    pthread_create(&h, NULL, pi_holder, NULL);
    sem_wait(&pi_locked);
    int r = pthread_mutex_lock(&m);
    printf("contended PI lock: %s\n", r ? en(r) : "0");
    pthread_mutex_unlock(&m);
    pthread_join(h, NULL);
    counter = 0;
    pthread_mutex_t saved = mu;
    mu = m;
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, count_worker, (void *)5000L);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("PI mutex counter=%ld\n", counter);
    mu = saved;
    /* trylock and timedlock while another thread holds it */
    pthread_create(&h, NULL, pi_holder, NULL);
    sem_wait(&pi_locked);
    printf("trylock held: %s\n", en(pthread_mutex_trylock(&m)));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 5000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    printf("timedlock held: %s\n", en(pthread_mutex_timedlock(&m, &ts)));
    pthread_join(h, NULL);
    /* a robust PI mutex whose owner died: EOWNERDEAD for the next */
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t rm;
    pthread_mutex_init(&rm, &a);
    pi_held = &rm;
    pthread_create(&h, NULL, pi_dier, NULL);
    pthread_join(h, NULL);
    r = pthread_mutex_lock(&rm);
    printf("robust PI lock after its owner died: %s\n", en(r));
    if (r == EOWNERDEAD) pthread_mutex_consistent(&rm);
    pthread_mutex_unlock(&rm);
    /* ... and one waiting in the kernel when the owner dies takes it over */
    pthread_create(&h, NULL, pi_slow_dier, NULL);
    sem_wait(&pi_locked);
    r = pthread_mutex_lock(&rm);
    printf("robust PI lock waiting as its owner died: %s\n", en(r));
    if (r == EOWNERDEAD) pthread_mutex_consistent(&rm);
    pthread_mutex_unlock(&rm);
    pthread_join(h, NULL);
    /* the raw ops */
    uint32_t w = 0;
    R(syscall(SYS_futex, &w, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, &w, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    printf("word is our tid: %d\n", w == (uint32_t)gettid());
    R(syscall(SYS_futex, &w, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, &w, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, &w, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, &w, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
    printf("word after unlock: %u\n", w);
    w = 0x3ffffff0;   /* no such thread */
    R(syscall(SYS_futex, &w, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, &w, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
    R(syscall(SYS_futex, (void *)8, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
}

static void *cancel_me(void *arg) {
    (void)arg;
    char b;
    int p[2];
    pipe(p);
    read(p[0], &b, 1);   /* blocks forever: a cancellation point */
    return (void *)1;
}

static void cancellation(void) {
    pthread_t t;
    pthread_create(&t, NULL, cancel_me, NULL);
    usleep(30000);
    R(pthread_cancel(t));
    void *r;
    pthread_join(t, &r);
    printf("joined: canceled=%d\n", r == PTHREAD_CANCELED);
}

static void *named(void *arg) {
    (void)arg;
    sem_wait(&go);
    return NULL;
}

static void thread_names(void) {
    sem_init(&go, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, named, NULL);
    R(pthread_setname_np(t, "worker-7"));
    char name[32] = {0};
    R(pthread_getname_np(t, name, sizeof name));
    printf("name=%s\n", name);
    R(pthread_setname_np(t, "this-name-is-far-too-long"));
    prctl(PR_SET_NAME, "main-thread");
    prctl(PR_GET_NAME, name);
    printf("prctl name=%s\n", name);
    char path[64], buf[32] = {0};
    snprintf(path, sizeof path, "/proc/self/comm");
    int fd = open(path, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("/proc/self/comm=%s", buf);
    sem_post(&go);
    pthread_join(t, NULL);
}

static volatile int deep_hits;
static void *overflow_thread(void *arg) {
    (void)arg;
    volatile char buf[1 << 16];
    buf[0] = 1;
    deep_hits++;
    overflow_thread(NULL);
    return (void *)(long)buf[0];
}

static void thread_stack_overflow(void) {
    /* a thread overflowing its (small) stack hits the guard page: SIGSEGV kills the process */
    pid_t c = fork();
    if (c == 0) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 1 << 20);
        pthread_t t;
        pthread_create(&t, &a, overflow_thread, NULL);
        pthread_join(t, NULL);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void affinity_and_yield(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    R(sched_getaffinity(0, sizeof set, &set) > 0);
    printf("at least one cpu: %d\n", CPU_COUNT(&set) >= 1);
    R(sched_yield());
    R(sched_getscheduler(0));
    struct sched_param sp;
    R(sched_getparam(0, &sp));
    printf("priority=%d\n", sp.sched_priority);
}

MAIN(SECTION(mutex_count), SECTION(atomics), SECTION(condvar_queue), SECTION(barrier),
     SECTION(tls), SECTION(ids), SECTION(thread_directed_signal),
     SECTION(process_signal_to_unblocked_thread), SECTION(fork_from_thread), SECTION(detached),
     SECTION(many_threads), SECTION(rwlock), SECTION(cond_timeout), SECTION(futex_ops),
     SECTION(futex_shared_across_fork), SECTION(robust_mutex), SECTION(pi_mutex),
     SECTION(cancellation), SECTION(thread_names), SECTION(thread_stack_overflow),
     SECTION(affinity_and_yield),
     SECTION(main_thread_exits_group), SECTION(exit_from_thread), SECTION(pthread_exit_main))
