"""directfs (gofer/client.py GoferClient.direct): the sentry runs the
gofer's file code itself. Every op must answer as the round trip to the
gofer process does, and a sandbox must see the same files either way."""

import os

import pytest

from bastion.abi.errno import SyscallError
from bastion.gofer import server
from bastion.gofer.client import GoferClient
from conftest import run_bastion, run_native


@pytest.fixture
def clients(tmp_path):
    """(round-trip client, direct client) over the same read-only tree."""
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "f").write_text("file f")
    (tmp_path / "d" / "e" / "g").write_text("file g")
    (tmp_path / "d" / "link").symlink_to("f")
    (tmp_path / "out").symlink_to("/etc")
    os.mkfifo(tmp_path / "d" / "fifo")
    mounts = [(str(tmp_path), True)]
    sock, pid = server.start(mounts)
    try:
        yield GoferClient(sock), GoferClient(None, direct=server.Gofer(mounts))
    finally:
        sock.close()
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def _no_atime(x):
    """x with every stat tuple's atime left out (reading a file moves it)."""
    if isinstance(x, list):
        if len(x) in (12, 13) and all(isinstance(v, int) for v in x[:12]):
            return x[:7] + x[8:]
        return [_no_atime(v) for v in x]
    return x


def _answer(client, request):
    """The op's result with its host fds' contents in their place, or its errno."""
    try:
        res, fd = client.call(*request)
    except SyscallError as e:
        return "errno", e.errno
    fds = fd if isinstance(fd, list) else [] if fd is None else [fd]
    data = [os.pread(f, 100, 0) for f in fds]
    for f in fds:
        os.close(f)
    return _no_atime(res), data


REQUESTS = [
    ("lstat", 0, ""),
    ("lstat", 0, "d/link"),
    ("lstat", 0, "nope"),
    ("walk", 0, "", ["d", "e", "g"], True),
    ("walk", 0, "", ["out", "passwd"], True),
    ("walk", 0, "d", ["fifo"], True),
    ("walk", 0, "", ["d", "nope"], False),
    ("readdir", 0, "d", False),
    ("readdir", 0, "d", True),
    ("readtree", 0, [""], 100, False),
    ("readtree", 0, ["d"], 100, True),
    ("readlink", 0, "out"),
    ("open", 0, "d/f", os.O_RDONLY, 0),
    ("open", 0, "d/f", os.O_WRONLY, 0),  # a read-only mount
    ("open_many", 0, "", ["d/f", "d/e/g", "d/fifo", "d/link"]),
    ("mkdir", 0, "new", 0o755),
    ("statfs", 0, ""),
    ("walk", 0, "", [".."], False),
    ("walk", 9, "", ["d"], False),
    ("no_such_op", 0, ""),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("request_", REQUESTS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REQUESTS)])
def test_direct_ops_answer_as_the_gofer_does(clients, request_):
    rpc, direct = clients
    want = _answer(rpc, request_)
    got = _answer(direct, request_)
    if request_[0] == "statfs":  # free blocks move between the two calls
        want, got = want[0][:2], got[0][:2]
    assert got == want


@pytest.mark.timeout(120)
@pytest.mark.parametrize("directfs", ["1", "0"])
def test_a_sandbox_sees_the_same_files_either_way(tmp_path, directfs):
    for i in range(30):
        d = tmp_path / f"dir{i % 4}" / f"sub{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file{i}").write_text(f"contents {i}\n" * i)
    (tmp_path / "dir0" / "up").symlink_to("../dir1")
    script = (f"cd {tmp_path} && find . | sort && cat $(find . -type f | sort) | md5sum && "
              "ls -l dir0 | tail -n +2 | awk '{print $1, $5, $9, $10, $11}' && "
              "cat dir0/up/sub1/file1 && cat nope 2>&1 | sed 's/^.*: //'")
    env = dict(os.environ, BASTION_DIRECTFS=directfs)
    native = run_native(["sh", "-c", script])
    boxed = run_bastion(["sh", "-c", script], opts=["--mount", f"{tmp_path}:{tmp_path}:ro"], env=env)
    assert (boxed.stdout, boxed.status) == (native.stdout, native.status), boxed.stderr


def test_directfs_is_the_default_and_can_be_turned_off(monkeypatch):
    from bastion.cli import _config, _parser
    monkeypatch.delenv("BASTION_DIRECTFS", raising=False)
    assert _config(_parser().parse_args(["run", "--", "/bin/true"])).directfs
    assert not _config(_parser().parse_args(["run", "--no-directfs", "--", "/bin/true"])).directfs
    monkeypatch.setenv("BASTION_DIRECTFS", "0")
    assert not _config(_parser().parse_args(["run", "--", "/bin/true"])).directfs


def test_under_directfs_no_gofer_process_is_needed(tmp_path):
    """Under directfs every call runs in the sentry, and nothing is asked
    ahead (vfs/goferfs.py looks at `direct`): the client has no process,
    no socket, and never imports the wire protocol."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    client = GoferClient(None, direct=server.Gofer([(str(tmp_path), True)]))
    assert client.call("lstat", 0, "d/f")[0][6] == 1
    assert client.call("readtree", 0, [""], 0, False)[0]
    assert client.sock is None and client.wire is None and client.asked is None
