/* The systrap stub and the sentry's spin/wake helpers (x86-64, GNU as).

   Assembled at development time by `python3 -m bastion.platform.native_build`
   into bastion/platform/systrap_image.py; nothing is compiled at run time.

   Section .text.stub is the stub program, loaded at STUB_BASE in every stub
   process. App syscalls trap (seccomp SECCOMP_RET_TRAP -> SIGSYS); faults
   and the sentry's kicks (SIGURG) are signals too. One handler serves them
   all: on the thread's alternate stack, which lies inside the thread's
   sysmsg slot (a 64 KiB window of the memory file the sentry also maps), it
   publishes the event (state = EVENT), wakes the sentry if it sleeps, and
   waits (spin, then futex) for a command: RESUME returns to the app with
   the registers the sentry left in the ucontext (resume), SYSCALL
   runs a host syscall for the sentry (mmap, munmap, mprotect, ...), CLONE
   makes a thread, FORK a new stub, EXIT ends the thread.

   patch_entry serves patched syscall sites (sentry/mm/patch.py): a thunk
   jumps there instead of trapping, and the same handshake runs with no
   signal, on a frame laid out like a host signal frame (see patch_entry).

   Section .text.helpers is mapped executable in the sentry and called
   through ctypes (hostsys.py): a spin over the running threads' state words,
   and a resume that stores the command with a full barrier and wakes a
   sleeping stub thread. */

        .intel_syntax noprefix

        .set STUB_BASE,     0x7ff000000000
        .set GLOBAL_ADDR,   0x7ff000010000
        .set SYSMSG_BASE,   0x7ff000100000
        .set SYSMSG_SIZE,   0x10000
        .set STACK_TOP,     0x3000          /* the thread's own stack: [0x1000, 0x3000) */
        .set ALT_SIZE,      0xD000          /* the signal stack: [0x3000, 0x10000) */
        .set HOST_TASK_TOP, 0x7ffffffff000
        .set MEMFD,         3
        .set EVENTFD,       4

        /* sysmsg slot layout (systrap.py has the same numbers) */
        .set OFF_STATE,     0       /* u32: 0 running, 1 EVENT (stub->sentry), 2 CMD (sentry->stub),
                                       3 HANDLING (the sentry took the event) */
        .set OFF_SLEEPING,  4       /* u32: the stub thread sleeps in FUTEX_WAIT on state */
        .set OFF_KIND,      8       /* u32: 1 signal, 2 command done */
        .set OFF_SIGNO,     12      /* u32 */
        .set OFF_UC,        16      /* u64: ucontext address */
        .set OFF_INFO,      24      /* u64: siginfo address */
        .set OFF_CMD,       32      /* u32 */
        .set OFF_SETFS,     36      /* u32: bit 0 set fs_base, bit 1 set gs_base */
        .set OFF_NR,        40      /* u64, then 6 args at 48..88 */
        .set OFF_RET,       96      /* u64 */
        .set OFF_FSBASE,    104     /* u64 */
        .set OFF_GSBASE,    112     /* u64 */
        .set OFF_TID,       120     /* u32: host tid */
        .set OFF_CTID,      124     /* u32: cleared by the host kernel when the thread ends */
        .set OFF_SS,        128     /* stack_t for sigaltstack */
        .set OFF_ZERO,      160     /* 8 zero bytes (an empty signal set) */
        .set OFF_SA,        168     /* struct kernel_sigaction scratch (32 bytes) */
        .set OFF_SELF,      200     /* u64: this slot's address; the thread's gs base points here */
        .set OFF_CPU,       208     /* u32: the CPU the thread last handed over on (rdpid) */
        .set OFF_NAP,       212     /* u32: set by the sentry: this wait is long, sleep at once */
        .set OFF_FPSAVED,   216     /* u32: the patch frame's XSAVE image holds this entry's FP
                                       state (saved on CMD_XSAVE, or written by the sentry):
                                       patch_leave restores it; else the CPU still has it */
        .set OFF_KICKED,    220     /* u32: a kick came while the thread was in the stub, before
                                       patch_leave: taken there, on the way out */
        .set OFF_APPGS,     224     /* u32: the gs base in effect is the app's, not this slot */

        /* The patch frame (patched syscall sites, see patch_entry): a
           ucontext and an XSAVE image laid out as in a host signal frame, in
           the bottom of the signal stack, which host frames (at its top)
           never reach. At 0x18 into a cache line, so that its r8..rax (the
           syscall's number, arguments and result, which the sentry reads
           and writes from another CPU) sit on two lines, not three. */
        .set PF_UC,         0x3018
        .set PF_FP,         0x3400
        .set UC_R8,         40      /* struct sigcontext in a ucontext */
        .set UC_R9,         48
        .set UC_R10,        56
        .set UC_R11,        64
        .set UC_R12,        72
        .set UC_R13,        80
        .set UC_R14,        88
        .set UC_R15,        96
        .set UC_RDI,        104
        .set UC_RSI,        112
        .set UC_RBP,        120
        .set UC_RBX,        128
        .set UC_RDX,        136
        .set UC_RAX,        144
        .set UC_RCX,        152
        .set UC_RSP,        160
        .set UC_RIP,        168
        .set UC_EFLAGS,     176
        .set UC_FPSTATE,    224

        .set G_SLEEPING,    0       /* u32: the sentry sleeps; write the eventfd */
        .set G_ONE,         8       /* u64 1, the eventfd increment */
        .set G_SENTRY_CPU,  16      /* u32: the CPU the sentry last spun on (rdpid) */
        .set G_RDPID,       20      /* u32: the CPU has rdpid (set by the sentry) */

        .set KIND_SIGNAL,   1
        .set KIND_DONE,     2
        .set CMD_RESUME,    1
        .set CMD_SYSCALL,   2
        .set CMD_CLONE,     3
        .set CMD_FORK,      4
        .set CMD_EXIT,      5
        .set CMD_BATCH,     6
        .set CMD_RUN,       7       /* an app thread: run the batch, then resume */
        .set CMD_XSAVE,     8       /* an app thread at a patched site: save its FP state */
        .set BATCH,         0x6000  /* a batch of host syscalls: (nr, 6 args) x OFF_NR entries,
                                       between the patch frame and the host frames */
        .set SPIN,          400     /* pauses before the stub yields (~10 us here): the sentry's
                                       answer takes ~1.2 us of Python, often more; past 50
                                       pauses (1.3 us) most trapped syscalls went on to yield,
                                       and a yield's return is late (trapped getppid -10%, dd
                                       bs=1 -12%) */
        .set YIELDS,        1000

        .section .text.stub, "ax"
