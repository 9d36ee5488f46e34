"""The memory file's range allocator (sentry/mm/memfile.py): ranges never
overlap, freed ranges join their free neighbours (alloc scans the free list,
so it must stay short), and freeing everything gives the whole file back."""

import random

from bastion.sentry.mm.memfile import PAGE, MemoryFile


def test_alloc_and_free_keep_the_free_list_short_and_exact():
    m = MemoryFile(size=1 << 30)
    live = {}
    rnd = random.Random(1)
    for _ in range(5000):
        if live and rnd.random() < 0.5:
            start = rnd.choice(list(live))
            m.free(start, live.pop(start))
        else:
            n = rnd.randint(1, 16) * PAGE
            start = m.alloc(n)
            assert all(start + n <= a or a + k <= start for a, k in live.items())
            live[start] = n
        starts = m._free_starts
        assert starts == sorted(starts)
        for a, b in zip(starts, starts[1:]):
            assert a + m._free[a] < b  # apart: touching ranges would have joined
        if starts:
            assert starts[-1] + m._free[starts[-1]] < m._bump
    for start in list(live):
        m.free(start, live.pop(start))
    assert (m._bump, m._free_starts) == (PAGE, [])


def test_freed_pages_read_as_zeros_when_reused():
    m = MemoryFile(size=1 << 24)
    a = m.alloc(2 * PAGE)
    m.view[a:a + 2 * PAGE] = b"\xff" * (2 * PAGE)
    m.free(a, 2 * PAGE)
    b = m.alloc(PAGE)
    assert bytes(m.view[b:b + PAGE]) == bytes(PAGE)


def test_ranges_freed_side_by_side_are_punched_together(monkeypatch):
    """A process's exit frees its ranges one by one; the host gets them back
    in as few punches as they make runs, before any of them is handed out
    again, and at once when much is freed."""
    from bastion.sentry.mm import memfile
    punched = []
    monkeypatch.setattr(memfile.hostsys, "punch_hole", lambda fd, off, n: punched.append((off, n)))
    m = MemoryFile(size=1 << 30)
    a, b, c, kept, d = (m.alloc(PAGE) for _ in range(5))
    for x in (c, a, b, d):  # a, b, c side by side; d past a range still in use
        m.free(x, PAGE)
    assert punched == []
    m.alloc(PAGE)
    assert punched == [(a, 3 * PAGE), (d, PAGE)]
    punched.clear()
    m = MemoryFile(size=1 << 30)
    e = m.alloc(memfile.UNPUNCHED_MAX)
    f = m.alloc(PAGE)
    m.free(f, PAGE)
    assert punched == []
    m.free(e, memfile.UNPUNCHED_MAX)  # enough waits: punched now, with no alloc
    assert punched == [(e, memfile.UNPUNCHED_MAX + PAGE)]
