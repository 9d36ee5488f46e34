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

    deferred = True  # as systrap's: changes at any time, queued


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
    # the parent's VMA, the last on the range, took it then, without a
    # copy: writable in the host from its next resume, no fault needed
    assert parent.find(addr).share is None
    assert ("map", addr, size, PROT_READ | PROT_WRITE) in parent.aspace.calls
    # a fault in a writable VMA of its own may be stale (another thread's
    # fault gave it its pages): run once more; the same fault again is the app's
    t = types.SimpleNamespace(fault_retried=None)
    assert parent.cow_fault(addr + 8, t)
    assert not parent.cow_fault(addr + 8, t)


def test_the_last_holder_of_a_shared_range_takes_it_when_the_others_go():
    """A child that execs (or exits) leaves the parent's writable VMAs the
    only ones on their ranges: they take them at once, with no copy; a
    read-only one stays as it is, and one no longer where the range was
    shared (split by munmap or mprotect) is left to its write fault."""
    from bastion.sentry.mm.memfile import MemoryFile
    from bastion.sentry.mm.mm import MM, PROT_READ, PROT_WRITE
    mf = MemoryFile(size=1 << 30)
    parent = MM(mf, _HostMaps(), 1 << 47)
    rw, ro, moved, size = 0x10000000, 0x20000000, 0x30000000, 1 << 20
    for a in (rw, ro, moved):
        parent.map_anon(a, size, PROT_READ | PROT_WRITE)
        parent.write(a, b"x" * 5000)
    parent.protect(ro, size, PROT_READ)
    child = parent.fork(mf, _HostMaps())
    parent.unmap(moved, 4096)  # what is left of it no longer starts where the range does
    moved += 4096
    used = mf.blocks_used()
    parent.aspace.calls.clear()
    child.clear()  # the child's exec
    assert mf.blocks_used() == used  # nothing copied, nothing freed: all the parent's still
    assert parent.find(rw).share is None
    assert parent.aspace.calls == [("map", rw, size, PROT_READ | PROT_WRITE)]
    assert parent.find(ro).share is not None and parent.find(moved).share is not None
    assert parent.cow_fault(moved + 5, None)  # its write fault takes it
    # no copy; the page unmapped before is freed now
    assert parent.find(moved).share is None and mf.blocks_used() == used - 4096
    assert parent.read(rw, 5000) == b"x" * 5000 and parent.read(moved, 905) == b"x" * 904 + b"\0"
    # a platform that changes mappings only through a stopped thread
    # (ptrace): the write fault takes it
    parent.aspace.deferred = False
    child = parent.fork(mf, _HostMaps())
    child.clear()
    assert parent.find(rw).share is not None and parent.cow_fault(rw, None)
