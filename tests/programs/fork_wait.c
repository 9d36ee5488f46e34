/* fork, exit codes, wait4/waitpid/waitid, WNOHANG, WUNTRACED/WCONTINUED, SIGCHLD. */
#include "common.h"

static void exit_codes(void) {
    for (int code = 0; code < 256; code += 51) {
        pid_t c = fork();
        if (c == 0) _exit(code);
        int st;
        pid_t w = waitpid(c, &st, 0);
        printf("code %d: waited=%s %s\n", code, w == c ? "child" : "other", wstatus(st));
    }
    /* exit(256+7) is truncated to 7 */
    pid_t c = fork();
    if (c == 0) _exit(263);
    int st;
    waitpid(c, &st, 0);
    printf("exit(263): %s\n", wstatus(st));
}

static void child_sees_parent(void) {
    pid_t parent = getpid();
    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        char ok[3] = {getppid() == parent ? 'y' : 'n', getpid() != parent ? 'y' : 'n', '\n'};
        write(fds[1], ok, 3);
        _exit(0);
    }
    char buf[3];
    read(fds[0], buf, 3);
    printf("child: ppid is parent=%c, own pid differs=%c\n", buf[0], buf[1]);
    waitpid(c, NULL, 0);
}

static void memory_is_copied(void) {
    static int v = 1;
    int *heap = malloc(sizeof *heap);
    *heap = 10;
    pid_t c = fork();
    if (c == 0) {
        v = 2;
        *heap = 20;
        printf("child: v=%d heap=%d\n", v, *heap);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent: v=%d heap=%d\n", v, *heap);
}

static void killed_by_signal(void) {
    int sigs[] = {SIGTERM, SIGKILL, SIGSEGV, SIGABRT, SIGUSR1};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (sigs[i] == SIGSEGV) *(volatile int *)8 = 1;
            if (sigs[i] == SIGABRT) abort();
            raise(sigs[i]);
            _exit(99);
        }
        int st;
        waitpid(c, &st, 0);
        /* core dumps depend on host limits: print only the signal */
        printf("%s: signaled=%d sig=%s\n", sigabbrev_np(sigs[i]), WIFSIGNALED(st),
               sigabbrev_np(WTERMSIG(st)));
    }
}

static void wnohang(void) {
    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(fds[1]);
        read(fds[0], &b, 1);   /* wait for the parent */
        _exit(5);
    }
    close(fds[0]);
    int st = 0;
    R(waitpid(c, &st, WNOHANG));
    close(fds[1]);             /* let the child go */
    pid_t w;
    int spins = 0;
    while ((w = waitpid(c, &st, WNOHANG)) == 0) { spins++; usleep(1000); }
    printf("later: reaped=%s %s\n", w == c ? "yes" : "no", wstatus(st));
    R(waitpid(c, &st, WNOHANG));
}

static void echild(void) {
    int st;
    R(wait(&st));
    R(waitpid(-1, &st, WNOHANG));
    R(waitpid(12345678, &st, 0));
}

static void wait_any_order(void) {
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) { msleep(10 * (4 - i)); _exit(10 + i); }
    }
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        int st;
        pid_t w = wait(&st);
        for (int j = 0; j < 4; j++)
            if (kids[j] == w && WEXITSTATUS(st) == 10 + j) seen |= 1 << j;
    }
    printf("all four reaped with their codes: %s\n", seen == 15 ? "yes" : "no");
    R(wait(NULL));
}

static void stop_continue(void) {
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        raise(SIGSTOP);
        read(go[0], &b, 1);   /* stay alive until the parent has seen "continued" */
        _exit(3);
    }
    int st;
    pid_t w = waitpid(c, &st, WUNTRACED);
    printf("WUNTRACED: same=%d %s\n", w == c, wstatus(st));
    kill(c, SIGCONT);
    w = waitpid(c, &st, WCONTINUED);
    printf("WCONTINUED: same=%d %s\n", w == c, wstatus(st));
    write(go[1], "g", 1);
    w = waitpid(c, &st, 0);
    printf("end: same=%d %s\n", w == c, wstatus(st));
}

static void stop_then_kill(void) {
    pid_t c = fork();
    if (c == 0) { for (;;) pause(); }
    kill(c, SIGSTOP);
    int st;
    waitpid(c, &st, WUNTRACED);
    printf("stopped: %s\n", wstatus(st));
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    printf("then: %s\n", wstatus(st));
}

