"""Processes: fork/wait/exit status, execve, pid namespace (A/B against native Linux)."""

import pytest

from conftest import compile_c
from core_util import ab_section, sandbox, sections

FORK_WAIT = [
    "exit_codes", "child_sees_parent", "memory_is_copied", "killed_by_signal", "wnohang",
    "echild", "wait_any_order", "stop_continue", "stop_then_kill", "sigchld_handler",
    "sigchld_ignored_autoreap", "waitid_info", "vfork_exec", "grandchild_reparent",
    "process_groups", "exit_status_of_main",
]
FORK_WAIT_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(FORK_WAIT, FORK_WAIT_XFAIL))
def test_fork_wait(section):
    ab_section("fork_wait", section)


EXEC = [
    "shebang_scripts", "exec_errors", "argv_envp", "inherited_state", "exec_from_thread_group",
    "exec_from_secondary_thread", "execveat_fd", "exec_replaces_image", "path_search",
]
EXEC_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(EXEC, EXEC_XFAIL))
def test_exec(section):
    ab_section("exec", section)


@pytest.mark.timeout(30)
def test_raw_syscall_getpid_is_1():
    """A raw `syscall` instruction (no libc) for getpid: the first process is pid 1."""
    r = sandbox([compile_c("raw_getpid")])
    assert r.status == 0, r
    assert r.stdout == b"pid=1\ntid==pid: 1\nppid=0\nsyscall 1000 = -38\n", r


PROC_MISC = [
    "subreaper", "pdeathsig", "names", "rlimit_as", "rlimit_fsize", "rlimit_misc", "uname_sysinfo",
    "proc_self_files", "proc_task_dir", "auxv", "spawn", "priority", "umask_inherit", "etxtbsy",
    "children_rusage", "rusage_maxrss", "groups_and_ids", "ptrace_basic",
]
PROC_MISC_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(PROC_MISC, PROC_MISC_XFAIL))
def test_proc_misc(section):
    ab_section("proc_misc", section)


CLONE = [
    "clone_vm_and_friends", "exit_signal", "settid_flags", "vfork_shares_memory", "pidfds",
    "shared_descriptions", "memfd_seals", "eventfds",
]
CLONE_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(CLONE, CLONE_XFAIL))
def test_clone(section):
    ab_section("clone", section)


PTRACE = ["syscall_stops", "memory_and_regs", "signal_stops", "events", "errors_and_detach",
          "single_step"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", PTRACE)
def test_ptrace(section):
    """A process tracing another inside the sandbox (sentry/ptrace.py)."""
    ab_section("ptrace", section)


CREDS = ["capget_capset", "prctl_caps", "setuid_moves_caps", "exec_caps", "setid_files",
         "dac_checks", "noexec_mount", "privileged_calls", "attr_errors", "create_perms"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", CREDS)
def test_creds(section):
    """Capabilities, how set*uid and exec move them, set-user-ID files, and
    the permission checks they decide (sentry/creds.py)."""
    ab_section("creds", section)


SCHED = ["policies", "setattr_getattr", "reset_on_fork", "unprivileged", "affinity", "ioprio"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", SCHED)
def test_sched(section):
    """Scheduling policies, real-time priorities, reset-on-fork, CPU
    affinity and I/O priority, kept per thread as Linux keeps them
    (syscalls/sched.py)."""
    ab_section("sched", section)


@pytest.mark.timeout(120)
def test_gdb_debugs_a_program_inside():
    """gdb inside the sandbox, as natively: breakpoints (int3 written through
    /proc/PID/mem), backtrace, next (single steps), finish, stepi, continue
    to the end. Only the inferior's pid differs."""
    import re
    import shutil
    from core_util import compile_variant
    from conftest import run_bastion, run_native
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed")
    prog = compile_variant("gdb_target", "-O0", "-g")
    argv = ["gdb", "-q", "-batch", "-nx", "-ex", "break square", "-ex", "run", "-ex", "bt",
            "-ex", "print x", "-ex", "next", "-ex", "next", "-ex", "print y", "-ex", "finish",
            "-ex", "info breakpoints", "-ex", "delete", "-ex", "stepi", "-ex", "continue", prog]
    n = run_native(argv, timeout=60)
    b = run_bastion(argv, timeout=60)
    pid = re.compile(rb"process \d+")
    assert b.status == n.status == 0, b
    assert pid.sub(b"process N", b.stdout) == pid.sub(b"process N", n.stdout), (n, b)
    assert b"total 14" in b.stdout and b"Value returned is $3 = 1" in b.stdout


@pytest.mark.timeout(120)
def test_gdb_stops_in_threads():
    """gdb follows a program's threads (PTRACE_O_TRACECLONE, each new thread
    waited for by its tid), stops in each at a breakpoint and lists them.
    Thread addresses and ids differ from a native run, and which thread
    stops first may: the lines that must be there are checked."""
    import shutil
    from core_util import compile_variant
    from conftest import run_bastion
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed")
    prog = compile_variant("gdb_threads", "-O0", "-g")
    b = run_bastion(["gdb", "-q", "-batch", "-nx", "-ex", "break worker", "-ex", "run",
                     "-ex", "info threads", "-ex", "continue", "-ex", "continue", prog], timeout=60)
    out = b.stdout.decode()
    assert b.status == 0 and "internal-error" not in out, b
    assert out.count("hit Breakpoint 1, worker (arg=0x") == 2, out
    assert "worker (arg=0x1)" in out and "worker (arg=0x2)" in out, out
    assert "[New Thread" in out and "shared 3" in out and "exited normally" in out, out
