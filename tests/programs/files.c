/* File system calls in a fresh directory under /tmp: open/read/write/lseek/pread/pwrite,
   dup/dup2/dup3, fcntl, O_APPEND/O_TRUNC/O_EXCL, stat, rename, unlink, mkdir/rmdir,
   getdents, symlink/readlink, link, truncate, chmod/access, *at calls, errno names. */
#include "common.h"
#include <dirent.h>
#include <ftw.h>
#include <sys/statfs.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <linux/falloc.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <utime.h>

static char dir[64];

static void enter_tmpdir(void) {
    strcpy(dir, "/tmp/bastion-files.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    chdir(dir);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path) {
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void leave_tmpdir(void) {
    chdir("/");
    rm_rf(dir);
}

static void put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, s, strlen(s));
    close(fd);
}

static void show(const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("%s: %s\n", path, en(errno)); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: \"%s\"\n", path, buf);
}

static const char *ftype(mode_t m) {
    if (S_ISREG(m)) return "reg";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "lnk";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISCHR(m)) return "chr";
    if (S_ISSOCK(m)) return "sock";
    return "other";
}

static void read_write_seek(void) {
    enter_tmpdir();
    int fd;
    R(fd = open("a", O_RDWR | O_CREAT | O_EXCL, 0644));
    R(write(fd, "hello world\n", 12));
    R(lseek(fd, 0, SEEK_CUR));
    R(lseek(fd, 0, SEEK_SET));
    char buf[64] = {0};
    R(read(fd, buf, 5));
    printf("read: %s\n", buf);
    R(lseek(fd, -3, SEEK_END));
    R(read(fd, buf, 64));
    R(read(fd, buf, 64));   /* EOF */
    R(lseek(fd, -100, SEEK_SET));
    R(lseek(fd, 0, 42));
    R(lseek(fd, 100, SEEK_SET));
    R(write(fd, "X", 1));   /* leaves a hole */
    struct stat st;
    fstat(fd, &st);
    printf("size after hole write: %lld\n", (long long)st.st_size);
    R(pread(fd, buf, 4, 50));
    printf("hole reads zeros: %d\n", buf[0] == 0 && buf[3] == 0);
    R(pwrite(fd, "HELLO", 5, 0));
    R(lseek(fd, 0, SEEK_CUR));   /* pwrite does not move the offset */
    memset(buf, 0, sizeof buf);
    R(pread(fd, buf, 11, 0));
    printf("pread: %s\n", buf);
    R(pread(fd, buf, 4, -1));
    R(open("a", O_RDWR | O_CREAT | O_EXCL, 0644));
    R(close(fd));
    R(close(fd));
    R(read(fd, buf, 1));
    R(write(-1, buf, 1));
    leave_tmpdir();
}

static void readv_writev(void) {
    enter_tmpdir();
    int fd = open("v", O_RDWR | O_CREAT, 0644);
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    R(writev(fd, iov, 3));
    char a[2], b[10] = {0};
    struct iovec in[2] = {{a, 2}, {b, 10}};
    R(preadv(fd, in, 2, 0));
    printf("a=%.2s b=%s\n", a, b);
    R(pwritev(fd, iov, 1, 6));
    show("v");
    close(fd);
    leave_tmpdir();
}

