"""When the sentry asks the gofer for more than one directory's listing
(vfs/goferfs.py, WALK_AFTER and TREE_BUDGET): a program that looks up names or
lists a few directories gets only what it asked for; a tree walk gets the
directories below in the same round trip. Driven directly against a gofer
serving a temporary tree, counting round trips."""

import contextlib
import os

import pytest

from bastion.gofer import server
from bastion.gofer.client import GoferClient
from bastion.sentry.vfs import goferfs


@contextlib.contextmanager
def counted_gofer(path, readonly=True, direct=False):
    """A gofer serving path: (the root inode of a GoferFS over it, the list
    of its round trips' ops, as they happen); `direct`: its calls run in
    this process (directfs), only asks go to it."""
    sock, pid = server.start([(str(path), readonly)])
    calls = []
    client = GoferClient(sock, direct=server.Gofer([(str(path), readonly)]) if direct else None)
    real = client.call

    def counted(op, *args):
        calls.append(op)
        return real(op, *args)
    client.call = counted
    ask = client.ask

    def counted_ask(done, op, *args):
        calls.append("ask " + op)
        return ask(done, op, *args)
    client.ask = counted_ask
    try:
        yield goferfs.GoferFS(client, 0, readonly).root(), calls
    finally:
        sock.close()
        os.kill(pid, 9)
        os.waitpid(pid, 0)


@pytest.fixture
def tree(tmp_path):
    # 40 directories d00..d39, each with 3 subdirectories holding 2 files
    for i in range(40):
        for j in range(3):
            sub = tmp_path / f"d{i:02}" / f"s{j}"
            sub.mkdir(parents=True)
            for k in range(2):
                (sub / f"f{k}").write_text("x")
    (tmp_path / "link").symlink_to("d00/s0/f0")
    with counted_gofer(tmp_path) as gofer:
        yield gofer


def test_lookups_list_one_directory(tree):
    root, calls = tree
    for i in range(10):  # past LIST_AFTER_MISSES: one listing answers the rest
        root.lookup(f"d{i:02}")
    n = len(calls)
    assert calls.count("readtree") == 1
    for i in range(40):  # nothing below / came with that listing
        assert root.lookup(f"d{i:02}")._children is None
    assert len(calls) == n


def test_under_directfs_only_missing_names_get_a_directory_listed(tmp_path):
    """Under directfs a name that is there is one host fstatat (the gofer's
    lstat_in, no walk), less than listing its directory (find's lookups of
    the subdirectories it lists); names found missing are what a listing
    answers with no host call at all (a search path's), so it comes after
    LIST_AFTER_MISSES of them."""
    import errno
    from bastion.abi.errno import SyscallError
    for i in range(40):
        (tmp_path / f"d{i:02}").mkdir()
    with counted_gofer(tmp_path, direct=True) as (root, calls):
        g = root.fs.client.direct
        real = g.lstat_in
        g.lstat_in = lambda *a: (calls.append("lstat_in"), real(*a))[1]
        calls.clear()
        for i in range(10):
            root.lookup(f"d{i:02}")
        assert calls == ["lstat_in"] * 10
        calls.clear()
        for i in range(goferfs.LIST_AFTER_MISSES + 1):
            with pytest.raises(SyscallError) as e:
                root.lookup(f"nope{i}")
            assert e.value.errno == errno.ENOENT
        assert calls == ["lstat_in"] * goferfs.LIST_AFTER_MISSES + ["readtree"]
        calls.clear()
        for i in range(10, 40):
            root.lookup(f"d{i:02}")
        with pytest.raises(SyscallError):
            root.lookup("nope9")
        assert calls == []


def test_a_few_listings_do_not_descend(tree):
    root, calls = tree
    root.readdir()
    for i in range(goferfs.WALK_AFTER - 2):
        root.lookup(f"d{i:02}").readdir()
    assert calls.count("readtree") == goferfs.WALK_AFTER - 1
    assert all(root.lookup(f"d{i:02}").lookup("s0")._children is None for i in range(40))


