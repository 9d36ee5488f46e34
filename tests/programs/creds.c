/* Credentials: capabilities (capget/capset, prctl's bounding set, keepcaps,
   securebits, ambient set), how set*uid and exec move them, set-user-ID
   files, and the permission checks they grant or deny (DAC, search rights
   on a path, chown/chmod/utimes, kill, noexec mounts). Run as root; each
   section changes its credentials in a child. */
#include "common.h"
#include <grp.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <linux/capability.h>

struct caps { unsigned long long eff, prm, inh; };

static int capget_(int pid, struct caps *c) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, pid};
    struct __user_cap_data_struct d[2];
    int r = syscall(SYS_capget, &h, d);
    if (r == 0) {
        c->eff = d[0].effective | (unsigned long long)d[1].effective << 32;
        c->prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
        c->inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
    }
    return r;
}

static int capset_(unsigned long long eff, unsigned long long prm, unsigned long long inh) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(unsigned)eff, (unsigned)prm, (unsigned)inh},
        {(unsigned)(eff >> 32), (unsigned)(prm >> 32), (unsigned)(inh >> 32)}};
    return syscall(SYS_capset, &h, d);
}

#define BIT(c) (1ULL << (c))

/* Root's permitted set at the start: the host may give fewer than all
   (a container without CAP_SYS_MODULE), so sets print relative to it. */
static unsigned long long full_;

static const char *capstr(unsigned long long x) {
    static char bufs[8][160];
    static int k;
    char *b = bufs[k++ & 7];
    if (x == full_) return "full";
    if (!(x & ~full_) && __builtin_popcountll(x) > 20) {
        strcpy(b, "full");
        for (int i = 0; i < 64; i++)
            if ((full_ & ~x) >> i & 1) sprintf(b + strlen(b), "-%d", i);
        return b;
    }
    snprintf(b, 160, "%llx", x);
    return b;
}

static void show_caps(const char *when) {
    struct caps c;
    capget_(0, &c);
    unsigned long long amb = 0;
    for (int i = 0; i <= CAP_LAST_CAP; i++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1) amb |= BIT(i);
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("%s: uid %d/%d/%d fsuid %d eff %s prm %s inh %s amb %s keepcaps %d\n", when,
           r, e, s, setfsuid(-1), capstr(c.eff), capstr(c.prm), capstr(c.inh), capstr(amb),
           prctl(PR_GET_KEEPCAPS));
}

/* run fn in a child and wait for it */
/* the exec'd half: `creds --show WHAT` prints its credentials */
static int show_main(const char *what) {
    show_caps(what);
    printf("%s: gid %d egid %d secure %lu\n", what, getgid(), getegid(), getauxval(AT_SECURE));
    return 0;
}

static void exec_show(const char *what) {
    execl(self_path, self_path, "--show", what, (char *)NULL);
    printf("exec: %s\n", en(errno));
}

