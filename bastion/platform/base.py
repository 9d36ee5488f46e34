"""The Platform API: how app code runs, independent of the mechanism.

A Platform makes AddressSpaces (one per app address space) and Contexts (one
per app thread). The kernel resumes a context and later receives an event
for it from `wait`. Nothing here assumes ptrace: a seccomp-trap or KVM
platform implements the same calls.

Register state is a `hostsys.Regs` (user_regs_struct layout); FP state is the
XSAVE image of the CPU (legacy fxsave area first). Both are plain data that a
checkpoint can copy.
"""

import os
import signal

from .. import hostsys

_CLK_TCK = os.sysconf("SC_CLK_TCK")

# Event kinds returned by Platform.wait.
SYSCALL = 1  # ctx stopped at a system call; ctx.regs holds it (orig_rax = nr)
FAULT = 2    # a synchronous host fault: info = (signo, si_code, si_addr)
EXITED = 3   # the host thread is gone (killed); info = host wait status
INTERRUPT = 4  # ctx stopped because the kernel asked (Platform.interrupt)


class Context:
    """One app thread's CPU state on the platform. `owner` is the kernel's."""

    __slots__ = ("regs", "owner")

    def fpstate(self):
        raise NotImplementedError

    def set_fpstate(self, data):
        raise NotImplementedError

    def fpstate_size(self):
        """The size of fpstate(), which a platform may know without it."""
        return len(self.fpstate())


