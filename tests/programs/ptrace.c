/* ptrace(2) inside the sandbox: a tracer and its tracees, compared with Linux.
   Pids and addresses are never printed, only what they agree on. */
#include "common.h"
#include <elf.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>


static volatile long shared_word = 7;  /* same address in the forked child */
static volatile int got_usr2;

static void on_usr2(int s) { (void)s; got_usr2 = 1; }

/* fork a child that asks to be traced and stops itself; the parent waits for that stop */
static pid_t traced_child(void (*body)(void)) {
    pid_t c = fork();
    if (c == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1) _exit(100);
        raise(SIGSTOP);
        body();
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("first stop: %s\n", wstatus(st));
    return c;
}

/* c is in a ptrace-stop: let it run to its end */
static void finish(pid_t c) {
    int st;
    do {
        ptrace(PTRACE_CONT, c, NULL, NULL);
        if (waitpid(c, &st, 0) != c) { printf("waitpid: %s\n", en(errno)); return; }
    } while (WIFSTOPPED(st));
    printf("end: %s\n", wstatus(st));
}

/* --- syscall stops: alternate entry and exit, TRACESYSGOOD, GET_SYSCALL_INFO,
       and a syscall skipped and given a result by the tracer --- */
static void body_getpid(void) {
    long r = syscall(SYS_getpid);
    printf("child: getpid gave %ld\n", r);
    r = syscall(SYS_getppid) == getppid();
    printf("child: getppid untouched %ld\n", r);
}

static void syscall_stops(void) {
    pid_t c = traced_child(body_getpid);
    R(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD));
    int st, entries = 0, exits = 0, sysgood = 1, skipped = 0;
    struct user_regs_struct regs;
    for (int in = 0;; in = !in) {
        if (ptrace(PTRACE_SYSCALL, c, NULL, NULL) == -1) break;
        waitpid(c, &st, 0);
        if (!WIFSTOPPED(st)) break;
        sysgood &= WSTOPSIG(st) == (SIGTRAP | 0x80);
        struct __ptrace_syscall_info info;
        long n = ptrace(PTRACE_GET_SYSCALL_INFO, c, sizeof info, &info);
        ptrace(PTRACE_GETREGS, c, NULL, &regs);
        if (!in) {
            entries++;
            if (info.op != PTRACE_SYSCALL_INFO_ENTRY || n != offsetof(struct __ptrace_syscall_info, entry.args) + 48
                || info.entry.nr != regs.orig_rax || info.arch != 0xC000003E)
                printf("entry info wrong: op %d n %ld\n", info.op, n);
            if ((long)regs.rax != -ENOSYS) printf("rax at entry %lld\n", (long long)regs.rax);
            if (regs.orig_rax == SYS_getpid && !skipped) {  /* skip it: orig_rax -1 */
                regs.orig_rax = -1;
                ptrace(PTRACE_SETREGS, c, NULL, &regs);
                skipped = 1;
            }
        } else {
            exits++;
            if (info.op != PTRACE_SYSCALL_INFO_EXIT || info.exit.rval != (long)regs.rax)
                printf("exit info wrong: op %d\n", info.op);
            if (skipped == 1) {  /* the skipped call's exit: its result is ours */
                printf("skipped call returns %lld (ENOSYS %d)\n", (long long)regs.rax,
                       (long)regs.rax == -ENOSYS);
                ptrace(PTRACE_POKEUSER, c, offsetof(struct user_regs_struct, rax), 4242);
                skipped = 2;
            }
        }
    }
    printf("entries = exits: %d, both > 3: %d, sysgood: %d, %s\n", entries == exits || entries == exits + 1,
           entries > 3 && exits > 3, sysgood, wstatus(st));
}

/* --- memory and registers: PEEK/POKE, PEEKUSER, process_vm_readv, regsets --- */
static char message[] = "a string in the child";

static void body_print_word(void) {
    printf("child: word is %ld\n", shared_word);
}

