"""The Python API (bastion.Sandbox): runs, files, concurrency, timeouts,
limits, setup errors, and no leaks on the host."""

import os
import subprocess
import threading
import time

import psutil
import pytest

from bastion import Limits, Mount, Result, Sandbox, SandboxClosed, SandboxError, SetupError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def sb():
    with Sandbox(mounts=[Mount.tmpfs("/work")], cwd="/work", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}) as s:
        yield s


def test_run_result(sb):
    r = sb.run(["sh", "-c", "cat; echo oops >&2; exit 3"], input=b"hello\n", timeout=30)
    assert isinstance(r, Result)
    assert (r.returncode, r.stdout, r.stderr, r.timed_out) == (3, b"hello\n", b"oops\n", False)
    assert 0 < r.duration < 30
    r = sb.run(["python3", "-c", "import os, sys; print(os.getcwd(), os.environ['LANG'], os.getppid())"])
    assert r.stdout == b"/work C.UTF-8 0\n" and r.ok
    r = sb.run(["sh", "-c", "kill -TERM $$"])
    assert r.returncode == -15
    r = sb.run(["env"], env={"X": "1"}, cwd="/")
    assert b"X=1\n" in r.stdout
    with pytest.raises(TypeError):
        sb.run("echo hi")


def test_missing_program_is_an_error(sb):
    with pytest.raises(SandboxError, match="No such file"):
        sb.run(["/no/such/program"])


def test_files_persist_between_runs(sb):
    sb.write_file("/work/a.py", "open('/work/out.txt', 'w').write(str(6 * 7))\n")
    assert sb.run(["python3", "/work/a.py"]).returncode == 0
    assert sb.read_file("/work/out.txt") == b"42"
    assert {"a.py", "out.txt"} <= set(sb.listdir("/work"))
    big = os.urandom(3 << 20)
    sb.write_file("/work/big", big)
    assert sb.run(["sha256sum", "/work/big"]).stdout.split()[0].decode() == \
        __import__("hashlib").sha256(big).hexdigest()
    assert sb.read_file("/work/big") == big
    with pytest.raises(SandboxError):
        sb.read_file("/work/missing")
    with pytest.raises(SandboxError):
        sb.listdir("/work/a.py")


def test_runs_are_concurrent(sb):
    """The reader waits on a FIFO that only a concurrent run can feed."""
    assert sb.run(["mkfifo", "/work/fifo"]).returncode == 0
    out = {}
    reader = threading.Thread(target=lambda: out.setdefault("r", sb.run(["cat", "/work/fifo"], timeout=30)))
    reader.start()
    time.sleep(0.3)
    w = sb.run(["sh", "-c", "echo through > /work/fifo"], timeout=30)
    reader.join(30)
    assert w.returncode == 0 and out["r"].stdout == b"through\n"


def test_timeout_kills_the_tree_not_the_sandbox(sb):
    t0 = time.monotonic()
    r = sb.run(["sh", "-c", "sleep 100 & setsid sleep 200 & sleep 300"], timeout=1)
    assert r.timed_out and r.returncode == -9
    assert time.monotonic() - t0 < 10
    time.sleep(0.2)
    assert [p for p in sb.processes() if p["comm"] == "sleep"] == []
    assert sb.run(["echo", "alive"]).stdout == b"alive\n"


def test_stream(sb):
    gen = sb.stream(["sh", "-c", "echo one; sleep 0.5; echo two >&2; exit 4"])
    got = []
    t0 = time.monotonic()
    try:
        while True:
            got.append((next(gen), time.monotonic() - t0))
    except StopIteration as stop:
        r = stop.value
    assert [c for c, _ in got] == [("stdout", b"one\n"), ("stderr", b"two\n")]
    assert got[0][1] < got[1][1] - 0.3  # the first chunk came before the command ended
    assert r.returncode == 4


