"""Copy-on-write fork (sentry/mm/mm.py MM.fork, MM._own): A/B sections of
tests/programs/cow.c, each side of a fork seeing only its own writes."""

import types

import pytest

from core_util import ab_section

SECTIONS = ["both_write", "kernel_writes", "futex_after_fork", "remap_protect_discard",
            "fork_while_writing"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", SECTIONS)
def test_cow(section):
    ab_section("cow", section)


class _HostMaps:
    """An address space's host side that records what would be mapped."""

    def __init__(self):
        self.calls = []

    def map(self, addr, length, prot, off):
        self.calls.append(("map", addr, length, prot))

    def protect(self, addr, length, prot):
        self.calls.append(("protect", addr, length, prot))

    def unmap(self, addr, length):
        self.calls.append(("unmap", addr, length))

    def flush(self):
        pass


def test_fork_copies_no_big_range_until_a_side_writes():
    from bastion.sentry.mm.memfile import MemoryFile
    from bastion.sentry.mm.mm import MM, PROT_READ, PROT_WRITE
    mf = MemoryFile(size=1 << 30)
    parent = MM(mf, _HostMaps(), 1 << 47)
    addr, size = 0x10000000, 4 << 20
    parent.map_anon(addr, size, PROT_READ | PROT_WRITE)
    parent.write(addr, b"parent data" * 100000)
    used = mf.blocks_used()
    parent.aspace.calls.clear()
    child = parent.fork(mf, _HostMaps())
    assert mf.blocks_used() == used  # nothing copied
    # both map the pages read-only in the host now
    assert ("protect", addr, size, PROT_READ) in parent.aspace.calls
    assert ("map", addr, size, PROT_READ) in child.aspace.calls
    child.write(addr, b"child")  # the kernel writing for the child: its own copy first
    assert mf.blocks_used() > used
    assert child.read(addr, 11) == b"childt data" and parent.read(addr, 11) == b"parent data"
    assert child.find(addr).share is None
    assert ("map", addr, size, PROT_READ | PROT_WRITE) in child.aspace.calls
    used = mf.blocks_used()
    assert parent.cow_fault(addr + 5, None)  # the parent's write fault: the range is its alone
    assert mf.blocks_used() == used and parent.find(addr).share is None
    assert ("map", addr, size, PROT_READ | PROT_WRITE) in parent.aspace.calls
    # a fault in a writable VMA of its own may be stale (another thread's
    # fault gave it its pages): run once more; the same fault again is the app's
    t = types.SimpleNamespace(fault_retried=None)
    assert parent.cow_fault(addr + 8, t)
    assert not parent.cow_fault(addr + 8, t)