static void capget_capset(void) {
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    R(syscall(SYS_capget, &h, NULL));
    printf("version answered: %#x\n", h.version);
    h.version = 0x12345678;
    R(syscall(SYS_capget, &h, d));
    h.version = _LINUX_CAPABILITY_VERSION_1;
    h.pid = 0;
    R(syscall(SYS_capget, &h, d));
    printf("v1: eff %s prm %s inh %x\n", capstr(d[0].effective | (full_ & ~0xffffffffULL)),
           capstr(d[0].permitted | (full_ & ~0xffffffffULL)), d[0].inheritable);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -5;
    R(syscall(SYS_capget, &h, d));
    h.pid = 1 << 22;
    R(syscall(SYS_capget, &h, d));
    h.pid = getppid();
    R(syscall(SYS_capget, &h, d));
    show_caps("start");
    in_child(({ void f(void) {
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff & ~BIT(CAP_KILL), c.prm, 0));
        show_caps("kill dropped from effective");
        R(capset_(c.eff, c.prm, 0));  /* back: still permitted */
        R(capset_(c.eff & ~BIT(CAP_SYS_BOOT), c.prm & ~BIT(CAP_SYS_BOOT), 0));
        R(capset_(c.eff, c.prm, 0));  /* not permitted any more */
        R(capset_(c.eff & ~BIT(CAP_SYS_BOOT), c.prm & ~BIT(CAP_SYS_BOOT) & ~BIT(CAP_CHOWN), 0));
        R(capset_(BIT(CAP_CHOWN), c.prm & ~BIT(CAP_SYS_BOOT) & ~BIT(CAP_CHOWN), 0));
        R(capset_(BIT(CAP_KILL), BIT(CAP_KILL) | BIT(CAP_SETPCAP), BIT(CAP_NET_RAW) | BIT(CAP_KILL)));
        show_caps("small sets");
        R(capset_(BIT(CAP_KILL), BIT(CAP_KILL), BIT(CAP_NET_ADMIN)));  /* inheritable: SETPCAP */
        R(capset_(BIT(CAP_KILL), BIT(CAP_KILL), BIT(CAP_NET_RAW)));
        R(capset_(BIT(CAP_KILL), BIT(CAP_KILL), BIT(CAP_NET_ADMIN)));  /* now without SETPCAP */
        struct __user_cap_header_struct h2 = {_LINUX_CAPABILITY_VERSION_3, getppid()};
        struct __user_cap_data_struct d2[2] = {{0, 0, 0}, {0, 0, 0}};
        R(syscall(SYS_capset, &h2, d2));
        struct __user_cap_header_struct h1 = {_LINUX_CAPABILITY_VERSION_1, 0};
        R(syscall(SYS_capset, &h1, d2));
        show_caps("v1 capset of nothing");
    } f; }));
}

static void prctl_caps(void) {
    R(prctl(PR_CAPBSET_READ, CAP_CHOWN));
    R(prctl(PR_CAPBSET_READ, CAP_LAST_CAP));
    R(prctl(PR_CAPBSET_READ, CAP_LAST_CAP + 1));
    R(prctl(PR_GET_SECUREBITS));
    R(prctl(PR_GET_KEEPCAPS));
    in_child(({ void f(void) {
        R(prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT));
        R(prctl(PR_CAPBSET_READ, CAP_SYS_BOOT));
        R(prctl(PR_CAPBSET_DROP, 99));
        R(prctl(PR_SET_KEEPCAPS, 2));
        R(prctl(PR_SET_KEEPCAPS, 1));
        R(prctl(PR_GET_KEEPCAPS));
        R(prctl(PR_GET_SECUREBITS));
        R(prctl(PR_SET_SECUREBITS, 1 << 12));  /* unknown bit */
        R(prctl(PR_SET_SECUREBITS, 1 << 5 | 1 << 4));  /* keepcaps, locked */
        R(prctl(PR_SET_KEEPCAPS, 0));
        R(prctl(PR_SET_SECUREBITS, 1 << 5));  /* undo a lock */
        R(prctl(PR_GET_SECUREBITS));
        /* the ambient set: only what is permitted and inheritable */
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff, c.prm, BIT(CAP_NET_RAW) | BIT(CAP_KILL)));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 99, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_KILL, 0, 0));
        R(prctl(PR_CAP_AMBIENT, 9, CAP_KILL, 0, 0));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
        show_caps("ambient net_raw");
        /* dropping it from the inheritable set takes it out of the ambient one */
        R(capset_(c.eff, c.prm, BIT(CAP_KILL)));
        show_caps("inheritable kill only");
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    } f; }));
}