static void memory_and_regs(void) {
    pid_t c = traced_child(body_print_word);
    errno = 0;
    long w = ptrace(PTRACE_PEEKDATA, c, (void *)&shared_word, NULL);
    printf("peek: %ld %s\n", w, en(errno));
    R(ptrace(PTRACE_POKEDATA, c, (void *)&shared_word, (void *)1234));
    errno = 0;
    ptrace(PTRACE_PEEKDATA, c, (void *)8, NULL);
    printf("peek at 8: %s\n", en(errno));
    R(ptrace(PTRACE_POKEDATA, c, (void *)8, (void *)1));
    /* text is written too (FOLL_FORCE), and reads back */
    long text = ptrace(PTRACE_PEEKTEXT, c, (void *)body_print_word, NULL);
    R(ptrace(PTRACE_POKETEXT, c, (void *)body_print_word, (void *)text));
    errno = 0;
    printf("text back: %d\n", ptrace(PTRACE_PEEKTEXT, c, (void *)body_print_word, NULL) == text);
    printf("our own text untouched: %d\n", *(long *)(void *)body_print_word == text);
    struct user_regs_struct regs, set;
    R(ptrace(PTRACE_GETREGS, c, NULL, &regs));
    errno = 0;
    long rsp = ptrace(PTRACE_PEEKUSER, c, offsetof(struct user, regs.rsp), NULL);
    printf("peekuser rsp matches: %d; bad offset: ", rsp == (long)regs.rsp);
    errno = 0;
    ptrace(PTRACE_PEEKUSER, c, 3, NULL);
    printf("%s\n", en(errno));
    struct iovec iov = {&set, sizeof set};
    R(ptrace(PTRACE_GETREGSET, c, NT_PRSTATUS, &iov));
    printf("regset: len %zu, same rip %d\n", iov.iov_len, set.rip == regs.rip);
    struct user_fpregs_struct fp;
    R(ptrace(PTRACE_GETFPREGS, c, NULL, &fp));
    printf("mxcsr default bits: %#x\n", fp.mxcsr & 0x1f80);
    siginfo_t si;
    R(ptrace(PTRACE_GETSIGINFO, c, NULL, &si));
    printf("stop siginfo: %s\n", sigabbrev_np(si.si_signo));
    char buf[64] = {0};
    struct iovec local = {buf, sizeof message}, remote = {message, sizeof message};
    R(process_vm_readv(c, &local, 1, &remote, 1, 0));
    printf("read: %s\n", buf);
    remote.iov_base = (void *)16;
    R(process_vm_readv(c, &local, 1, &remote, 1, 0));
    R(process_vm_readv(c, &local, 1, &remote, 1, 1));
    /* /proc/PID/mem: the same memory, at the offset of its address */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", c);
    int m = open(path, O_RDWR);
    memset(buf, 0, sizeof buf);
    printf("mem: %zd %s\n", pread(m, buf, sizeof message, (off_t)(long)message), buf);
    R(pwrite(m, "A", 1, (off_t)(long)message));
    R(pread(m, buf, 8, 16));
    R(pwrite(m, "A", 1, 16));
    R(lseek(m, (off_t)(long)message + 2, SEEK_SET) == (off_t)(long)message + 2);
    R(read(m, buf, 6));
    printf("at the seek: %.6s\n", buf);
    errno = 0;
    long first = ptrace(PTRACE_PEEKDATA, c, (void *)message, NULL);
    printf("written through mem: %c\n", (char)first);
    close(m);
    int self = open("/proc/self/mem", O_RDONLY);
    long code = 0;
    R(pread(self, &code, 8, (off_t)(long)(void *)body_print_word));
    printf("own text through mem: %d\n", code == *(long *)(void *)body_print_word);
    close(self);
    finish(c);
}

/* --- signals: a stop before each delivery; the tracer swaps or drops them --- */
static void body_signals(void) {
    signal(SIGUSR2, on_usr2);
    raise(SIGUSR1);  /* the tracer delivers SIGUSR2 instead */
    printf("child: got usr2 %d\n", got_usr2);
    raise(SIGTERM);  /* the tracer drops it */
    printf("child: survived SIGTERM\n");
}

static void signal_stops(void) {
    pid_t c = traced_child(body_signals);
    int st;
    long r;
    R(ptrace(PTRACE_CONT, c, NULL, NULL));  /* the SIGSTOP is not delivered */
    waitpid(c, &st, 0);
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, c, NULL, &si);
    printf("stop: %s, siginfo %s code %d own pid %d\n", wstatus(st), sigabbrev_np(si.si_signo),
           si.si_code, si.si_pid == c);
    r = ptrace(PTRACE_CONT, c, NULL, (void *)SIGUSR2);
    waitpid(c, &st, 0);
    printf("SIGUSR2 instead: %ld\n", r);
    printf("stop: %s\n", wstatus(st));
    R(ptrace(PTRACE_CONT, c, NULL, (void *)65));
    r = ptrace(PTRACE_CONT, c, NULL, NULL);  /* (printed after: the child prints now) */
    waitpid(c, &st, 0);
    printf("dropped: %ld, end: %s\n", r, wstatus(st));
}

/* --- events: exec (SEIZE with TRACEEXEC), fork (TRACEFORK), and a grandchild
       whose end the tracer sees though it is not its child --- */
