/* pthreads: create/join, mutex, condvar, barrier, rwlock, TLS, atomics, thread signals,
   exit from a thread, fork from a thread, detached threads. */
#include "common.h"
#include <pthread.h>
#include <semaphore.h>

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

MAIN(SECTION(mutex_count), SECTION(atomics), SECTION(condvar_queue), SECTION(barrier),
     SECTION(tls), SECTION(ids), SECTION(thread_directed_signal),
     SECTION(process_signal_to_unblocked_thread), SECTION(fork_from_thread), SECTION(detached),
     SECTION(many_threads), SECTION(rwlock), SECTION(cond_timeout),
     SECTION(main_thread_exits_group), SECTION(exit_from_thread), SECTION(pthread_exit_main))