static volatile sig_atomic_t chld_count, chld_code, chld_status;
static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
}

static void sigchld_handler(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t c = fork();
    if (c == 0) _exit(42);
    while (chld_count == 0) sigsuspend(&old);
    printf("SIGCHLD: count=%d code=%s status=%d\n", chld_count,
           chld_code == CLD_EXITED ? "CLD_EXITED" : "other", chld_status);
    int st;
    waitpid(c, &st, 0);
    printf("reaped: %s\n", wstatus(st));

    chld_count = 0;
    c = fork();
    if (c == 0) { raise(SIGKILL); _exit(0); }
    while (chld_count == 0) sigsuspend(&old);
    printf("SIGCHLD: code=%s status=%s\n", chld_code == CLD_KILLED ? "CLD_KILLED" : "other",
           sigabbrev_np(chld_status));
    waitpid(c, &st, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGCHLD, SIG_DFL);
}

static void sigchld_ignored_autoreap(void) {
    signal(SIGCHLD, SIG_IGN);
    pid_t c = fork();
    if (c == 0) _exit(1);
    int st;
    /* with SIGCHLD ignored, children are reaped automatically: wait blocks until
       they are gone, then fails with ECHILD */
    R(waitpid(c, &st, 0));
    signal(SIGCHLD, SIG_DFL);
}

static void waitid_info(void) {
    pid_t c = fork();
    if (c == 0) _exit(77);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    R(waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    printf("WNOWAIT: signo=%s code=%s status=%d pid=%s\n", sigabbrev_np(si.si_signo),
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status,
           si.si_pid == c ? "child" : "other");
    memset(&si, 0, sizeof si);
    R(waitid(P_ALL, 0, &si, WEXITED));
    printf("reaped: status=%d pid=%s\n", si.si_status, si.si_pid == c ? "child" : "other");
    R(waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
}

static void vfork_exec(void) {
    pid_t c = vfork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "echo from vfork child; exit 9", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("vfork child: %s\n", wstatus(st));
}

static void grandchild_reparent(void) {
    /* a grandchild outliving its parent still runs and writes to our pipe */
    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        if (fork() == 0) {
            msleep(20);
            write(fds[1], "orphan ok\n", 10);
            _exit(0);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(fds[1]);
    char buf[32];
    ssize_t n = read(fds[0], buf, sizeof buf);
    printf("%.*s", (int)(n > 0 ? n : 0), buf);
}

static void process_groups(void) {
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        printf("child: pgid==pid %d, sid same as parent's %d\n", getpgrp() == getpid(),
               getsid(0) == getsid(getppid()));
        R(setsid()); /* a group leader cannot start a session: EPERM */
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        pid_t s = setsid();
        printf("child2: after setsid, sid==pid %d pgid==pid %d\n", s == getpid() && getsid(0) == getpid(),
               getpgrp() == getpid());
        _exit(0);
    }
    waitpid(c, NULL, 0);
    /* kill(-pgrp) reaches every member of a group */
    pid_t leader = fork();
    if (leader == 0) { setpgid(0, 0); for (;;) pause(); }
    setpgid(leader, leader);
    pid_t member = fork();
    if (member == 0) { setpgid(0, leader); for (;;) pause(); }
    setpgid(member, leader);
    R(kill(-leader, SIGTERM));
    int st;
    waitpid(leader, &st, 0);
    printf("leader: %s\n", wstatus(st));
    waitpid(member, &st, 0);
    printf("member: %s\n", wstatus(st));
}

static void exit_status_of_main(void) {
    /* the process's own exit status, checked by the test */
    exit(3);
}

MAIN(SECTION(exit_codes), SECTION(child_sees_parent), SECTION(memory_is_copied),
     SECTION(killed_by_signal), SECTION(wnohang), SECTION(echild), SECTION(wait_any_order),
     SECTION(stop_continue), SECTION(stop_then_kill), SECTION(sigchld_handler),
     SECTION(sigchld_ignored_autoreap), SECTION(waitid_info), SECTION(vfork_exec),
     SECTION(grandchild_reparent), SECTION(process_groups), SECTION(exit_status_of_main))
