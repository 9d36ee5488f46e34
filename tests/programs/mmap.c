/* mmap (anon/file, private/shared), mprotect + caught fault, munmap, mremap, MAP_FIXED,
   MAP_FIXED_NOREPLACE, madvise, msync, brk, SIGBUS past EOF. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define PG 4096

static sigjmp_buf jb;
static volatile int fsig, fcode;
static void *volatile faddr;
static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fsig = sig;
    fcode = si->si_code;
    faddr = si->si_addr;
    siglongjmp(jb, 1);
}

static void catch_faults(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

static const char *code_name(int sig, int code) {
    if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
    if (sig == SIGBUS && code == BUS_ADRERR) return "BUS_ADRERR";
    return "other";
}

/* Try a 1-byte write (or read) at p; print what happened. */
static void probe(const char *what, volatile char *p, int write) {
    if (sigsetjmp(jb, 1) == 0) {
        if (write) *p = 'x';
        else { volatile char c = *p; (void)c; }
        printf("%s: ok\n", what);
    } else {
        printf("%s: %s %s addr_ok=%d\n", what, sigabbrev_np(fsig), code_name(fsig, fcode),
               faddr == (void *)p);
    }
}

static const char *tmpfile_with(const char *name, const char *data, size_t len) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/%s.%d", name, getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, data, len);
    close(fd);
    return path;
}

static void anon_private(void) {
    char *p = mmap(NULL, 10 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(((uintptr_t)p & (PG - 1)) == 0);
    int zero = 1;
    for (int i = 0; i < 10 * PG; i++) zero &= p[i] == 0;
    printf("fresh pages are zero: %d\n", zero);
    for (int i = 0; i < 10 * PG; i++) p[i] = (char)(i * 7);
    long sum = 0;
    for (int i = 0; i < 10 * PG; i++) sum += (unsigned char)p[i];
    printf("sum=%ld\n", sum);
    R(munmap(p, 10 * PG));
    /* a large mapping is lazily backed: touching a few pages is cheap */
    char *big = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED);
    big[0] = 1;
    big[(1UL << 30) - 1] = 2;
    printf("1 GiB mapping ends: %d %d\n", big[0], big[(1UL << 30) - 1]);
    R(munmap(big, 1UL << 30));
}

static void anon_shared_fork(void) {
    int *shared = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *priv = 1;
    pid_t c = fork();
    if (c == 0) {
        *shared = 42;
        *priv = 42;
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("after child wrote: shared=%d private=%d\n", *shared, *priv);
    /* the other direction: a parent write after fork is seen by the child */
    int fds[2];
    pipe(fds);
    c = fork();
    if (c == 0) {
        char b;
        read(fds[0], &b, 1);
        printf("child sees shared=%d private=%d\n", *shared, *priv);
        _exit(0);
    }
    *shared = 7;
    *priv = 7;
    write(fds[1], "g", 1);
    waitpid(c, NULL, 0);
}

static void file_private(void) {
    char data[2 * PG];
    for (int i = 0; i < 2 * PG; i++) data[i] = 'a' + i % 26;
    const char *path = tmpfile_with("mmap_priv", data, sizeof data);
    int fd = open(path, O_RDWR);
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    printf("content: %.10s ... %.5s\n", p, p + PG);
    p[0] = 'Z';
    char buf[4];
    pread(fd, buf, 4, 0);
    printf("private write not in file: map=%c file=%c\n", p[0], buf[0]);
    /* offset mapping */
    char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    printf("offset map: %.5s\n", q);
    R(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100));
    /* a file opened read-only cannot be mapped shared+writable */
    int ro = open(path, O_RDONLY);
    R(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    E(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));
    close(ro);
    close(fd);
    printf("mapping survives close: %c\n", p[1]);
    unlink(path);
}

static void file_shared(void) {
    char data[PG];
    memset(data, '.', sizeof data);
    const char *path = tmpfile_with("mmap_shared", data, sizeof data);
    int fd = open(path, O_RDWR);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(p, "shared!", 7);
    R(msync(p, PG, MS_SYNC));
    char buf[8] = {0};
    pread(fd, buf, 7, 0);
    printf("write through map, read(): %s\n", buf);
    pwrite(fd, "FILE", 4, 100);
    printf("write(), read through map: %.4s\n", p + 100);
    munmap(p, PG);
    close(fd);
    unlink(path);
}

