"""Helpers for the core A/B suite (tests/test_core_*.py).

The C programs in tests/programs/ are lists of independent sections (see
programs/common.h); each section is its own test, run natively and under
Bastion, and the two runs must agree on stdout and exit status.
"""

import os
import signal
import subprocess

import pytest

from conftest import PROGRAMS, ROOT, compile_c, run_bastion, run_native

BUILD = os.path.join(ROOT, "tests", ".build")

# A hung program kills itself with SIGALRM after this many seconds (programs/common.h).
WATCHDOG_SECS = 15


def env(**extra):
    e = dict(os.environ)
    e["TEST_WATCHDOG_SECS"] = str(WATCHDOG_SECS)
    e.update(extra)
    return e


def norm_status(status):
    """subprocess reports death by signal N as -N; Bastion's CLI exits 128+N (like a shell)."""
    return 128 - status if status < 0 else status


def ab_run(argv, input=None, timeout=30, opts=()):
    """Run argv natively and in the sandbox; assert stdout and (normalised) status agree."""
    n = run_native(argv, input=input, timeout=timeout, env=env())
    b = run_bastion(argv, input=input, timeout=timeout, opts=opts, env=env())
    assert (b.stdout, norm_status(b.status)) == (n.stdout, norm_status(n.status)), \
        f"native={n!r}\nbastion={b!r}"
    return n, b


_variants = {}


def compile_variant(name, *flags):
    """Build tests/programs/NAME.c with extra gcc flags (e.g. -static, -static-pie)."""
    key = (name, flags)
    if key not in _variants:
        src = os.path.join(PROGRAMS, name + ".c")
        out = os.path.join(BUILD, name + "".join(flags))
        os.makedirs(BUILD, exist_ok=True)
        if not os.path.exists(out) or os.path.getmtime(out) < max(
                os.path.getmtime(src), os.path.getmtime(os.path.join(PROGRAMS, "common.h"))):
            subprocess.run(["gcc", "-O1", *flags, "-o", out, src, "-lpthread"], check=True)
        _variants[key] = out
    return _variants[key]


def ab_section(program, section, timeout=30, flags=()):
    """A/B one section of tests/programs/PROGRAM.c (built with extra gcc flags if given)."""
    binary = compile_variant(program, *flags) if flags else compile_c(program)
    n, b = ab_run([binary, section], timeout=timeout)
    assert n.stdout.startswith(f"== {section}\n".encode()), n.stdout
    return b


def sections(names, xfail=None):
    """pytest params for section names, with xfail marks (non-strict) from {name: reason}."""
    xfail = xfail or {}
    unknown = set(xfail) - set(names)
    assert not unknown, f"xfail for unknown sections: {unknown}"
    return [pytest.param(n, marks=pytest.mark.xfail(reason=xfail[n], strict=False))
            if n in xfail else n for n in names]


def sandbox(argv, opts=(), input=None, timeout=30):
    """Run only under Bastion (isolation checks)."""
    return run_bastion(argv, input=input, timeout=timeout, opts=opts, env=env())


SIGTERM_STATUS = 128 + signal.SIGTERM