static void append_trunc(void) {
    enter_tmpdir();
    put("f", "0123456789");
    int fd = open("f", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    R(write(fd, "AB", 2));
    R(lseek(fd, 0, SEEK_CUR));
    R(pwrite(fd, "cd", 2, 0));   /* Linux: pwrite on O_APPEND appends */
    close(fd);
    show("f");
    fd = open("f", O_RDWR | O_TRUNC);
    struct stat st;
    fstat(fd, &st);
    printf("after O_TRUNC: size=%lld\n", (long long)st.st_size);
    close(fd);
    /* O_APPEND from two descriptors interleaves without overwriting */
    int f1 = open("g", O_WRONLY | O_CREAT | O_APPEND, 0644);
    int f2 = open("g", O_WRONLY | O_APPEND);
    write(f1, "one ", 4);
    write(f2, "two ", 4);
    write(f1, "three", 5);
    close(f1);
    close(f2);
    show("g");
    /* without O_APPEND each description has its own offset */
    f1 = open("h", O_WRONLY | O_CREAT, 0644);
    f2 = open("h", O_WRONLY);
    write(f1, "aaaa", 4);
    write(f2, "bb", 2);
    close(f1);
    close(f2);
    show("h");
    /* O_RDONLY | O_TRUNC still truncates */
    put("t", "xyz");
    fd = open("t", O_RDONLY | O_TRUNC);
    fstat(fd, &st);
    printf("O_RDONLY|O_TRUNC size=%lld\n", (long long)st.st_size);
    R(write(fd, "q", 1));
    close(fd);
    fd = open("t", O_WRONLY);
    char c;
    R(read(fd, &c, 1));
    close(fd);
    leave_tmpdir();
}

static void dup_and_fcntl(void) {
    enter_tmpdir();
    int fd = open("d", O_RDWR | O_CREAT, 0644);
    R(fd);
    int d;
    R(d = dup(fd));
    write(fd, "abc", 3);
    R(lseek(d, 0, SEEK_CUR));   /* shared offset */
    R(dup2(fd, 10));
    R(dup2(fd, fd));
    R(dup2(fd, -1));
    R(dup2(99, 11));
    R(dup3(fd, fd, 0));
    R(dup3(fd, 12, O_CLOEXEC));
    R(fcntl(12, F_GETFD));
    R(fcntl(10, F_GETFD));
    R(fcntl(fd, F_DUPFD, 20));
    R(fcntl(fd, F_DUPFD_CLOEXEC, 20));
    R(fcntl(21, F_GETFD));
    R(fcntl(fd, F_SETFD, FD_CLOEXEC));
    R(fcntl(fd, F_GETFD));
    R(fcntl(fd, F_GETFL) & O_ACCMODE);
    R(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
    R(fcntl(fd, F_GETFL) & (O_APPEND | O_NONBLOCK));
    R(fcntl(d, F_GETFL) & (O_APPEND | O_NONBLOCK));   /* status flags are shared by dup */
    R(fcntl(99, F_GETFD));
    R(fcntl(fd, 9999));
    R(close(10));
    R(close(12));
    /* lowest free descriptor is reused */
    close(d);
    R(open("d", O_RDONLY));
    /* still the lowest, whatever F_DUPFD and dup2 filled above a hole */
    int a, b;
    R(a = dup(fd));
    R(b = dup(fd));
    R(close(a));
    R(fcntl(fd, F_DUPFD, 30));
    R(dup(fd));
    R(dup2(fd, b + 1));
    R(dup(fd));
    R(close(b));
    R(close(a));
    R(dup(fd));
    R(dup(fd));
    leave_tmpdir();
}

static void stat_fields(void) {
    enter_tmpdir();
    put("s", "12345");
    struct stat st, st2;
    R(stat("s", &st));
    printf("type=%s size=%lld mode=%o nlink=%ld blksize>0=%d\n", ftype(st.st_mode),
           (long long)st.st_size, st.st_mode & 07777, (long)st.st_nlink, st.st_blksize > 0);
    printf("uid matches=%d gid matches=%d\n", st.st_uid == getuid(), st.st_gid == getgid());
    int fd = open("s", O_RDONLY);
    fstat(fd, &st2);
    printf("fstat same ino/dev: %d\n", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
    close(fd);
    R(mkdir("sub", 0755));
    stat("sub", &st);
    printf("dir: type=%s mode=%o nlink=%ld\n", ftype(st.st_mode), st.st_mode & 07777, (long)st.st_nlink);
    R(stat("missing", &st));
    R(stat("s/x", &st));
    R(stat("", &st));
    R(lstat("s", &st));
    struct utimbuf ut = {1000000000, 1234567890};
    R(utime("s", &ut));
    stat("s", &st);
    printf("mtime=%ld atime=%ld\n", (long)st.st_mtime, (long)st.st_atime);
    struct timespec ts[2] = {{5, 0}, {6, 500}};
    R(utimensat(AT_FDCWD, "s", ts, 0));
    stat("s", &st);
    printf("utimensat: atime=%ld mtime=%ld.%09ld\n", (long)st.st_atime, (long)st.st_mtime,
           (long)st.st_mtim.tv_nsec);
    /* timestamps move forward on write */
    time_t before = time(NULL);
    put("s", "new");
    stat("s", &st);
    printf("mtime updated: %d\n", st.st_mtime >= before - 1);
    leave_tmpdir();
}

static void chmod_access(void) {
    enter_tmpdir();
    put("p", "x");
    umask(022);
    R(chmod("p", 0640));
    struct stat st;
    stat("p", &st);
    printf("mode=%o\n", st.st_mode & 07777);
    R(access("p", F_OK));
    R(access("p", X_OK));
    R(access("nope", F_OK));
    int fd = open("q", O_CREAT | O_WRONLY, 0777);
    fstat(fd, &st);
    printf("umask applied: %o\n", st.st_mode & 07777);
    R(fchmod(fd, 0700));
    fstat(fd, &st);
    printf("fchmod: %o\n", st.st_mode & 07777);
    close(fd);
    R(umask(077));
    R(mkdir("m", 0777));
    stat("m", &st);
    printf("mkdir under umask 077: %o\n", st.st_mode & 07777);
    umask(022);
    leave_tmpdir();
}

static void rename_unlink(void) {
    enter_tmpdir();
    put("a", "A");
    put("b", "B");
    R(rename("a", "c"));
    show("a");
    show("c");
    R(rename("c", "b"));     /* replaces */
    show("b");
    R(rename("missing", "x"));
    mkdir("d1", 0755);
    mkdir("d2", 0755);
    put("d2/f", "f");
    R(rename("d1", "d2"));   /* target directory not empty */
    R(rename("b", "d1"));    /* file over directory */
    R(rename("d1", "b"));    /* directory over file */
    R(rename("d1", "d1/sub"));
    R(rename("d2", "d3"));
    show("d3/f");
    R(unlink("b"));
    R(unlink("b"));
    R(unlink("d3"));
    R(rmdir("d3"));
    R(unlink("d3/f"));
    R(rmdir("d3"));
    R(rmdir("d1"));
    R(rmdir("."));
    R(rmdir("nope"));
    R(renameat2(AT_FDCWD, "x1", AT_FDCWD, "x2", RENAME_NOREPLACE));
    put("x1", "1");
    put("x2", "2");
    R(renameat2(AT_FDCWD, "x1", AT_FDCWD, "x2", RENAME_NOREPLACE));
    R(renameat2(AT_FDCWD, "x1", AT_FDCWD, "x2", RENAME_EXCHANGE));
    show("x1");
    show("x2");
    leave_tmpdir();
}

static void unlink_open_file(void) {
    enter_tmpdir();
    int fd = open("ghost", O_RDWR | O_CREAT, 0644);
    write(fd, "still here", 10);
    R(unlink("ghost"));
    struct stat st;
    fstat(fd, &st);
    printf("nlink after unlink=%ld\n", (long)st.st_nlink);
    char buf[16] = {0};
    pread(fd, buf, 10, 0);
    printf("read after unlink: %s\n", buf);
    R(access("ghost", F_OK));
    close(fd);
    leave_tmpdir();
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s: %s\n", path, en(errno)); return; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char *s = malloc(300);
        snprintf(s, 300, "%s(%s)", e->d_name,
                 e->d_type == DT_DIR ? "d" : e->d_type == DT_REG ? "f" : e->d_type == DT_LNK ? "l" : "?");
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmpstr);
    printf("%s:", path);
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
}

static void getdents_listing(void) {
    enter_tmpdir();
    mkdir("dir", 0755);
    for (int i = 0; i < 5; i++) {
        char p[32];
        snprintf(p, sizeof p, "dir/file%d", i);
        put(p, "x");
    }
    mkdir("dir/subdir", 0755);
    symlink("file0", "dir/link");
    list_dir("dir");
    unlink("dir/file2");
    list_dir("dir");
    list_dir("dir/subdir");
    list_dir("nope");
    /* many entries, small getdents buffer: every name exactly once */
    mkdir("many", 0755);
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "many/entry-with-a-longish-name-%03d", i);
        put(p, "");
    }
    int fd = open("many", O_RDONLY | O_DIRECTORY);
    char buf[512];
    int count = 0, calls = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        calls++;
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d =
                (void *)(buf + off);
            if (strcmp(d->name, ".") && strcmp(d->name, "..")) count++;
            off += d->reclen;
        }
    }
    printf("getdents64: %d entries over >1 calls: %d, end=%ld\n", count, calls > 1, n);
    R(syscall(SYS_getdents64, fd, buf, 10));
    lseek(fd, 0, SEEK_SET);
    n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    printf("rewind works: %d\n", n > 0);
    close(fd);
    int reg = open("dir/file0", O_RDONLY);
    R(syscall(SYS_getdents64, reg, buf, sizeof buf));
    close(reg);
    R(open("dir/file0", O_RDONLY | O_DIRECTORY));
    R(open("dir", O_WRONLY));
    leave_tmpdir();
}

static void symlinks(void) {
    enter_tmpdir();
    put("target", "T");
    R(symlink("target", "ln"));
    R(symlink("missing", "dangling"));
    R(symlink("target", "ln"));
    char buf[64];
    ssize_t n = readlink("ln", buf, sizeof buf);
    printf("readlink: %.*s (%zd)\n", (int)n, buf, n);
    R(readlink("ln", buf, 3));
    R(readlink("target", buf, sizeof buf));
    R(readlink("nope", buf, sizeof buf));
    show("ln");
    show("dangling");
    struct stat st;
    lstat("ln", &st);
    printf("lstat: %s size=%lld\n", ftype(st.st_mode), (long long)st.st_size);
    stat("ln", &st);
    printf("stat: %s\n", ftype(st.st_mode));
    R(open("ln", O_RDONLY | O_NOFOLLOW));
    R(symlink("loop2", "loop1"));
    R(symlink("loop1", "loop2"));
    R(open("loop1", O_RDONLY));
    mkdir("real", 0755);
    put("real/inside", "I");
    symlink("real", "dirlink");
    show("dirlink/inside");
    symlink("../real/inside", "real/up");
    show("real/up");
    R(open("dangling", O_WRONLY | O_CREAT, 0644));   /* creates the target */
    show("missing");
    R(unlink("ln"));
    show("target");
    leave_tmpdir();
}

static void hard_links(void) {
    enter_tmpdir();
    put("orig", "data");
    R(link("orig", "hl"));
    struct stat a, b;
    stat("orig", &a);
    stat("hl", &b);
    printf("same inode=%d nlink=%ld\n", a.st_ino == b.st_ino, (long)a.st_nlink);
    int fd = open("hl", O_WRONLY | O_APPEND);
    write(fd, "+more", 5);
    close(fd);
    show("orig");
    unlink("orig");
    stat("hl", &b);
    printf("after unlink nlink=%ld\n", (long)b.st_nlink);
    show("hl");
    R(link("hl", "hl"));
    R(link("nope", "x"));
    mkdir("d", 0755);
    R(link("d", "d2"));
    leave_tmpdir();
}

static void truncate_ops(void) {
    enter_tmpdir();
    put("t", "0123456789");
    R(truncate("t", 4));
    show("t");
    R(truncate("t", 8));
    int fd = open("t", O_RDONLY);
    char buf[8];
    R(read(fd, buf, 8));
    printf("extended with zeros: %d\n", buf[4] == 0 && buf[7] == 0);
    R(ftruncate(fd, 2));  /* not open for writing */
    close(fd);
    fd = open("t", O_RDWR);
    R(ftruncate(fd, 0));
    R(ftruncate(fd, -1));
    struct stat st;
    fstat(fd, &st);
    printf("size=%lld\n", (long long)st.st_size);
    close(fd);
    R(truncate("nope", 0));
    mkdir("dd", 0755);
    R(truncate("dd", 0));
    leave_tmpdir();
}

static void dirs_and_cwd(void) {
    enter_tmpdir();
    R(mkdir("a", 0755));
    R(mkdir("a", 0755));
    R(mkdir("a/b/c", 0755));
    R(mkdir("a/b", 0755));
    R(chdir("a/b"));
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    printf("cwd ends with /a/b: %d\n", strlen(cwd) > 4 && strcmp(cwd + strlen(cwd) - 4, "/a/b") == 0);
    put("../x", "up");
    R(chdir(".."));
    show("x");
    R(chdir("nope"));
    R(chdir("x"));
    int fd = open("b", O_RDONLY | O_DIRECTORY);
    R(fchdir(fd));
    close(fd);
    getcwd(cwd, sizeof cwd);
    printf("fchdir: ends with /a/b: %d\n", strcmp(cwd + strlen(cwd) - 4, "/a/b") == 0);
    /* removing the cwd: getcwd reports it deleted */
    chdir("..");
    mkdir("gone", 0755);
    chdir("gone");
    rmdir("../gone");
    R(open("newfile", O_CREAT | O_WRONLY, 0644));
    chdir(dir);
    R(syscall(SYS_getcwd, cwd, 2));
    leave_tmpdir();
}

static void at_calls(void) {
    enter_tmpdir();
    mkdir("base", 0755);
    int dfd = open("base", O_RDONLY | O_DIRECTORY);
    int fd;
    R(fd = openat(dfd, "f", O_CREAT | O_WRONLY, 0600));
    write(fd, "at", 2);
    close(fd);
    show("base/f");
    struct stat st;
    R(fstatat(dfd, "f", &st, 0));
    printf("size=%lld\n", (long long)st.st_size);
    R(mkdirat(dfd, "sub", 0755));
    R(symlinkat("f", dfd, "l"));
    R(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW));
    printf("l is %s\n", ftype(st.st_mode));
    R(fstatat(dfd, "l", &st, 0));
    printf("l followed: %s, size=%lld\n", ftype(st.st_mode), (long long)st.st_size);
    int root = open("/", O_RDONLY | O_DIRECTORY);
    struct stat rs, ps;
    fstatat(root, ".", &rs, 0);
    R(fstatat(root, "proc", &ps, 0));  /* one name, a mount point: its mount's root */
    printf("proc from /: dir %d, another fs %d\n", S_ISDIR(ps.st_mode), ps.st_dev != rs.st_dev);
    close(root);
    R(linkat(dfd, "f", dfd, "f2", 0));
    R(renameat(dfd, "f2", dfd, "sub/f3"));
    R(unlinkat(dfd, "sub", 0));
    R(unlinkat(dfd, "sub", AT_REMOVEDIR));
    R(unlinkat(dfd, "sub/f3", 0));
    R(unlinkat(dfd, "sub", AT_REMOVEDIR));
    R(faccessat(dfd, "f", R_OK, 0));
    R(fchmodat(dfd, "f", 0400, 0));
    fstatat(dfd, "f", &st, 0);
    printf("mode=%o\n", st.st_mode & 0777);
    R(fstatat(dfd, "", &st, AT_EMPTY_PATH));
    printf("empty path is dir: %d\n", S_ISDIR(st.st_mode));
    int reg = open("base/f", O_RDONLY);
    R(openat(reg, "x", O_RDONLY));   /* ENOTDIR */
    R(openat(99, "x", O_RDONLY));    /* EBADF */
    R(openat(99, "/etc/hostname", O_RDONLY) >= 0);   /* absolute path ignores dirfd */
    close(reg);
    close(dfd);
    leave_tmpdir();
}