def walk_tree(d):
    """List d and every directory below it, depth first, as find does."""
    for name, _ino, dtype in d.readdir():
        if dtype == 4:
            walk_tree(d.lookup(name))


def test_a_tree_walk_gets_the_directories_below(tree):
    root, calls = tree
    walk_tree(root)
    # 161 directories: without prefetch, 161 round trips; with it, the
    # first WALK_AFTER (16) are one each, then a few bring the rest
    assert calls.count("readtree") < 30, calls.count("readtree")


def test_under_directfs_a_tree_walk_asks_nothing_ahead(tmp_path):
    """Under directfs the sentry lists directories itself: a listing asked
    of the gofer process ahead (JSON both ways, the entries decoded and
    taken in) made find ~25% slower than listing each when it is wanted."""
    for i in range(60):
        for j in range(8):
            (tmp_path / f"d{i:02}" / f"s{j}").mkdir(parents=True)
            for k in range(3):
                (tmp_path / f"d{i:02}" / f"s{j}" / f"f{k}").write_text("x")
    with counted_gofer(tmp_path, direct=True) as (root, calls):
        walk_tree(root)
        assert calls and not [c for c in calls if c.startswith("ask")], calls
        assert root.fs.client.asked is None


def test_a_lookup_listing_fetches_attributes_one_file_at_a_time(tree):
    # ld.so or a shell looking up a few names in a big directory: the stat of
    # one of them must not fetch every file's attributes
    root, calls = tree
    d = root.lookup("d00").lookup("s0")
    for name in ("nope1", "nope2", "f0"):  # past LIST_AFTER_MISSES
        try:
            d.lookup(name)
        except Exception:
            pass
    f = d.lookup("f1")
    n = len(calls)
    assert f.mode & 0o170000 == 0o100000
    assert calls[n:] == ["lstat"], calls[n:]
    # listed by the app now (ls -l): the next stat brings the whole listing's
    d.readdir()
    n = len(calls)
    assert d.lookup("f0").size == 1
    assert calls[n:] == ["readdir"], calls[n:]
    # a listed file being opened: its attributes and host fd in one round trip
    d = root.lookup("d05").lookup("s0")
    for name in ("nope1", "nope2", "f0"):
        try:
            d.lookup(name)
        except Exception:
            pass
    n = len(calls)
    g = d.lookup("f1", (), True)
    assert g.mode & 0o170000 == 0o100000 and g.read_at(0, 10) == b"x"
    assert calls[n:] == ["walk"], calls[n:]


def test_a_big_listing_fetches_attributes_together_only_after_a_few(tmp_path):
    # python3 lists /usr/lib/python3.11 (210 entries) and stats one file
    # there: one lstat, not the whole listing's attributes (~3 ms); ls -l
    # stats them all: after a few single ones, the rest come in one readdir
    n_files = 4 * goferfs.BATCH_AFTER
    for i in range(n_files):
        (tmp_path / f"f{i:03}").write_text("x" * i)
    with counted_gofer(tmp_path) as (root, calls):
        names = sorted(n for n, _ino, _dt in root.readdir())
        n = len(calls)
        sizes = [root.lookup(name).size for name in names]
        assert sizes == list(range(n_files))
        assert calls[n:] == ["lstat"] * 3 + ["readdir"], calls[n:]


def test_a_symlink_lookup_brings_its_target(tree):
    """ld.so and shells follow symlinks at every step: the lstat of one
    carries its target, so following it costs no readlink round trip."""
    root, calls = tree
    calls.clear()
    link = root.lookup("link")
    assert calls == ["walk"]
    assert link.readlink() == "d00/s0/f0"
    assert calls == ["walk"]


def test_a_path_is_one_round_trip(tree):
    """A lookup that goes to the gofer brings the rest of the path being
    walked (op_walk); one for an open brings the file's host fd too."""
    root, calls = tree
    calls.clear()
    # through a symlink: the walk stops at it, with its target
    link = root.lookup("link", ("x", "y"))
    assert calls == ["walk"] and link.readlink() == "d00/s0/f0"
    calls.clear()
    d = root.lookup("d01", ("s1", "f1"))
    assert calls == ["walk"]
    f = d.lookup("s1").lookup("f1")
    assert calls == ["walk"] and f.size == 1
    f.read_at(0, 1)
    assert calls == ["walk", "open"]  # not opened: the walk was not for an open
    calls.clear()
    g = d.lookup("s2", ("f0",), True).lookup("f0")
    assert g.read_at(0, 10) == b"x" and calls == ["walk"]


