"""The OCI runtime (bastion/oci/): the runc-compatible CLI driven directly,
then by real clients: podman (conmon) and containerd's runc shim."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ROOT

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "echo", "cat", "ls", "sleep", "id", "hostname", "dd", "head", "ps", "true", "tty", "stty")


def make_rootfs(path):
    """A busybox-static rootfs: /bin/busybox and its applets as symlinks."""
    os.makedirs(os.path.join(path, "bin"))
    for d in ("etc", "tmp", "proc", "dev", "sys", "root"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(path, "bin", a))


def oci(root, *args, timeout=60, cwd="/tmp"):
    """Run `bastion --root ROOT ARGS`. Output goes through files, not pipes: a
    created container keeps the caller's stdio (as conmon's) after `create` exits."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([sys.executable, "-m", "bastion", "--root", str(root), *args], stdout=out,
                           stderr=err, stdin=subprocess.DEVNULL, timeout=timeout, env=env, cwd=cwd)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read(), err.read()
    return p


@pytest.fixture
def bundle(tmp_path):
    """(bundle dir, state root, fn to edit config.json)."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("needs busybox-static")
    b = tmp_path / "bundle"
    b.mkdir()
    make_rootfs(str(b / "rootfs"))
    root = tmp_path / "state"
    r = oci(root, "spec", "--bundle", str(b))
    assert r.returncode == 0, r

    def edit(args=None, **changes):
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        if args is not None:
            cfg["process"]["args"] = args
        for k, v in changes.items():
            cfg[k] = v
        (b / "config.json").write_text(json.dumps(cfg))
        return cfg
    yield b, root, edit
    for cid in os.listdir(root) if root.exists() else ():
        oci(root, "delete", "--force", cid)


def state(root, cid):
    r = oci(root, "state", cid)
    assert r.returncode == 0, r
    return json.loads(r.stdout)


def wait_status(root, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        st = state(root, cid)["status"]
        if st == want or time.monotonic() > deadline:
            return st
        time.sleep(0.05)


def test_lifecycle(bundle, tmp_path):
    b, root, edit = bundle
    edit(["sh", "-c", "echo started $$; exec sleep 60"])
    out = tmp_path / "out"
    with open(out, "wb") as fh:
        r = subprocess.run([sys.executable, "-m", "bastion", "--root", str(root), "create", "--bundle", str(b),
                            "--pid-file", str(tmp_path / "pid"), "c1"], stdout=fh, stderr=fh,
                           env=dict(os.environ, PYTHONPATH=ROOT), cwd="/tmp", timeout=60)
    assert r.returncode == 0, r.stderr
    st = state(root, "c1")
    assert st["status"] == "created" and st["id"] == "c1" and st["bundle"] == str(b)
    assert st["rootfs"] == str(b / "rootfs") and int((tmp_path / "pid").read_text()) == st["pid"]
    assert set(st) >= {"ociVersion", "pid", "created", "owner", "annotations"}
    assert out.read_bytes() == b""  # loaded, not started
    assert oci(root, "start", "c1").returncode == 0
    assert state(root, "c1")["status"] == "running"
    assert oci(root, "start", "c1").returncode != 0  # only once
    deadline = time.monotonic() + 10
    while b"started 1" not in out.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_bytes() == b"started 1\n"  # the container's process is pid 1 inside

    r = oci(root, "ps", "--format", "json", "c1")
    assert json.loads(r.stdout) == [1], r
    r = oci(root, "ps", "c1")
    assert b"sleep" in r.stdout, r
    r = oci(root, "exec", "c1", "sh", "-c", "echo in-exec; cat /proc/1/cmdline; exit 3")
    assert (r.returncode, r.stdout) == (3, b"in-exec\nsleep\x0060\x00"), r
    r = oci(root, "exec", "--env", "FOO=bar", "--cwd", "/etc", "c1", "sh", "-c", "echo $FOO; pwd")
    assert r.stdout == b"bar\n/etc\n", r
    r = oci(root, "events", "--stats", "c1")
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["data"]["pids"]["current"] >= 1 and ev["data"]["memory"]["usage"]["usage"] > 0

    assert oci(root, "pause", "c1").returncode == 0
    assert state(root, "c1")["status"] == "paused"
    assert oci(root, "resume", "c1").returncode == 0
    assert state(root, "c1")["status"] == "running"

    r = oci(root, "list", "--format", "json")
    assert [c["id"] for c in json.loads(r.stdout)] == ["c1"]
    r = oci(root, "delete", "c1")
    assert r.returncode != 0 and b"not stopped" in r.stderr
    assert oci(root, "kill", "c1", "TERM").returncode == 0
    assert wait_status(root, "c1", "stopped") == "stopped"
    assert state(root, "c1")["pid"] == 0
    r = oci(root, "kill", "c1", "KILL")
    assert r.returncode != 0 and r.stderr.count(b"\n") == 1
    assert oci(root, "delete", "c1").returncode == 0
    r = oci(root, "state", "c1")
    assert r.returncode != 0 and b"does not exist" in r.stderr
    assert oci(root, "delete", "--force", "c1").returncode == 0


def test_run_exit_status_and_sandbox_ends_with_pid1(bundle):
    b, root, edit = bundle
    edit(["sh", "-c", "sleep 60 & echo $$; exit 7"])
    t = time.monotonic()
    r = oci(root, "run", "--bundle", str(b), "r1")
    assert (r.returncode, r.stdout) == (7, b"1\n"), r
    assert time.monotonic() - t < 30  # the background sleep died with pid 1
    assert oci(root, "list", "-q").stdout == b""  # run deletes (no --keep)
    # the OCI form of run, found by the bundle in the current directory
    edit(["sh", "-c", "exit 4"])
    r = oci(root, "run", "r2", cwd=str(b))
    assert r.returncode == 4, r


def test_kill_created_and_signal_status(bundle, tmp_path):
    b, root, edit = bundle
    edit(["sleep", "60"])
    assert oci(root, "create", "--bundle", str(b), "k1").returncode == 0
    pid = state(root, "k1")["pid"]
    assert oci(root, "kill", "k1", "9").returncode == 0
    assert wait_status(root, "k1", "stopped") == "stopped"
    assert oci(root, "delete", "k1").returncode == 0
    # a signal ends pid 1 and the sandbox process with 128+N, as conmon expects
    r = oci(root, "run", "--detach", "--bundle", str(b), "--pid-file", str(tmp_path / "p"), "k2")
    assert r.returncode == 0, r
    assert oci(root, "kill", "--all", "k2", "SIGUSR1").returncode == 0
    assert wait_status(root, "k2", "stopped") == "stopped"
    assert pid != int((tmp_path / "p").read_text())
    assert oci(root, "delete", "k2").returncode == 0


def test_exec_detach_pid_file(bundle, tmp_path):
    b, root, edit = bundle
    edit(["sleep", "60"])
    assert oci(root, "run", "-d", "--bundle", str(b), "e1").returncode == 0
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "sleep 0.3; exit 5"], "cwd": "/", "env": ["PATH=/bin"],
                                "user": {"uid": 0, "gid": 0}}))
    pidf = tmp_path / "exec.pid"
    # a subreaper parent, as conmon: the detached exec's host stand-in is
    # reparented to it and exits with the process's status
    helper = ("import ctypes,os,subprocess,sys;ctypes.CDLL(None).prctl(36,1,0,0,0);"
              "r=subprocess.run(sys.argv[2:]);pid=int(open(sys.argv[1]).read());"
              "print(r.returncode,os.waitstatus_to_exitcode(os.waitpid(pid,0)[1]))")
    r = subprocess.run([sys.executable, "-c", helper, str(pidf), sys.executable, "-m", "bastion", "--root",
                        str(root), "exec", "--detach", "--pid-file", str(pidf), "--process", str(proc), "e1"],
                       capture_output=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT), cwd="/tmp")
    assert r.stdout == b"0 5\n", r
    r = oci(root, "exec", "e1", "/no/such")
    assert r.returncode != 0 and r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr, r
    assert oci(root, "delete", "--force", "e1").returncode == 0


def test_mounts_hostname_user_and_limits(bundle, tmp_path):
    b, root, edit = bundle
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("from-dir\n")
    single = tmp_path / "single"
    single.write_text("from-file\n")
    cfg = edit(["sh", "-c", "cat /data/f /etc/single; hostname; id -u; id -g; touch /x 2>/dev/null || echo ro;"
                "echo w > /scratch/y && cat /scratch/y; ulimit -n; dd if=/dev/zero of=/dev/null bs=48M count=1"
                " 2>/dev/null && echo survived"])
    cfg["hostname"] = "box1"
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 77, "hard": 77}]
    cfg["mounts"] += [{"destination": "/data", "type": "bind", "source": str(data), "options": ["rbind", "ro"]},
                      {"destination": "/etc/single", "type": "bind", "source": str(single), "options": ["bind"]},
                      {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs"}]
    cfg["linux"]["resources"]["memory"] = {"limit": 32 << 20}
    cfg["linux"]["resources"]["pids"] = {"limit": 8}
    (b / "config.json").write_text(json.dumps(cfg))
    r = oci(root, "run", "--bundle", str(b), "m1")
    assert r.stdout == b"from-dir\nfrom-file\nbox1\n1000\n1000\nro\nw\n77\n", r
    assert r.returncode != 0  # dd went past 32M: killed
    del cfg["linux"]["resources"]["memory"]
    (b / "config.json").write_text(json.dumps(cfg))
    r = oci(root, "run", "--bundle", str(b), "m2")
    assert r.stdout.endswith(b"survived\n") and r.returncode == 0, r


def test_capabilities_and_no_new_privileges(bundle):
    """process.capabilities and noNewPrivileges, as runc applies them: `runc
    spec`'s three capabilities for root; a non-root user keeps only the
    ambient set through its exec; capability-less root is refused."""
    b, root, edit = bundle
    show = "grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status | tr '\\t\\n' ' '"
    cfg = edit(["sh", "-c", show + "; mknod /dev/shm/n c 1 3 2>/dev/null || echo refused"])
    r = oci(root, "run", "--bundle", str(b), "c1")
    three = "0000000020000420"  # AUDIT_WRITE, NET_BIND_SERVICE, KILL
    # (no ambient: runc raises it only where inheritable, here empty)
    assert r.stdout.decode() == (f"CapPrm: {three} CapEff: {three} CapBnd: {three} "
                                 "CapAmb: 0000000000000000 NoNewPrivs: 1 refused\n"), r
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    cfg["process"]["capabilities"]["ambient"] = ["CAP_NET_BIND_SERVICE", "CAP_NO_SUCH"]
    cfg["process"]["capabilities"]["inheritable"] = ["CAP_NET_BIND_SERVICE"]
    cfg["process"]["noNewPrivileges"] = False
    cfg["process"]["args"] = ["sh", "-c", show]
    (b / "config.json").write_text(json.dumps(cfg))
    r = oci(root, "run", "--bundle", str(b), "c2")
    amb = "0000000000000400"
    assert r.stdout.decode() == (f"CapPrm: {amb} CapEff: {amb} CapBnd: {three} CapAmb: {amb} "
                                 "NoNewPrivs: 0 "), r


def test_mount_options_nosuid_nodev_noexec(bundle, tmp_path):
    """A mount's nosuid, nodev, noexec and ro options hold inside, as runc
    mounts them (nodev's refusal: tests/programs/creds.c), and the sentry's
    own /dev/shm takes `runc spec`'s from the config; /proc/mounts shows them."""
    b, root, edit = bundle
    data = tmp_path / "data"
    data.mkdir()
    (data / "tool").write_text("#!/bin/sh\necho ran\n")
    (data / "tool").chmod(0o755)
    script = ("cp /bin/busybox /scratch/bb; /scratch/bb true 2>/dev/null || echo scratch refused; "
              "/data/tool 2>/dev/null || echo data refused; touch /data/x 2>/dev/null || echo data ro; "
              "grep -E ' /(scratch|data|dev/shm) ' /proc/mounts | cut -d' ' -f2,4")
    cfg = edit(["sh", "-c", script])
    cfg["mounts"] += [
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "mode=1777"]},
        {"destination": "/data", "type": "bind", "source": str(data), "options": ["rbind", "ro", "noexec"]}]
    (b / "config.json").write_text(json.dumps(cfg))
    r = oci(root, "run", "--bundle", str(b), "m1")
    out = r.stdout.decode()
    assert out.startswith("scratch refused\ndata refused\ndata ro\n"), r
    opts = dict(line.split(" ", 1) for line in out.splitlines()[3:])
    assert set(opts) == {"/scratch", "/data", "/dev/shm"}, r
    assert all(o in opts["/scratch"].split(",") for o in ("nosuid", "nodev", "noexec")), opts
    assert all(o in opts["/data"].split(",") for o in ("ro", "noexec")), opts
    assert all(o in opts["/dev/shm"].split(",") for o in ("nosuid", "nodev", "noexec")), opts