stub_start:
        /* unmap everything the host kernel gave us but this image */
        xor     edi, edi
        movabs  rsi, STUB_BASE
        mov     eax, 11
        syscall
        lea     rdi, [rip + stub_end_page]
        add     rdi, 0xfff
        and     rdi, -4096
        movabs  rsi, HOST_TASK_TOP
        sub     rsi, rdi
        mov     eax, 11
        syscall
        /* the shared global page and this thread's slot, from the memory file */
        movabs  rdi, GLOBAL_ADDR
        mov     esi, 4096
        mov     edx, 3
        mov     r10d, 0x11
        mov     r8d, MEMFD
        mov     r9, [rip + param_global_off]
        mov     eax, 9
        syscall
        cmp     rax, rdi
        jne     fail
        movabs  rdi, SYSMSG_BASE
        mov     esi, SYSMSG_SIZE
        mov     edx, 3
        mov     r10d, 0x11
        mov     r8d, MEMFD
        mov     r9, [rip + param_slot_off]
        mov     eax, 9
        syscall
        cmp     rax, rdi
        jne     fail
        movabs  rsp, SYSMSG_BASE + STACK_TOP
        mov     r12, rsp
        and     r12, -SYSMSG_SIZE
        /* one handler for every signal the stub takes, none blocked in it (a
           kick that comes meanwhile nests: see handler); SA_RESTART for the
           host syscalls the stub runs for the sentry */
        lea     rax, [rip + handler]
        mov     [r12 + OFF_SA], rax
        mov     qword ptr [r12 + OFF_SA + 8], 0x5C000004   /* SA_SIGINFO|SA_ONSTACK|SA_RESTORER|
                                                              SA_NODEFER|SA_RESTART */
        lea     rax, [rip + restorer]
        mov     [r12 + OFF_SA + 16], rax
        mov     qword ptr [r12 + OFF_SA + 24], 0
        lea     rbx, [rip + handled_signals]
1:      movzx   edi, byte ptr [rbx]
        test    edi, edi
        jz      2f
        lea     rsi, [r12 + OFF_SA]
        xor     edx, edx
        mov     r10d, 8
        mov     eax, 13
        syscall
        test    rax, rax
        jnz     fail
        inc     rbx
        jmp     1b