static void setuid_moves_caps(void) {
    in_child(({ void f(void) {  /* leaving root for good: no capabilities */
        R(setresuid(1000, 1000, 1000));
        show_caps("setresuid 1000");
        R(setuid(0));
        R(setgid(1000));
        R(setgroups(0, NULL));
        R(kill(1, 0));
    } f; }));
    in_child(({ void f(void) {  /* with keepcaps: the permitted set stays */
        R(prctl(PR_SET_KEEPCAPS, 1));
        R(setresuid(1000, 1000, 1000));
        show_caps("keepcaps, setresuid 1000");
        struct caps c;
        capget_(0, &c);
        R(setresgid(1000, 1000, 1000));  /* no CAP_SETGID in effect */
        R(capset_(c.prm, c.prm, 0));
        R(setresgid(1000, 1000, 1000));
        R(setgroups(0, NULL));
        show_caps("effective raised again");
        R(access("/etc/shadow", R_OK));  /* CAP_DAC_OVERRIDE */
        exec_show("exec as 1000");
    } f; }));
    in_child(({ void f(void) {  /* an effective uid that leaves 0 and comes back */
        R(seteuid(1000));
        show_caps("seteuid 1000");
        R(setgroups(0, NULL));
        R(seteuid(0));
        show_caps("seteuid 0");
        R(setfsuid(1000));
        show_caps("setfsuid 1000");  /* the fs capabilities go */
        R(setfsuid(0));
        show_caps("setfsuid 0");
        R(setreuid(1000, -1));
        show_caps("setreuid 1000 -1");
        R(setreuid(-1, 2000));
        show_caps("setreuid -1 2000");
        R(setreuid(2000, 2000));
        R(setreuid(0, -1));
        show_caps("setreuid to 2000");
        R(setuid(1000));
        R(setuid(3000));
    } f; }));
}

static void exec_caps(void) {
    in_child(({ void f(void) {  /* root: the bounding set is what an exec gives */
        R(prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT));
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff & ~BIT(CAP_KILL), c.prm, 0));
        exec_show("root exec");
    } f; }));
    in_child(({ void f(void) {  /* real root only: permitted, not effective */
        R(setresuid(0, 1000, 1000));
        exec_show("real root exec");
    } f; }));
    in_child(({ void f(void) {  /* anyone else: the ambient set */
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff, c.prm, BIT(CAP_NET_BIND_SERVICE)));
        R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
        R(prctl(PR_SET_KEEPCAPS, 1));
        R(setresuid(1000, 1000, 1000));
        exec_show("ambient exec");
    } f; }));
    in_child(({ void f(void) {  /* no_new_privs: root's exec keeps no more than it had */
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff & ~BIT(CAP_KILL), c.prm & ~BIT(CAP_KILL), 0));
        R(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        exec_show("no_new_privs exec");
    } f; }));
}

static char dir[64];
static char path_[160];  /* a file the children of a section use */

/* A new directory under /tmp for a section's files (dir), anyone may search. */
static void new_dir(void) {
    strcpy(dir, "/tmp/bastion-creds.XXXXXX");
    mkdtemp(dir);
    chmod(dir, 0755);
}

static void mkfile(const char *name, int mode, uid_t uid, gid_t gid, const char *body) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (body) write(fd, body, strlen(body));
    close(fd);
    chown(p, uid, gid);
    chmod(p, mode);
}

static void copy_self(const char *name) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int in = open(self_path, O_RDONLY), out = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
}

static void cleanup(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    system(cmd);
}