static void file_shared_between_processes(void) {
    char data[PG] = {0};
    const char *path = tmpfile_with("mmap_shared2", data, sizeof data);
    int fd = open(path, O_RDWR);
    volatile int *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pid_t c = fork();
    if (c == 0) {
        int fd2 = open(path, O_RDWR);
        volatile int *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
        q[1] = 1234;
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("another process's shared file mapping: %d\n", p[1]);
    close(fd);
    unlink(path);
}

static void mprotect_fault(void) {
    catch_faults();
    char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p + PG, "keep");
    R(mprotect(p + PG, PG, PROT_READ));
    probe("write to PROT_READ page", p + PG + 5, 1);
    probe("read PROT_READ page", p + PG, 0);
    printf("content kept: %s\n", p + PG);
    probe("write neighbour page", p + 2 * PG, 1);
    R(mprotect(p + PG, PG, PROT_NONE));
    probe("read PROT_NONE page", p + PG + 9, 0);
    R(mprotect(p + PG, PG, PROT_READ | PROT_WRITE));
    probe("write after restoring RW", p + PG, 1);
    printf("content: %s\n", p + PG);
    R(mprotect(p + 1, PG, PROT_READ));
    R(munmap(p, 3 * PG));
    R(mprotect(p, PG, PROT_READ));
    signal(SIGSEGV, SIG_DFL);
}

static void munmap_then_fault(void) {
    catch_faults();
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, 4 * PG);
    R(munmap(p + PG, PG));   /* punch a hole */
    probe("page before hole", p, 0);
    probe("hole", p + PG + 100, 0);
    probe("page after hole", p + 2 * PG, 0);
    R(munmap(p, 4 * PG));    /* unmapping a range with a hole is fine */
    probe("after full unmap", p + 3 * PG, 1);
    R(munmap(p + 1, PG));
    R(munmap(p, 0));
    R(munmap(p, PG));        /* already unmapped: still 0 */
    signal(SIGSEGV, SIG_DFL);
}

static void mremap_ops(void) {
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p, "first");
    strcpy(p + PG, "second");
    char *q = mremap(p, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED);
    printf("after grow: %s %s tail zero=%d\n", q, q + PG, q[63 * PG] == 0);
    q[63 * PG] = 'z';
    char *r = mremap(q, 64 * PG, PG, 0);
    printf("shrink in place: same=%d %s\n", r == q, r);
    catch_faults();
    probe("beyond shrunk end", q + PG, 0);
    signal(SIGSEGV, SIG_DFL);
    /* without MAYMOVE, growing into an occupied range fails */
    char *a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    R(mremap(a, PG, 2 * PG, 0));   /* the next page is mapped: ENOMEM */
    munmap(a + PG, PG);
    char *g = mremap(a, PG, 2 * PG, 0);
    printf("grow in place into freed page: same=%d\n", g == a);
    /* MREMAP_FIXED moves to a chosen address */
    char *dst = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(a, "moved");
    char *m = mremap(a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PG);
    if (m == MAP_FAILED) { printf("MREMAP_FIXED: failed %s\n", en(errno)); return; }
    printf("MREMAP_FIXED: at dst=%d content=%s\n", m == dst + PG, m);
    R(mremap(m, 2 * PG, 0, 0));
    R(mremap((char *)m + 1, PG, 2 * PG, MREMAP_MAYMOVE));
}

