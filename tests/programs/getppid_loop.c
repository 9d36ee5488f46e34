/* N raw getppid syscalls; prints the average cost in ns (bench) and the ppid.
   With no second argument the syscalls come from a site no patch takes (a
   nop between its mov and its syscall: on systrap every call traps); with
   "site", from one `mov $110, %eax; syscall` site (what systrap patches,
   sentry/mm/patch.py); with "libc", through libc's syscall(), whose site
   systrap patches too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static __attribute__((noinline)) long site_getppid(void) {
    long r;
    __asm__ volatile(".p2align 3\n\tmov $110, %%eax\n\tsyscall" : "=a"(r) : : "rcx", "r11", "memory");
    return r;
}

static __attribute__((noinline)) long trap_getppid(void) {
    long r;
    __asm__ volatile("mov $110, %%eax\n\tnop\n\tsyscall" : "=a"(r) : : "rcx", "r11", "memory");
    return r;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *mode = argc > 2 ? argv[2] : "";
    struct timespec a, b;
    long r = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!strcmp(mode, "site"))
        for (long i = 0; i < n; i++) r += site_getppid();
    else if (!strcmp(mode, "libc"))
        for (long i = 0; i < n; i++) r += syscall(SYS_getppid);
    else
        for (long i = 0; i < n; i++) r += trap_getppid();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
    fprintf(stderr, "%.1f ns/syscall\n", ns);
    printf("%ld\n", r / n);
    return 0;
}