2:      /* no new privileges, then the filter: only this image may make host syscalls */
        mov     edi, 38
        mov     esi, 1
        xor     edx, edx
        xor     r10d, r10d
        xor     r8d, r8d
        mov     eax, 157
        syscall
        test    rax, rax
        jnz     fail
        mov     edi, 1
        xor     esi, esi
        lea     rdx, [rip + fprog]
        mov     eax, 317
        syscall
        test    rax, rax
        jnz     fail
        jmp     thread_start

fail:   mov     edi, 99
        mov     eax, 231
        syscall

/* A new stub thread (or a forked stub) on its own slot: rsp = slot + STACK_TOP. */
thread_start:
        mov     r12, rsp
        and     r12, -SYSMSG_SIZE
        mov     [r12 + OFF_SELF], r12           /* gs:[OFF_SELF] finds the slot (patch_entry) */
        mov     dword ptr [r12 + OFF_APPGS], 0
        mov     dword ptr [r12 + OFF_KICKED], 0
        lea     rax, [r12 + PF_FP]
        mov     [r12 + PF_UC + UC_FPSTATE], rax
        mov     edi, 0x1001                     /* ARCH_SET_GS */
        mov     rsi, r12
        mov     eax, 158
        syscall
        lea     rdi, [r12 + OFF_SS]
        lea     rax, [r12 + STACK_TOP]
        mov     [rdi], rax
        mov     qword ptr [rdi + 8], 0
        mov     qword ptr [rdi + 16], ALT_SIZE
        xor     esi, esi
        mov     eax, 131
        syscall
        mov     qword ptr [r12 + OFF_ZERO], 0
        mov     edi, 2
        lea     rsi, [r12 + OFF_ZERO]
        xor     edx, edx
        mov     r10d, 8
        mov     eax, 14
        syscall
        mov     eax, 186
        syscall
        mov     [r12 + OFF_TID], eax
        mov     r13, rax
        mov     eax, 39
        syscall
        mov     rdi, rax
        mov     rsi, r13
        mov     edx, 23                 /* SIGURG: enter the handler, say "ready" */
        mov     eax, 234
        syscall
3:      pause
        jmp     3b

/* handler(signo, siginfo, ucontext), on the slot's signal stack. No
   signal is blocked in it, so a kick (SIGURG) can land in the stub's own
   code, nested: from here to patch_leave, and past patch_end, it is noted
   (OFF_KICKED) and taken on the way out, in patch_leave; from patch_leave
   to patch_end, where the patch frame holds the app's state, it is
   reported at that state (patch_rewind). Before here (a new thread's
   first kick, raised on itself in thread_start) it is reported as is. */
handler:
        mov     r12, rsp
        and     r12, -SYSMSG_SIZE
        cmp     edi, 23                         /* a kick in the stub's code? */
        jne     7f
        mov     rax, [rdx + UC_RIP]
        lea     rcx, [rip + handler]
        cmp     rax, rcx
        jb      7f
        lea     rcx, [rip + patch_leave]
        cmp     rax, rcx
        jb      8f
        lea     rcx, [rip + patch_end]
        cmp     rax, rcx
        jae     8f                              /* patch_rewind, called from here */
        call    patch_rewind                    /* leaving: report it at the app's state */
7:      mov     [r12 + OFF_SIGNO], edi
        mov     [r12 + OFF_INFO], rsi
        mov     [r12 + OFF_UC], rdx
        mov     dword ptr [r12 + OFF_KIND], KIND_SIGNAL
report:
        call    handover
        mov     eax, [r12 + OFF_CMD]
        cmp     eax, CMD_RESUME
        je      resume
        cmp     eax, CMD_RUN
        je      run_resume
        cmp     eax, CMD_SYSCALL
        je      do_syscall
        cmp     eax, CMD_CLONE
        je      do_clone
        cmp     eax, CMD_FORK
        je      do_fork
        cmp     eax, CMD_EXIT
        je      do_exit
        cmp     eax, CMD_BATCH
        je      do_batch
        ud2

/* Back to the app from a host signal frame, without rt_sigreturn (~1 us
   of a ~4 us trapped syscall here): its registers go to the patch frame,
   its FP state back into the CPU, and the patch path's way out does the
   rest. The host frames on this stack are done with: the thread's own
   stack from here, so a kick on the way out nests at the signal stack's
   top, not below them. */