def test_cpu_limit_through_host_cgroup(bundle):
    from bastion.oci import cgroup
    b, root, edit = bundle
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    base = "/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/cpu"
    if not os.access(base, os.W_OK):
        pytest.skip("no writable cgroup filesystem here")
    path = f"/bastion-test-{os.getpid()}"
    cfg = edit(["sleep", "60"])
    cfg["linux"]["cgroupsPath"] = path
    cfg["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}
    (b / "config.json").write_text(json.dumps(cfg))
    assert oci(root, "create", "--bundle", str(b), "cpu1").returncode == 0
    d = base + path
    try:
        pid = state(root, "cpu1")["pid"]
        with open(f"{d}/cgroup.procs") as fh:
            assert str(pid) in fh.read().split()
        with open(f"{d}/cpu.max" if v2 else f"{d}/cpu.cfs_quota_us") as fh:
            assert fh.read().split()[0] == "50000"
    finally:
        assert oci(root, "delete", "--force", "cpu1").returncode == 0
        cgroup.remove(d)
    assert not os.path.exists(d)


def test_hooks(bundle, tmp_path):
    b, root, edit = bundle
    log = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\n(echo $1; cat; echo) >> {log}\n")
    hook.chmod(0o755)
    hooks = {k: [{"path": str(hook), "args": ["hook.sh", k]}] for k in ("prestart", "createRuntime",
                                                                     "poststart", "poststop")}
    edit(["true"], hooks=hooks, annotations={"org.example": "yes"})
    r = oci(root, "run", "--bundle", str(b), "h1")
    assert r.returncode == 0, r
    lines = log.read_text().split("\n")
    names = lines[0::2][:4]
    assert names == ["prestart", "createRuntime", "poststart", "poststop"], lines
    st = json.loads(lines[1])
    assert st["id"] == "h1" and st["annotations"] == {"org.example": "yes"} and st["pid"] > 0


@pytest.mark.parametrize("mutate, words", [
    (lambda c: "{not json", b"invalid JSON"),
    (lambda c: c["process"].pop("args"), b"process.args"),
    (lambda c: c["process"].update(cwd="relative"), b"process.cwd"),
    (lambda c: c["process"].update(rlimits=[{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]), b"rlimit"),
    (lambda c: c["process"].update(user={"uid": "root"}), b"process.user.uid"),
    (lambda c: c["mounts"].append({"destination": "/x", "type": "nfs", "source": "h:/x"}), b"mounts[7].type"),
    (lambda c: c["mounts"].append({"destination": "rel", "type": "tmpfs"}), b"destination"),
    (lambda c: c["root"].update(path="nowhere"), b"root.path"),
    (lambda c: c["linux"]["resources"].update(memory={"limit": "lots"}), b"memory.limit"),
    (lambda c: c.update(process=None), b"process is required"),
    (lambda c: c["process"].update(args=["/no/such/program"]), b"No such file"),
])
def test_broken_config_is_one_line(bundle, mutate, words):
    b, root, edit = bundle
    cfg = edit()
    out = mutate(cfg)
    (b / "config.json").write_text(out if isinstance(out, str) else json.dumps(cfg))
    r = oci(root, "create", "--bundle", str(b), "bad")
    assert r.returncode != 0
    assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr and words in r.stderr, r.stderr
    assert r.stderr.startswith(b"bastion: ")
    assert not (root / "bad").exists()


def test_cli_errors_and_misc(tmp_path):
    root = tmp_path / "state"
    for args, words in [(["create", "--bundle", str(tmp_path), "x"], b"no config.json"),
                        (["start", "nope"], b"does not exist"),
                        (["create", "--bundle", str(tmp_path), "bad/id"], b"invalid container id"),
                        (["checkpoint", "x"], b"not supported yet"),
                        (["restore", "x"], b"not supported yet"),
                        (["kill", "--bogus", "x"], b"unrecognized"),
                        (["--log-format", "xml", "list"], b"--log-format")]:
        r = oci(root, *args)
        assert r.returncode != 0 and r.stderr.count(b"\n") == 1 and words in r.stderr, (args, r)
    log = tmp_path / "log.json"
    r = oci(root, "--log", str(log), "--log-format", "json", "start", "nope")
    assert json.loads(log.read_text().splitlines()[-1])["level"] == "error"
    f = json.loads(oci(root, "features").stdout)
    assert f["ociVersionMax"].startswith("1.") and "hooks" in f
    assert oci(root, "list").stdout.startswith(b"ID")
    assert oci(root, "spec", "--bundle", str(tmp_path)).returncode == 0
    r = oci(root, "spec", "--bundle", str(tmp_path))
    assert r.returncode != 0 and b"exists" in r.stderr
    assert json.loads((tmp_path / "config.json").read_text())["root"]["path"] == "rootfs"


def test_console_socket(bundle, tmp_path):
    """process.terminal: the pty master goes to --console-socket by SCM_RIGHTS."""
    b, root, edit = bundle
    cfg = edit(["sh", "-c", "tty; stty size; read x; echo got-$x"])
    cfg["process"]["terminal"] = True
    cfg["process"]["consoleSize"] = {"height": 24, "width": 81}
    (b / "config.json").write_text(json.dumps(cfg))
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    r = oci(root, "create", "--bundle", str(b), "--console-socket", path, "t1")
    assert r.returncode == 0, r
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    master = fds[0]
    assert oci(root, "start", "t1").returncode == 0
    out = b""
    deadline = time.monotonic() + 10
    # type only once it asks: the pty echoes input at once, which would land
    # in the middle of the first lines (as on Linux)
    while b"24 81\r\n" not in out and time.monotonic() < deadline:
        out += os.read(master, 1024)
    os.write(master, b"hello\n")
    while b"got-hello" not in out and time.monotonic() < deadline:
        out += os.read(master, 1024)
    assert b"/dev/pts/0\r\n24 81\r\n" in out and b"got-hello" in out, out
    os.close(master)
    assert wait_status(root, "t1", "stopped") == "stopped"


# --- real clients ----------------------------------------------------------------
def _wrapper(tmp, state_root):
    """The runtime binary podman and containerd call: this worktree's bastion."""
    path = os.path.join(tmp, "bastion-runtime")
    with open(path, "w") as fh:
        fh.write(f"#!/bin/sh\ncd /\nPYTHONPATH={ROOT} exec {sys.executable} -m bastion "
                 f"--root {state_root} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (tests/run installs it)")
    if not os.path.exists(BUSYBOX):
        pytest.skip("needs busybox-static")
    tmp = str(tmp_path_factory.mktemp("podman"))
    rt = _wrapper(tmp, os.path.join(tmp, "oci"))
    base = ["podman", "--root", f"{tmp}/store", "--runroot", f"{tmp}/run", "--storage-driver", "vfs",
            "--cgroup-manager=cgroupfs", "--events-backend=file", "--runtime", rt]
    make_rootfs(f"{tmp}/rootfs")
    subprocess.run(["tar", "-C", f"{tmp}/rootfs", "-cf", f"{tmp}/rootfs.tar", "."], check=True)
    r = subprocess.run(base + ["import", f"{tmp}/rootfs.tar", "bastion-bb"], capture_output=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"podman import failed here: {r.stderr.decode(errors='replace').strip()[-200:]}")

    def run(*args, timeout=60, **kw):
        return subprocess.run(base + list(args), capture_output=True, timeout=timeout, **kw)
    run.base = base
    run.tmp = tmp
    yield run
    subprocess.run(base + ["rm", "-a", "-f", "-t", "0"], capture_output=True, timeout=60)


def test_podman_run(podman):
    r = podman("run", "--rm", "--network", "none", "bastion-bb", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, b"hi\n"), r
    r = podman("run", "--rm", "--network", "none", "--hostname", "pm", "bastion-bb", "sh", "-c",
               "hostname; cat /etc/hostname; echo; test -e /run/.containerenv && echo env; echo $$; exit 5")
    assert (r.returncode, r.stdout) == (5, b"pm\npm\nenv\n1\n"), r


def test_podman_exec_and_stop(podman):
    r = podman("run", "-d", "--name", "pm-stop", "--network", "none", "bastion-bb", "sh", "-c",
               "trap '' TERM; while true; do sleep 1; done")
    assert r.returncode == 0, r
    r = podman("exec", "pm-stop", "sh", "-c", "echo exec-ok; exit 4")
    assert (r.returncode, r.stdout) == (4, b"exec-ok\n"), r
    t = time.monotonic()
    r = podman("stop", "-t", "1", "pm-stop")  # SIGTERM is ignored: SIGKILL after 1s
    assert r.returncode == 0 and time.monotonic() - t < 20, r
    r = podman("inspect", "--format", "{{.State.ExitCode}}", "pm-stop")
    assert r.stdout.strip() == b"137", r
    podman("rm", "pm-stop")


def test_podman_memory_limit(podman):
    r = podman("run", "--rm", "--network", "none", "--memory", "64m", "bastion-bb", "sh", "-c",
               "dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null && echo survived; echo end")
    assert r.returncode == 0 and r.stdout == b"end\n", r
    r = podman("run", "--rm", "--network", "none", "--memory", "256m", "bastion-bb", "sh", "-c",
               "dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null && echo survived; echo end")
    assert r.stdout == b"survived\nend\n", r


def test_podman_interactive(podman):
    pexpect = pytest.importorskip("pexpect")
    c = pexpect.spawn(podman.base[0], podman.base[1:] + ["run", "-it", "--rm", "--network", "none",
                                                         "bastion-bb", "sh"], timeout=60)
    c.setwinsize(30, 100)
    c.expect(b"# ")
    c.sendline(b"tty; stty size; echo $((6*7))")
    c.expect(b"42")
    assert b"/dev/pts/0\r\n30 100\r\n" in c.before
    c.sendline(b"exit 3")
    c.expect(pexpect.EOF)
    c.close()
    assert c.exitstatus == 3


CONTAINERD_CONFIG = """version = 2
root = "{tmp}/root"
state = "{tmp}/state"
[grpc]
  address = "{tmp}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.bastion]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.bastion.options]
  BinaryName = "{runtime}"
"""


def test_containerd_runc_shim(podman, tmp_path_factory):
    """ctr run through containerd's runc shim (io.containerd.runc.v2) with
    bastion as its runc binary: the docs/kubernetes.md setup."""
    if not (shutil.which("containerd") and shutil.which("ctr")):
        pytest.skip("containerd is not installed (tests/run installs it)")
    tmp = str(tmp_path_factory.mktemp("ctd"))
    rt = _wrapper(tmp, os.path.join(tmp, "oci"))
    with open(f"{tmp}/config.toml", "w") as fh:
        fh.write(CONTAINERD_CONFIG.format(tmp=tmp, runtime=rt))
    d = subprocess.Popen(["containerd", "--config", f"{tmp}/config.toml"], stdout=subprocess.DEVNULL,
                         stderr=open(f"{tmp}/containerd.log", "wb"), start_new_session=True)
    ctr = ["ctr", "-a", f"{tmp}/containerd.sock", "-n", "bastion-test"]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(ctr + ["version"], capture_output=True).returncode != 0:
            if d.poll() is not None or time.monotonic() > deadline:
                pytest.skip("containerd did not start here: " + open(f"{tmp}/containerd.log").read()[-300:])
            time.sleep(0.2)
        r = podman("save", "--format", "oci-archive", "-o", f"{tmp}/image.tar", "localhost/bastion-bb:latest")
        assert r.returncode == 0, r
        r = subprocess.run(ctr + ["image", "import", "--snapshotter", "native", f"{tmp}/image.tar"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r
        r = subprocess.run(ctr + ["run", "--snapshotter", "native", "--rm", "--runtime", "io.containerd.runc.v2",
                                  "--runc-binary", rt, "localhost/bastion-bb:latest", "ct1", "sh", "-c",
                                  "echo from-containerd $$; exit 3"], capture_output=True, timeout=60)
        assert (r.returncode, r.stdout) == (3, b"from-containerd 1\n"), r
    finally:
        os.killpg(d.pid, signal.SIGTERM)
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(d.pid, signal.SIGKILL)
            d.wait()


def test_run_and_exec_on_the_callers_terminal(bundle):
    """process.terminal without --console-socket: `run` in the foreground
    and `exec -t` relay the caller's own terminal."""
    pexpect = pytest.importorskip("pexpect")
    b, root, edit = bundle
    cfg = edit(["sh"])
    cfg["process"]["terminal"] = True
    (b / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-m", "bastion", "--root", str(root)]
    p = pexpect.spawn(cmd[0], cmd[1:] + ["run", "--bundle", str(b), "tty1"], timeout=30, cwd="/tmp", env=env)
    p.setwinsize(20, 70)
    p.expect(b"# ")
    p.sendline(b"tty; stty size; echo $((6*7))")
    p.expect(b"42")
    assert b"/dev/pts/0\r\n20 70\r\n" in p.before
    q = pexpect.spawn(cmd[0], cmd[1:] + ["exec", "-t", "tty1", "sh"], timeout=30, cwd="/tmp", env=env)
    q.expect(b"# ")
    q.sendline(b"tty; echo $((7*7)); exit 2")
    q.expect(pexpect.EOF)
    q.close()
    assert b"/dev/pts/1\r\n49\r\n" in q.before and q.exitstatus == 2
    p.sendline(b"exit 9")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 9