class AddressSpace:
    """Host mappings of one app address space, always ranges of the memory file."""

    pending = ()  # map/unmap/protect calls not made in the host yet (see flush)
    # map/unmap/protect may be called while no thread of it is stopped: they
    # are queued until one runs app code again (systrap; ptrace injects them
    # through a stopped thread, so it needs one)
    deferred = False

    def flush(self):
        """Make the host mappings current now. A platform may queue
        map/unmap/protect and make them before the app runs again (systrap);
        code that changes app memory under a running thread (syscall
        patching) needs them at once."""

    def map(self, addr, length, prot, offset):
        raise NotImplementedError

    def unmap(self, addr, length):
        raise NotImplementedError

    def protect(self, addr, length, prot):
        raise NotImplementedError

    def new_context(self, via):
        """A new thread in this address space; `via` is a stopped context in it."""
        raise NotImplementedError

    def release(self):
        raise NotImplementedError

    def kill_stub(self):
        """SIGKILL the stub process behind this address space (self.pid), if
        it is still there: for platforms whose address spaces are host
        processes (ptrace and systrap)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Platform:
    # Highest app address + 1 (the platform may keep pages above it).
    max_user_address = 0
    # FP/vector state of a new thread (exec resets to it).
    initial_fpstate = None
    # Where a patched syscall site may jump (sentry/mm/patch.py): code that
    # takes eax = syscall number, rcx = return address, and makes the same
    # SYSCALL event a trapped syscall makes, or None: no patching. A platform
    # that has it reports trapped syscalls as SYSCALL events with info True.
    patch_entry = None

    def prepare(self):
        """Start, without waiting, what the first new_address_space needs
        (systrap: its zygote stub), so that it overlaps the sandbox's build."""

    def new_address_space(self):
        """Return (AddressSpace, its first Context), both stopped and empty."""
        raise NotImplementedError

    def resume(self, ctx):
        """Run ctx's app code (with ctx.regs) until its next event."""
        raise NotImplementedError

    def release_context(self, ctx):
        """End the host thread behind ctx (the app thread exited)."""
        raise NotImplementedError

    def fileno(self):
        """An fd that becomes readable when `wait` has events."""
        raise NotImplementedError

    # The two below serve platforms whose contexts are host threads
    # (ctx.aspace.pid, ctx.tid, ctx.alive): ptrace and systrap.
    def thread_times(self, ctx):
        """(user, system) CPU seconds used by ctx's host thread."""
        try:  # os.open, not open(): every exit reads one (10 us less each)
            fd = os.open(f"/proc/{ctx.aspace.pid}/task/{ctx.tid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            try:
                fields = os.read(fd, 4096).rsplit(b")", 1)[1].split()
            finally:
                os.close(fd)
            return int(fields[11]) / _CLK_TCK, int(fields[12]) / _CLK_TCK
        except (OSError, IndexError, ValueError):
            return 0.0, 0.0

    def max_rss_kb(self, aspace):
        """The peak resident kB of the host process behind aspace (its VmHWM:
        the app's pages it touched, and the stub's few)."""
        try:
            fd = os.open(f"/proc/{aspace.pid}/status", os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.read(fd, 8192)
            finally:
                os.close(fd)
            i = data.index(b"VmHWM:")
            return int(data[i + 6:data.index(b"kB", i)])
        except (OSError, ValueError):
            return 0

    def interrupt(self, ctx):
        """Make a running ctx stop soon with an INTERRUPT event: a host
        SIGURG, which the stub never lets reach app code."""
        if ctx.alive:
            try:
                hostsys.tgkill(ctx.aspace.pid, ctx.tid, signal.SIGURG)
            except OSError:
                pass

    def wait(self):
        """Return the ready events as [(ctx, kind, info)] without blocking."""
        raise NotImplementedError

    def prepare_sleep(self):
        """Called before the kernel sleeps in its own epoll (which holds
        fileno()): True if events are already waiting (then it does not sleep)."""
        return False

    def nap(self, ctx):
        """ctx's syscall blocked: its host thread may sleep rather than keep
        a CPU spinning for the answer."""

    def nap_waiting(self):
        """The sentry is about to wait on the host for a while (a gofer round
        trip): the threads waiting for their syscall's answer may sleep."""

    def poll_one(self):
        """An event that is there or comes within a short poll, or None; no
        sleep, no host signal interrupts it. The kernel asks this first: one
        thread's next syscall is often on its way already."""
        return None

    # The hot path of threads that make syscall after syscall, or None:
    # cycle(ctx, rax) resumes ctx (the kernel returns rax from a syscall and
    # has nothing else to do) and, if the next event of a running thread is
    # a syscall that comes within a short poll, takes it and returns its
    # arguments as (r8, r9, r10, rdi, rsi, rdx, nr), its context in
    # `cycled` (ctx itself, or another running thread's) and in `trapped`
    # whether it trapped (as a SYSCALL event's info); else returns None
    # (the threads run; the kernel's loop waits for them). resume, poll_one
    # and the event in one call.
    cycle = None
    cycled = None
    trapped = 0

    def block(self):
        """Sleep until an event is ready. A host signal may interrupt the
        sleep by raising from its handler, even right after the sleep ended:
        no event may be lost to that (the next wait_one returns it)."""
        raise NotImplementedError

    def wait_one(self):
        """Like wait, but may return after the first event (cheaper per event
        when called after block)."""
        raise NotImplementedError


def exec_stub(elf_fd, fds, parent, traceme=False):
    """In a child just forked from the sentry: become a stub process, by
    exec of the stub ELF in `elf_fd` with the sentry's fds `fds` (stub fd ->
    sentry fd) in place and every other fd closed. Leaves a new session,
    dies with the sentry (`parent`, its pid), unblocks every signal; `traceme`: PTRACE_TRACEME
    first. Never returns: no Python runs in the child past this."""
    try:
        os.setsid()
        hostsys.die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        # park every source above the targets first, so no dup2 clobbers one
        park = 100
        parked = []
        for want, src in list(fds.items()) + [(None, elf_fd)]:
            os.dup2(src, park)
            parked.append((want, park))
            park += 1
        for want, src in parked[:-1]:
            os.dup2(src, want)
        elf = parked[-1][1]
        low = 0
        for keep in sorted(set(fds) | {elf}):
            os.closerange(low, keep)
            low = keep + 1
        os.closerange(low, 65536)
        os.set_inheritable(elf, False)
        if traceme:
            hostsys.ptrace_traceme()
        os.execve(elf, ["bastion-stub"], {})
    finally:
        os._exit(127)