resume:
        mov     rsi, [r12 + OFF_UC]
        mov     r13, [rsi + UC_FPSTATE]
        add     rsi, UC_R8
        lea     rdi, [r12 + PF_UC + UC_R8]
        mov     ecx, 18                         /* r8 .. eflags */
        rep movsq
        mov     eax, -1
        mov     edx, -1
        xrstor  [r13]
        mov     dword ptr [r12 + OFF_FPSAVED], 0
        lea     rsp, [r12 + STACK_TOP]
        jmp     patch_leave

do_syscall:
        call    load_args
        syscall
cmd_done:                                       /* the result, back to the sentry */
        mov     [r12 + OFF_RET], rax
        mov     dword ptr [r12 + OFF_KIND], KIND_DONE
        jmp     report

/* The address space's mapping changes, batched by the sentry: a control
   thread runs them on command (CMD_BATCH, the result goes back); an app
   thread, the only one of its process, runs them before it returns to the
   app (CMD_RUN), with no round trip of its own: nothing of the app runs in
   this process before they are made. */
do_batch:
        call    run_batch
        jmp     cmd_done

run_resume:
        call    run_batch
        test    rax, rax
        jnz     batch_failed
        jmp     resume

/* A refused batch of an app thread (the host's map count or memory): the
   process cannot go on. Report it (KIND_DONE, no signal), then end. */
batch_failed:
        mov     [r12 + OFF_RET], rax
        mov     dword ptr [r12 + OFF_SIGNO], 0
        mov     dword ptr [r12 + OFF_KIND], KIND_DONE
        call    handover
        jmp     do_exit

/* OFF_NR entries of (nr, 6 args) at BATCH, in order, stopping at the first
   error. Returns 0 or that error in rax; the entries done go to the first
   argument's place. */
run_batch:
        mov     r13, [r12 + OFF_NR]
        lea     r14, [r12 + BATCH]
        xor     r15d, r15d
14:     cmp     r15, r13
        jae     15f
        mov     rax, [r14]
        mov     rdi, [r14 + 8]
        mov     rsi, [r14 + 16]
        mov     rdx, [r14 + 24]
        mov     r10, [r14 + 32]
        mov     r8, [r14 + 40]
        mov     r9, [r14 + 48]
        syscall
        cmp     rax, -4095
        jae     16f
        add     r14, 56
        inc     r15
        jmp     14b
15:     xor     eax, eax
16:     mov     [r12 + OFF_NR + 8], r15
        ret

/* clone(flags, stack = new slot + STACK_TOP, ptid, ctid, tls): the child
   starts on its own slot */
do_clone:
        call    load_args
        syscall
        test    rax, rax
        jz      thread_start
        jmp     cmd_done

/* fork(CLONE_PARENT|SIGCHLD): arg 1 is the child's slot offset in the
   memory file. The child shares this slot's pages until it remaps its own,
   so it touches no memory before that. Arg 2, when not 0, is the memory
   file offset of its first app thread's slot (slot 1) and arg 3 that
   thread's clone flags: the child maps the slot and starts the thread
   itself, so a new address space costs one command, not three. */
do_fork:
        mov     eax, 110                        /* getppid: the sentry, the child's parent too */
        syscall
        mov     rbx, rax
        mov     r13, [r12 + OFF_NR + 16]
        mov     r14, [r12 + OFF_NR + 24]
        mov     r15, [r12 + OFF_NR + 32]
        call    load_args
        xor     esi, esi
        xor     edx, edx
        xor     r10d, r10d
        xor     r8d, r8d
        syscall
        test    rax, rax
        jz      fork_child
        jmp     cmd_done
fork_child:
        movabs  rdi, SYSMSG_BASE
        mov     esi, SYSMSG_SIZE
        mov     edx, 3
        mov     r10d, 0x11
        mov     r8d, MEMFD
        mov     r9, r13
        mov     eax, 9
        syscall
        cmp     rax, rdi
        jne     fail
        mov     edi, 1                          /* PR_SET_PDEATHSIG: die with the sentry */
        mov     esi, 9
        mov     eax, 157
        syscall
        mov     eax, 110                        /* unless it died before that: then now */
        syscall
        cmp     rax, rbx
        jne     fail
        test    r14, r14
        jz      1f
        movabs  rdi, SYSMSG_BASE + SYSMSG_SIZE  /* slot 1, the first app thread's */
        mov     esi, SYSMSG_SIZE
        mov     edx, 3
        mov     r10d, 0x11
        mov     r8d, MEMFD
        mov     r9, r14
        mov     eax, 9
        syscall
        cmp     rax, rdi
        jne     fail
        mov     rdi, r15                        /* clone(flags, its stack, 0, its ctid, 0) */
        lea     rsi, [rax + STACK_TOP]
        xor     edx, edx
        lea     r10, [rax + OFF_CTID]
        xor     r8d, r8d
        mov     eax, 56
        syscall
        test    rax, rax
        jz      thread_start                    /* the new thread, on slot 1 */
        js      fail
