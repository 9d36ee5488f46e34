"""Isolation (Bastion only): the sandbox's view of the host and what reaches the host."""

import hashlib
import os

import pytest

from core_util import BUILD, sandbox

PY = "/usr/bin/python3"

# Prints the errno name of a failed call, or "ok".
TRY = ("import errno, os, sys\n"
       "def t(what, f):\n"
       "    try:\n        f()\n        print(what, 'ok')\n"
       "    except OSError as e:\n        print(what, errno.errorcode[e.errno])\n")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.timeout(30)
def test_write_to_etc_stays_inside():
    before = sha("/etc/passwd")
    assert not os.path.exists("/etc/bastion-isolation-probe")
    r = sandbox(["/bin/sh", "-c", "echo 'intruder:x:0:0::/:/bin/sh' >> /etc/passwd && "
                 "echo probe > /etc/bastion-isolation-probe && tail -1 /etc/passwd && "
                 "cat /etc/bastion-isolation-probe && rm /etc/hostname && ls /etc/hostname 2>&1 | wc -l"])
    assert r.status == 0, r
    assert r.stdout == b"intruder:x:0:0::/:/bin/sh\nprobe\n1\n", r
    assert sha("/etc/passwd") == before
    assert not os.path.exists("/etc/bastion-isolation-probe")
    assert os.path.exists("/etc/hostname")


@pytest.mark.timeout(30)
def test_write_to_host_file_under_root_stays_inside():
    path = "/var/tmp/bastion-isolation-probe.txt"  # in the root overlay wherever the repo is
    with open(path, "w") as f:
        f.write("original\n")
    r = sandbox(["/bin/sh", "-c", f"echo changed > {path}; cat {path}; rm {path}; cat {path} 2>/dev/null || echo gone"])
    assert (r.status, r.stdout) == (0, b"changed\ngone\n"), r
    with open(path) as f:
        assert f.read() == "original\n"
    os.unlink(path)


@pytest.mark.timeout(30)
def test_first_process_is_pid_1():
    r = sandbox(["/bin/sh", "-c", "echo $$"])
    assert (r.status, r.stdout) == (0, b"1\n"), r


@pytest.mark.timeout(30)
def test_proc_lists_only_sandbox_pids():
    r = sandbox([PY, "-c", "import os\n"
                 "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
                 "print(os.readlink('/proc/self') if os.path.islink('/proc/self') else 'no link')"])
    assert (r.status, r.stdout) == (0, b"[1]\n1\n"), r


@pytest.mark.timeout(30)
def test_host_processes_are_invisible():
    host_pid = os.getpid()  # this pytest process: alive on the host
    r = sandbox([PY, "-c", TRY + f"t('kill', lambda: os.kill({host_pid}, 0))\n"
                 f"t('proc', lambda: os.stat('/proc/{host_pid}'))"])
    assert (r.status, r.stdout) == (0, b"kill ESRCH\nproc ENOENT\n"), r


@pytest.mark.timeout(30)
def test_uname_nodename_is_bastion():
    r = sandbox(["/bin/sh", "-c", "uname -n; hostname; cat /proc/sys/kernel/hostname"])
    assert (r.status, r.stdout) == (0, b"bastion\nbastion\nbastion\n"), r


@pytest.mark.timeout(30)
def test_hostname_option_and_sethostname_stay_inside():
    host = os.uname().nodename
    r = sandbox(["/bin/sh", "-c", "uname -n; hostname changed-inside && uname -n"], opts=["--hostname", "box"])
    assert (r.status, r.stdout) == (0, b"box\nchanged-inside\n"), r
    assert os.uname().nodename == host


@pytest.mark.timeout(30)
def test_tmp_inside_is_private_and_empty():
    host_dir = f"/tmp/bastion-isolation-dir-{os.getpid()}"   # the host /tmp is not empty
    os.makedirs(host_dir, exist_ok=True)
    try:
        r = sandbox(["/bin/sh", "-c", "ls -A /tmp | wc -l; echo x > /tmp/inside; ls /tmp"])
        assert (r.status, r.stdout) == (0, b"0\ninside\n"), r
        assert not os.path.exists("/tmp/inside")
    finally:
        os.rmdir(host_dir)


