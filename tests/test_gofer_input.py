"""The gofer trusts nothing the sentry sends (gofer/server.py): a bad
request gets an errno, never a crash, a hang, or a host file from outside
its mount. Driven directly against a gofer serving a temporary tree, both
as a round trip to its process and run in the caller (directfs)."""

import errno
import os

import pytest

from bastion.abi.errno import SyscallError
from bastion.gofer import server
from bastion.gofer.client import GoferClient


@pytest.fixture(params=["rpc", "direct"])
def gofer(tmp_path, request):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("in")
    (tmp_path / "out").symlink_to("/etc")
    (tmp_path / "d" / "passwd").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "d" / "fifo")
    sock, pid = server.start([(str(tmp_path), True)])
    direct = server.Gofer([(str(tmp_path), True)]) if request.param == "direct" else None
    yield GoferClient(sock, direct=direct)
    sock.close()
    os.kill(pid, 9)
    os.waitpid(pid, 0)


def _errno(client, *request):
    with pytest.raises(SyscallError) as e:
        client.call(*request)
    return e.value.errno


@pytest.mark.timeout(30)
def test_bad_walks_and_opens_get_an_errno(gofer):
    assert _errno(gofer, "walk", 0, "", ["..", "etc"]) == errno.EINVAL
    assert _errno(gofer, "walk", 0, "", ["d/f"]) == errno.EINVAL
    assert _errno(gofer, "walk", 0, "", [1]) == errno.EINVAL
    assert _errno(gofer, "walk", 7, "", ["d"]) == errno.EINVAL  # no such mount
    assert _errno(gofer, "walk", 0, "", ["nope"]) == errno.ENOENT
    assert _errno(gofer, "open_many", 0, "d", ["f"] * 1000) == errno.EINVAL
    assert _errno(gofer, "open_many", 0, "d", ["f", 3]) == errno.EINVAL
    for bad in ("../d/f", "d/../../f", "/etc/passwd", "d//f", "d/./f", "d/"):  # paths below, plainly
        assert _errno(gofer, "open_many", 0, "", [bad]) == errno.EINVAL, bad
    assert _errno(gofer, "no_such_op", 0, "") == errno.EINVAL
    # still serving
    res, fd = gofer.call("walk", 0, "", ["d", "f"], True)
    assert len(res) == 2 and os.pread(fd, 8, 0) == b"in"
    os.close(fd)


@pytest.mark.timeout(30)
def test_walks_and_opens_stay_in_the_mount(gofer):
    # a walk stops at a symlink (its target comes along), it never follows it
    res, fd = gofer.call("walk", 0, "", ["out", "passwd"], True)
    assert fd is None and len(res) == 1 and res[0][12] == "/etc"
    res, fd = gofer.call("walk", 0, "d", ["passwd"], True)
    assert fd is None and res[0][12] == "/etc/passwd"
    # open_many opens regular files only: not a symlink out, not a FIFO (no hang)
    ok, fds = gofer.call("open_many", 0, "d", ["passwd", "fifo", "f", "nope"])
    assert ok == [False, False, True, False] and len(fds) == 1
    assert os.pread(fds[0], 8, 0) == b"in"
    os.close(fds[0])
    # names may be paths below (a walk's next files are in several directories)
    ok, fds = gofer.call("open_many", 0, "", ["d/f", "d/passwd", "out/passwd"])
    assert ok == [True, False, False] and len(fds) == 1 and os.pread(fds[0], 8, 0) == b"in"
    os.close(fds[0])


def test_a_tree_walk_leaves_out_a_directory_it_cannot_list(tmp_path, monkeypatch):
    """A directory below the walk's start that cannot be listed (no read
    permission, as for an unprivileged gofer) is left out; the rest of the
    walk comes, and no fd is left open."""
    for d in ("a", "b", "c"):
        (tmp_path / d / "sub").mkdir(parents=True)
    g = server.Gofer([(str(tmp_path), True)])
    real = server._list

    def refusing(fd, attrs):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/b"):
            raise PermissionError(errno.EACCES, "denied")
        return real(fd, attrs)
    monkeypatch.setattr(server, "_list", refusing)
    before = len(os.listdir("/proc/self/fd"))
    res, _ = g.op_readtree(0, [""], 100, False)
    assert sorted(rel for _, rel, _ in res) == ["", "a", "a/sub", "c", "c/sub"]
    assert len(os.listdir("/proc/self/fd")) == before