1:      movabs  rsp, SYSMSG_BASE + STACK_TOP
        jmp     thread_start

do_exit:
        xor     edi, edi
        mov     eax, 60
        syscall
        ud2

load_args:
        mov     rax, [r12 + OFF_NR]
        mov     rdi, [r12 + OFF_NR + 8]
        mov     rsi, [r12 + OFF_NR + 16]
        mov     rdx, [r12 + OFF_NR + 24]
        mov     r10, [r12 + OFF_NR + 32]
        mov     r8, [r12 + OFF_NR + 40]
        mov     r9, [r12 + OFF_NR + 48]
        ret

restorer:
        mov     eax, 15
        syscall
        ud2
8:      mov     dword ptr [r12 + OFF_KICKED], 1 /* a kick in the stub: taken in patch_leave */
        ret

/* A patched syscall site (`mov $nr, %eax; syscall` whose mov the sentry
   replaced by a jmp to a per-site thunk: mov eax, nr; movabs rcx, return
   address; jmp here). rax = nr, rcx = the address after the syscall
   instruction, r11 free (a syscall clobbers rcx and r11); every other
   register, the stack and its red zone are the app's and stay untouched.
   The registers go to the patch frame, which the sentry reads and writes
   exactly like a host signal frame; then the same handshake as the signal
   handler's, with no signal and no host syscall on the fast path. The FP
   and vector state stays in the CPU (nothing here touches it): XSAVE and
   XRSTOR of its ~2.4 KB were ~200 ns of a ~1.4 us round trip. It goes to
   the frame's XSAVE image only when the sentry wants it (CMD_XSAVE: a
   signal frame, a fork), and comes back from there only if the image was
   saved or written since the entry (OFF_FPSAVED). Signals are not blocked here: a kick (SIGURG) before
   patch_leave is dropped (the thread is entering the sentry anyway), one
   after it is reported as an interrupt at the app's state (patch_rewind). */
patch_entry:
        mov     r11, gs:[OFF_SELF]
        mov     [r11 + PF_UC + UC_RAX], rax
        mov     [r11 + PF_UC + UC_RCX], rcx
        mov     [r11 + PF_UC + UC_RIP], rcx
        mov     [r11 + PF_UC + UC_RSP], rsp
        mov     [r11 + PF_UC + UC_R8], r8
        mov     [r11 + PF_UC + UC_R9], r9
        mov     [r11 + PF_UC + UC_R10], r10
        mov     [r11 + PF_UC + UC_R12], r12
        mov     [r11 + PF_UC + UC_R13], r13
        mov     [r11 + PF_UC + UC_R14], r14
        mov     [r11 + PF_UC + UC_R15], r15
        mov     [r11 + PF_UC + UC_RDI], rdi
        mov     [r11 + PF_UC + UC_RSI], rsi
        mov     [r11 + PF_UC + UC_RBP], rbp
        mov     [r11 + PF_UC + UC_RBX], rbx
        mov     [r11 + PF_UC + UC_RDX], rdx
        lea     rsp, [r11 + STACK_TOP]
        mov     r12, r11
        pushfq
        pop     rax
        mov     [r12 + PF_UC + UC_EFLAGS], rax
        mov     [r12 + PF_UC + UC_R11], rax     /* r11 = rflags, as after a syscall */
        mov     dword ptr [r12 + OFF_FPSAVED], 0
        lea     rax, [r12 + PF_UC]
        mov     [r12 + OFF_UC], rax
        mov     qword ptr [r12 + OFF_INFO], 0   /* no siginfo: a patched site (not a trap) */
        mov     dword ptr [r12 + OFF_SIGNO], 31
        mov     dword ptr [r12 + OFF_KIND], KIND_SIGNAL
        call    handover