static void setid_files(void) {
    new_dir();
    copy_self("suid");
    char *p = path_;
    snprintf(p, sizeof path_, "%s/suid", dir);
    R(chown(p, 1000, 1000));
    R(chmod(p, 06755));
    struct stat st;
    stat(p, &st);
    printf("mode %o\n", st.st_mode & 07777);
    in_child(({ void f(void) {
        R(setgroups(0, NULL));
        R(setresgid(3000, 3000, 3000));
        R(setresuid(2000, 2000, 2000));
        execl(path_, path_, "--show", "set-user-ID exec", (char *)NULL);
        printf("exec: %s\n", en(errno));
    } f; }));
    in_child(({ void f(void) {  /* no_new_privs: the bits do nothing */
        R(setresuid(2000, 2000, 2000));
        R(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        execl(path_, path_, "--show", "no_new_privs set-user-ID exec", (char *)NULL);
    } f; }));
    /* chown takes the set-user-ID bit away, and set-group-ID with group exec */
    R(chown(p, 1000, -1));
    stat(p, &st);
    printf("after chown: mode %o\n", st.st_mode & 07777);
    R(chmod(p, 06745));
    R(chown(p, -1, -1));
    stat(p, &st);
    printf("after chown -1 -1: mode %o\n", st.st_mode & 07777);
    cleanup();
}

static void dac_checks(void) {
    new_dir();
    mkfile("secret", 0600, 0, 0, "root only\n");
    mkfile("open", 0666, 0, 0, "anyone\n");
    mkfile("mine", 0644, 1000, 1000, "1000's\n");
    mkfile("noexec", 0644, 0, 0, "#!/bin/sh\nexit 0\n");
    mkfile("script", 0755, 0, 0, "#!/bin/sh\nexit 7\n");
    char p[160];
    snprintf(p, sizeof p, "%s/locked", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/locked/inner", dir);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    snprintf(p, sizeof p, "%s/passonly", dir);
    mkdir(p, 0711);
    snprintf(p, sizeof p, "%s/passonly/inner", dir);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    in_child(({ void f(void) {
        char q[160];
        R(setgroups(0, NULL));
        R(setresgid(1000, 1000, 1000));
        R(setresuid(1000, 1000, 1000));
        struct stat st;
        snprintf(q, sizeof q, "%s/secret", dir); R(open(q, O_RDONLY));
        snprintf(q, sizeof q, "%s/open", dir); E(open(q, O_RDWR));
        snprintf(q, sizeof q, "%s/locked/inner", dir); R(stat(q, &st));
        R(open(q, O_RDONLY));
        snprintf(q, sizeof q, "%s/locked/../open", dir); R(stat(q, &st));
        snprintf(q, sizeof q, "%s/locked/.", dir); R(stat(q, &st));
        snprintf(q, sizeof q, "%s/locked", dir); R(stat(q, &st));
        R(chdir(q));
        snprintf(q, sizeof q, "%s/passonly/inner", dir); R(stat(q, &st));
        snprintf(q, sizeof q, "%s/passonly", dir); R(open(q, O_RDONLY | O_DIRECTORY));
        R(chdir(q));
        R(stat("inner", &st));
        R(chdir(".."));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        R(fstatat(dfd, "locked/inner", &st, 0));
        R(faccessat(dfd, "passonly/inner", R_OK, 0));
        close(dfd);
        snprintf(q, sizeof q, "%s/noexec", dir); R(execl(q, q, (char *)NULL));
        snprintf(q, sizeof q, "%s/secret", dir);
        R(chmod(q, 0644));
        R(chown(q, 1000, 1000));
        R(utimes(q, NULL));
        snprintf(q, sizeof q, "%s/open", dir);
        R(utimes(q, NULL));  /* now: write permission is enough */
        struct timeval tv[2] = {{1, 0}, {2, 0}};
        R(utimes(q, tv));    /* given times: the owner only */
        struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
        R(utimensat(AT_FDCWD, q, ts, 0));
        ts[1].tv_nsec = UTIME_OMIT;  /* one now, one left: the owner only */
        R(utimensat(AT_FDCWD, q, ts, 0));
        ts[0].tv_nsec = UTIME_OMIT;  /* nothing to do: not even a lookup */
        R(utimensat(AT_FDCWD, "/nonexistent/x", ts, 0));
        ts[0].tv_nsec = 5000000000;
        R(utimensat(AT_FDCWD, q, ts, 0));
        R(utimensat(AT_FDCWD, "/nonexistent/x", ts, 0));
        R(chown(q, 1000, 1000));
        snprintf(q, sizeof q, "%s/mine", dir);
        R(chown(q, 1000, 1000));
        R(chown(q, -1, 0));
        R(chown(q, 0, -1));
        R(utimes(q, tv));
        R(chmod(q, 02644));  /* its own group: kept */
        stat(q, &st);
        printf("mine: mode %o\n", st.st_mode & 07777);
        R(kill(1, 0));
        R(kill(getppid(), 0));
    } f; }));
    char *q = path_;
    snprintf(q, sizeof path_, "%s/mine", dir);
    /* root with a group it is not in: set-group-ID dropped without CAP_FSETID */
    in_child(({ void f(void) {
        R(setresuid(1000, 1000, 0));
        R(setgroups(0, NULL));
        R(setresgid(2000, 2000, 2000));
        R(chmod(path_, 02755));
        struct stat st;
        stat(path_, &st);
        printf("mine by its owner, group not its own: mode %o\n", st.st_mode & 07777);
    } f; }));
    /* root: exec needs some exec bit, reading needs none */
    snprintf(q, sizeof path_, "%s/noexec", dir); R(execl(q, q, (char *)NULL));
    snprintf(q, sizeof path_, "%s/secret", dir); R(chmod(q, 0)); E(open(q, O_RDWR));
    /* CAP_DAC_READ_SEARCH alone: read and search, no write */
    in_child(({ void f(void) {
        struct caps c;
        capget_(0, &c);
        R(capset_(c.eff & ~BIT(CAP_DAC_OVERRIDE), c.prm, 0));
        char r[160];
        snprintf(r, sizeof r, "%s/secret", dir);
        E(open(r, O_RDONLY));
        R(open(r, O_WRONLY));
        R(capset_(c.eff & ~BIT(CAP_DAC_OVERRIDE) & ~BIT(CAP_DAC_READ_SEARCH), c.prm, 0));
        R(open(r, O_RDONLY));
        snprintf(r, sizeof r, "%s/script", dir);
        pid_t k = fork();
        if (k == 0) { execl(r, r, (char *)NULL); _exit(100 + errno); }
        int st;
        waitpid(k, &st, 0);
        printf("script: %s\n", wstatus(st));
    } f; }));
    cleanup();
}

static void noexec_mount(void) {
    in_child(({ void f(void) {
        if (unshare(CLONE_NEWNS) != 0) { printf("unshare: %s\n", en(errno)); return; }
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        strcpy(dir, "/tmp/bastion-creds.XXXXXX");
        mkdtemp(dir);
        R(mount("none", dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, NULL));
        mkfile("script", 0755, 0, 0, "#!/bin/sh\nexit 0\n");
        char n[160];
        snprintf(n, sizeof n, "%s/null", dir);
        R(mknod(n, S_IFCHR | 0666, makedev(1, 3)));
        R(open(n, O_WRONLY));  /* a device node on a nodev mount */
        char q[160];
        snprintf(q, sizeof q, "%s/script", dir);
        R(execl(q, q, (char *)NULL));
        FILE *m = fopen("/proc/self/mounts", "r");
        char line[512];
        while (fgets(line, sizeof line, m))
            if (strstr(line, dir)) printf("mounted %s\n", strstr(line, "noexec") && strstr(line, "nosuid")
                                              && strstr(line, "nodev") ? "noexec,nosuid,nodev" : line);
        fclose(m);
        R(mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL));
        pid_t k = fork();
        if (k == 0) { execl(q, q, (char *)NULL); _exit(100 + errno); }
        int st;
        waitpid(k, &st, 0);
        printf("after remount: %s\n", wstatus(st));
        umount(dir);
        rmdir(dir);
        /* without CAP_SYS_ADMIN, no mount */
        R(setresuid(1000, 1000, 1000));
        R(mount("none", "/mnt", "tmpfs", 0, NULL));
    } f; }));
}

static void attr_errors(void) {
    /* O_NOATIME: the owner's or CAP_FOWNER's; attributes of an anonymous
       inode: none to set; a read-only mount: EROFS before any owner check */
    new_dir();
    mkfile("open", 0666, 0, 0, "anyone\n");
    mkfile("mine", 0644, 1000, 1000, "1000's\n");
    char p[160];
    snprintf(p, sizeof p, "%s/open", dir);
    int fd;
    E(fd = open(p, O_RDONLY | O_NOATIME));
    close(fd);
    in_child(({ void f(void) {
        R(setresuid(1000, 1000, 1000));
        char q[160];
        snprintf(q, sizeof q, "%s/open", dir);
        R(open(q, O_RDONLY | O_NOATIME));
        int g = open(q, O_RDONLY);
        R(fcntl(g, F_SETFL, O_NOATIME));
        R(fcntl(g, F_SETFL, O_NONBLOCK));
        snprintf(q, sizeof q, "%s/mine", dir);
        int h = open(q, O_RDONLY | O_NOATIME);
        printf("own file with O_NOATIME: %s\n", h >= 0 ? "opened" : en(errno));
        R(fcntl(h, F_GETFL) & O_NOATIME ? 1 : 0);
    } f; }));
    int e = eventfd(0, 0), in = inotify_init(), ep = epoll_create1(0), pp[2];
    R(fchmod(e, 0644));
    R(fchown(in, 0, 0));
    R(fchmod(ep, 0600));
    R(futimens(e, NULL));
    R(syscall(452, in, "", 0600, AT_EMPTY_PATH));  /* fchmodat2 */
    pipe(pp);
    R(fchmod(pp[0], 0600));
    in_child(({ void f(void) {
        if (unshare(CLONE_NEWNS) != 0) { printf("unshare: %s\n", en(errno)); return; }
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        R(mount("none", dir, "tmpfs", 0, NULL));
        mkfile("rootfile", 0644, 0, 0, "x\n");
        R(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL));
        char q[160];
        snprintf(q, sizeof q, "%s/rootfile", dir);
        R(chown(q, 0, 0));
        strcpy(path_, q);
        in_child(({ void g(void) {
            R(setresuid(1000, 1000, 1000));
            R(chown(path_, 1000, 1000));
            R(chmod(path_, 0600));
            R(utimes(path_, NULL));
        } g; }));
        umount(dir);  /* the sandbox's mount namespaces are one (README) */
    } f; }));
    cleanup();
}

