"""directfs (gofer/client.py GoferClient.direct): the sentry runs the
gofer's file code itself. Every op must answer as the round trip to the
gofer process does, and a sandbox must see the same files either way."""

import os
import stat

import pytest

from bastion.abi.errno import SyscallError
from bastion.gofer import server
from bastion.gofer.client import GoferClient
from conftest import compile_c, run_bastion, run_native


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
    data = [sorted(os.listdir(f)) if stat.S_ISDIR(os.fstat(f).st_mode) else os.pread(f, 100, 0)
            for f in fds]
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
    ("opendir", 0, ""),
    ("opendir", 0, "d/e"),
    ("opendir", 0, "d/link"),
    ("opendir", 0, "d/f"),
    ("opendir", 0, "d/.."),
    ("lstat", 0, "d/e/g"),
    ("lstat", 0, "out"),
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


# --- directory listings (files.DirFile, goferfs.HostDir) -------------------
DOC = "/usr/share/doc"


def _doc_subdir():
    return os.path.join(DOC, sorted(n for n in os.listdir(DOC) if os.path.isdir(os.path.join(DOC, n)))[0])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("directfs", ["1", "0"])
@pytest.mark.parametrize("args", [("seek", DOC), ("dots", None), ("many", DOC, "100")],
                         ids=["seek", "dots", "many"])
def test_listings_behave_as_natively(directfs, args):
    """telldir/seekdir/rewinddir, the inode numbers of . and .., and more
    directories open at once than have a host fd of their own (HOST_DIRS_MAX)."""
    argv = [compile_c("dirents"), args[0], args[1] or _doc_subdir(), *args[2:]]
    native = run_native(argv)
    boxed = run_bastion(argv, env=dict(os.environ, BASTION_DIRECTFS=directfs))
    assert (boxed.stdout, boxed.status) == (native.stdout, native.status), boxed.stderr
    assert b": 1\n" in native.stdout


