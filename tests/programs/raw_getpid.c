/* getpid through a raw `syscall` instruction (no libc, no vDSO): the sandbox's first process
   is pid 1.  Also getppid (0: the parent is outside the sandbox) and gettid. */
#include <stdio.h>

static long raw0(long nr) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
    return ret;
}

int main(void) {
    long pid = raw0(39);    /* getpid */
    long tid = raw0(186);   /* gettid */
    long ppid = raw0(110);  /* getppid */
    long bad = raw0(1000);  /* no such syscall */
    printf("pid=%ld\n", pid);
    printf("tid==pid: %d\n", tid == pid);
    printf("ppid=%ld\n", ppid);
    printf("syscall 1000 = %ld\n", bad);
    return 0;
}
