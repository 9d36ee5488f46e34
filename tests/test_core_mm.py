"""Memory: mmap/munmap/mprotect/mremap/brk/madvise, faults, shared mappings (A/B)."""

import glob

import pytest

from conftest import compile_c
from core_util import ab_section, env, run_bastion, sections

MMAP = [
    "anon_private", "anon_shared_fork", "file_private", "file_shared",
    "file_shared_between_processes", "mprotect_fault", "munmap_then_fault", "mremap_ops",
    "map_fixed", "bad_args", "madvise_dontneed", "brk_ops", "sigbus_past_eof",
    "fork_cow_many_pages", "exec_prot", "mincore_msync", "main_stack_growth",
    "stack_overflow_kills", "proc_self_maps", "dontneed_file_private", "hint_honoured",
    "high_addresses", "dev_zero_and_memfd_shared", "nx_and_text_protection",
    "mprotect_file_shared_readonly", "many_mappings", "host_file_past_eof", "file_windows",
    "lazy_page_cache",
]
MMAP_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(MMAP, MMAP_XFAIL))
def test_mmap(section):
    ab_section("mmap", section)


def test_the_page_cache_copies_what_is_mapped_not_the_whole_file():
    """A one-page window of a big host file (gcc's cc1, ~30 MB) costs the
    sandbox about a chunk of page cache, not a copy of the file."""
    big = max(glob.glob("/usr/lib/gcc/x86_64-linux-gnu/*/cc1"), key=len, default=None)
    if big is None:
        pytest.skip("no cc1 here")
    r = run_bastion([compile_c("mmap"), "file_window_cost"], env=env(BIG_FILE=big))
    assert r.stdout.endswith(b"the sandbox grew under 1 MiB: 1\n"), r


def test_executable_stack_when_the_program_asks():
    """PT_GNU_STACK with PF_X (-z execstack) gives an executable stack, as
    Linux does: code copied onto the stack runs (gcc's trampolines)."""
    from core_util import ab_run, compile_variant
    n, b = ab_run([compile_variant("execstack", "-z", "execstack")])
    assert b"stack rwxp" in b.stdout and b"returned 42" in b.stdout