@pytest.mark.timeout(60)
def test_under_directfs_a_listing_is_the_hosts_own():
    """The host's records as they are, offsets too; without directfs the
    sentry packs its own (offsets are positions in its snapshot)."""
    argv = [compile_c("dirents"), "list", "/etc/apt"]
    native = run_native(argv).stdout
    assert run_bastion(argv, env=dict(os.environ, BASTION_DIRECTFS="1")).stdout == native
    other = run_bastion(argv, env=dict(os.environ, BASTION_DIRECTFS="0")).stdout
    assert sorted(other.split(b"\n")) != sorted(native.split(b"\n"))
    assert sorted(line.split(b" ")[-1] for line in other.split(b"\n")) == \
        sorted(line.split(b" ")[-1] for line in native.split(b"\n"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("directfs", ["1", "0"])
def test_a_changed_directory_lists_its_changes(directfs):
    """A name made and one removed in a directory of the read-only root (the
    overlay's upper layer has them): its listing is merged in the sentry."""
    names = run_native([compile_c("dirents"), "names", "/etc"]).stdout.decode().split("\n")[:-1]
    gone = sorted(names)[0]
    script = f"touch /etc/zz_made && rm -rf /etc/{gone} && {compile_c('dirents')} names /etc"
    boxed = run_bastion(["sh", "-c", script], env=dict(os.environ, BASTION_DIRECTFS=directfs))
    assert boxed.stdout.decode().split("\n")[:-1] == [n for n in names if n != gone] + ["zz_made"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("directfs", ["1", "0"])
def test_a_moved_directory_lists_its_new_parent(directfs):
    """A directory of the root moved elsewhere: its .. record is its new
    parent's inode, not its host directory's old parent."""
    sub = _doc_subdir()
    script = f"mv {sub} /usr/share/zz_moved && {compile_c('dirents')} dots /usr/share/zz_moved"
    boxed = run_bastion(["sh", "-c", script], env=dict(os.environ, BASTION_DIRECTFS=directfs))
    assert boxed.stdout == b". has the inode of /usr/share/zz_moved: 1, .. that of its parent: 1\n", \
        boxed.stderr


def test_host_directory_fds_are_bounded_and_closed(tmp_path):
    """Each open directory's host fd (HostDir) closes with it; past
    HOST_DIRS_MAX at once, listings are made in the sentry, the same."""
    for i in range(40):
        (tmp_path / "d" / f"f{i:02}").mkdir(parents=True)
    from bastion.sentry.vfs import goferfs
    client = GoferClient(None, direct=server.Gofer([(str(tmp_path), True)]))
    fs = goferfs.GoferFS(client, 0, True)
    d = fs.root().lookup("d")
    files = [d.open(os.O_RDONLY | os.O_DIRECTORY) for _ in range(goferfs.HOST_DIRS_MAX + 6)]
    listings = {f.getdents(1 << 16) for f in files}
    assert fs.host_dirs == goferfs.HOST_DIRS_MAX
    assert sum(1 for f in files if f.host) == goferfs.HOST_DIRS_MAX
    assert len({sorted_names(x) for x in listings}) == 1
    for f in files:
        f.release()
    assert fs.host_dirs == 0


def sorted_names(records):
    out, o = [], 0
    while o < len(records):
        reclen = int.from_bytes(records[o + 16:o + 18], "little")
        out.append(records[o + 19:o + reclen].rstrip(b"\0"))
        o += reclen
    return tuple(sorted(out))


def test_a_renamed_or_removed_directory_is_not_looked_in_again(tmp_path):
    """The gofer keeps fds of the directories it looked in (Gofer._dir):
    once one is renamed or removed, its path names another directory."""
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("x")
    g = server.Gofer([(str(tmp_path), False)])
    assert g.op_lstat(0, "d/e/f")[0][6] == 1
    g.op_rename(0, "d", "z")
    g.op_mkdir(0, "d", 0o755)
    g.op_mkdir(0, "d/e", 0o755)
    with pytest.raises(FileNotFoundError):
        g.op_lstat(0, "d/e/f")
    assert g.op_lstat(0, "z/e/f")[0][6] == 1
    os.unlink(tmp_path / "z" / "e" / "f")
    g.op_unlink(0, "z/e", True)
    (tmp_path / "z" / "e").mkdir()
    with pytest.raises(FileNotFoundError):
        g.op_lstat(0, "z/e/f")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("directfs", ["1", "0"])
def test_a_rewound_listing_shows_what_was_removed_since(directfs):
    """Files of a root directory removed one at a time, each the first that
    a listing shows after rewinddir (an rm that rescans): a rewind must
    not list the host's names again once the overlay hides some."""
    sub = _doc_subdir()
    files = sum(1 for n in os.listdir(sub) if not os.path.isdir(os.path.join(sub, n)))
    boxed = run_bastion([compile_c("dirents"), "drain", sub], env=dict(os.environ, BASTION_DIRECTFS=directfs))
    assert boxed.stdout == f"removed {files} files in {files + 1} rounds\n".encode(), boxed.stderr


def test_an_app_that_stats_what_it_lists_gets_the_sentrys_listings(tmp_path):
    """A find looks up only the subdirectories it listed: its listings stay
    the host's. Once the app looks up a file it listed (a tar, an ls -l),
    the mount's later listings are the sentry's, with attributes, which
    answer its lookups without a host call each."""
    names = ["file", "sub", "f2", "f3", "f4", "f5"]
    for d in ("a", "b", "c"):
        (tmp_path / d / "sub").mkdir(parents=True)
        for n in names[2:] + ["file"]:
            (tmp_path / d / n).write_text("x")
    from bastion.sentry.vfs import goferfs
    client = GoferClient(None, direct=server.Gofer([(str(tmp_path), True)]))
    calls = []
    real = client.call
    client.call = lambda op, *args: calls.append(op) or real(op, *args)
    fs = goferfs.GoferFS(client, 0, True)
    root = fs.root()

    def listed(name):
        d = root.lookup(name)
        f = d.open(os.O_RDONLY | os.O_DIRECTORY)
        f.getdents(1 << 16)
        f.release()
        return d, bool(f.host)

    a, host = listed("a")
    assert host
    a.lookup("sub")
    assert not fs.want_attrs
    b, host = listed("b")
    assert host
    del calls[:]
    for n in names:  # the rest from one listing with attributes, as soon as st_size says
        b.lookup(n).mode
    assert fs.want_attrs
    assert calls.count("readtree") == 1 and len(calls) <= 4, calls
    c, host = listed("c")
    assert not host


def test_names_in_a_held_directory_resolve_beneath_its_fd(tmp_path):
    """A directory the sentry holds open (a HostDir: hold_dir) is not
    opened again to look in it: names resolve beneath its fd, wherever it
    has moved, until it is released; once renamed or removed in the
    sandbox, its old path names another directory."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    g = server.Gofer([(str(tmp_path), False)])
    _, fd = g.op_opendir(0, "d")
    g.hold_dir(0, "d", fd)
    os.rename(tmp_path / "d", tmp_path / "w")  # behind the gofer's back: still the held one
    assert g.lstat_in(0, "d", "f")[6] == 1
    g.release_dir(0, "d", fd)
    with pytest.raises(FileNotFoundError):
        g.lstat_in(0, "d", "f")
    os.rename(tmp_path / "w", tmp_path / "d")
    g.hold_dir(0, "d", fd)
    g.op_rename(0, "d", "z")
    g.op_mkdir(0, "d", 0o755)
    with pytest.raises(FileNotFoundError):
        g.lstat_in(0, "d", "f")
    assert g.lstat_in(0, "z", "f")[6] == 1
    g.release_dir(0, "d", fd)
    os.close(fd)