@pytest.mark.timeout(30)
def test_ro_bind_mount_readable_not_writable(tmp_path):
    src = tmp_path / "ro"
    src.mkdir()
    (src / "f").write_text("host data\n")
    r = sandbox([PY, "-c", TRY + "print(open('/mnt/ro/f').read(), end='')\n"
                 "print(sorted(os.listdir('/mnt/ro')))\n"
                 "t('create', lambda: open('/mnt/ro/g', 'w'))\n"
                 "t('write', lambda: open('/mnt/ro/f', 'a'))\n"
                 "t('unlink', lambda: os.unlink('/mnt/ro/f'))\n"
                 "t('mkdir', lambda: os.mkdir('/mnt/ro/d'))\n"
                 "t('rename', lambda: os.rename('/mnt/ro/f', '/mnt/ro/h'))\n"
                 "t('chmod', lambda: os.chmod('/mnt/ro/f', 0o600))\n"
                 "t('access W_OK', lambda: os.access('/mnt/ro/f', os.W_OK) or (_ for _ in ()).throw(OSError(errno.EROFS, '')))\n"
                 "t('read again', lambda: open('/mnt/ro/f').read())"],
                opts=["--mount", f"{src}:/mnt/ro:ro"])
    assert r.status == 0, r
    assert r.stdout.decode() == ("host data\n['f']\ncreate EROFS\nwrite EROFS\nunlink EROFS\n"
                                 "mkdir EROFS\nrename EROFS\nchmod EROFS\naccess W_OK EROFS\n"
                                 "read again ok\n"), r
    assert sorted(os.listdir(src)) == ["f"]
    assert (src / "f").read_text() == "host data\n"


@pytest.mark.timeout(30)
def test_rw_bind_mount_writes_reach_host(tmp_path):
    src = tmp_path / "rw"
    src.mkdir()
    (src / "old").write_text("old\n")
    r = sandbox(["/bin/sh", "-c", "cd /mnt/rw && echo new > new && echo more >> old && mkdir sub && "
                 "echo deep > sub/deep && mv new renamed && ls"], opts=["--mount", f"{src}:/mnt/rw:rw"])
    assert (r.status, r.stdout) == (0, b"old\nrenamed\nsub\n"), r
    assert (src / "renamed").read_text() == "new\n"
    assert (src / "old").read_text() == "old\nmore\n"
    assert (src / "sub" / "deep").read_text() == "deep\n"


@pytest.mark.timeout(30)
def test_host_changes_visible_through_rw_mount(tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "f").write_text("v1\n")
    r = sandbox(["/bin/sh", "-c", "cat /mnt/s/f"], opts=["--mount", f"{src}:/mnt/s"])
    assert (r.status, r.stdout) == (0, b"v1\n"), r


@pytest.mark.timeout(30)
def test_root_filesystem_host_paths_not_escapable():
    # .. at / stays at /; a symlink pointing outside resolves inside the sandbox root
    r = sandbox(["/bin/sh", "-c", "cd /../../..; pwd; ls -d /../etc"])
    assert (r.status, r.stdout) == (0, b"/\n/../etc\n"), r


@pytest.mark.timeout(30)
def test_user_option_sets_credentials():
    r = sandbox([PY, "-c", "import os; print(os.getuid(), os.getgid(), os.geteuid())"],
                opts=["--user", "1234:567"])
    assert (r.status, r.stdout) == (0, b"1234 567 1234\n"), r


@pytest.mark.timeout(30)
def test_env_option_replaces_environment():
    r = sandbox(["/usr/bin/env"], opts=["--env", "A=1", "--env", "B=two"])
    assert r.status == 0, r
    assert sorted(r.stdout.decode().split()) == ["A=1", "B=two"], r


