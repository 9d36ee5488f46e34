/* A program for gdb to debug, inside the sandbox and natively (tests/test_core_process.py). */
#include <stdio.h>

int square(int x) {
    int y = x * x;
    return y;
}

int main(void) {
    int total = 0;
    for (int i = 1; i <= 3; i++)
        total += square(i);
    printf("total %d\n", total);
    return total == 14 ? 0 : 1;
}
