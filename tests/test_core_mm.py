"""Memory: mmap/munmap/mprotect/mremap/brk/madvise, faults, shared mappings (A/B)."""

import pytest

from core_util import ab_section, sections

MMAP = [
    "anon_private", "anon_shared_fork", "file_private", "file_shared",
    "file_shared_between_processes", "mprotect_fault", "munmap_then_fault", "mremap_ops",
    "map_fixed", "bad_args", "madvise_dontneed", "brk_ops", "sigbus_past_eof",
    "fork_cow_many_pages", "exec_prot", "mincore_msync", "main_stack_growth",
    "stack_overflow_kills", "proc_self_maps", "dontneed_file_private", "hint_honoured",
    "high_addresses", "dev_zero_and_memfd_shared", "nx_and_text_protection",
    "mprotect_file_shared_readonly", "many_mappings", "host_file_past_eof",
]
MMAP_XFAIL = {
    'sigbus_past_eof': (
        'touching a MAP_PRIVATE file page wholly beyond EOF reads zeros instead of raising '
        'SIGBUS/BUS_ADRERR'
    ),
    'dontneed_file_private': (
        'madvise(MADV_DONTNEED) on a modified MAP_PRIVATE file mapping zero-fills the '
        'page instead of dropping the private copy (re-reading the file)'
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(MMAP, MMAP_XFAIL))
def test_mmap(section):
    ab_section("mmap", section)
