/* Shared helpers for the A/B test programs.
 *
 * Each program is a list of independent sections.  `prog` runs them all,
 * `prog NAME...` runs the named ones, `prog --list` prints their names.
 * Output must be deterministic and identical natively and under Bastion:
 * no pids, addresses, timestamps or timing-dependent values (print
 * comparisons such as "ok"/booleans instead).  stdout is unbuffered so
 * output order survives fork() and abnormal exits.
 */
#ifndef BASTION_TEST_COMMON_H
#define BASTION_TEST_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

static inline const char *en(int e) {
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

/* R(expr): evaluate a syscall-like expression; print "expr = N" or "expr = -1 ENAME". */
#define R(x) do { errno = 0; long _r = (long)(x); \
    if (_r == -1) printf("%s = -1 %s\n", #x, en(errno)); \
    else printf("%s = %ld\n", #x, _r); } while (0)

/* E(expr): like R, but only prints whether it succeeded (hides values such as pids). */
#define E(x) do { errno = 0; long _r = (long)(x); \
    if (_r == -1) printf("%s = -1 %s\n", #x, en(errno)); \
    else printf("%s = ok\n", #x); } while (0)

/* CHECK(cond): print the condition and whether it holds. */
#define CHECK(c) printf("%s: %s\n", #c, (c) ? "yes" : "NO")

static inline const char *wstatus(int st) {
    static char buf[64];
    if (WIFEXITED(st)) snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "killed %s%s", sigabbrev_np(WTERMSIG(st)),
                                       WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st)) snprintf(buf, sizeof buf, "stopped %s", sigabbrev_np(WSTOPSIG(st)));
    else if (WIFCONTINUED(st)) snprintf(buf, sizeof buf, "continued");
    else snprintf(buf, sizeof buf, "status %#x", st);
    return buf;
}

static inline double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* Run fn in a forked child (a section that changes its credentials or
   limits); say how the child ended unless it exited 0. */
static inline void in_child(void (*fn)(void)) {
    pid_t c = fork();
    if (c == 0) { fn(); _exit(0); }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("child: %s\n", wstatus(st));
}

static char *self_path; /* argv[0]: the test passes an absolute path */

struct section { const char *name; void (*fn)(void); };

#define SECTION(f) {#f, f}

static inline int run_sections(struct section *secs, int n, int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    self_path = argv[0];
    /* watchdog: a hung program dies with SIGALRM instead of stalling the test run (sections
       that use alarm/setitimer themselves replace it) */
    const char *wd = getenv("TEST_WATCHDOG_SECS");
    alarm(wd ? (unsigned)atoi(wd) : 20);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < n; i++) printf("%s\n", secs[i].name);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        int want = argc < 2;
        for (int j = 1; j < argc; j++) want |= strcmp(argv[j], secs[i].name) == 0;
        if (!want) continue;
        printf("== %s\n", secs[i].name);
        secs[i].fn();
    }
    return 0;
}

#define MAIN(...) \
    static struct section secs_[] = {__VA_ARGS__}; \
    int main(int argc, char **argv) { \
        return run_sections(secs_, sizeof secs_ / sizeof secs_[0], argc, argv); }

#endif