static struct rlimit rl;

static void privileged_calls(void) {
    /* what a process without capabilities is refused (and a root one is not) */
    getrlimit(RLIMIT_NOFILE, &rl);
    in_child(({ void f(void) {
        R(unshare(CLONE_NEWUTS));
        R(sethostname("creds-test", 10));
        R(setresuid(1000, 1000, 1000));
        R(unshare(CLONE_NEWNS));
        R(unshare(CLONE_NEWUTS | CLONE_FILES));
        R(unshare(CLONE_FILES));
        R(sethostname("x", 1));
        R(chroot("/"));
        R(mknod("/tmp/creds-dev", S_IFCHR | 0600, makedev(1, 3)));
        R(setpriority(PRIO_PROCESS, 0, -5));
        R(setpriority(PRIO_PROCESS, 0, 5));
        struct rlimit up = rl;
        up.rlim_max = rl.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : rl.rlim_max + 1;
        up.rlim_cur = 16;
        R(setrlimit(RLIMIT_NOFILE, &up) == 0 || rl.rlim_max == RLIM_INFINITY ? 0 : -1);
        struct rlimit r1;
        R(prlimit(getppid(), RLIMIT_NOFILE, NULL, &r1));
        R(prlimit(0, RLIMIT_NOFILE, NULL, &r1));
        R(kill(getppid(), 0));
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        R(bind(s, (struct sockaddr *)&a, sizeof a));
        close(s);
    } f; }));
}