static void flock_and_locks(void) {
    enter_tmpdir();
    int fd = open("lk", O_RDWR | O_CREAT, 0644);
    R(flock(fd, LOCK_EX));
    int fd2 = open("lk", O_RDWR);
    R(flock(fd2, LOCK_EX | LOCK_NB));
    R(flock(fd, LOCK_UN));
    R(flock(fd2, LOCK_SH | LOCK_NB));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    R(fcntl(fd, F_SETLK, &fl));
    pid_t c = fork();
    if (c == 0) {
        int f = open("lk", O_RDWR);
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        R(fcntl(f, F_SETLK, &q));
        R(fcntl(f, F_GETLK, &q));
        printf("child: conflicting lock type=%s start=%ld len=%ld owner is parent=%d\n",
               q.l_type == F_WRLCK ? "F_WRLCK" : "other", (long)q.l_start, (long)q.l_len,
               q.l_pid == getppid());
        if (q.l_pid != getppid()) printf("  l_pid=%d ppid=%d\n", q.l_pid, getppid());
        q.l_start = 20;
        R(fcntl(f, F_SETLK, &q));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    leave_tmpdir();
}

static void special_files(void) {
    int fd = open("/dev/null", O_RDWR);
    R(write(fd, "discard", 7));
    char buf[16];
    R(read(fd, buf, sizeof buf));
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    R(read(fd, buf, sizeof buf));
    printf("zeros: %d\n", buf[0] == 0 && buf[15] == 0);
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    R(read(fd, buf, sizeof buf));
    close(fd);
    R(getrandom(buf, 16, 0));
    fd = open("/dev/full", O_WRONLY);
    R(write(fd, "x", 1));
    close(fd);
    struct stat st;
    stat("/dev/null", &st);
    printf("/dev/null: %s rdev=%d,%d\n", ftype(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
    R(open("/dev/nonexistent", O_RDONLY));
}

static void host_files_readonly(void) {
    /* reading host files through the sandbox root */
    char buf[64];
    int fd = open("/etc/passwd", O_RDONLY);
    R(fd >= 0);
    R(read(fd, buf, 5) == 5);
    printf("starts with root: %d\n", strncmp(buf, "root:", 5) == 0);
    close(fd);
    struct stat st;
    R(stat("/usr/bin", &st));
    printf("/usr/bin is %s\n", ftype(st.st_mode));
    R(open("/etc/passwd/x", O_RDONLY));
    R(access("/bin/sh", X_OK));
}

static void long_names(void) {
    enter_tmpdir();
    char name[300];
    memset(name, 'n', 255);
    name[255] = 0;
    R(open(name, O_CREAT | O_WRONLY, 0644) >= 0);
    name[255] = 'n';
    name[256] = 0;
    R(open(name, O_CREAT | O_WRONLY, 0644));
    char *deep = malloc(5000);
    deep[0] = 0;
    for (int i = 0; i < 1100; i++) strcat(deep, "a/");
    R(open(deep, O_RDONLY));
    R(open("nodir/file", O_CREAT | O_WRONLY, 0644));
    leave_tmpdir();
}

static void fifo_and_mknod(void) {
    enter_tmpdir();
    R(mkfifo("fifo", 0644));
    struct stat st;
    stat("fifo", &st);
    printf("fifo type: %s\n", ftype(st.st_mode));
    pid_t c = fork();
    if (c == 0) {
        int w = open("fifo", O_WRONLY);
        write(w, "through fifo", 12);
        _exit(0);
    }
    int r = open("fifo", O_RDONLY);
    char buf[32] = {0};
    int n = 0, k;
    while ((k = read(r, buf + n, sizeof buf - 1 - n)) > 0) n += k;
    printf("read: %s\n", buf);
    waitpid(c, NULL, 0);
    R(open("fifo", O_WRONLY | O_NONBLOCK));   /* no reader: ENXIO */
    leave_tmpdir();
}

static void cloexec_and_fd_limits(void) {
    R(fcntl(0, F_GETFD));
    struct { unsigned long cur, max; } rl;
    syscall(SYS_getrlimit, 7 /* RLIMIT_NOFILE */, &rl);
    printf("nofile soft limit >= 1024: %d\n", rl.cur >= 1024);
    R(dup2(1, (int)rl.cur));
    R(dup2(1, (int)rl.cur - 1));
    R(close((int)rl.cur - 1));
    R(close_range(3, ~0U, 0));
}

static void statfs_struct(void) {
    /* struct statfs is 120 bytes on x86-64: the kernel must not write past it */
    unsigned char buf[256];
    memset(buf, 0xAA, sizeof buf);
    R(statfs("/tmp", (struct statfs *)buf));
    int over = 0;
    for (size_t i = sizeof(struct statfs); i < sizeof buf; i++) over |= buf[i] != 0xAA;
    printf("sizeof(struct statfs)=%zu written past it: %d\n", sizeof(struct statfs), over);
    memset(buf, 0xAA, sizeof buf);
    int fd = open("/", O_RDONLY);
    R(fstatfs(fd, (struct statfs *)buf));
    over = 0;
    for (size_t i = sizeof(struct statfs); i < sizeof buf; i++) over |= buf[i] != 0xAA;
    printf("fstatfs written past it: %d\n", over);
    struct statfs sf;
    statfs("/tmp", &sf);
    printf("namelen=%ld\n", (long)sf.f_namelen);
    close(fd);
}

static void rm_rf_tree(void) {
    /* coreutils rm -rf (uses fstatfs) */
    enter_tmpdir();
    mkdir("tree", 0755);
    mkdir("tree/sub", 0755);
    put("tree/sub/f", "x");
    put("tree/g", "y");
    int st = system("rm -rf tree");
    printf("rm -rf: %s\n", wstatus(st));
    R(access("tree", F_OK));
    leave_tmpdir();
}

static void copy_calls(void) {
    enter_tmpdir();
    put("src", "0123456789abcdef");
    int in = open("src", O_RDONLY), out = open("dst", O_WRONLY | O_CREAT, 0644);
    off_t off = 4;
    R(sendfile(out, in, &off, 6));
    printf("offset now %lld, file offset %lld\n", (long long)off, (long long)lseek(in, 0, SEEK_CUR));
    R(sendfile(out, in, NULL, 3));     /* from the file offset */
    close(out);
    show("dst");
    int out2 = open("dst2", O_WRONLY | O_CREAT, 0644);
    loff_t ioff = 10;
    R(copy_file_range(in, &ioff, out2, NULL, 100, 0));
    close(out2);
    show("dst2");
    /* splice file -> pipe -> file */
    int p[2];
    pipe(p);
    loff_t so = 0;
    R(splice(in, &so, p[1], NULL, 5, 0));
    int out3 = open("dst3", O_WRONLY | O_CREAT, 0644);
    R(splice(p[0], NULL, out3, NULL, 5, 0));
    close(out3);
    show("dst3");
    /* tee duplicates pipe data */
    int q[2];
    pipe(q);
    write(p[1], "teedata", 7);
    R(tee(p[0], q[1], 7, 0));
    char buf[16] = {0};
    read(q[0], buf, 7);
    printf("tee copy: %s\n", buf);
    memset(buf, 0, sizeof buf);
    read(p[0], buf, 7);
    printf("original still there: %s\n", buf);
    R(sendfile(in, p[0], NULL, 1));   /* out fd not writable */
    close(in);
    leave_tmpdir();
}

static void holes_and_fallocate(void) {
    enter_tmpdir();
    int fd = open("sparse", O_RDWR | O_CREAT, 0644);
    pwrite(fd, "x", 1, 100 << 20);   /* 100 MiB hole */
    struct stat st;
    fstat(fd, &st);
    printf("size=%lld allocated < 1MiB: %d\n", (long long)st.st_size, st.st_blocks * 512 < (1 << 20));
    off_t d = lseek(fd, 0, SEEK_DATA);
    printf("SEEK_DATA from 0 lands in the last page: %d\n", d >= (100 << 20) - 4096 && d <= (100 << 20));
    R(lseek(fd, 0, SEEK_HOLE));
    R(lseek(fd, (100 << 20) + 10, SEEK_DATA));
    R(lseek(fd, 100 << 20, SEEK_HOLE));
    R(lseek(fd, -1, SEEK_DATA));
    char page[4096], zero[4096] = {0};
    printf("the hole reads as zeros: %d\n", pread(fd, page, 4096, 50 << 20) == 4096 &&
           !memcmp(page, zero, 4096));
    /* data in the middle of the hole, then punched out again */
    R(pwrite(fd, "y", 1, (10 << 20) + 5));
    R(lseek(fd, 0, SEEK_DATA));
    R(lseek(fd, 10 << 20, SEEK_HOLE));
    fstat(fd, &st);
    printf("two pages allocated: %d\n", st.st_blocks * 512 <= 3 * 4096 && st.st_blocks * 512 >= 2 * 4096);
    R(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 10 << 20, 4096));
    R(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10 << 20, 4096));
    R(lseek(fd, 0, SEEK_DATA));
    fstat(fd, &st);
    printf("punched: size=%lld, reads zero %d\n", (long long)st.st_size,
           pread(fd, page, 16, (10 << 20) + 5) == 16 && !memcmp(page, zero, 16));
    /* shrinking drops the data past the new end; growing again shows zeros */
    R(ftruncate(fd, (100 << 20) - 4096));
    R(ftruncate(fd, 101 << 20));
    R(lseek(fd, 0, SEEK_DATA));
    printf("grown again reads zero: %d\n", pread(fd, page, 16, 100 << 20) == 16 &&
           !memcmp(page, zero, 16));
    R(ftruncate(fd, 0));
    R(fallocate(fd, 0, 0, 8192));
    fstat(fd, &st);
    printf("after fallocate: size=%lld blocks=%lld\n", (long long)st.st_size, (long long)st.st_blocks);
    R(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
    fstat(fd, &st);
    printf("keep size: %lld blocks=%lld\n", (long long)st.st_size, (long long)st.st_blocks);
    R(fallocate(fd, 0, -1, 4096));
    R(fallocate(fd, 0, 0, 0));
    int ro = open("sparse", O_RDONLY);
    R(fallocate(ro, 0, 0, 4096));
    close(ro);
    /* a small file grown by a big hole by ftruncate, then written at its start */
    int g = open("grown", O_RDWR | O_CREAT, 0644);
    R(write(g, "head", 4));
    R(ftruncate(g, 1 << 30));
    fstat(g, &st);
    printf("1 GiB by truncate: allocated < 1MiB: %d\n", st.st_blocks * 512 < (1 << 20));
    R(pwrite(g, "more", 4, 2));
    printf("start: %d\n", pread(g, page, 8, 0) == 8 && !memcmp(page, "hemore\0\0", 8));
    R(lseek(g, 0, SEEK_HOLE));
    close(g);
    R(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    close(fd);
    leave_tmpdir();
}

static void statx_fields(void) {
    enter_tmpdir();
    put("sx", "hello");
    struct statx sx;
    R(statx(AT_FDCWD, "sx", 0, STATX_BASIC_STATS, &sx));
    printf("mask has BASIC_STATS: %d size=%llu mode=%o nlink=%u type reg=%d\n",
           (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, (unsigned long long)sx.stx_size,
           sx.stx_mode & 07777, sx.stx_nlink, S_ISREG(sx.stx_mode));
    struct stat st;
    stat("sx", &st);
    printf("agrees with stat: ino=%d mtime=%d\n", sx.stx_ino == st.st_ino, sx.stx_mtime.tv_sec == st.st_mtime);
    R(statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx));
    symlink("sx", "sl");
    statx(AT_FDCWD, "sl", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    printf("nofollow: link=%d\n", S_ISLNK(sx.stx_mode));
    leave_tmpdir();
}

static void utimens_special(void) {
    enter_tmpdir();
    put("u", "x");
    struct timespec ts[2] = {{100, 0}, {200, 0}};
    utimensat(AT_FDCWD, "u", ts, 0);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {300, 0}};
    R(utimensat(AT_FDCWD, "u", omit, 0));
    struct stat st;
    stat("u", &st);
    printf("UTIME_OMIT: atime=%ld mtime=%ld\n", (long)st.st_atime, (long)st.st_mtime);
    time_t before = time(NULL);
    struct timespec nowt[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    R(utimensat(AT_FDCWD, "u", nowt, 0));
    stat("u", &st);
    printf("UTIME_NOW: atime recent=%d mtime=%ld\n", st.st_atime >= before - 1, (long)st.st_mtime);
    int fd = open("u", O_RDONLY);
    R(futimens(fd, ts));
    fstat(fd, &st);
    printf("futimens: %ld %ld\n", (long)st.st_atime, (long)st.st_mtime);
    close(fd);
    /* ctime changes on chmod */
    stat("u", &st);
    time_t c0 = st.st_ctime;
    chmod("u", 0600);
    stat("u", &st);
    printf("ctime not older after chmod: %d\n", st.st_ctime >= c0);
    leave_tmpdir();
}

static void o_path_fds(void) {
    enter_tmpdir();
    put("op", "data");
    int fd = open("op", O_PATH);
    R(fd >= 0);
    char b[4];
    R(read(fd, b, 4));
    R(write(fd, b, 4));
    struct stat st;
    R(fstat(fd, &st));
    printf("size=%lld\n", (long long)st.st_size);
    R(fcntl(fd, F_GETFL) & O_PATH ? 1 : 0);
    R(fchmod(fd, 0600));
    int dfd = open(".", O_PATH | O_DIRECTORY);
    int r = openat(dfd, "op", O_RDONLY);
    R(read(r, b, 4));
    close(r);
    char dents[1024];
    R(syscall(SYS_getdents64, dfd, dents, sizeof dents));
    R(syscall(SYS_getdents64, fd, dents, sizeof dents));
    R(lseek(dfd, 0, SEEK_SET));
    R(lseek(fd, 0, SEEK_SET));
    R(fchown(fd, -1, -1));
    R(fsync(fd));
    R(fdatasync(fd));
    R(ftruncate(fd, 0));
    R(fchdir(dfd));
    symlink("op", "lnk");
    int l = open("lnk", O_PATH | O_NOFOLLOW);
    R(fstatat(l, "", &st, AT_EMPTY_PATH));
    printf("O_PATH|O_NOFOLLOW on symlink is a link: %d\n", S_ISLNK(st.st_mode));
    leave_tmpdir();
}

static void proc_fd_links(void) {
    enter_tmpdir();
    put("pf", "x");
    int fd = open("pf", O_RDONLY);
    char path[64], target[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("fd link ends with /pf: %d\n", n > 3 && strcmp(target + n - 3, "/pf") == 0);
    int p[2];
    pipe(p);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("pipe link starts with pipe:[ : %d\n", strncmp(target, "pipe:[", 6) == 0);
    n = readlink("/proc/self/cwd", target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("cwd link is our dir: %d\n", strcmp(target, dir) == 0);
    /* reopening through /proc/self/fd gives a new description with its own offset */
    int fd2 = open("/proc/self/fd/0", O_RDONLY);
    R(fd2 >= 0);
    unlink("pf");
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("deleted file link ends with (deleted): %d\n", n > 10 && strcmp(target + n - 10, " (deleted)") == 0);
    /* a renamed file's link follows it; one a rename replaced is deleted */
    put("ra", "1");
    put("rc", "2");
    int fa = open("ra", O_RDONLY), fc = open("rc", O_RDONLY);
    R(rename("ra", "rb"));
    snprintf(path, sizeof path, "/proc/self/fd/%d", fa);
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("renamed file link ends with /rb: %d\n", n > 3 && strcmp(target + n - 3, "/rb") == 0);
    R(rename("rc", "rb"));
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("replaced file link ends with /rb (deleted): %d\n",
           n > 13 && strcmp(target + n - 13, "/rb (deleted)") == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fc);
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("the file put there ends with /rb: %d\n", n > 3 && strcmp(target + n - 3, "/rb") == 0);
    mkdir("rd", 0755);
    int fd_dir = open("rd", O_RDONLY | O_DIRECTORY);
    R(rmdir("rd"));
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd_dir);
    n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("removed dir link ends with /rd (deleted): %d\n",
           n > 13 && strcmp(target + n - 13, "/rd (deleted)") == 0);
    unlink("rb");
    close(fa);
    close(fc);
    close(fd_dir);
    leave_tmpdir();
}

static void emfile_rlimit(void) {
    struct { unsigned long cur, max; } rl, old;
    syscall(SYS_getrlimit, 7, &old);
    rl.cur = 16;
    rl.max = old.max;
    R(syscall(SYS_setrlimit, 7, &rl));
    int n = 0, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) n++;
    printf("opened %d more fds, then %s\n", n, en(errno));
    R(dup(0));
    R(fcntl(0, F_DUPFD, 20));
    int p[2];
    R(pipe(p));
    rl.cur = 8;
    R(syscall(SYS_setrlimit, 7, &rl));   /* lowering below open fds is allowed */
    rl.cur = old.max + 1;
    R(syscall(SYS_setrlimit, 7, &rl));   /* a soft limit above the hard limit is invalid */
    R(syscall(SYS_setrlimit, 7, &old));
}

static void permissions_as_nobody(void) {
    /* after dropping root, the permission bits are enforced */
    enter_tmpdir();
    put("rootonly", "secret");
    chmod("rootonly", 0600);
    put("world", "public");
    chmod("world", 0644);
    mkdir("locked", 0700);
    chmod(dir, 0755);
    pid_t c = fork();
    if (c == 0) {
        R(setgid(65534));
        R(setuid(65534));
        R(open("rootonly", O_RDONLY));
        R(open("world", O_RDONLY) >= 0);
        R(open("world", O_WRONLY));
        R(open("newfile", O_CREAT | O_WRONLY, 0644));
        R(unlink("world"));
        R(rename("world", "moved"));
        R(access("locked", R_OK));
        R(open("locked/x", O_CREAT | O_WRONLY, 0644));
        R(chmod("world", 0777));
        R(chown("world", 65534, 65534));
        R(setuid(0));
        R(kill(getppid(), 0));
        R(open("/etc/shadow", O_RDONLY));
        R(mkdir("/tmp/nobody-dir-probe", 0755) == 0 ? rmdir("/tmp/nobody-dir-probe") : -1);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    R(chown("world", 65534, 65534));
    struct stat st;
    stat("world", &st);
    printf("owner now %d:%d\n", st.st_uid, st.st_gid);
    leave_tmpdir();
}

static void sticky_tmp(void) {
    /* in a sticky directory, another user cannot remove or rename our files */
    enter_tmpdir();
    chmod(dir, 01777);
    put("mine", "x");
    pid_t c = fork();
    if (c == 0) {
        setgid(65534);
        setuid(65534);
        R(unlink("mine"));
        R(rename("mine", "theirs"));
        put("theirs", "y");
        R(unlink("theirs"));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    struct stat st;
    stat(dir, &st);
    printf("mode=%o\n", st.st_mode & 07777);
    leave_tmpdir();
}

MAIN(SECTION(read_write_seek), SECTION(readv_writev), SECTION(append_trunc),
     SECTION(dup_and_fcntl), SECTION(stat_fields), SECTION(chmod_access), SECTION(rename_unlink),
     SECTION(unlink_open_file), SECTION(getdents_listing), SECTION(symlinks), SECTION(hard_links),
     SECTION(truncate_ops), SECTION(dirs_and_cwd), SECTION(at_calls), SECTION(flock_and_locks),
     SECTION(special_files), SECTION(host_files_readonly), SECTION(long_names),
     SECTION(fifo_and_mknod), SECTION(cloexec_and_fd_limits), SECTION(statfs_struct),
     SECTION(rm_rf_tree), SECTION(copy_calls), SECTION(holes_and_fallocate), SECTION(statx_fields),
     SECTION(utimens_special), SECTION(o_path_fds), SECTION(proc_fd_links), SECTION(emfile_rlimit),
     SECTION(permissions_as_nobody), SECTION(sticky_tmp))
