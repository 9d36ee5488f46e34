/* The ptrace platform's one sentry-side helper (x86-64, GNU as).

   Assembled at development time by `python3 -m bastion.platform.native_build`
   into bastion/platform/ptrace_image.py; mapped executable in the sentry and
   called through ctypes (hostsys.native_code).

   long pt_step(int *tid, struct user_regs_struct *regs, siginfo_t *info)

   One call does the per-syscall host work that would be four ctypes calls:
   if *tid is not 0, take it (*tid = 0, before anything else, so that a
   Python signal handler raising after we return can never make the caller
   resume it twice), PTRACE_SETREGS it from regs and PTRACE_SYSEMU it; then,
   if info is not NULL, waitid(P_ALL, WEXITED|WSTOPPED|__WALL) into info and,
   if that event is the taken thread's syscall-entry stop, PTRACE_GETREGS it
   into regs. Returns 1 when regs hold that stop, 0 for any other event (or
   none: flush only), -errno when waitid fails (EINTR, ECHILD), and
   -4096 - errno when the resume fails. */
        .intel_syntax noprefix
        .section .text.helpers, "ax"
pt_step:
        push    rbx
        push    r12
        push    r13
        mov     r12, rsi                /* regs */
        mov     r13, rdx                /* info */
        xor     ebx, ebx
        xchg    ebx, [rdi]              /* the tid to resume, or 0 */
        test    ebx, ebx
        jz      2f
        mov     edi, 13                 /* PTRACE_SETREGS */
        call    regs_call
        test    rax, rax
        js      8f
        mov     edi, 31                 /* PTRACE_SYSEMU */
        mov     esi, ebx
        xor     edx, edx
        xor     r10d, r10d
        mov     eax, 101
        syscall
        test    rax, rax
        js      8f
2:      xor     eax, eax
        test    r13, r13
        jz      9f
        xor     edi, edi                /* P_ALL */
        xor     esi, esi
        mov     rdx, r13
        mov     r10d, 0x40000006        /* __WALL | WEXITED | WSTOPPED */
        xor     r8d, r8d
        mov     eax, 247                /* waitid */
        syscall
        test    rax, rax
        js      9f
        xor     eax, eax
        test    ebx, ebx
        jz      9f
        cmp     [r13 + 16], ebx         /* si_pid */
        jne     9f
        cmp     dword ptr [r13 + 8], 4  /* si_code == CLD_TRAPPED */
        jne     9f
        cmp     dword ptr [r13 + 24], 0x85      /* si_status == SIGTRAP | 0x80 */
        jne     9f
        mov     edi, 12                 /* PTRACE_GETREGS */
        call    regs_call
        test    rax, rax
        js      7f
        mov     eax, 1
        jmp     9f
7:      xor     eax, eax                /* GETREGS failed: leave the event to the caller */
        jmp     9f
8:      sub     rax, 4096
9:      pop     r13
        pop     r12
        pop     rbx
        ret

regs_call:                              /* ptrace(edi, tid = ebx, 0, regs = r12) */
        mov     esi, ebx
        xor     edx, edx
        mov     r10, r12
        mov     eax, 101
        syscall
        ret