static void events(void) {
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        pid_t g = fork();
        if (g == 0) _exit(5);
        int st;
        waitpid(g, &st, 0);
        printf("child: its child %s\n", wstatus(st));
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    R(ptrace(PTRACE_SEIZE, c, NULL, (void *)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK)));
    R(ptrace(PTRACE_SEIZE, c, NULL, NULL));
    R(ptrace(PTRACE_GETREGS, c, NULL, NULL));  /* running: ESRCH */
    write(go[1], "x", 1);
    int st, seen_fork = 0, seen_exec = 0, seen_new = 0, grandchild_end = 0;
    pid_t g = 0;
    for (;;) {
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0) break;
        if (WIFSTOPPED(st)) {
            int ev = st >> 16;
            unsigned long msg = 0;
            if (ev == PTRACE_EVENT_FORK) {
                ptrace(PTRACE_GETEVENTMSG, w, NULL, &msg);
                g = msg;
                seen_fork = 1;
            } else if (ev == PTRACE_EVENT_EXEC) {
                ptrace(PTRACE_GETEVENTMSG, w, NULL, &msg);
                seen_exec = msg == (unsigned long)c && WSTOPSIG(st) == SIGTRAP;
            } else if (ev == PTRACE_EVENT_STOP && w != c) {
                seen_new = 1;
            }
            ptrace(PTRACE_CONT, w, NULL, NULL);
            continue;
        }
        if (w == g) grandchild_end = WIFEXITED(st) && WEXITSTATUS(st) == 5;
        else if (w == c) printf("child end: %s\n", wstatus(st));
    }
    printf("fork event %d, new child stop %d, exec event %d, grandchild's end seen %d\n",
           seen_fork, seen_new, seen_exec, grandchild_end);
}

/* --- errors and detaching --- */
static void body_spin(void) {
    for (int i = 0; i < 3; i++) usleep(1000);
    printf("child: ran on after detach\n");
}

static void errors_and_detach(void) {
    R(ptrace(PTRACE_CONT, getppid(), NULL, NULL));
    R(ptrace(PTRACE_ATTACH, getpid(), NULL, NULL));
    R(ptrace(PTRACE_ATTACH, 999999, NULL, NULL));
    R(ptrace(PTRACE_SEIZE, getpid(), NULL, (void *)0x40000000));
    pid_t c = fork();
    if (c == 0) {
        R(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
        R(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
        raise(SIGSTOP);
        body_spin();
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("stop: %s\n", wstatus(st));
    R(ptrace(PTRACE_SETOPTIONS, c, NULL, (void *)0x40000000));
    R(ptrace(12345, c, NULL, NULL));
    long d = ptrace(PTRACE_DETACH, c, NULL, NULL);  /* (printed after: the child prints now) */
    long again = ptrace(PTRACE_CONT, c, NULL, NULL);
    int e = errno;
    waitpid(c, &st, 0);
    printf("detach %ld, then CONT %ld %s; end: %s\n", d, again, en(e), wstatus(st));
    /* a process attached to by another (a sibling), which then ends: it runs on */
    pid_t v = fork();
    if (v == 0) { usleep(100000); printf("victim: free\n"); _exit(3); }
    pid_t tracer = fork();
    if (tracer == 0) {
        if (ptrace(PTRACE_ATTACH, v, NULL, NULL) == -1) _exit(1);
        waitpid(v, &st, __WALL);
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) _exit(2);
        ptrace(PTRACE_CONT, v, NULL, NULL);  /* the SIGSTOP dropped */
        _exit(0);
    }
    waitpid(tracer, &st, 0);
    printf("tracer: %s\n", wstatus(st));
    waitpid(v, &st, 0);
    printf("victim: %s\n", wstatus(st));
}

/* --- breakpoints and single steps: an int3 stops with SIGTRAP (SI_KERNEL); a
       step stops after one instruction (TRAP_TRACE), here a `ret` written
       over another function and run there, as gdb's displaced steps do --- */
__attribute__((noinline)) void scratch(void) { __asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop"); }

static void body_int3(void) {
    __asm__ volatile("int3");
    printf("child: past the breakpoint\n");
}

static void single_step(void) {
    pid_t c = traced_child(body_int3);
    int st;
    siginfo_t si;
    ptrace(PTRACE_CONT, c, NULL, NULL);
    waitpid(c, &st, 0);
    ptrace(PTRACE_GETSIGINFO, c, NULL, &si);
    printf("breakpoint: %s code %#x\n", wstatus(st), si.si_code);
    struct user_regs_struct r, r2;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    long orig = ptrace(PTRACE_PEEKTEXT, c, (void *)scratch, 0);
    ptrace(PTRACE_POKETEXT, c, (void *)scratch, (void *)((orig & ~0xffL) | 0xc3));
    r2 = r;
    r2.rsp -= 8;
    ptrace(PTRACE_POKEDATA, c, (void *)r2.rsp, (void *)r.rip);
    r2.rip = (unsigned long)scratch;
    ptrace(PTRACE_SETREGS, c, 0, &r2);
    R(ptrace(PTRACE_SINGLESTEP, c, 0, 0));
    waitpid(c, &st, 0);
    ptrace(PTRACE_GETSIGINFO, c, NULL, &si);
    ptrace(PTRACE_GETREGS, c, 0, &r2);
    printf("step: %s code %d, back where it was: %d, trap flag kept: %d\n", wstatus(st), si.si_code,
           r2.rip == r.rip && r2.rsp == r.rsp, !!(r2.eflags & 0x100));
    ptrace(PTRACE_POKETEXT, c, (void *)scratch, (void *)orig);
    finish(c);
    scratch();
}

MAIN(SECTION(syscall_stops), SECTION(memory_and_regs), SECTION(signal_stops), SECTION(events),
     SECTION(errors_and_detach), SECTION(single_step))
