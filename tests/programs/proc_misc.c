/* Process miscellany: prctl (subreaper, name, pdeathsig), rlimits (AS, FSIZE, NOFILE, CORE),
   uname, sysinfo, /proc/self files (status, stat, cmdline, environ, exe, task), auxv,
   posix_spawn, nice/priority, umask inheritance, ETXTBSY, getrusage of children. */
#include "common.h"
#include <grp.h>
#include <spawn.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <pthread.h>

extern char **environ;

static void read_file(const char *path, char *buf, size_t n) {
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) { snprintf(buf, n, "<%s>", en(errno)); return; }
    ssize_t k, total = 0;
    while ((k = read(fd, buf + total, n - 1 - total)) > 0) total += k;
    buf[total] = 0;
    close(fd);
}

static void subreaper(void) {
    R(prctl(PR_SET_CHILD_SUBREAPER, 1));
    int v = -1;
    R(prctl(PR_GET_CHILD_SUBREAPER, &v));
    printf("subreaper=%d\n", v);
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            usleep(50000);
            /* reparented to the subreaper (our grandparent), not to init */
            _exit(getppid() == getppid() ? 23 : 0);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int st;
    pid_t w = wait(&st);   /* the orphaned grandchild is now our child */
    printf("reaped orphan: found=%d %s\n", w > 0, wstatus(st));
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void pdeathsig(void) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int up[2], down[2];
    pipe(up);
    pipe(down);
    pid_t c = fork();
    if (c == 0) {
        /* middle process: its child asks for SIGTERM when we die */
        pid_t g = fork();
        if (g == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            int sig = 0;
            prctl(PR_GET_PDEATHSIG, &sig);
            write(down[1], &sig, sizeof sig);
            for (;;) pause();
        }
        int sig;
        read(down[0], &sig, sizeof sig);   /* the grandchild has set it up */
        write(up[1], &sig, sizeof sig);
        write(up[1], &g, sizeof g);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int sig;
    pid_t g;
    read(up[0], &sig, sizeof sig);
    read(up[0], &g, sizeof g);
    printf("PR_GET_PDEATHSIG=%s\n", sigabbrev_np(sig));
    /* as a subreaper we inherit the orphan and see how it ended */
    int st;
    pid_t w = waitpid(g, &st, 0);
    printf("orphan reaped by us: %d, %s\n", w == g, wstatus(st));
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void names(void) {
    char name[32] = {0};
    R(prctl(PR_SET_NAME, "renamed-proc"));
    R(prctl(PR_GET_NAME, name));
    printf("name=%s\n", name);
    char buf[4096];
    read_file("/proc/self/comm", buf, sizeof buf);
    printf("comm=%s", buf);
    read_file("/proc/self/status", buf, sizeof buf);
    printf("status Name line: %d\n", strstr(buf, "Name:\trenamed-proc\n") != NULL);
    R(prctl(PR_SET_NAME, "a-name-longer-than-sixteen-bytes"));
    prctl(PR_GET_NAME, name);
    printf("truncated=%s\n", name);
    R(prctl(PR_GET_DUMPABLE));
    R(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    R(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    R(prctl(9999));
}

static void rlimit_as(void) {
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {256 << 20, 256 << 20};
        R(setrlimit(RLIMIT_AS, &rl));
        void *p = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap 512MiB under 256MiB RLIMIT_AS: %s\n", p == MAP_FAILED ? en(errno) : "mapped");
        void *q = malloc(400 << 20);
        printf("malloc 400MiB: %s\n", q ? "ok" : "NULL");
        p = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap 16MiB: %s\n", p == MAP_FAILED ? en(errno) : "mapped");
        void *r = mremap(p, 16 << 20, 400 << 20, MREMAP_MAYMOVE);
        printf("mremap to 400MiB: %s\n", r == MAP_FAILED ? en(errno) : "moved");
        r = mremap(p, 16 << 20, 32 << 20, MREMAP_MAYMOVE);
        printf("mremap to 32MiB: %s\n", r == MAP_FAILED ? en(errno) : "moved");
        void *top = sbrk(0);
        printf("sbrk 300MiB: %s\n", sbrk(300 << 20) == (void *)-1 ? en(errno) : "grew");
        printf("break unchanged: %d\n", sbrk(0) == top);
        printf("sbrk 1MiB: %s\n", sbrk(1 << 20) == (void *)-1 ? en(errno) : "grew");
        /* MAP_FIXED over what is mapped counts only what it adds */
        p = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *q2 = mmap(p, 64 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        printf("mmap 64MiB, again over itself: %s\n", q2 == MAP_FAILED ? en(errno) : "mapped");
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void rlimit_fsize(void) {
    pid_t c = fork();
    if (c == 0) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/fsize.%d", getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        unlink(path);
        struct rlimit rl = {1000, 1000};
        setrlimit(RLIMIT_FSIZE, &rl);
        signal(SIGXFSZ, SIG_IGN);
        char buf[600] = {0};
        R(write(fd, buf, 600));
        R(write(fd, buf, 600));   /* partial up to the limit */
        R(write(fd, buf, 600));   /* EFBIG */
        R(pwrite(fd, buf, 10, 995));
        R(pwrite(fd, buf, 10, 2000));
        R(write(fd, buf, 0));
        R(ftruncate(fd, 5000));
        R(ftruncate(fd, 500));
        R(posix_fallocate(fd, 0, 4000) == EFBIG);
        signal(SIGXFSZ, SIG_DFL);
        write(fd, buf, 600);      /* SIGXFSZ kills */
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void rlimit_misc(void) {
    struct rlimit rl;
    R(getrlimit(RLIMIT_CORE, &rl));
    rl.rlim_cur = 0;
    R(setrlimit(RLIMIT_CORE, &rl));
    getrlimit(RLIMIT_CORE, &rl);
    printf("core cur=%lu\n", (unsigned long)rl.rlim_cur);
    R(getrlimit(99, &rl));
    struct rlimit bad = {10, 5};
    R(setrlimit(RLIMIT_NOFILE, &bad));
    struct rlimit old;
    R(prlimit(0, RLIMIT_NOFILE, NULL, &old));
    printf("prlimit nofile cur>=64: %d\n", old.rlim_cur >= 64);
    /* limits are inherited over fork and exec */
    struct rlimit s = {12345, old.rlim_max};
    setrlimit(RLIMIT_NOFILE, &s);
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "ulimit -n", (char *)NULL);
        _exit(127);
    }
    waitpid(c, NULL, 0);
    setrlimit(RLIMIT_NOFILE, &old);
}

static void uname_sysinfo(void) {
    struct utsname u;
    R(uname(&u));
    printf("sysname=%s machine=%s release starts with digit=%d\n", u.sysname, u.machine,
           u.release[0] >= '0' && u.release[0] <= '9');
    struct sysinfo si;
    R(sysinfo(&si));
    printf("uptime>=0=%d totalram>0=%d freeram<=totalram=%d procs>0=%d mem_unit=%u\n", si.uptime >= 0,
           si.totalram > 0, si.freeram <= si.totalram, si.procs > 0, si.mem_unit);
    R(getpagesize());
    R(sysconf(_SC_NPROCESSORS_ONLN) > 0);
    R(sysconf(_SC_CLK_TCK));
}

static void proc_self_files(void) {
    char buf[8192];
    read_file("/proc/self/cmdline", buf, sizeof buf);
    /* cmdline is NUL-separated: argv[1] follows argv[0] */
    printf("cmdline argv[1]=%s\n", buf + strlen(buf) + 1);
    char *e = getenv("TEST_WATCHDOG_SECS");
    int fd = open("/proc/self/environ", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int found = 0;
    for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
        if (strncmp(buf + i, "TEST_WATCHDOG_SECS=", 19) == 0) found = e && strcmp(buf + i + 19, e) == 0;
    printf("environ has our variable: %d\n", found);
    char exe[512];
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    printf("exe is self: %d\n", strcmp(exe, self_path) == 0);
    read_file("/proc/self/status", buf, sizeof buf);
    char want[64];
    snprintf(want, sizeof want, "Pid:\t%d\n", getpid());
    printf("status: Pid ok=%d PPid line=%d Uid line=%d Threads: 1=%d VmRSS line=%d SigBlk line=%d\n",
           strstr(buf, want) != NULL, strstr(buf, "\nPPid:\t") != NULL, strstr(buf, "\nUid:\t") != NULL,
           strstr(buf, "\nThreads:\t1\n") != NULL, strstr(buf, "\nVmRSS:") != NULL,
           strstr(buf, "\nSigBlk:\t") != NULL);
    read_file("/proc/self/stat", buf, sizeof buf);
    int pid;
    char comm[64], state;
    int ppid;
    sscanf(buf, "%d %63s %c %d", &pid, comm, &state, &ppid);
    printf("stat: pid ok=%d comm=%s state=%c ppid ok=%d\n", pid == getpid(), comm, state, ppid == getppid());
    read_file("/proc/self/statm", buf, sizeof buf);
    long size = 0, res = 0;
    sscanf(buf, "%ld %ld", &size, &res);
    printf("statm: size>0=%d resident>0=%d\n", size > 0, res > 0);
    read_file("/proc/meminfo", buf, sizeof buf);
    printf("meminfo MemTotal line: %d\n", strncmp(buf, "MemTotal:", 9) == 0);
    read_file("/proc/cpuinfo", buf, sizeof buf);
    printf("cpuinfo processor line: %d\n", strncmp(buf, "processor", 9) == 0);
    read_file("/proc/self/mounts", buf, sizeof buf);
    printf("mounts has /proc: %d\n", strstr(buf, " /proc proc ") != NULL);
    read_file("/proc/sys/kernel/pid_max", buf, sizeof buf);
    printf("pid_max>0: %d\n", atoi(buf) > 0);
    read_file("/proc/loadavg", buf, sizeof buf);
    printf("loadavg has 5 fields: %d\n", ({ float a, b, c; int x, y, z; sscanf(buf, "%f %f %f %d/%d %d", &a, &b, &c, &x, &y, &z) == 6; }));
}

static void *idle_thread(void *arg) { (void)arg; pause(); return NULL; }

static void proc_task_dir(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, idle_thread, NULL);
    usleep(10000);
    char buf[4096];
    read_file("/proc/self/status", buf, sizeof buf);
    printf("Threads: 4 in status: %d\n", strstr(buf, "\nThreads:\t4\n") != NULL);
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
    int n = 0;
    char d[4096];
    long k;
    while ((k = syscall(SYS_getdents64, fd, d, sizeof d)) > 0)
        for (long off = 0; off < k;) {
            unsigned short reclen = *(unsigned short *)(d + off + 16);
            char *name = d + off + 19;
            if (name[0] != '.') n++;
            off += reclen;
        }
    close(fd);
    printf("task entries=%d\n", n);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
    read_file(path, buf, sizeof buf);
    printf("own task stat readable: %d\n", buf[0] != '<');
}

static void auxv(void) {
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_RANDOM set=%d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_PHDR set=%d AT_ENTRY set=%d\n", getauxval(AT_PHDR) != 0, getauxval(AT_ENTRY) != 0);
    printf("AT_UID=%lu AT_EUID=%lu matches=%d\n", getauxval(AT_UID) == getuid() ? 1UL : 0UL,
           getauxval(AT_EUID) == geteuid() ? 1UL : 0UL, getauxval(AT_GID) == getgid());
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN is argv[0]: %d\n", fn && strcmp(fn, self_path) == 0);
    printf("AT_SECURE=%lu AT_CLKTCK=%lu\n", getauxval(AT_SECURE), getauxval(AT_CLKTCK));
    printf("AT_HWCAP nonzero=%d AT_PLATFORM=%s\n", getauxval(AT_HWCAP) != 0,
           getauxval(AT_PLATFORM) ? (char *)getauxval(AT_PLATFORM) : "(none)");
}

static void spawn(void) {
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv1[] = {"sh", "-c", "echo hidden; exit 6", NULL};
    int r1 = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv1, environ);
    int st;
    waitpid(pid, &st, 0);
    printf("spawned with stdout to /dev/null: %d %s\n", r1, wstatus(st));
    char *argv2[] = {"echo", "spawned", "via", "PATH", NULL};
    int r2 = posix_spawnp(&pid, "echo", NULL, NULL, argv2, environ);
    waitpid(pid, &st, 0);   /* the child prints: report after it is done */
    printf("posix_spawnp: %d %s\n", r2, wstatus(st));
    char *argv3[] = {"x", NULL};
    int r = posix_spawn(&pid, "/no/such/binary", NULL, NULL, argv3, environ);
    printf("spawn missing: %s\n", r ? en(r) : "started");
    if (r == 0) { waitpid(pid, &st, 0); printf("  child %s\n", wstatus(st)); }
}

static void priority(void) {
    errno = 0;
    int p = getpriority(PRIO_PROCESS, 0);
    printf("initial nice=%d errno=%s\n", p, en(errno));
    R(nice(5));
    R(getpriority(PRIO_PROCESS, 0));
    R(setpriority(PRIO_PROCESS, 0, 3));
    R(getpriority(PRIO_PROCESS, 0));
    pid_t c = fork();
    if (c == 0) { printf("child inherits nice: %d\n", getpriority(PRIO_PROCESS, 0)); _exit(0); }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) { R(setpgid(0, 0)); R(getpriority(PRIO_PGRP, 0)); _exit(0); }
    waitpid(c, NULL, 0);
    R(getpriority(PRIO_PROCESS, 999999));
    R(setpriority(PRIO_PROCESS, 999999, 1));
    c = fork();
    if (c == 0) {
        R(setuid(65534));
        R(setpriority(PRIO_PROCESS, 0, 5));   /* raising its own nice: fine */
        R(setpriority(PRIO_PROCESS, 0, 4));   /* lowering it: EACCES */
        R(setpriority(PRIO_PROCESS, getppid(), 6));   /* another user's: EPERM */
        _exit(0);
    }
    waitpid(c, NULL, 0);
    R(setpriority(PRIO_PROCESS, 0, 0));
}

static void umask_inherit(void) {
    umask(027);
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/sh", "sh", "-c", "umask", (char *)NULL);
        _exit(127);
    }
    waitpid(c, NULL, 0);
    umask(022);
}

static void etxtbsy(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/etxt.%d", getpid());
    /* copy /bin/true, run it while it is open for writing, and write it while it runs */
    int in = open("/bin/sleep", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    pid_t c = fork();
    if (c == 0) {
        execl(path, "sleep", "0", (char *)NULL);
        printf("exec while open for writing: %s\n", en(errno));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(out);
    c = fork();
    if (c == 0) { execl(path, "sleep", "0.3", (char *)NULL); _exit(127); }
    usleep(100000);
    R(open(path, O_WRONLY));
    R(open(path, O_RDONLY | O_TRUNC));
    R(truncate(path, 10));
    int rd = open(path, O_RDONLY);
    printf("open for reading while it runs: %d\n", rd >= 0);
    close(rd);
    waitpid(c, NULL, 0);
    int w = open(path, O_WRONLY);
    printf("open for writing once it ended: %d\n", w >= 0);
    close(w);
    unlink(path);
}

static void children_rusage(void) {
    pid_t c = fork();
    if (c == 0) {
        volatile double x = 0;
        double t0 = mono_ms();
        while (mono_ms() - t0 < 150) for (int i = 0; i < 1000000; i++) x += i;
        _exit(0);
    }
    int st;
    struct rusage ru;
    R(wait4(c, &st, 0, &ru) > 0);
    printf("wait4 rusage utime >= 50ms: %d\n", ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec >= 50000);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("RUSAGE_CHILDREN utime >= 50ms: %d\n", ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec >= 50000);
}

static void rusage_maxrss(void) {
    volatile char *p = malloc(32 << 20);
    for (int i = 0; i < (32 << 20); i += 4096) p[i] = 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("self maxrss >= 32MiB: %d\n", ru.ru_maxrss >= 32 * 1024);
    pid_t c = fork();
    if (c == 0) _exit(0);
    waitpid(c, NULL, 0);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children maxrss > 0: %d\n", ru.ru_maxrss > 0);
}

static void groups_and_ids(void) {
    gid_t g[64];
    int n = getgroups(64, g);
    printf("getgroups ok=%d\n", n >= 0);
    gid_t set[] = {5, 6, 7};
    R(setgroups(3, set));
    n = getgroups(64, g);
    printf("now %d groups: %d %d %d\n", n, g[0], g[1], g[2]);
    R(getgroups(1, g));
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("resuid equal: %d\n", r == e && e == s);
    pid_t c = fork();
    if (c == 0) {
        R(setresuid(1000, 2000, 0));
        getresuid(&r, &e, &s);
        printf("resuid=%d,%d,%d euid=%d\n", r, e, s, geteuid());
        R(seteuid(0));       /* allowed: saved uid is 0 */
        R(setreuid(-1, 3000));
        getresuid(&r, &e, &s);
        printf("resuid=%d,%d,%d\n", r, e, s);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void ptrace_basic(void) {
    /* PTRACE_TRACEME + exec stops the child with SIGTRAP; the tracer reads its memory and
       registers, single-steps through syscalls, then lets it run to completion */
    pid_t c = fork();
    if (c == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1) {
            printf("PTRACE_TRACEME: %s\n", en(errno));
            _exit(1);
        }
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("after exec: %s\n", wstatus(st));
    if (!WIFSTOPPED(st)) return;
    struct user_regs_struct regs;
    R(ptrace(PTRACE_GETREGS, c, NULL, &regs));
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, c, (void *)regs.rsp, NULL);
    printf("argc at the initial stack pointer: %ld (%s)\n", word, en(errno));
    int syscalls = 0;
    for (;;) {
        if (ptrace(PTRACE_SYSCALL, c, NULL, NULL) == -1) break;
        waitpid(c, &st, 0);
        if (!WIFSTOPPED(st)) break;
        syscalls++;
    }
    printf("syscall stops seen > 0: %d; end: %s\n", syscalls > 0, wstatus(st));
}

MAIN(SECTION(subreaper), SECTION(pdeathsig), SECTION(names), SECTION(rlimit_as),
     SECTION(rlimit_fsize), SECTION(rlimit_misc), SECTION(uname_sysinfo), SECTION(proc_self_files),
     SECTION(proc_task_dir), SECTION(auxv), SECTION(spawn), SECTION(priority),
     SECTION(umask_inherit), SECTION(etxtbsy), SECTION(children_rusage), SECTION(rusage_maxrss),
     SECTION(groups_and_ids), SECTION(ptrace_basic))
