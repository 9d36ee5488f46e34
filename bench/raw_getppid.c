/* N raw getppid syscalls and exit, with no libc: the tracee of
   ptrace_floor.py, whose only syscalls are the ones it times. */
#define N 50000
void _start(void) {
    for (long i = 0; i < N; i++) {
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(110) : "rcx", "r11", "memory");
    }
    __asm__ volatile("syscall" : : "a"(231), "D"(0));
    for (;;) {}
}