patch_command:
        cmp     dword ptr [r12 + OFF_CMD], CMD_RESUME
        je      patch_leave
        cmp     dword ptr [r12 + OFF_CMD], CMD_RUN
        je      patch_run
        cmp     dword ptr [r12 + OFF_CMD], CMD_XSAVE
        je      patch_xsave
        cmp     dword ptr [r12 + OFF_CMD], CMD_EXIT
        je      do_exit
        ud2

/* CMD_XSAVE: the FP state into the patch frame, then back to waiting. */
patch_xsave:
        mov     eax, -1
        mov     edx, -1
        xsave   [r12 + PF_FP]
        mov     dword ptr [r12 + OFF_FPSAVED], 1
        mov     dword ptr [r12 + OFF_KIND], KIND_DONE
        call    handover
        jmp     patch_command

/* The hand-over of both paths (the signal handler's `report` and this one):
   publish the event (state = EVENT), wake the sentry if it sleeps, then
   wait for its command: spin, yield (the sentry may share our CPU), then
   sleep on the state word while it is EVENT or HANDLING. Returns when the
   state is CMD. When the sentry last spun on this thread's CPU it cannot
   answer before we give the CPU up, so the spin is skipped (the host may
   pack both on one CPU for long stretches). It lies before patch_leave, so
   a kick that lands here is noted and taken on the way out. */
handover:
        mov     r13d, SPIN
        movabs  rax, GLOBAL_ADDR
        cmp     dword ptr [rax + G_RDPID], 0
        je      0f
        rdpid   rdx
        mov     [r12 + OFF_CPU], edx
        cmp     edx, [rax + G_SENTRY_CPU]
        jne     0f
        mov     r13d, 1
0:      mov     eax, 1
        xchg    [r12 + OFF_STATE], eax          /* EVENT; a full barrier */
        movabs  rax, GLOBAL_ADDR
        cmp     dword ptr [rax + G_SLEEPING], 0
        je      1f
        lea     rsi, [rax + G_ONE]
        mov     edi, EVENTFD
        mov     edx, 8
        mov     eax, 1
        syscall
1:      mov     ecx, r13d
2:      cmp     dword ptr [r12 + OFF_STATE], 2
        je      4f
        pause
        dec     ecx
        jnz     2b
        mov     ecx, YIELDS
3:      cmp     dword ptr [r12 + OFF_STATE], 2
        je      4f
        cmp     dword ptr [r12 + OFF_NAP], 0    /* a long wait: no yields (they cost */
        jne     5f                              /* a CPU others could run on) */
        push    rcx
        mov     eax, 24                         /* sched_yield */
        syscall
        pop     rcx
        dec     ecx
        jnz     3b
5:      mov     eax, 1
        xchg    [r12 + OFF_SLEEPING], eax
        mov     edx, [r12 + OFF_STATE]          /* sleep while it is EVENT or HANDLING */
        cmp     edx, 2
        je      4f
        lea     rdi, [r12 + OFF_STATE]
        xor     esi, esi                        /* FUTEX_WAIT (shared: the sentry maps it too) */
        xor     r10d, r10d
        mov     eax, 202
        syscall
        jmp     1b
4:      mov     dword ptr [r12 + OFF_SLEEPING], 0
        ret

/* The way back to the app of both paths: the patch frame holds its
   registers, and its FP state is in the CPU or (OFF_FPSAVED) in the patch
   frame's image. A kick noted in the stub before here becomes this
   thread's event now, at the app's state; from here on one is reported at
   that state (patch_rewind). */
patch_leave:
        mov     dword ptr [r12 + OFF_NAP], 0
        cmp     dword ptr [r12 + OFF_KICKED], 0
        jne     patch_kicked
        call    set_bases
        cmp     dword ptr [r12 + OFF_APPGS], 0
        je      5f
        /* The app has its own gs base: the restore below reads the patch
           frame through gs, so leave through rt_sigreturn on the patch
           frame instead (laid out as a signal frame for this), which
           restores the FP state from its image: saved first if need be. */
9:      cmp     dword ptr [r12 + OFF_FPSAVED], 0
        jne     6f
        mov     eax, -1
        mov     edx, -1
        xsave   [r12 + PF_FP]
        mov     dword ptr [r12 + OFF_FPSAVED], 1
6:      mov     dword ptr [r12 + OFF_STATE], 0
        lea     rsp, [r12 + PF_UC]              /* rt_sigreturn: the ucontext at rsp */
        mov     eax, 15
        syscall
        ud2
        /* The trap flag (a tracer's single step) leaves through rt_sigreturn
           too: set by the popfq below, it would trap in the stub's own code. */
