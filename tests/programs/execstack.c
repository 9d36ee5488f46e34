/* Built with -z execstack (PT_GNU_STACK with PF_X): the stack is executable,
   as gcc's trampolines for nested functions need. Runs code copied onto the
   stack and prints the stack's protection from /proc/self/maps. */
#include <stdio.h>
#include <string.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    static const unsigned char src[] = {0xb8, 42, 0, 0, 0, 0xc3};  /* mov $42, %eax; ret */
    unsigned char code[16];
    volatile unsigned char *v = code;
    for (unsigned i = 0; i < sizeof src; i++) v[i] = src[i];
    __builtin___clear_cache((char *)code, (char *)code + sizeof src);
    int (*fn)(void) = (int (*)(void))code;
    char line[256], perms[8] = "";
    FILE *f = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[stack]")) sscanf(line, "%*s %7s", perms);
    fclose(f);
    printf("stack %s\n", perms);
    printf("code on the stack returned %d\n", fn());
    return 0;
}
