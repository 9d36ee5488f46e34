/* execve: scripts with #! (with and without an interpreter argument), errors (ENOENT, EACCES,
   ENOEXEC, ENOTDIR, E2BIG-free large argv), argv/envp passing, fd inheritance and O_CLOEXEC,
   signal dispositions across exec, pid kept, exec from a multithreaded process, execveat. */
#include "common.h"
#include <pthread.h>
#include <sys/mman.h>

extern char **environ;
static char dir[64];

static void enter_tmpdir(void) {
    strcpy(dir, "/tmp/bastion-exec.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    chdir(dir);
}

static void leave_tmpdir(void) {
    char cmd[128];
    chdir("/");
    snprintf(cmd, sizeof cmd, "/bin/busybox rm -r %s", dir);
    system(cmd);
}

static void put(const char *path, const char *s, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, s, strlen(s));
    close(fd);
    chmod(path, mode);
}

/* fork, execve(path, argv, envp) in the child, report errno or exit status */
static void run(const char *path, char *const argv[], char *const envp[]) {
    int p[2];
    pipe2(p, O_CLOEXEC);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        execve(path, argv, envp);
        int e = errno;
        write(p[1], &e, sizeof e);
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t n = read(p[0], &e, sizeof e);
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    if (n == sizeof e) printf("execve(%s) = -1 %s\n", path, en(e));
    else printf("execve(%s): %s\n", path, wstatus(st));
}

static void shebang_scripts(void) {
    enter_tmpdir();
    put("script.sh", "#!/bin/sh\necho \"script: $0 args: $*\"\nexit 3\n", 0755);
    run("./script.sh", (char *[]){"script.sh", "a", "b c", NULL}, environ);
    put("withargs", "#!/bin/echo -n interp-arg\nbody\n", 0755);
    run("./withargs", (char *[]){"withargs", "x", NULL}, environ);
    printf("\n");
    put("spaces", "#!  /bin/echo   one two  \n", 0755);
    run("./spaces", (char *[]){"spaces", NULL}, environ);
    put("nested", "#!./script.sh\n", 0755);   /* a script as interpreter */
    run("./nested", (char *[]){"nested", "q", NULL}, environ);
    put("badinterp", "#!/no/such/interpreter\n", 0755);
    run("./badinterp", (char *[]){"badinterp", NULL}, environ);
    put("py", "#!/usr/bin/env python3\nimport sys\nprint('python via env', sys.argv[1:])\n", 0755);
    run("./py", (char *[]){"py", "1", "2", NULL}, environ);
    leave_tmpdir();
}

static void exec_errors(void) {
    enter_tmpdir();
    char *av[] = {"x", NULL};
    run("/no/such/file", av, environ);
    put("noexec", "#!/bin/sh\necho hi\n", 0644);
    run("./noexec", av, environ);
    put("garbage", "\x01\x02\x03 this is not an executable\n", 0755);
    run("./garbage", av, environ);
    put("empty", "", 0755);
    run("./empty", av, environ);
    mkdir("adir", 0755);
    run("./adir", av, environ);
    run("./noexec/x", av, environ);
    put("truncelf", "\x7f" "ELF\x02\x01\x01", 0755);
    run("./truncelf", av, environ);
    run("", av, environ);
    leave_tmpdir();
}

static void argv_envp(void) {
    char *envp[] = {"FOO=bar", "EMPTY=", "Z=last", NULL};
    run("/usr/bin/env", (char *[]){"env", NULL}, envp);
    run("/bin/sh", (char *[]){"sh", "-c", "echo \"argc=$# [$0] [$1] [$2]\"", "zero", "", "two words", NULL},
        envp);
    /* argv[0] may differ from the path */
    run("/bin/busybox", (char *[]){"echo", "busybox", "as", "echo", NULL}, envp);
    /* empty argv */
    run("/bin/true", (char *[]){NULL}, envp);
    /* a large argument list */
    static char *big[2002];
    big[0] = "sh";
    big[1] = "-c";
    big[2] = "echo $#";
    big[3] = "x";
    for (int i = 4; i < 2001; i++) big[i] = "some-argument-text";
    big[2001] = NULL;
    run("/bin/sh", big, envp);
    /* argv ending at the last word of a page with nothing mapped after it,
       then the same array one word short of its NULL there: EFAULT */
    char **page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || munmap((char *)page + 4096, 4096)) return;
    char **end = page + 512 - 3;
    end[0] = "echo"; end[1] = "at a page end"; end[2] = NULL;
    run("/bin/busybox", end, envp);
    end[2] = "no NULL";
    run("/bin/busybox", end, envp);
    munmap(page, 4096);
}