5:      test    dword ptr [r12 + PF_UC + UC_EFLAGS], 0x100
        jnz     9b
        mov     dword ptr [r12 + OFF_STATE], 0
        cmp     dword ptr [r12 + OFF_FPSAVED], 0
        je      6f
        mov     eax, -1
        mov     edx, -1
        xrstor  [r12 + PF_FP]
6:      push    qword ptr [r12 + PF_UC + UC_EFLAGS]
        popfq
        mov     rax, gs:[PF_UC + UC_RAX]
        mov     rcx, gs:[PF_UC + UC_RCX]
        mov     rdx, gs:[PF_UC + UC_RDX]
        mov     rbx, gs:[PF_UC + UC_RBX]
        mov     rbp, gs:[PF_UC + UC_RBP]
        mov     rsi, gs:[PF_UC + UC_RSI]
        mov     rdi, gs:[PF_UC + UC_RDI]
        mov     r8, gs:[PF_UC + UC_R8]
        mov     r9, gs:[PF_UC + UC_R9]
        mov     r10, gs:[PF_UC + UC_R10]
        mov     r11, gs:[PF_UC + UC_R11]
        mov     r12, gs:[PF_UC + UC_R12]
        mov     r13, gs:[PF_UC + UC_R13]
        mov     r14, gs:[PF_UC + UC_R14]
        mov     r15, gs:[PF_UC + UC_R15]
        mov     rsp, gs:[PF_UC + UC_RSP]
        jmp     qword ptr gs:[PF_UC + UC_RIP]

/* Apply the fs and gs bases the sentry asked for (OFF_SETFS: bit 0 fs,
   bit 1 gs), noting in OFF_APPGS whether the gs base is now the app's.
   It lies after patch_leave: a kick here is reported at the app's state,
   and the request is cleared only once done, so the next way out makes it
   again. */
set_bases:
        mov     eax, [r12 + OFF_SETFS]
        test    eax, 1
        jz      1f
        mov     edi, 0x1002                     /* ARCH_SET_FS */
        mov     rsi, [r12 + OFF_FSBASE]
        mov     eax, 158
        syscall
1:      test    dword ptr [r12 + OFF_SETFS], 2
        jz      2f
        mov     edi, 0x1001                     /* ARCH_SET_GS */
        mov     rsi, [r12 + OFF_GSBASE]
        mov     eax, 158
        syscall
        xor     eax, eax
        cmp     rsi, r12
        setne   al
        mov     [r12 + OFF_APPGS], eax
2:      mov     dword ptr [r12 + OFF_SETFS], 0
        ret

/* CMD_RUN on the patch path: the batch runs with every signal blocked, so
   a kick cannot cut it short; one that came meanwhile arrives when they are
   unblocked, here, after patch_leave: reported at the app's state. */
patch_run:
        xor     edi, edi                        /* SIG_BLOCK */
        lea     rsi, [rip + all_signals]
        xor     edx, edx
        mov     r10d, 8
        mov     eax, 14
        syscall
        call    run_batch
        test    rax, rax
        jnz     batch_failed
        mov     edi, 2                          /* SIG_SETMASK: none, as always in the stub */
        lea     rsi, [r12 + OFF_ZERO]
        xor     edx, edx
        mov     r10d, 8
        mov     eax, 14
        syscall
        jmp     patch_leave

/* A kick noted in the stub (OFF_KICKED): the thread's event, at the app's
   state in the patch frame, taken as one at a patched site. */
patch_kicked:
        mov     dword ptr [r12 + OFF_KICKED], 0
        lea     rax, [r12 + PF_UC]
        mov     [r12 + OFF_UC], rax
        mov     qword ptr [r12 + OFF_INFO], 0
        mov     dword ptr [r12 + OFF_SIGNO], 23
        mov     dword ptr [r12 + OFF_KIND], KIND_SIGNAL
        call    handover
        jmp     patch_command
patch_end:

/* A kick landed in the patch path after patch_leave: the registers the
   sentry left in the patch frame, and its XSAVE image if saved or written
   (else the host frame has the CPU's, which are the app's), are the app's
   state, so copy them over the host frame (rdx: its ucontext) and report
   the kick as if it had come right after the return. */