@pytest.mark.timeout(30)
def test_symlink_in_rw_mount_resolves_inside_sandbox(tmp_path):
    """A host symlink in a bound directory pointing at an absolute host path must resolve in the
    sandbox's root, never on the host (here: /tmp is the sandbox's own empty tmpfs)."""
    secret = tmp_path / "host-secret"
    secret.write_text("host only\n")
    src = tmp_path / "rw"
    src.mkdir()
    os.symlink(str(secret), src / "abs")
    os.symlink("../host-secret", src / "rel")
    r = sandbox([PY, "-c", TRY + "t('abs', lambda: open('/mnt/rw/abs').read())\n"
                 "t('rel', lambda: open('/mnt/rw/rel').read())\n"
                 "t('write abs', lambda: open('/mnt/rw/abs', 'w').write('pwned'))\n"
                 "print(os.readlink('/mnt/rw/abs') == " + repr(str(secret)) + ")"],
                opts=["--mount", f"{src}:/mnt/rw:rw"])
    assert r.status == 0, r
    # abs: /tmp/... does not exist in the sandbox; rel: ../host-secret is /mnt/host-secret inside
    assert r.stdout == b"abs ENOENT\nrel ENOENT\nwrite abs ENOENT\nTrue\n", r
    assert secret.read_text() == "host only\n"
    assert sorted(os.listdir(src)) == ["abs", "rel"]


@pytest.mark.timeout(30)
def test_symlink_created_inside_rw_mount_cannot_redirect_host_writes(tmp_path):
    src = tmp_path / "rw"
    src.mkdir()
    target = tmp_path / "outside.txt"
    target.write_text("untouched\n")
    r = sandbox(["/bin/sh", "-c", f"ln -s {target} /mnt/rw/link && echo pwned > /mnt/rw/link; "
                 f"ln -s ../outside.txt /mnt/rw/rel && echo pwned > /mnt/rw/rel; "
                 f"ln /etc/passwd /mnt/rw/hard 2>/dev/null; echo done"],
                opts=["--mount", f"{src}:/mnt/rw:rw"])
    assert r.status == 0 and r.stdout.endswith(b"done\n"), r
    assert target.read_text() == "untouched\n"
    # the symlinks exist on the host as plain links; whatever they were written through
    # landed inside the sandbox
    assert os.readlink(src / "link") == str(target)
    hard = src / "hard"
    assert not hard.exists() or os.stat(hard).st_ino != os.stat("/etc/passwd").st_ino


@pytest.mark.timeout(30)
def test_kill_all_inside_does_not_reach_host():
    """kill(-1, SIGKILL) as root inside kills sandbox processes only."""
    import subprocess
    sentinel = subprocess.Popen(["sleep", "30"])
    try:
        r = sandbox(["/bin/sh", "-c", "sleep 5 & sleep 5 & kill -9 -1; wait; echo survived"])
        assert (r.status, r.stdout) == (0, b"survived\n"), r
        assert sentinel.poll() is None, "a host process was killed from inside the sandbox"
    finally:
        sentinel.kill()
        sentinel.wait()


@pytest.mark.timeout(30)
def test_proc_root_and_mounts_show_sandbox_view():
    os.makedirs(BUILD, exist_ok=True)
    r = sandbox([PY, "-c", "import os\nprint(os.readlink('/proc/self/root'), os.readlink('/proc/1/cwd'))\n"
                 "m = open('/proc/self/mounts').read()\n"
                 "print('/work' in m.split(), ' /mnt/x ' in m)"],
                opts=["--mount", f"{BUILD}:/mnt/x:ro"])
    assert (r.status, r.stdout.splitlines()[0]) == (0, b"/ /"), r
    assert r.stdout.splitlines()[1] == b"False True", r


@pytest.mark.timeout(30)
def test_host_devices_absent():
    r = sandbox([PY, "-c", TRY + "for d in ('/dev/mem', '/dev/kmsg', '/dev/sda', '/dev/vda', '/dev/port'):\n"
                 "    t(d, lambda: open(d, 'rb').read(1))\n"
                 "t('/proc/sysrq-trigger', lambda: open('/proc/sysrq-trigger', 'w').write('h'))"])
    assert r.status == 0, r
    for line in r.stdout.decode().splitlines():
        assert not line.endswith(" ok"), r