static void map_fixed(void) {
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'a', 4 * PG);
    char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at hint: %d, new page zero: %d, neighbours kept: %c %c\n", q == p + PG,
           q[0] == 0, p[0], p[2 * PG]);
    R(mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    void *r = mmap(p + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE over mapping: %s\n", r == MAP_FAILED ? en(errno) : "mapped");
    munmap(p + 3 * PG, PG);
    r = mmap(p + 3 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE in hole: at hint=%d\n", r == p + 3 * PG);
    /* a plain hint over an occupied range gets some other address */
    r = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("occupied hint: moved elsewhere=%d\n", r != MAP_FAILED && r != p);
}

static void bad_args(void) {
    R(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    R(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
    R(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0));
    R(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0));
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    R(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dfd, 0));
    int pfd[2];
    pipe(pfd);
    R(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pfd[0], 0));
    R(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

static void madvise_dontneed(void) {
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 9, 2 * PG);
    R(madvise(p, PG, MADV_DONTNEED));
    printf("after DONTNEED: first page=%d second page=%d\n", p[0], p[PG]);
    R(madvise(p, PG, MADV_WILLNEED));
    R(madvise(p + 1, PG, MADV_DONTNEED));
}

static void brk_ops(void) {
    char *b0 = sbrk(0);
    CHECK(b0 != (void *)-1);
    char *b1 = sbrk(1 << 20);
    printf("sbrk returned old break: %d\n", b1 == b0);
    memset(b0, 5, 1 << 20);
    printf("new break=old+1MiB: %d, last byte=%d\n", (char *)sbrk(0) == b0 + (1 << 20), b0[(1 << 20) - 1]);
    /* raw brk returns the new break; shrinking works */
    long nb = syscall(SYS_brk, b0 + 4096);
    printf("raw brk shrink: %d\n", (char *)nb == b0 + 4096);
    catch_faults();
    probe("above shrunk break", b0 + 2 * PG, 1);
    probe("below break", b0 + 10, 1);
    signal(SIGSEGV, SIG_DFL);
    /* an impossible break leaves it unchanged */
    long same = syscall(SYS_brk, (void *)-4096L);
    printf("huge brk refused: %d\n", (char *)same == b0 + 4096);
    /* regrowing gives zeroed memory */
    syscall(SYS_brk, b0 + 3 * PG);
    printf("regrown page zero: %d\n", b0[2 * PG] == 0);
}

/* A read-only mapping of a host file that runs past its last page, as
   ld.so reserves a library's whole span: the file's bytes are there (the
   sandbox borrows its page cache for them), and a private writable copy of
   a page leaves the file as it is. */
static void host_file_past_eof(void) {
    int fd = open("/bin/true", O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    long len = (st.st_size + PG - 1) / PG * PG + 2 * PG;
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    unsigned char *buf = malloc(st.st_size);
    CHECK(pread(fd, buf, st.st_size, 0) == st.st_size);
    printf("ELF magic %d, file bytes match %d\n", !memcmp(p, "\x7f" "ELF", 4),
           !memcmp(p, buf, st.st_size));
    R(mprotect(p, PG, PROT_READ | PROT_WRITE));
    p[0] = 'X';
    unsigned char c;
    pread(fd, &c, 1, 0);
    printf("private write: map %c, file %02x\n", p[0], c);
    free(buf);
    close(fd);
}

/* Windows of a host file mapped read-only, in an order that leaves holes in
   the sentry's page cache (filled as they are mapped, 64 KiB at a time):
   each window must hold the file's bytes, whatever was filled before it. */
static int window_matches(int fd, off_t off, size_t len) {
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, off);
    if (p == MAP_FAILED) return -1;
    unsigned char *buf = calloc(1, len);
    ssize_t n = pread(fd, buf, len, off);
    int ok = n > 0 && !memcmp(p, buf, n);
    munmap(p, len);
    free(buf);
    return ok;
}

static void file_windows(void) {
    const char *path = getenv("BIG_FILE") ? getenv("BIG_FILE") : "/bin/bash";
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    off_t last = (st.st_size - 1) / PG * PG;
    printf("across a chunk: %d\n", window_matches(fd, 15 * PG, 2 * PG));
    printf("a page further on: %d\n", window_matches(fd, 70 * PG, PG));
    printf("the last page: %d\n", window_matches(fd, last, PG));
    printf("from the start, over the holes: %d\n", window_matches(fd, 0, 96 * PG));
    printf("the whole file: %d\n", window_matches(fd, 0, st.st_size));
    close(fd);
}

/* A read-only mapping of a big host file, whose pages come into the
   sandbox's page cache as they are touched: what the app and the kernel read of pages
   never touched yet, through every way in, is the file's bytes. */
static int same(const void *a, int fd, off_t off, size_t n) {
    unsigned char *buf = malloc(n);
    int ok = pread(fd, buf, n, off) == (ssize_t)n && !memcmp(a, buf, n);
    free(buf);
    return ok;
}

static void lazy_page_cache(void) {
    catch_faults();
    int fd = open("/usr/bin/python3", O_RDONLY);  /* over 4 MiB: filled as it is touched */
    struct stat st;
    fstat(fd, &st);
    size_t len = st.st_size / PG * PG;
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED && len >= 160 * PG);
    /* the kernel reads pages the app has not touched */
    int pp[2];
    pipe(pp);
    unsigned char buf[2 * PG];
    write(pp[1], p + 100 * PG - 16, 32);
    read(pp[0], buf, 32);
    printf("write() from an untouched page: %d\n", same(buf, fd, 100 * PG - 16, 32));
    unsigned char *file = malloc(len);
    pread(fd, file, len, 0);
    unsigned char *s = memmem(file + 64 * PG, len - 64 * PG, "/dev/null", 10);
    CHECK(s != NULL);
    R(access((char *)p + (s - file), F_OK));  /* a path in a page not touched */
    int mem = open("/proc/self/mem", O_RDONLY);
    printf("/proc/self/mem: %d\n", pread(mem, buf, PG, (off_t)(p + 120 * PG)) == PG &&
                                         same(buf, fd, 120 * PG, PG));
    close(mem);
    /* the app's own touches, far apart and next to each other */
    int ok = 1;
    for (size_t o = 0; o < len; o += 37 * PG + 123) ok &= p[o] == file[o];
    printf("scattered reads: %d\n", ok);
    /* a fork's child reads pages nobody touched */
    pid_t k = fork();
    if (k == 0) { _exit(!same(p + 130 * PG, fd, 130 * PG, 2 * PG)); }
    int wst;
    waitpid(k, &wst, 0);
    printf("child: %s\n", wstatus(wst));
    /* mprotect, made writable (a private copy), mremap: still the file */
    R(mprotect(p + 140 * PG, 2 * PG, PROT_READ | PROT_EXEC));
    printf("after mprotect: %d\n", same(p + 140 * PG, fd, 140 * PG, 2 * PG));
    R(mprotect(p + 144 * PG, 2 * PG, PROT_READ | PROT_WRITE));
    printf("made writable: %d\n", same(p + 144 * PG, fd, 144 * PG, 2 * PG));
    p[144 * PG] ^= 1;
    printf("written: %d\n", p[144 * PG] == (file[144 * PG] ^ 1));
    unsigned char *q = mremap(p + 150 * PG, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
    printf("after mremap: %d\n", q != MAP_FAILED && same(q, fd, 150 * PG, 4 * PG));
    /* not executable: a call into it faults, every time */
    for (int i = 0; i < 2; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            ((void (*)(void))(p + 156 * PG))();
            printf("called: ok\n");
        } else {
            printf("call into it: %s %s addr_ok=%d\n", sigabbrev_np(fsig), code_name(fsig, fcode),
                   faddr == (void *)(p + 156 * PG));
        }
    }
    free(file);
    close(fd);
}

