"""The systrap platform: the platforms' checked-in machine code matches its
source, and a spread of A/B programs behaves the same on it as natively (the whole suite
runs on it with BASTION_PLATFORM=systrap)."""

import shutil

import pytest

from conftest import run_bastion
from core_util import ab_run, compile_c

SYSTRAP = ("--platform", "systrap")


@pytest.mark.skipif(not all(shutil.which(t) for t in ("gcc", "objcopy", "objdump", "readelf", "nm")),
                    reason="needs gcc and binutils")
@pytest.mark.parametrize("src", ["systrap_stub.S", "ptrace_step.S"])
def test_image_matches_source(src):
    import os
    from bastion.platform import native_build
    with open(os.path.join(native_build.HERE, native_build.IMAGES[src])) as f:
        assert f.read() == native_build.assemble(src), \
            f"run `python3 -m bastion.platform.native_build` after changing {src}"


@pytest.mark.parametrize("program,section", [
    ("fork_wait", "exit_codes"), ("fork_wait", "stop_continue"), ("threads", "many_threads"),
    ("threads", "futex_shared_across_fork"), ("threads", "tls"), ("signals", "segv_si_addr"),
    ("signals", "fpu_preserved"), ("signals", "ucontext_registers"), ("signals", "alarm_and_itimer"),
    ("mmap", "anon_shared_fork"), ("mmap", "mprotect_fault"), ("mmap", "fork_cow_many_pages"),
    ("exec", "exec_from_secondary_thread"), ("exec", "inherited_state"),
])
def test_ab_on_systrap(program, section):
    n, b = ab_run([compile_c(program), section], opts=SYSTRAP)
    assert n.stdout.startswith(f"== {section}\n".encode())


def test_shell_pipeline_on_systrap():
    r = run_bastion(["/bin/sh", "-c", "seq 1 2000 | sort -rn | head -2; echo $((6*7))"], opts=SYSTRAP)
    assert (r.stdout, r.status) == (b"2000\n1999\n42\n", 0), r


def test_raw_syscall_never_reaches_the_host():
    """A syscall made from app code traps to the sentry (pid 1 inside)."""
    r = run_bastion([compile_c("raw_getpid")], opts=SYSTRAP)
    assert r.status == 0 and r.stdout.startswith(b"pid=1\ntid==pid: 1\nppid=0\nsyscall 1000 = -38\n"), r


