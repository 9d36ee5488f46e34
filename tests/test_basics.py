"""The first things a user tries: simple programs agree with native Linux."""

from conftest import ab, run_bastion


def test_static_busybox_echo():
    ab(["/bin/busybox", "echo", "hello", "world"])


def test_dynamic_echo():
    ab(["/bin/echo", "hi"])


def test_exit_status():
    ab(["/bin/sh", "-c", "exit 7"])


def test_readme_pipeline():
    r = ab(["/bin/sh", "-c", "seq 1 20000 | sort -rn | head -3"])
    assert r.stdout == b"20000\n19999\n19998\n"


def test_missing_command_is_one_line_error():
    r = run_bastion(["/no/such/program"])
    assert r.status != 0
    assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr
