/* Directory listings through raw getdents64 (sentry/vfs/files.py DirFile,
   goferfs.HostDir):

     dirents list DIR      every record: d_ino d_off d_type name, in order
     dirents names DIR     the names, without . and .., in order
     dirents dots DIR      whether the records of . and .. carry the inode
                           numbers stat gives DIR and DIR/..
     dirents seek DIR      telldir/seekdir/rewinddir: from a position read
                           earlier the listing goes on as it did
     dirents many DIR N    N opens of DIR at once, each listed in small
                           steps, interleaved: every one sees every name
     dirents drain DIR     remove DIR's files one at a time, each the first
                           a listing shows after a rewinddir

   Output of seek, dots and many is the same natively; list and names print
   host details (offsets, order) that only a sandbox passing the host's own
   records on matches. */
#include "common.h"
#include <dirent.h>

struct rec {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static int open_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        printf("open %s: %s\n", path, en(errno));
        exit(1);
    }
    return fd;
}

static void list(const char *path, int names_only) {
    int fd = open_dir(path);
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long o = 0; o < n;) {
            struct rec *r = (struct rec *)(buf + o);
            if (!names_only)
                printf("%llu %lld %u %s\n", (unsigned long long)r->ino, (long long)r->off, r->type,
                       r->name);
            else if (strcmp(r->name, ".") && strcmp(r->name, ".."))
                printf("%s\n", r->name);
            o += r->reclen;
        }
    if (n < 0) printf("getdents64: %s\n", en(errno));
    close(fd);
}

static void dots(const char *path) {
    struct stat self, up;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/..", path);
    if (stat(path, &self) || stat(parent, &up)) {
        printf("stat: %s\n", en(errno));
        return;
    }
    int fd = open_dir(path), dot = 0, dotdot = 0;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long o = 0; o < n;) {
            struct rec *r = (struct rec *)(buf + o);
            if (!strcmp(r->name, ".")) dot = r->ino == self.st_ino ? 1 : -1;
            if (!strcmp(r->name, "..")) dotdot = r->ino == up.st_ino ? 1 : -1;
            o += r->reclen;
        }
    close(fd);
    printf(". has the inode of %s: %d, .. that of its parent: %d\n", path, dot, dotdot);
}

static void seek(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir: %s\n", en(errno));
        return;
    }
    enum { MAX = 512 };
    static char names[MAX][256];
    static long pos[MAX];
    int n = 0;
    struct dirent *e;
    while (n < MAX) {
        pos[n] = telldir(d);
        if (!(e = readdir(d))) break;
        snprintf(names[n++], 256, "%s", e->d_name);
    }
    int ok = n > 4;
    for (int from = 1; from < n; from += n / 4 + 1) {
        seekdir(d, pos[from]);
        for (int i = from; i < n && ok; i++) {
            e = readdir(d);
            ok = e && !strcmp(e->d_name, names[i]);
        }
    }
    rewinddir(d);
    e = readdir(d);
    ok = ok && e && !strcmp(e->d_name, names[0]);
    closedir(d);
    printf("%s: more than 4 entries, and seekdir to 4 positions read earlier, then rewinddir, "
           "go on as before: %d\n", path, ok);
}

static void many(const char *path, int count) {
    enum { MAX = 256 };
    int fds[MAX], seen[MAX] = {0}, done = 0;
    if (count > MAX) count = MAX;
    for (int i = 0; i < count; i++) fds[i] = open_dir(path);
    char buf[512];
    while (done < count)
        for (int i = 0; i < count; i++) {
            if (fds[i] < 0) continue;
            long n = syscall(SYS_getdents64, fds[i], buf, sizeof buf);
            if (n <= 0) {
                if (n < 0) printf("getdents64: %s\n", en(errno));
                close(fds[i]);
                fds[i] = -1;
                done++;
                continue;
            }
            for (long o = 0; o < n; o += ((struct rec *)(buf + o))->reclen) seen[i]++;
        }
    int same = 1;
    for (int i = 1; i < count; i++) same &= seen[i] == seen[0];
    printf("%d opens of %s listed at once: each saw the same number of entries (> 2): %d\n", count,
           path, same && seen[0] > 2);
}

static void drain(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir: %s\n", en(errno));
        return;
    }
    int removed = 0, rounds = 0, found = 1;
    while (found && rounds++ < 10000) {
        struct dirent *e;
        found = 0;
        rewinddir(d);
        while ((e = readdir(d)))
            if (e->d_type != DT_DIR) {
                found = 1;
                if (unlinkat(dirfd(d), e->d_name, 0) == 0) removed++;
                break;
            }
    }
    closedir(d);
    printf("removed %d files in %d rounds\n", removed, rounds);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "list")) list(argv[2], 0);
    else if (argc >= 3 && !strcmp(argv[1], "names")) list(argv[2], 1);
    else if (argc >= 3 && !strcmp(argv[1], "dots")) dots(argv[2]);
    else if (argc >= 3 && !strcmp(argv[1], "seek")) seek(argv[2]);
    else if (argc >= 4 && !strcmp(argv[1], "many")) many(argv[2], atoi(argv[3]));
    else if (argc >= 3 && !strcmp(argv[1], "drain")) drain(argv[2]);
    else {
        fprintf(stderr, "usage: dirents list|names|dots|seek|drain DIR | many DIR N\n");
        return 2;
    }
    return 0;
}