/* Making names (fs/namei.c filename_create, may_create, may_linkat): EEXIST
   for a name already there before EROFS or EACCES; write and search rights
   on the directory; a hard link to another user's file only to a regular
   one, not set-user-ID nor set-group-ID and group-executable, that the
   caller may read and write (fs.protected_hardlinks, on by default);
   mknod's type checks before its path, CAP_MKNOD after the directory's. */
static void create_perms(void) {
    char sysctl[8] = "";
    int sfd = open("/proc/sys/fs/protected_hardlinks", O_RDONLY);
    read(sfd, sysctl, sizeof sysctl - 1);
    close(sfd);
    printf("fs.protected_hardlinks = %s", sysctl);
    new_dir();
    mkfile("secret", 0600, 0, 0, "root only\n");
    mkfile("open", 0666, 0, 0, "anyone\n");
    mkfile("suid", 04666, 0, 0, "x");
    mkfile("sgid", 02676, 0, 0, "x");
    mkfile("sgidnox", 02666, 0, 0, "x");
    mkfile("mine", 0600, 1000, 1000, "x");
    char p[160];
    snprintf(p, sizeof p, "%s/pub", dir);
    mkdir(p, 01777);
    chmod(p, 01777);
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/fifo", dir);
    mkfifo(p, 0666);
    chmod(p, 0666);
    in_child(({ void f(void) {
        char q[160], r[160];
        R(setgroups(0, NULL));
        R(setresgid(1000, 1000, 1000));
        R(setresuid(1000, 1000, 1000));
        snprintf(r, sizeof r, "%s/open", dir);
        snprintf(q, sizeof q, "%s/new", dir);  /* in a directory it may not write */
        R(symlink("x", q));
        R(link(r, q));
        R(mkdir(q, 0755));
        R(mknod(q, S_IFIFO | 0644, 0));
        R(mknod(q, S_IFCHR | 0600, makedev(1, 3)));  /* EACCES before EPERM */
        R(mknod(q, S_IFDIR | 0755, 0));  /* the type before the path */
        R(mknod("/nonexistent/x", 0170000, 0));
        snprintf(q, sizeof q, "%s/sub", dir);  /* a name already there */
        R(symlink("x", q));
        R(link(r, q));
        R(mkdir(q, 0755));
        R(mknod(q, S_IFIFO | 0644, 0));
        snprintf(q, sizeof q, "%s/.", dir);
        R(mkdir(q, 0755));
        R(symlink("x", q));
        const char *names[] = {"secret", "open", "suid", "sgid", "sgidnox", "mine", "fifo"};
        for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(r, sizeof r, "%s/%s", dir, names[i]);
            snprintf(q, sizeof q, "%s/pub/%s", dir, names[i]);
            printf("link to %s: ", names[i]);
            R(link(r, q));
        }
        snprintf(q, sizeof q, "%s/pub/dev", dir);
        R(mknod(q, S_IFCHR | 0600, makedev(1, 3)));
    } f; }));
    snprintf(p, sizeof p, "%s/secret", dir);  /* root: CAP_FOWNER links anything */
    char q[160];
    snprintf(q, sizeof q, "%s/pub/by_root", dir);
    R(link(p, q));
    cleanup();
}

static struct section secs[] = {
    SECTION(capget_capset), SECTION(prctl_caps), SECTION(setuid_moves_caps), SECTION(exec_caps),
    SECTION(setid_files), SECTION(dac_checks), SECTION(noexec_mount), SECTION(privileged_calls),
    SECTION(attr_errors), SECTION(create_perms)};

int main(int argc, char **argv) {
    const char *full = getenv("CREDS_FULL");  /* set for the programs the sections exec */
    if (full) {
        full_ = strtoull(full, NULL, 16);
    } else {
        struct caps c;
        capget_(0, &c);
        full_ = c.prm;
        char buf[32];
        snprintf(buf, sizeof buf, "%llx", full_);
        setenv("CREDS_FULL", buf, 1);
    }
    if (argc == 3 && strcmp(argv[1], "--show") == 0)
        return show_main(argv[2]);
    return run_sections(secs, sizeof secs / sizeof secs[0], argc, argv);
}