def test_missing_names_are_remembered(tree):
    import errno
    from bastion.abi.errno import SyscallError
    root, calls = tree
    d = root.lookup("d03")
    calls.clear()
    for _ in range(2):
        with pytest.raises(SyscallError) as e:
            d.lookup("nope", ("deeper",))
        assert e.value.errno == errno.ENOENT
    assert calls == ["walk"]
    # missing below a name that exists: that one comes, the miss is kept
    calls.clear()
    s = root.lookup("d04", ("s0", "nope"))
    with pytest.raises(SyscallError):
        s.lookup("s0").lookup("nope")
    assert calls == ["walk"]


def test_a_made_name_is_no_longer_missing(tmp_path):
    from bastion.abi.errno import SyscallError
    with counted_gofer(tmp_path, readonly=False) as (root, _calls):
        with pytest.raises(SyscallError):
            root.lookup("new")
        root.create("new", 0o100644, 0, 0)
        assert root.lookup("new").mode & 0o170000 == 0o100000
        with pytest.raises(SyscallError):
            root.lookup("other")
        root.lookup("new")
        root.rename("new", root, "other")
        assert root.lookup("other").mode & 0o170000 == 0o100000


def test_a_big_directory_is_listed_later(tmp_path):
    """Lookups in a big directory go one by one (a round trip each) for
    longer before its listing is fetched: /usr/bin for ld.so or python3."""
    big = tmp_path / "big"
    big.mkdir()
    for i in range(800):
        (big / f"a-rather-long-file-name-number-{i:04}").write_text("")
    with counted_gofer(tmp_path) as (root, calls):
        d = root.lookup("big")
        after = max(goferfs.LIST_AFTER_MISSES, os.stat(big).st_size // goferfs.LIST_BYTES)
        assert after > goferfs.LIST_AFTER_MISSES  # the case this test is about
        for i in range(after - 1):
            d.lookup(f"a-rather-long-file-name-number-{i:04}")
        assert "readtree" not in calls
        d.lookup("a-rather-long-file-name-number-0799")
        assert calls.count("readtree") == 1


def test_a_deep_walk_gets_the_cousins_below(tmp_path):
    """find's depth-first order over a/bNN/__pycache__ (900 of them): once
    a/ and its bNN/ are listed, the __pycache__ directories left come
    together (_frontier), not one round trip each."""
    for i in range(30):
        for j in range(30):
            sub = tmp_path / f"a{i:02}" / f"b{j:02}" / "__pycache__"
            sub.mkdir(parents=True)
            for k in range(3):
                (sub / f"f{k}").write_text("")
            (sub.parent / "m.py").write_text("")
    with counted_gofer(tmp_path) as (root, calls):
        walk_tree(root)
        # 931 directories; listed by parent and siblings only: ~120 round trips
        assert calls.count("readtree") < 40, calls.count("readtree")


def test_a_listing_makes_inodes_only_for_what_is_looked_up(tree):
    """find lists 60,000 files and looks none up: a listed file's inode is
    made on its first lookup, from the listing (no round trip)."""
    root, calls = tree
    s0 = root.lookup("d07").lookup("s0")
    names = sorted(n for n, _ino, _dt in s0.readdir())
    assert names == ["f0", "f1"] and s0._cache == {}
    n = len(calls)
    f = s0.lookup("f1")
    assert len(calls) == n and f._dtype == 8
    assert list(s0._cache) == ["f1"] and sorted(n for n, _i, _d in s0.readdir()) == names
    # directories are made at once: the walk's prefetch starts from them
    d08 = root.lookup("d08")
    d08.readdir()
    assert sorted(d08._cache) == ["s0", "s1", "s2"]


def test_files_read_in_listing_order_come_open_ahead(tmp_path):
    """tar, grep -r, cp -r read a directory's files in its listing's order:
    the host fds of the next OPEN_AHEAD come in the same round trip, and
    those of the OPEN_AHEAD + 1 after them are asked for ahead while the app
    reads these. Files read in another order cost a round trip each."""
    for i in range(40):
        (tmp_path / f"f{i:02}").write_text(str(i))
    (tmp_path / "sub").mkdir()
    with counted_gofer(tmp_path) as (root, calls):
        order = [n for n, _ino, dt in root.readdir() if dt == 8]
        assert order == [n for n in os.listdir(tmp_path) if n != "sub"]  # the host's order
        calls.clear()
        for name in order:
            assert root.lookup(name).read_at(0, 8) == str(int(name[1:])).encode()
        # 40 files: 16 in one round trip, then 16 and 8 asked ahead
        assert calls == ["open_many", "ask open_many", "ask open_many"], calls
        assert root.fs.client.asked is None
        for name in reversed(order[:20]):  # cached fds: no round trip
            root.lookup(name).read_at(0, 8)
        assert len(calls) == 3
        # another order: one round trip each
        sub = root.lookup("sub")
        for i in range(5):
            (tmp_path / "sub" / f"g{i}").write_text("")
        names = [n for n, _ino, _dt in sub.readdir()]
        calls.clear()
        for name in reversed(names):
            sub.lookup(name).read_at(0, 1)
        assert calls.count("open") == 5 and "open_many" not in calls, calls


def test_under_directfs_files_read_in_order_are_opened_in_batches_when_wanted(tmp_path):
    """directfs: a batch of OPEN_AHEAD + 1 files is opened in the sentry when
    the app reaches it, not asked of the gofer ahead (its fds by SCM_RIGHTS,
    waited for at the next call, cost more than the opens)."""
    for i in range(40):
        (tmp_path / f"f{i:02}").write_text(str(i))
    with counted_gofer(tmp_path, direct=True) as (root, calls):
        order = [n for n, _ino, dt in root.readdir() if dt == 8]
        calls.clear()
        for name in order:
            assert root.lookup(name).read_at(0, 8) == str(int(name[1:])).encode()
        assert calls == ["open_many"] * 3, calls


def test_files_of_many_small_directories_come_open_ahead_together(tmp_path):
    """tar over /usr/share/doc: a few files in each of many directories.
    The files whose fds come ahead are those the walk reads next, on into
    the directories after this one as far as they are listed (a long walk's
    listings come ahead of it), so 90 files in 60 directories cost a
    handful of round trips, not one or more per directory."""
    for i in range(30):
        for k in range(3):
            (tmp_path / f"pkg{i:02}" / ("sub" if k == 2 else "")).mkdir(exist_ok=True)
            (tmp_path / f"pkg{i:02}" / ("sub" if k == 2 else "") / f"f{k}").write_text(f"{i}.{k}")

    def tar(d, out):
        for name, _ino, dtype in d.readdir():
            n = d.lookup(name)
            if dtype == 4:
                tar(n, out)
            else:
                out.append(n.read_at(0, 8))
    with counted_gofer(tmp_path) as (root, calls):
        walk_tree(root)  # what the listings' read-ahead does for a long walk
        calls.clear()
        got = []
        tar(root, got)
        assert sorted(got) == sorted(f"{i}.{k}".encode() for i in range(30) for k in range(3))
        # 90 files: 16 in one round trip, then asked ahead 16 at a time
        assert calls == ["open_many"] + ["ask open_many"] * 5, calls


def test_open_ahead_survives_a_renamed_directory(tmp_path):
    """Where the open-ahead stopped may be a directory renamed since (its
    listing is forgotten): a file opened before goes on reading, and so do
    the directory's files at its new place."""
    for d in ("a", "b"):
        for i in range(40):
            (tmp_path / d / f"f{i:02}").parent.mkdir(exist_ok=True)
            (tmp_path / d / f"f{i:02}").write_text(d + str(i))
    with counted_gofer(tmp_path, readonly=False) as (root, calls):
        walk_tree(root)
        a = root.lookup("a")
        names = [n for n, _i, _t in a.readdir()]
        held = a.lookup(names[20])  # an open file: its inode stays
        assert a.lookup(names[0]).read_at(0, 8) == f"a{int(names[0][1:])}".encode()
        assert root.fs.client.asked is not None  # the next ones are on their way
        root.rename("a", root, "c")
        assert held.read_at(0, 8) == f"a{int(names[20][1:])}".encode()
        c = root.lookup("c")
        got = sorted(c.lookup(n).read_at(0, 8) for n, _i, _t in c.readdir())
        assert got == sorted(f"a{i}".encode() for i in range(40))


def test_the_sentry_says_when_it_waits_for_the_gofer(tmp_path):
    """GoferClient.on_wait runs before each wait for a reply (the platform
    lets the threads waiting for their syscall's answer sleep meanwhile),
    not for a request sent ahead."""
    (tmp_path / "f").write_text("x")
    sock, pid = server.start([(str(tmp_path), True)])
    waits = []
    try:
        client = GoferClient(sock, on_wait=lambda: waits.append(1))
        client.call("lstat", 0, "f")
        assert waits == [1]
        client.ask(lambda *_: None, "lstat", 0, "f")
        assert waits == [1]
        client.call("lstat", 0, "")  # reads the asked reply first, then waits once
        assert waits == [1, 1] and client.asked is None
    finally:
        sock.close()
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def host_walk(path):
    """[(directory, [names in the host's order])], depth first as walk_tree."""
    out = []
    with os.scandir(path) as it:
        ents = list(it)
    out.append((str(path), [e.name for e in ents]))
    for e in ents:
        if e.is_dir(follow_symlinks=False):
            out += host_walk(e.path)
    return out


def test_a_tree_walk_asks_for_the_next_listings_ahead(tmp_path):
    """Once a walk is under way, the listings it will want next are asked
    for before it wants them (GoferClient.ask): the gofer lists while the
    sentry works. The walk sees exactly the host's tree, in its order."""
    for i in range(30):
        for j in range(10):
            sub = tmp_path / f"a{i:02}" / f"b{j:02}"
            sub.mkdir(parents=True)
            (sub / "f").write_text("")
    with counted_gofer(tmp_path) as (root, calls):
        seen = []

        def walk(d, path):
            ents = d.readdir()
            seen.append((path, [e[0] for e in ents]))
            for name, _ino, dtype in ents:
                if dtype == 4:
                    walk(d.lookup(name), f"{path}/{name}")
        walk(root, str(tmp_path))
        assert seen == host_walk(tmp_path)
        asked = calls.count("ask readtree")
        assert asked >= 1 and calls.count("readtree") + asked < 40, calls
        assert root.fs.client.asked is None  # nothing left on the way: the walk took it all
        # and the root knows nothing is left to list below it: later
        # listings do not look through the whole tree again (_listed_from)
        assert root._frontier([]) == [] and root._listed_from == 0


def test_an_asked_reply_is_read_before_anything_else_is_sent(tree, tmp_path):
    """One request at most is on its way: an ask's reply is taken before a
    later call's or ask's, an error reply to an ask is dropped, and drain()
    reads whatever is still on its way."""
    root, calls = tree
    client = root.fs.client
    got = []

    def done(res, fds):
        assert fds == []
        got.append(res)
    client.ask(done, "lstat", 0, "d00")
    client.ask(done, "lstat", 0, "no/such/name")  # the first one's reply is read here
    assert len(got) == 1 and got[0][1] == os.lstat(tmp_path / "d00").st_ino
    st, _ = client.call("lstat", 0, "d01")  # ENOENT of the second: dropped
    assert len(got) == 1 and client.asked is None
    assert st[1] == os.lstat(tmp_path / "d01").st_ino
    client.ask(done, "lstat", 0, "d02")
    client.drain()
    assert len(got) == 2 and got[1][1] == os.lstat(tmp_path / "d02").st_ino
    client.drain()  # nothing on its way: nothing read
    assert client.asked is None
