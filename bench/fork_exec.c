/* N times: fork, exec /bin/true in the child, wait for it in the parent.
   Prints the average cost of one iteration in µs to stderr (bench/run.py
   parses it). Why: process creation is where a sandbox kernel pays most
   (a new address space, a new stub/tracee, an ELF load), and shells, make
   and compilers do it all the time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100;
    const char *prog = argc > 2 ? argv[2] : "/bin/true";
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) { perror("fork"); return 1; }
        if (c == 0) {
            execl(prog, prog, (char *)NULL);
            _exit(127);
        }
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "iteration %ld: child failed (status %#x)\n", i, st);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / n;
    fprintf(stderr, "%.1f us/iteration\n", us);
    return 0;
}