static void child_report(void) {
    /* runs in the exec'd image: report on inherited state */
    printf("fd 5 open=%d fd 6 open=%d\n", fcntl(5, F_GETFD) != -1, fcntl(6, F_GETFD) != -1);
    char buf[16] = {0};
    if (fcntl(5, F_GETFD) != -1) {
        lseek(5, 0, SEEK_SET);
        read(5, buf, 15);
        printf("fd 5 content: %s\n", buf);
    }
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("USR1 handler reset to default: %d\n", sa.sa_handler == SIG_DFL);
    sigaction(SIGUSR2, NULL, &sa);
    printf("USR2 still ignored: %d\n", sa.sa_handler == SIG_IGN);
    sigset_t m;
    sigprocmask(SIG_BLOCK, NULL, &m);
    printf("mask kept (TERM blocked): %d\n", sigismember(&m, SIGTERM));
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("altstack disabled: %d\n", ss.ss_flags == SS_DISABLE);
    char *pid_before = getenv("PID_BEFORE");
    printf("pid kept: %d\n", pid_before && atoi(pid_before) == getpid());
    printf("cwd kept: %d\n", access("marker", F_OK) == 0);
    exit(0);
}

static void on_usr1(int s) { (void)s; }

static void inherited_state(void) {
    enter_tmpdir();
    put("marker", "", 0644);
    pid_t c = fork();
    if (c == 0) {
        int a = open("marker", O_RDWR);
        write(a, "inherited", 9);
        dup2(a, 5);
        dup2(a, 6);
        fcntl(6, F_SETFD, FD_CLOEXEC);
        signal(SIGUSR1, on_usr1);
        signal(SIGUSR2, SIG_IGN);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        sigprocmask(SIG_BLOCK, &m, NULL);
        stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};
        sigaltstack(&ss, NULL);
        char env[64];
        snprintf(env, sizeof env, "PID_BEFORE=%d", getpid());
        char *envp[] = {env, NULL};
        execve(self_path, (char *[]){self_path, "child_report", NULL}, envp);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
    leave_tmpdir();
}

static void *spin(void *arg) { (void)arg; for (;;) pause(); return NULL; }

static void exec_from_thread_group(void) {
    pid_t c = fork();
    if (c == 0) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spin, NULL);
        execl("/bin/sh", "sh", "-c", "echo exec from threaded process; exit 4", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void *exec_in_thread(void *arg) {
    (void)arg;
    execl("/bin/sh", "sh", "-c", "echo exec from non-main thread; exit 5", (char *)NULL);
    return NULL;
}

static void exec_from_secondary_thread(void) {
    pid_t c = fork();
    if (c == 0) {
        pthread_t t;
        pthread_create(&t, NULL, exec_in_thread, NULL);
        for (;;) pause();
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void execveat_fd(void) {
    int fd = open("/bin/echo", O_RDONLY | O_PATH);
    pid_t c = fork();
    if (c == 0) {
        syscall(SYS_execveat, fd, "", (char *[]){"echo", "via execveat", NULL}, environ, AT_EMPTY_PATH);
        printf("execveat failed: %s\n", en(errno));
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void exec_replaces_image(void) {
    /* the exec'd shell writes to our stdout; only its output follows */
    pid_t c = fork();
    if (c == 0) {
        printf("before exec\n");
        execlp("sh", "sh", "-c", "echo after exec; kill -TERM $$", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

static void path_search(void) {
    pid_t c = fork();
    if (c == 0) {
        setenv("PATH", "/nonexistent:/usr/bin:/bin", 1);
        execlp("printf", "printf", "found %s in PATH\\n", "printf", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child: %s\n", wstatus(st));
}

MAIN(SECTION(shebang_scripts), SECTION(exec_errors), SECTION(argv_envp), SECTION(inherited_state),
     SECTION(exec_from_thread_group), SECTION(exec_from_secondary_thread), SECTION(execveat_fd),
     SECTION(exec_replaces_image), SECTION(path_search), SECTION(child_report))