def test_mounts_and_isolation(tmp_path):
    (tmp_path / "data.txt").write_text("from host\n")
    with Sandbox(mounts=[Mount.bind(str(tmp_path), "/data", readonly=True), Mount.tmpfs("/work")]) as s:
        assert s.run(["cat", "/data/data.txt"]).stdout == b"from host\n"
        r = s.run(["sh", "-c", "echo x > /data/new"])
        assert r.returncode != 0 and b"Read-only" in r.stderr
        assert s.run(["sh", "-c", "echo mine > /etc/motd && cat /etc/motd"]).stdout == b"mine\n"
    assert not (tmp_path / "new").exists()
    assert open("/etc/motd").read() != "mine\n" if os.path.exists("/etc/motd") else True


def test_setup_errors():
    with pytest.raises(SetupError, match="rootfs"):
        Sandbox(rootfs="/no/such/dir")
    with pytest.raises(SetupError, match="not a directory"):
        Sandbox(mounts=[Mount.bind("/no/such", "/x")])
    with pytest.raises(SetupError, match="absolute"):
        Sandbox(mounts=[Mount.tmpfs("relative")])
    with pytest.raises(SetupError, match="size"):
        Sandbox(limits=Limits(memory="lots"))
    with pytest.raises(SetupError, match="cwd"):
        Sandbox(cwd="/no/such/dir")
    with pytest.raises(SetupError, match="network"):
        Sandbox(network="bridge")


def test_limits_contain_bombs():
    with Sandbox(limits=Limits(memory="64M", pids=24, cpu_seconds=2)) as s:
        r = s.run(["python3", "-c", "a = []\nwhile True: a.append(b'x' * (1 << 20))"], timeout=60)
        assert r.returncode == -9 and r.oom_killed, r
        r = s.run(["sh", "-c", "f() { f | f & }; f; sleep 1"], timeout=4)
        assert r.pids_limited, r
        time.sleep(0.3)
        assert s.stats()["pids"] == 0
        r = s.run(["dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=200"], timeout=60)
        assert r.returncode == 1 and b"No space left on device" in r.stderr, r
        assert s.stats()["memory"] <= 80 << 20
        s.run(["rm", "/tmp/big"])
        r = s.run(["python3", "-c", "while True: pass"], timeout=60)
        assert r.returncode == -9 and not r.timed_out and 1.5 < r.duration < 30, r
        assert s.run(["echo", "still here"]).stdout == b"still here\n"


def _host_state():
    me = psutil.Process()
    return sorted(c.pid for c in me.children(recursive=True)), len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(300)  # 20 sandboxes: slow on a loaded 2-core machine
def test_many_sandboxes_leak_nothing():
    before = _host_state()
    for i in range(20):
        with Sandbox() as s:
            r = s.run(["sh", "-c", f"echo {i}; sleep 100 > /dev/null 2>&1 &"], timeout=30)
            assert r.stdout == f"{i}\n".encode()
    deadline = time.monotonic() + 10
    while _host_state() != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _host_state() == before


def test_closed_sandbox():
    s = Sandbox()
    s.close()
    s.close()
    with pytest.raises(SandboxClosed):
        s.run(["true"])


def test_rootless(tmp_path):
    """As an unprivileged host user, the sandbox still works (and is root inside)."""
    if os.getuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    if not all(os.access(p, os.R_OK | os.X_OK) for p in (ROOT, os.path.join(ROOT, "bastion"))) or \
            os.stat(ROOT).st_mode & 0o005 != 0o005:
        pytest.skip("the checkout is not readable by other users")
    py = "/usr/bin/python3"  # sys.executable may sit in root's home
    if not os.path.exists(py):
        pytest.skip("no system python3 for an unprivileged user")
    code = ("from bastion import Sandbox\n"
            "with Sandbox() as s:\n"
            "    r = s.run(['sh', '-c', 'id -u; echo hi > /tmp/x; cat /tmp/x'])\n"
            "    print(r.returncode, r.stdout)\n")
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        py, "-c", code], capture_output=True, timeout=60, cwd="/",
                       env={"PYTHONPATH": ROOT, "PATH": os.environ["PATH"], "HOME": "/"})
    assert p.stdout == b"0 b'0\\nhi\\n'\n", p
