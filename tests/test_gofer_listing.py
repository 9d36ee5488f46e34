"""When the sentry asks the gofer for more than one directory's listing
(vfs/goferfs.py, WALK_AFTER and TREE_BUDGET): a program that looks up names or
lists a few directories gets only what it asked for; a tree walk gets the
directories below in the same round trip. Driven directly against a gofer
serving a temporary tree, counting round trips."""

import os

import pytest

from bastion.gofer import server
from bastion.gofer.client import GoferClient
from bastion.sentry.vfs import goferfs


@pytest.fixture
def tree(tmp_path):
    # 40 directories d00..d39, each with 3 subdirectories holding 2 files
    for i in range(40):
        for j in range(3):
            sub = tmp_path / f"d{i:02}" / f"s{j}"
            sub.mkdir(parents=True)
            for k in range(2):
                (sub / f"f{k}").write_text("x")
    sock, pid = server.start([(str(tmp_path), True)])
    calls = []
    client = GoferClient(sock)
    real = client.call

    def counted(op, *args):
        calls.append(op)
        return real(op, *args)
    client.call = counted
    root = goferfs.GoferFS(client, 0, True).root()
    yield root, calls
    sock.close()
    os.kill(pid, 9)
    os.waitpid(pid, 0)


def test_lookups_list_one_directory(tree):
    root, calls = tree
    for i in range(10):  # past LIST_AFTER_MISSES: one listing answers the rest
        root.lookup(f"d{i:02}")
    n = len(calls)
    assert calls.count("readtree") == 1
    for i in range(40):  # nothing below / came with that listing
        assert root.lookup(f"d{i:02}")._children is None
    assert len(calls) == n


def test_a_few_listings_do_not_descend(tree):
    root, calls = tree
    root.readdir()
    for i in range(goferfs.WALK_AFTER - 2):
        root.lookup(f"d{i:02}").readdir()
    assert calls.count("readtree") == goferfs.WALK_AFTER - 1
    assert all(root.lookup(f"d{i:02}").lookup("s0")._children is None for i in range(40))


def test_a_tree_walk_gets_the_directories_below(tree):
    root, calls = tree

    def walk(d):
        for name, _ino, dtype in d.readdir():
            if dtype == 4:
                walk(d.lookup(name))
    walk(root)
    # 161 directories: without prefetch, 161 round trips; with it, the
    # first WALK_AFTER (16) are one each, then a few bring the rest
    assert calls.count("readtree") < 30, calls.count("readtree")
