"""Syscall patching (sentry/mm/patch.py, systrap's patch_entry): programs
whose syscall sites get patched behave as natively, on the default platform
and with --no-patch (A/B); on systrap a site that ran is patched, and with
--no-patch or on ptrace it is not."""

import pytest

from conftest import compile_c, run_bastion
from core_util import ab_run

SECTIONS = ["threads_race", "red_zone", "vector_regs", "flags_and_registers", "signals_in_loop",
            "kicks_on_the_way_out",
            "fork_and_exec", "own_gs", "jit_site", "read_form", "read_form_frame", "unaligned_race",
            "syscall_fn", "read_form_threads", "signal_vectors", "fork_vectors", "exec_fp_reset",
            "other_forms", "unaligned16_race"]


# 3,000 signals to a thread spinning in app code take ~45 s on the ptrace
# platform, where the whole sandbox shares one CPU (ptrace.py
# _pin_to_current_cpu): the spinning threads hold it until the scheduler's
# slice ends, ~7 ms a kick (0.15 ms on systrap). 60 s failed on a busy machine.
SLOW = {"kicks_on_the_way_out": 150}


@pytest.mark.timeout(200)
@pytest.mark.parametrize("opts", [(), ("--no-patch",)], ids=["patch", "no-patch"])
@pytest.mark.parametrize("section", SECTIONS)
def test_patched_sites_behave_as_natively(section, opts):
    n, _ = ab_run([compile_c("patch"), section], opts=opts, timeout=SLOW.get(section, 60))
    assert n.stdout.startswith(f"== {section}\n".encode()), n.stdout


@pytest.mark.parametrize("opts, first_byte", [
    (("--platform", "systrap"), b"e9\n"),  # jmp rel32 to the site's thunk
    (("--platform", "systrap", "--no-patch"), b"b8\n"),  # mov $nr, %eax, as built
    (("--platform", "ptrace"), b"b8\n"),
])
def test_a_site_that_ran_is_patched_on_systrap_only(opts, first_byte):
    r = run_bastion([compile_c("patch"), "site"], opts=opts)
    assert (r.stdout, r.status) == (first_byte, 0), r


@pytest.mark.parametrize("opts, first_bytes", [
    (("--platform", "systrap"), b"b8 e9\n"),
    (("--platform", "systrap", "--no-patch"), b"b8 b8\n"),
])
def test_a_site_is_patched_at_its_second_trap(opts, first_bytes):
    """Not at its first: most sites of a short process make one call."""
    r = run_bastion([compile_c("patch"), "site_twice"], opts=opts)
    assert (r.stdout, r.status) == (first_bytes, 0), r


@pytest.mark.parametrize("opts, first_bytes", [
    (("--platform", "systrap"), b"e9 e9\n"),
    (("--platform", "systrap", "--no-patch"), b"b8 bf\n"),
    (("--platform", "ptrace"), b"b8 bf\n"),
])
def test_futex_and_open_nocancel_forms_are_patched_too(opts, first_bytes):
    """glibc's futex (`mov $202, %eax; xor $op, %sil; syscall`) and its
    open_nocancel (`mov $-100, %edi; syscall`, the number set before):
    a threaded Python program trapped ~5,000 times at the first, every ls
    ~27 times at the second."""
    r = run_bastion([compile_c("patch"), "other_sites"], opts=opts)
    assert (r.stdout, r.status) == (first_bytes, 0), r


@pytest.mark.parametrize("opts, first_byte", [
    (("--platform", "systrap"), b"e9\n"),
    (("--platform", "systrap", "--no-patch"), b"31\n"),  # xor %eax, %eax, as built
])
def test_a_read_form_site_is_patched_too(opts, first_byte):
    r = run_bastion([compile_c("patch"), "read_site"], opts=opts)
    assert (r.stdout, r.status) == (first_byte, 0), r


@pytest.mark.parametrize("opts, first_byte", [
    (("--platform", "systrap"), b"e9\n"),
    (("--platform", "systrap", "--no-patch"), b"31\n"),
])
def test_a_read_form_site_is_patched_while_another_thread_waits_at_it(opts, first_byte):
    """glibc's read in a threaded program: patched while the other thread
    is blocked in a read at the same site, which then returns through the
    thunk (read_form_threads checks what it read, A/B)."""
    r = run_bastion([compile_c("patch"), "read_site_threads"], opts=opts)
    assert (r.stdout, r.status) == (first_byte, 0), r


@pytest.mark.parametrize("opts, first_byte", [
    (("--platform", "systrap"), b"e9\n"),
    (("--platform", "systrap", "--no-patch"), b"4c\n"),  # mov 0x8(%rsp), %r9, as built
])
def test_glibcs_syscall_function_is_patched_too(opts, first_byte):
    """One site for every number (the number comes in rax): the thunk does
    its mov of the sixth argument instead."""
    r = run_bastion([compile_c("patch"), "fn_site"], opts=opts)
    assert (r.stdout, r.status) == (first_byte, 0), r


@pytest.mark.parametrize("opts, first_bytes", [
    # jmp once patched, while no other thread of the process runs app code:
    # in a process of one thread, and in one whose other thread is blocked
    # in a read; as built (mov) while the other thread spins in app code,
    # where it could run the bytes mid-write
    (("--platform", "systrap"), b"e9 e9 b8\n"),
    (("--platform", "systrap", "--no-patch"), b"b8 b8 b8\n"),
])
def test_an_unaligned_site_is_patched_while_no_other_thread_runs(opts, first_bytes):
    r = run_bastion([compile_c("patch"), "unaligned_site"], opts=opts)
    assert (r.stdout, r.status) == (first_bytes, 0), r


@pytest.mark.parametrize("opts, first_byte", [
    (("--platform", "systrap"), b"e9\n"),
    (("--platform", "systrap", "--no-patch"), b"b8\n"),
])
def test_an_unaligned_site_in_one_16_byte_block_is_patched_while_others_run(opts, first_byte):
    """... in one lock cmpxchg16b (unaligned16_race checks the results of
    threads that run it meanwhile, A/B)."""
    r = run_bastion([compile_c("patch"), "unaligned16_site_running"], opts=opts)
    assert (r.stdout, r.status) == (first_byte, 0), r


@pytest.mark.timeout(120)
def test_patched_sites_on_one_cpu(tmp_path):
    """With the sentry and the stub sharing one CPU, the app runs again only
    after the sentry patched its site, so the jmp is there at once when the
    code page is the process's own (a binary on a read-write mount is
    copied, not shared with the page cache): the thunk's page must be in
    the stub by then, not queued for the next resume."""
    import os
    import shutil
    for name in ("getppid_loop", "patch"):
        shutil.copy(compile_c(name), tmp_path / name)
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})  # inherited by the sandbox
    try:
        r = run_bastion(["/b/getppid_loop", "1000", "site"], opts=("--mount", f"{tmp_path}:/b"))
        assert r.status == 0, r
        r = run_bastion(["/b/patch", "signals_in_loop"], opts=("--mount", f"{tmp_path}:/b"))
        assert r.status == 0 and r.stdout.startswith(b"== signals_in_loop\n"), r
    finally:
        os.sched_setaffinity(0, cpus)
