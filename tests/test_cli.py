"""The command line: options reach the sandbox; user errors are one line."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_bastion


def bastion(*args, timeout=60):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "bastion", *args], capture_output=True,
                          timeout=timeout, env=env, cwd="/tmp")


@pytest.mark.parametrize("args, words", [
    (["run", "--rootfs", "/no/such/dir", "--", "/bin/true"], b"rootfs"),
    (["run", "--mount", "nocolon", "--", "/bin/true"], b"--mount"),
    (["run", "--mount", "/no/such:/x", "--", "/bin/true"], b"does not exist"),
    (["run", "--mount", "/tmp:/x:rx", "--", "/bin/true"], b"ro or rw"),
    (["run", "--mount", "/etc/passwd:/x", "--", "/bin/true"], b"not a directory"),
    (["run", "--frobnicate", "--", "/bin/true"], b"unrecognized"),
    (["run"], b"missing command"),
    (["run", "--user", "abc", "--", "/bin/true"], b"--user"),
    (["run", "--env", "NOEQUALS", "--", "/bin/true"], b"--env"),
    (["run", "--", "/no/such/program"], b"No such file"),
])
def test_user_errors_are_one_line(args, words):
    r = bastion(*args)
    assert r.returncode != 0
    assert r.stderr.count(b"\n") == 1, r.stderr
    assert b"Traceback" not in r.stderr and words in r.stderr, r.stderr


def test_options_reach_the_sandbox(tmp_path):
    r = run_bastion(["/bin/sh", "-c", "echo $FOO; pwd; hostname; id -u; id -g"],
                    opts=["--env", "FOO=bar", "--env", "PATH=/usr/bin:/bin", "--cwd", "/etc",
                          "--hostname", "box", "--user", "1234:5678"])
    assert r.status == 0, r
    assert r.stdout == b"bar\n/etc\nbox\n1234\n5678\n"


def test_default_hostname_and_pid1():
    r = run_bastion(["/bin/sh", "-c", "uname -n; echo $$"])
    assert r.stdout == b"bastion\n1\n"


def test_exit_status_of_signal():
    assert run_bastion(["/bin/sh", "-c", "kill -TERM $$"]).status == 143
    assert run_bastion(["/bin/sh", "-c", "kill -SEGV $$"]).status == 139


def test_tmpfs_option_and_ro_rw_mounts(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f").write_text("readonly\n")
    (tmp_path / "rw").mkdir()
    r = run_bastion(["/bin/sh", "-c",
                     "cat /r/f; echo x > /r/g 2>/dev/null || echo refused; "
                     "echo written > /w/out; touch /scratch/a && ls /scratch"],
                    opts=["--mount", f"{tmp_path}/ro:/r:ro", "--mount", f"{tmp_path}/rw:/w",
                          "--tmpfs", "/scratch"])
    assert r.stdout == b"readonly\nrefused\na\n", r
    assert (tmp_path / "rw" / "out").read_text() == "written\n"
    assert not (tmp_path / "ro" / "g").exists()


def test_writes_to_root_stay_inside():
    before = open("/etc/hostname", "rb").read() if os.path.exists("/etc/hostname") else None
    r = run_bastion(["/bin/sh", "-c", "echo changed > /etc/hostname && cat /etc/hostname"])
    assert r.stdout == b"changed\n"
    after = open("/etc/hostname", "rb").read() if os.path.exists("/etc/hostname") else None
    assert before == after


def test_syscalls_table_into_a_closed_pipe():
    # `bastion syscalls | head -1`: no traceback
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run(["sh", "-c", f"'{sys.executable}' -m bastion syscalls | head -1"],
                       capture_output=True, timeout=60, env=env, cwd="/tmp")
    assert p.stdout.split()[1] == b"read", p
    assert b"Traceback" not in p.stderr and b"Error" not in p.stderr, p.stderr


def test_syscalls_table():
    r = bastion("syscalls")
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    assert any(line.split()[1:] == ["read", "full"] for line in lines)
    assert any(line.split()[-1] == "none" for line in lines)


def test_sys_is_the_sandboxs_own():
    r = run_bastion(["/bin/sh", "-c", "ls /sys; cat /sys/devices/system/cpu/online;"
                     " python3 -c 'import os; print(os.cpu_count())'"])
    n = os.cpu_count()
    assert r.stdout == (b"block\nbus\nclass\ndevices\nfirmware\nfs\nkernel\n" +
                        (b"0" if n == 1 else f"0-{n - 1}".encode()) + b"\n" + f"{n}\n".encode())


def test_app_sees_the_callers_cpus():
    # the ptrace platform pins the sentry and its stubs to one CPU; the app
    # must not see that (nproc asks sched_getaffinity)
    r = run_bastion(["nproc"])
    assert r.stdout == f"{len(os.sched_getaffinity(0))}\n".encode(), r
    # a caller limited to one CPU (taskset, a container's cpuset) gives the
    # sandbox one CPU, everywhere the app may count them
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(cpus)})
    try:
        r = run_bastion(["/bin/sh", "-c", "nproc; cat /sys/devices/system/cpu/online; "
                         "grep -c ^processor /proc/cpuinfo"])
    finally:
        os.sched_setaffinity(0, cpus)
    assert r.stdout == b"1\n0\n1\n", r


def test_the_command_starts_with_the_signals_its_caller_ignores():
    """As an exec keeps SIG_IGN: a command started from `cmd &` in a script
    (INT and QUIT ignored) or under nohup (HUP) ignores them in the sandbox
    too, and a kill of them does not end it."""
    script = ("trap '' INT HUP; exec {} sh -c "
              "'grep SigIgn /proc/self/status; kill -INT $$; kill -HUP $$; echo alive'")
    native = subprocess.run(["bash", "-c", script.format("")], capture_output=True, timeout=60)
    b = subprocess.run(["bash", "-c", script.format(f"{sys.executable} -m bastion run --")],
                       capture_output=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert native.stdout.endswith(b"alive\n"), native
    assert (b.returncode, b.stdout) == (native.returncode, native.stdout), b


def test_host_signals_are_forwarded_to_the_sandbox():
    import signal
    import time
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "bastion", "run", "--", "/bin/sh", "-c",
                          'trap "echo got TERM; exit 5" TERM; echo ready; sleep 10 & wait'],
                         stdout=subprocess.PIPE, env=env, cwd="/tmp")
    assert p.stdout.readline() == b"ready\n"  # the trap is set: no race with start-up
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=30)
    assert (p.returncode, out) == (5, b"got TERM\n")
    p = subprocess.Popen([sys.executable, "-m", "bastion", "run", "--", "/bin/sh", "-c",
                          "echo ready; exec /bin/sleep 10"],
                         stdout=subprocess.PIPE, env=env, cwd="/tmp")
    assert p.stdout.readline() == b"ready\n"
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == 130


def test_caller_terminal_tcgets_writes_only_a_termios():
    import shutil
    if shutil.which("script") is None:
        pytest.skip("script(1) is not installed")
    code = ("import ctypes, fcntl; b = ctypes.create_string_buffer(b'\\xaa' * 64, 64); "
            "fcntl.ioctl(0, 0x5401, b, True); print(b.raw[36:].count(b'\\xaa'))")
    inner = f"{sys.executable} -m bastion run -- /usr/bin/python3 -c \"{code}\""
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run(["script", "-qec", inner, "/dev/null"], capture_output=True, env=env,
                       timeout=60, cwd="/tmp")
    assert r.stdout.replace(b"\r", b"").strip().endswith(b"28"), r


def test_every_syscall_table_entry_names_a_handler():
    """The table imports each syscall module on its first call: every entry
    must still name a function that exists, and a kernel's table puts the
    function itself in place after that call."""
    import inspect
    from bastion.sentry.syscalls import table
    handlers = table.handlers()
    assert all(inspect.isfunction(h) for h in handlers.values()), \
        [n for n, h in handlers.items() if not inspect.isfunction(h)]
    from bastion.abi.sysno import NUMBERS
    t = table.build()
    nr = NUMBERS["getppid"]

    class Task:
        class tg:
            parent = None
    assert t[nr](Task, 0, 0, 0, 0, 0, 0) == 0 and t[nr] is handlers["getppid"]