def test_python_threads_on_systrap():
    code = ("import threading, os\n"
            "out = []\n"
            "ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(8)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "print(sorted(out), os.getpid())\n")
    r = run_bastion(["python3", "-c", code], opts=SYSTRAP)
    assert r.stdout == b"[0, 1, 4, 9, 16, 25, 36, 49] 1\n", r


@pytest.mark.parametrize("platform, fds", [("ptrace", {"3"}), ("systrap", {"3", "4"})])
def test_stubs_hold_only_the_memory_file_and_eventfd(platform, fds):
    """A stub's host fds are the memory file (3) and, on systrap, the
    eventfd (4): nothing of the sentry's leaks into the process that runs
    app code (platform/base.py exec_stub)."""
    import os
    import subprocess
    import sys
    import time
    from conftest import ROOT
    p = subprocess.Popen([sys.executable, "-m", "bastion", "run", "--platform", platform,
                          "--", "sleep", "3"], env=dict(os.environ, PYTHONPATH=ROOT))
    def ppid(pid):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("PPid:"):
                return int(line.split()[1])
        return 0

    def ours(pid):
        while pid > 1:
            if pid == p.pid:
                return True
            pid = ppid(pid)
        return False

    try:
        seen = {}
        for _ in range(50):
            time.sleep(0.1)
            for pid in os.listdir("/proc"):
                try:
                    if not pid.isdigit() or \
                            not open(f"/proc/{pid}/comm").read().startswith("memfd:bastion"):
                        continue
                    if ours(int(pid)):
                        seen[pid] = set(os.listdir(f"/proc/{pid}/fd"))
                except OSError:
                    continue
            if len(seen) >= 2:  # the zygote and the app's stub
                break
        assert seen and all(f == fds for f in seen.values()), seen
    finally:
        p.kill()
        p.wait()


def test_mapping_changes_reach_the_stub_in_batches():
    """map/unmap/protect queue host syscalls; flush makes them in the stub
    in one command, in order; a refused one stops the batch and raises with
    its errno. resume of a process's only thread hands the queue to it."""
    import errno
    import signal
    import time
    from bastion.platform import base as base_events, systrap
    from bastion.sentry.mm.memfile import MemoryFile
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the platform blocks SIGCHLD
    mem = MemoryFile(size=1 << 32)
    p = systrap.SystrapPlatform(mem.fd)
    asp, ctx = p.new_address_space()
    try:
        def mapped(addr):
            with open(f"/proc/{asp.pid}/maps") as f:
                return any(int(line.split("-")[0], 16) == addr for line in f)
        base = 0x10000000
        off = mem.alloc(1 << 20)
        for i in range(systrap.BATCH_MAX + 10):  # more than one batch's room
            asp.map(base + i * 0x1000, 0x1000, 1, off)
        assert len(asp.pending) == 10 and mapped(base)
        assert not mapped(base + systrap.BATCH_MAX * 0x1000)  # still queued
        asp.unmap(base, 0x1000)
        asp.flush()
        assert asp.pending == [] and not mapped(base) and mapped(base + 0x1000)
        asp.protect(base + 0x1000, 0x1000, 3)
        asp.unmap(base + 1, 0x1000)  # unaligned: EINVAL
        asp.unmap(base + 0x1000, 0x1000)  # not reached
        with pytest.raises(OSError) as e:
            asp.flush()
        assert e.value.errno == errno.EINVAL and mapped(base + 0x1000)
        # The process's only thread runs the queue itself when it is resumed
        # (CMD_RUN): no command to the control thread. A fresh thread resumes
        # into the stub's idle loop, so it stays put.
        asp.map(base, 0x1000, 1, off)
        asp.map(base + 0x2000, 0x1000, 1, off)
        p.resume(ctx)
        assert asp.pending == []
        for _ in range(2000):
            if mapped(base) and mapped(base + 0x2000):
                break
            time.sleep(0.005)
        assert mapped(base) and mapped(base + 0x2000)
        assert p.u32[(ctx.off + systrap.OFF_STATE) >> 2] == systrap.RUNNING
        # ... and a refusal then ends it: its next event says so
        p.interrupt(ctx)
        p.block()
        assert [k for _, k, _ in p.wait_one()] == [base_events.INTERRUPT]
        asp.unmap(base + 1, 0x1000)  # EINVAL
        p.resume(ctx)
        p.block()
        assert p.wait_one() == [(ctx, base_events.EXITED, signal.SIGKILL)]
    finally:
        _tear_down(p, mem, [asp])
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def test_bases_count_as_changed_only_when_set():
    """The cycle takes a thread's next syscall without resume's checks while
    systrap._CHANGES is what the thread saw at its last resume. Setting a
    base counts; a thread going from one frame to another (a trapped site's
    signal frame, a patched site's) keeps its bases and must not count: a
    thread of redis-server that did so went the slow way at every switch
    (redis-benchmark -20%)."""
    import os
    import signal
    from bastion.platform import systrap
    from bastion.sentry.mm.memfile import MemoryFile
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the platform blocks SIGCHLD
    mem = MemoryFile(size=1 << 32)
    p = systrap.SystrapPlatform(mem.fd)
    try:
        aspace = type("NoStub", (), {"pending": ()})()
        ctx = systrap.SysContext(aspace, 1, p.alloc_slot(), systrap.STUB_SLOTS + systrap.SLOT)
        frame = systrap.OFF_UC
        systrap._U64.pack_into(p.map, ctx.off + frame, ctx.addr + 0x8000)
        p._take_frame(ctx)
        ctx.regs.fs_base = 0x1234
        before = systrap._CHANGES[0]
        systrap._U64.pack_into(p.map, ctx.off + frame, ctx.addr + 0x9000)  # another frame
        p._take_frame(ctx)
        assert systrap._CHANGES[0] == before and ctx.regs.fs_base == 0x1234
        ctx.regs.gs_base = 0x5678
        assert systrap._CHANGES[0] == before + 1
    finally:
        for fd in (mem.fd, p.eventfd, p.sigfd):
            os.close(fd)
        p.ep.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def test_the_poll_waits_only_for_threads_running_app_code():
    """The cycle's poll of several threads (_scan) reads the state words of
    those running app code: one blocked in a syscall (HANDLING) cannot
    answer. Five blocked threads beside a running one (redis-server's idle
    workers) still leave a poll of that one, not a single look, which sent
    most of redis-benchmark's syscalls through the loop."""
    import types
    from bastion.platform import systrap

    class Words:
        """State words: the `ready` thread's turns EVENT at its 10th read."""
        def __init__(self, states, ready):
            self.states, self.ready, self.reads = states, ready, 0

        def __getitem__(self, i):
            if i == self.ready:
                self.reads += 1
                return systrap.EVENT if self.reads >= 10 else self.states[i]
            return self.states.get(i, 0)

    p = systrap.SystrapPlatform.__new__(systrap.SystrapPlatform)
    p.cpu_hint = False
    threads = [types.SimpleNamespace(w_state=i, w_cpu=100 + i) for i in range(6)]
    p.u32 = Words({i: systrap.HANDLING for i in range(5)} | {5: systrap.RUNNING}, 5)
    assert p._scan(threads) is threads[5]
    # more threads running app code than the poll takes: one look
    p.u32 = Words({i: systrap.RUNNING for i in range(6)}, 5)
    assert p._scan(threads) is None


def _tear_down(p, mem, spaces):
    """End the stubs a platform made in this process (and the one it
    forked ahead), close its fds."""
    import os
    for a in spaces + [p.zygote]:
        a.release()
        os.waitpid(a.pid, 0)
    _kill_stub_children()
    for fd in (mem.fd, p.eventfd, p.sigfd):
        os.close(fd)
    p.ep.close()


def _stub_children():
    import os
    me = str(os.getpid())
    out = set()
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and open(f"/proc/{pid}/comm").read().startswith("memfd:bastion") and \
                    open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == me:
                out.add(int(pid))
        except OSError:
            continue
    return out


def _kill_stub_children():
    import os
    import signal
    for pid in _stub_children():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _switches(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/sched") as f:
        for line in f:
            if line.startswith("nr_switches"):
                return int(line.split(":")[1])
    return 0


def test_new_address_spaces_are_forked_ahead_and_wait_asleep():
    """new_address_space takes a stub the zygote forked at the last call
    (it comes with its first app thread started) and has the next one
    forked; a control thread's long wait is a sleep, not a run of
    sched_yields that takes turns on a CPU with the app (OFF_NAP)."""
    import os
    import signal
    import time
    from bastion.platform import systrap
    from bastion.sentry.mm.memfile import MemoryFile
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})  # stubs inherit it: one CPU for all
    mem = MemoryFile(size=1 << 32)
    p = systrap.SystrapPlatform(mem.fd)
    made = []
    try:
        asp, ctx = p.new_address_space()
        made.append(asp)
        end = time.monotonic() + 10
        while len(_stub_children()) < 3 and time.monotonic() < end:  # it forks meanwhile
            time.sleep(0.01)
        stubs = _stub_children()
        assert len(stubs) == 3 and asp.pid in stubs  # the zygote, asp and the next one
        ahead = stubs - {asp.pid, p.zygote.pid}
        asp2, ctx2 = p.new_address_space()
        made.append(asp2)
        assert {asp2.pid} == ahead and ctx2.tid and ctx2.slot == 1
        assert len(_stub_children()) == 4
        # a command, then the control thread waits while this thread keeps
        # the one CPU busy: a yielding waiter would be switched in and out
        # every few ms
        off = mem.alloc(1 << 16)
        asp.map(0x10000000, 0x1000, 1, off)
        asp.flush()
        tid = asp.control.tid
        before = _switches(asp.pid, tid)
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            pass
        assert _switches(asp.pid, tid) - before <= 5
    finally:
        _tear_down(p, mem, made)
        os.sched_setaffinity(0, cpus)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@pytest.mark.parametrize("section", ["self_signal", "blocked_signal", "itimer_in_loop",
                                     "sleeping_thread", "futex_turns", "child_writes",
                                     "errors_in_loop", "fs_base_in_loop"])
def test_hot_syscall_loops_see_the_kernels_other_work(section):
    # the kernel's fast cycle (Kernel._syscall, Platform.cycle) serves
    # syscalls back to back, of one thread or several: signals, timers and
    # other tasks must still get their turn, as natively
    n, _ = ab_run([compile_c("hot_loop"), section], timeout=60)
    assert n.stdout.startswith(f"== {section}\n".encode())
