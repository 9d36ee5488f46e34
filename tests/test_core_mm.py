"""Memory: mmap/munmap/mprotect/mremap/brk/madvise, faults, shared mappings (A/B)."""

import pytest

from core_util import ab_section, sections

MMAP = [
    "anon_private", "anon_shared_fork", "file_private", "file_shared",
    "file_shared_between_processes", "mprotect_fault", "munmap_then_fault", "mremap_ops",
    "map_fixed", "bad_args", "madvise_dontneed", "brk_ops", "sigbus_past_eof",
    "fork_cow_many_pages", "exec_prot", "mincore_msync",
]
MMAP_XFAIL = {
    'mremap_ops': (
        'mremap MREMAP_FIXED of a range grown in place by an earlier mremap fails EFAULT: '
        'the grown part is a separate VMA (no VMA merging)'
    ),
    'sigbus_past_eof': (
        'touching a MAP_PRIVATE file page wholly beyond EOF reads zeros instead of '
        'raising SIGBUS/BUS_ADRERR'
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(MMAP, MMAP_XFAIL))
def test_mmap(section):
    ab_section("mmap", section)