patch_rewind:
        push    rdi
        push    rsi
        push    rdx
        lea     rsi, [r12 + PF_UC + UC_R8]
        lea     rdi, [rdx + UC_R8]
        mov     ecx, 18                         /* r8 .. eflags */
        rep movsq
        cmp     dword ptr [r12 + OFF_FPSAVED], 0
        je      9f
        mov     rdi, [rdx + UC_FPSTATE]
        lea     rsi, [r12 + PF_FP]
        mov     ecx, 464                        /* the legacy area but its software bytes */
        rep movsb
        mov     ecx, [rdi + 16]                 /* xstate_size, from the host frame's software bytes */
        add     rdi, 48
        add     rsi, 48
        sub     ecx, 512
        jbe     9f
        rep movsb
9:      pop     rdx
        pop     rsi
        pop     rdi
        ret

handled_signals:                                /* SIGSYS SEGV BUS FPE ILL TRAP URG */
        .byte 31, 11, 7, 8, 4, 5, 23, 0
        .balign 8
all_signals:
        .quad -1
param_global_off:
        .quad 0
param_slot_off:
        .quad 0
fprog:  .short 0                                /* filled by systrap.py: length, */
        .short 0, 0, 0
        .quad 0                                 /* and the address of the filter */
stub_code_end:
filter: .fill 16, 8, 0                          /* 16 BPF instructions, filled by systrap.py */
stub_end_page:

        .section .text.helpers, "ax"
/* int st_spin(uint32_t **states, int n, long rounds): the index of the first
   state word that is EVENT (1), or -1 after `rounds` passes. The first 64
   passes pause, later ones yield; none pause when a thread waited for last
   handed over on our CPU (it cannot run before we give the CPU up). Threads
   the kernel holds (HANDLING: blocked in a syscall) do not count there: one
   that last ran on our CPU would make every spin yield for nothing. */
st_spin:
        mov     r9, rdx
        sub     rdx, 64                 /* pause while r9 > rounds - 64 (signed) */
        mov     rax, [rip + helper_global]
        cmp     dword ptr [rax + G_RDPID], 0
        je      6f
        rdpid   r10
        mov     [rax + G_SENTRY_CPU], r10d
        cmp     r9, 1                   /* a single pass (a scan) never yields */
        jle     6f
        xor     ecx, ecx
13:     cmp     ecx, esi
        jge     6f
        mov     r8, [rdi + rcx * 8]
        cmp     dword ptr [r8], 3       /* HANDLING */
        je      15f
        cmp     r10d, [r8 + OFF_CPU]
        je      14f
15:     inc     ecx
        jmp     13b
14:     lea     rdx, [r9 + 1]           /* yield from the first pass */
6:      xor     ecx, ecx
7:      cmp     ecx, esi
        jge     8f
        mov     r8, [rdi + rcx * 8]
        cmp     dword ptr [r8], 1
        je      9f
        inc     ecx
        jmp     7b
8:      cmp     r9, rdx                 /* the first passes pause; later ones yield, */
        jl      11f                     /* in case the thread we wait for shares our CPU */
        pause
        jmp     12f
11:     push    rdi
        push    rsi
        push    rdx
        push    r9
        mov     eax, 24                 /* sched_yield */
        syscall
        pop     r9
        pop     rdx
        pop     rsi
        pop     rdi
12:     dec     r9
        jnz     6b
        mov     eax, -1
        ret
9:      mov     eax, ecx
        ret

/* void st_resume(uint32_t *state): state = CMD with a full barrier, then
   FUTEX_WAKE if the stub thread went to sleep. */
st_resume:
        mov     eax, 2
        xchg    [rdi], eax
        cmp     dword ptr [rdi + 4], 0
        je      10f
        mov     esi, 1
        mov     edx, 1
        xor     r10d, r10d
        mov     eax, 202
        syscall
10:     ret

/* int st_xchg(uint32_t *p, int v): the old value; a full barrier. */
st_xchg:
        mov     eax, esi
        xchg    [rdi], eax
        ret

/* int st_has_rdpid(void): CPUID.(EAX=7,ECX=0):ECX bit 22. */
st_has_rdpid:
        push    rbx
        xor     eax, eax
        cpuid
        cmp     eax, 7
        jb      15f
        mov     eax, 7
        xor     ecx, ecx
        cpuid
        mov     eax, ecx
        shr     eax, 22
        and     eax, 1
        pop     rbx
        ret
15:     xor     eax, eax
        pop     rbx
        ret

        .balign 8
helper_global:                          /* the global page's address in the sentry (systrap.py) */
        .quad   0
