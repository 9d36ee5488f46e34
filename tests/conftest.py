"""Shared test helpers: run a command natively and under Bastion, compare."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, "tests", "programs")
# The sandbox has its own /tmp (and /dev, /proc, /sys): a checkout there is
# invisible inside, so a command that names a file of the repo gets the repo
# bound in read-only at the same path.
_PRIVATE = ("/tmp/", "/dev/", "/proc/", "/sys/")
REPO_MOUNT = ["--mount", f"{ROOT}:{ROOT}:ro"] if ROOT.startswith(_PRIVATE) else []


def repo_mount(argv):
    return REPO_MOUNT if REPO_MOUNT and any(ROOT in str(a) for a in argv) else []


class Result:
    def __init__(self, p):
        self.stdout, self.stderr, self.status = p.stdout, p.stderr, p.returncode

    def __repr__(self):
        return f"Result(status={self.status}, stdout={self.stdout[:300]!r}, stderr={self.stderr[:600]!r})"


def run_native(argv, input=None, timeout=60, env=None, cwd=None):
    return Result(subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env,
                                 cwd=cwd))


def run_bastion(argv, input=None, timeout=60, opts=(), env=None, cwd=None):
    cmd = [sys.executable, "-m", "bastion", "run", *repo_mount(argv), *opts, "--", *argv]
    e = dict(os.environ if env is None else env)
    e["PYTHONPATH"] = ROOT
    return Result(subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=e,
                                 cwd=cwd))


def ab(argv, input=None, timeout=60, opts=(), check_stderr=False):
    """Run argv natively and in the sandbox; assert they agree; return the sandbox result."""
    n = run_native(argv, input=input, timeout=timeout)
    b = run_bastion(argv, input=input, timeout=timeout, opts=opts)
    assert (b.stdout, b.status) == (n.stdout, n.status), f"native={n!r}\nbastion={b!r}"
    if check_stderr:
        assert b.stderr == n.stderr
    return b


_built = {}


def compile_c(name, extra=()):
    """Build tests/programs/NAME.c once per session; return the binary path."""
    if name in _built:
        return _built[name]
    src = os.path.join(PROGRAMS, name + ".c")
    out_dir = os.path.join(ROOT, "tests", ".build")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, name + ("-" + "-".join(x.strip("-") for x in extra) if extra else ""))
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O1", "-o", out, src, "-lpthread", *extra], check=True)
    _built[name] = out
    return out


@pytest.fixture
def tmp_host(tmp_path):
    return tmp_path