/* How much memory a one-page window of a big host file costs the sandbox
   (sysinfo's free RAM under Bastion is its memory limit less what it
   holds): the page cache copies what is mapped, not the whole file. */
static void file_window_cost(void) {
    int fd = open(getenv("BIG_FILE"), O_RDONLY);
    CHECK(fd >= 0);
    struct sysinfo a, b;
    sysinfo(&a);
    volatile unsigned char *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 2048 * PG);
    CHECK(p != MAP_FAILED);
    unsigned char c = p[0];
    (void)c;
    sysinfo(&b);
    long grew = ((long)a.freeram - (long)b.freeram) * (long)a.mem_unit;
    printf("the sandbox grew under 1 MiB: %d\n", grew < (1 << 20));
    close(fd);
}

static void sigbus_past_eof(void) {
    const char *path = tmpfile_with("mmap_bus", "short", 5);
    int fd = open(path, O_RDWR);
    char *p = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    catch_faults();
    printf("first page: %.5s tail zero=%d\n", p, p[100] == 0);
    probe("page past EOF", p + PG, 0);
    probe("last page past EOF", p + 2 * PG + 7, 0);
    /* the kernel's own copies from those pages fail */
    int pfd[2];
    R(pipe(pfd));
    ssize_t n = write(pfd[1], p + PG, 10);
    printf("write from past EOF: %zd %s\n", n, strerrorname_np(errno));
    /* maps shows the protection asked for; mprotect keeps them past EOF */
    R(mprotect(p, 3 * PG, PROT_READ | PROT_WRITE));
    probe("write past EOF after mprotect", p + PG + 1, 1);
    probe("write to the file's page", p + 1, 1);
    char line[256], perms[8];
    unsigned long lo, hi;
    FILE *m = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, m))
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
            lo <= (unsigned long)(p + PG) && (unsigned long)(p + PG) < hi)
            printf("maps: %s\n", perms);
    fclose(m);
    /* the file grows over the second page: it reads as the file now */
    R(pwrite(fd, "grown", 5, PG + 10));
    probe("page the file grew over", p + PG, 0);
    printf("grown page: %.5s zero before=%d\n", p + PG + 10, p[PG + 9] == 0);
    probe("write to it", p + PG, 1);
    probe("third page, still past EOF", p + 2 * PG, 0);
    /* an mmap wholly past the end; a PROT_NONE page past the end is SIGSEGV */
    char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 4 * PG);
    probe("map at an offset past EOF", q, 0);
    R(mprotect(q, PG, PROT_NONE));
    probe("PROT_NONE past EOF", q, 0);
    /* a fork's child sees the same */
    pid_t c = fork();
    if (c == 0) {
        probe("child: past EOF", p + 2 * PG, 0);
        probe("child: grown page", p + PG + 10, 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(pfd[0]);
    close(pfd[1]);
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    close(fd);
    unlink(path);
}

static void fork_cow_many_pages(void) {
    size_t n = 256 * PG;
    unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < n; i++) p[i] = i % 251;
    pid_t c = fork();
    if (c == 0) {
        unsigned long s = 0;
        for (size_t i = 0; i < n; i++) s += p[i];
        for (size_t i = 0; i < n; i += PG) p[i] = 0;
        printf("child sum=%lu\n", s);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    unsigned long s = 0;
    for (size_t i = 0; i < n; i++) s += p[i];
    printf("parent sum after child wrote=%lu\n", s);
}

static void exec_prot(void) {
    /* code written into a RW mapping runs after mprotect(PROT_EXEC) */
    unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 42; ret */
    unsigned char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, code, sizeof code);
    R(mprotect(p, PG, PROT_READ | PROT_EXEC));
    int (*fn)(void) = (int (*)(void))p;
    printf("jit function returned %d\n", fn());
}

static void mincore_msync(void) {
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    unsigned char vec[4];
    R(mincore(p, 4 * PG, vec));
    printf("first page resident: %d\n", vec[0] & 1);
    R(mincore(p + 1, PG, vec));
    R(msync(p, PG, MS_ASYNC));
    R(msync(p + 1, PG, MS_SYNC));
    munmap(p, 4 * PG);
    R(mincore(p, PG, vec));
}

static int deep(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    if (n == 0) return pad[0];
    return deep(n - 1) + pad[0];
}

static void main_stack_growth(void) {
    /* ~6 MiB of recursion: the main stack grows on demand below its initial mapping */
    printf("deep recursion result: %d\n", deep(1500));
    struct rlimit { unsigned long cur, max; } rl;
    syscall(SYS_getrlimit, 3 /* RLIMIT_STACK */, &rl);
    printf("stack rlimit >= 8MiB: %d\n", rl.cur >= (8UL << 20));
    /* a large alloca-like frame in one go (must not skip the guard gap logic for < 1 page steps) */
    pid_t c = fork();
    if (c == 0) { printf("child recursion: %d\n", deep(1200)); _exit(0); }
    waitpid(c, NULL, 0);
}

static void stack_overflow_kills(void) {
    pid_t c = fork();
    if (c == 0) {
        struct { unsigned long cur, max; } rl = {1 << 20, 1 << 20};
        syscall(SYS_setrlimit, 3, &rl);
        deep(100000);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("unbounded recursion: %s\n", wstatus(st));
}

static void proc_self_maps(void) {
    const char *path = tmpfile_with("maps_probe", "0123456789", 10);
    int fd = open(path, O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    char *a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(a + PG, PG, PROT_NONE);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found_file = 0, found_split = 0, found_stack = 0, found_heap = 0, lines = 0;
    char want[64];
    snprintf(want, sizeof want, "%lx-%lx ---p", (unsigned long)(a + PG), (unsigned long)(a + 2 * PG));
    while (fgets(line, sizeof line, f)) {
        lines++;
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        if (lo == (unsigned long)p && strstr(line, "maps_probe") && strncmp(perms, "r--p", 4) == 0)
            found_file = 1;
        if (strncmp(line, want, strlen(want)) == 0) found_split = 1;
        if (strstr(line, "[stack]")) found_stack = 1;
        if (strstr(line, "[heap]")) found_heap = 1;
    }
    fclose(f);
    printf("file mapping line: %d, PROT_NONE middle split: %d, [stack]: %d, lines>5: %d\n",
           found_file, found_split, found_stack, lines > 5);
    (void)found_heap;
    close(fd);
    unlink(path);
}

static void dontneed_file_private(void) {
    const char *path = tmpfile_with("mmap_dn", "original", 8);
    int fd = open(path, O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    memcpy(p, "modified", 8);
    R(madvise(p, PG, MADV_DONTNEED));
    printf("after DONTNEED on a private file mapping: %.8s\n", p);
    /* the file as it is now, zeros past its end; a second page wholly past
       it (mapped, touching it would be SIGBUS) is not looked at */
    memcpy(p, "scribble", 8);
    p[100] = 'x';
    int w = open(path, O_WRONLY);
    R(pwrite(w, "changed!", 8, 0));
    close(w);
    R(madvise(p, PG, MADV_DONTNEED));
    printf("after the file changed: %.8s, byte 100: %d\n", p, p[100]);
    /* one moved by mremap keeps reading its file */
    char *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    q[0] = 'C';
    char *m = mremap(q, PG, 2 * PG, MREMAP_MAYMOVE);
    R(madvise(m, PG, MADV_DONTNEED));
    printf("after mremap: %.8s\n", m);
    munmap(m, 2 * PG);
    munmap(p, PG);
    close(fd);
    unlink(path);
}

static void hint_honoured(void) {
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 4 * PG);
    char *q = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("free hint used: %d\n", q == p + PG);
    /* an unaligned hint is rounded, not refused */
    munmap(q, PG);
    char *r = mmap(p + PG + 5, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("unaligned hint: ok=%d page aligned=%d\n", r != MAP_FAILED, ((uintptr_t)r & (PG - 1)) == 0);
}

static void high_addresses(void) {
    /* the whole 47-bit user address space is usable */
    void *want = (void *)0x7e0000000000UL;
    char *p = mmap(want, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("map at 0x7e0000000000: %s\n", p == want ? "ok" : p == MAP_FAILED ? en(errno) : "elsewhere");
    if (p == want) { p[0] = 1; munmap(p, PG); }
    void *low = (void *)0x10000000UL;
    p = mmap(low, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("map at 0x10000000: %s\n", p == low ? "ok" : p == MAP_FAILED ? en(errno) : "elsewhere");
    R(mmap((void *)0x800000000000UL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    R(mmap((void *)0x7ffffffff000UL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

static void dev_zero_and_memfd_shared(void) {
    int z = open("/dev/zero", O_RDWR);
    int *a = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    if (a == MAP_FAILED) { printf("mmap /dev/zero MAP_SHARED: %s\n", en(errno)); a = NULL; }
    int *pz = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    if (pz == MAP_FAILED) printf("mmap /dev/zero MAP_PRIVATE: %s\n", en(errno));
    else printf("/dev/zero private page zero: %d\n", pz[100] == 0);
    close(z);
    z = open("/dev/zero", O_RDONLY);
    void *ro = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    printf("read-only /dev/zero, shared and writable: %s\n", ro == MAP_FAILED ? en(errno) : "mapped");
    ro = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    printf("read-only /dev/zero, private and writable: %s\n", ro == MAP_FAILED ? en(errno) : "mapped");
    close(z);
    z = open("/dev/full", O_RDWR);
    ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, z, 0);
    printf("/dev/full: %s\n", ro == MAP_FAILED ? en(errno) : "mapped");
    close(z);
    int mfd = memfd_create("probe", 0);
    ftruncate(mfd, PG);
    int *b = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    pid_t c = fork();
    if (c == 0) { if (a) *a = 11; *b = 22; _exit(0); }
    waitpid(c, NULL, 0);
    int via_read = 0;
    pread(mfd, &via_read, sizeof via_read, 0);
    if (a) printf("/dev/zero shared: %d\n", *a);
    printf("memfd shared: %d, memfd read(): %d\n", *b, via_read);
}

static void nx_and_text_protection(void) {
    catch_faults();
    /* executing from a non-executable page faults at that address */
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = (char)0xc3;   /* ret */
    if (sigsetjmp(jb, 1) == 0) {
        ((void (*)(void))p)();
        printf("executed non-exec page?\n");
    } else {
        printf("exec of RW page: %s %s addr_ok=%d\n", sigabbrev_np(fsig), code_name(fsig, fcode), faddr == p);
    }
    /* writing to our own code faults */
    probe("write to text", (volatile char *)(void *)nx_and_text_protection, 1);
    /* reading a string literal is fine, writing it faults */
    probe("write to rodata", (volatile char *)"literal", 1);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
}

static void mprotect_file_shared_readonly(void) {
    const char *path = tmpfile_with("mmap_ro", "data", 4);
    int fd = open(path, O_RDONLY);
    char *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    R(mprotect(p, PG, PROT_READ | PROT_WRITE));   /* EACCES: fd not writable */
    char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    R(mprotect(q, PG, PROT_READ | PROT_WRITE));   /* private: fine */
    close(fd);
    unlink(path);
}

static void many_mappings(void) {
    /* 2000 separate mappings, then unmap every other one */
    static char *maps[2000];
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        maps[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (maps[i] == MAP_FAILED) { ok = 0; break; }
        maps[i][0] = (char)i;
    }
    for (int i = 0; ok && i < 2000; i += 2) ok &= munmap(maps[i], PG) == 0;
    int sum = 0;
    for (int i = 1; ok && i < 2000; i += 2) sum += (unsigned char)maps[i][0];
    printf("2000 mappings: ok=%d sum=%d\n", ok, sum);
}

MAIN(SECTION(anon_private), SECTION(anon_shared_fork), SECTION(file_private), SECTION(file_shared),
     SECTION(file_shared_between_processes), SECTION(mprotect_fault), SECTION(munmap_then_fault),
     SECTION(mremap_ops), SECTION(map_fixed), SECTION(bad_args), SECTION(madvise_dontneed),
     SECTION(brk_ops), SECTION(sigbus_past_eof), SECTION(fork_cow_many_pages), SECTION(exec_prot),
     SECTION(mincore_msync), SECTION(main_stack_growth), SECTION(stack_overflow_kills),
     SECTION(proc_self_maps), SECTION(dontneed_file_private), SECTION(hint_honoured),
     SECTION(high_addresses), SECTION(dev_zero_and_memfd_shared), SECTION(nx_and_text_protection),
     SECTION(mprotect_file_shared_readonly), SECTION(many_mappings), SECTION(host_file_past_eof),
     SECTION(file_windows), SECTION(file_window_cost),
     SECTION(lazy_page_cache))
