"""The vDSO (bastion/sentry/vdso): the checked-in image, A/B of every clock with
and without it (dynamic and static), and that time queries no longer trap."""

import re
import shutil

import pytest

from bastion.sentry.vdso import build, image
from core_util import ab_run, compile_variant, sandbox
from conftest import compile_c

SECTIONS = ["auxv", "clocks", "monotonic", "realtime", "resolution", "cpu", "private_mappings",
            "exec_fresh"]
# without the vDSO: the sections that do not look for one (and that stay quick as syscalls)
NO_VDSO = ["clocks", "realtime", "resolution", "cpu"]
CASES = [(s, ()) for s in SECTIONS] + [(s, ("--no-vdso",)) for s in NO_VDSO]
NAMES = ["clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"]


def test_image_symbols():
    """What glibc (dl-vdso: __vdso_* at LINUX_2.6) and others (the plain names) look up."""
    syms = build.dynamic_symbols(image.IMAGE)
    for name in NAMES:
        off = syms[("__vdso_" + name, "LINUX_2.6")]
        assert syms[(name, "LINUX_2.6")] == off == image.SYMBOLS["__vdso_" + name]
        assert 0 < off < len(image.IMAGE)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
def test_image_current():
    """image.py is what build.py makes of vdso.c now (same gcc: same bytes)."""
    fresh = build.compile_image()
    assert build.dynamic_symbols(fresh).keys() == build.dynamic_symbols(image.IMAGE).keys()
    if build.gcc_version() != image.GCC_VERSION:
        pytest.skip(f"gcc {build.gcc_version()}, image.py was built by {image.GCC_VERSION}")
    assert fresh == image.IMAGE, "run: python3 -m bastion.sentry.vdso.build"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flags", [(), ("-static",)], ids=["dynamic", "static"])
@pytest.mark.parametrize("section,opts", CASES, ids=[s + ("-no-vdso" if o else "") for s, o in CASES])
def test_vdso(section, opts, flags):
    binary = compile_variant("vdso", *flags) if flags else compile_c("vdso")
    n, b = ab_run([binary, section], opts=opts)
    assert n.stdout.startswith(f"== {section}\n".encode()), n.stdout
    if section == "private_mappings" and not opts:
        # Bastion allows what classic Linux allows (the app gets its own copy)
        assert b"vdso made writable: 1" in b.stderr and b"unmapped: 2" in b.stderr, b


def _clock_syscalls(stderr):
    return len(re.findall(rb"\] clock_gettime\(", stderr))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flags", [(), ("-static",)], ids=["dynamic", "static"])
def test_no_trap(flags):
    """1000 clock_gettime calls: no syscall with the vDSO, 1000 without."""
    binary = compile_variant("vdso", *flags) if flags else compile_c("vdso")
    r = sandbox([binary, "loop"], opts=["--strace"])
    assert r.status == 0 and b"done 1" in r.stdout, r
    assert _clock_syscalls(r.stderr) <= 2, r
    r = sandbox([binary, "loop"], opts=["--strace", "--no-vdso"])
    assert _clock_syscalls(r.stderr) >= 1000, r


@pytest.mark.timeout(60)
def test_python_no_trap():
    """time.time() and time.monotonic() in Python stay in the app."""
    code = ("import time\nt = time.time()\nfor i in range(10000):\n"
            "    time.time(); time.monotonic(); time.perf_counter()\n"
            "print(abs(time.time() - t) < 60)")
    r = sandbox(["python3", "-c", code], opts=["--strace"])
    assert r.status == 0 and r.stdout == b"True\n", r
    assert _clock_syscalls(r.stderr) < 100, r



def test_an_exec_does_not_wait_for_the_calibration(monkeypatch):
    """The first exec maps the vDSO at once, serving no clock while the TSC
    baseline is short (~2 ms of every start were a sleep); the first clock
    syscall calibrates, waiting out the rest of the baseline if it must."""
    import time
    import types
    from bastion.sentry import vdso as V
    from bastion.sentry.mm.memfile import MemoryFile

    v = V.Vdso(MemoryFile())
    if v.first is None:
        pytest.skip("no invariant TSC here: the vDSO serves no clock")

    class _MM:  # what map asks of an address space
        def find_free(self, n):
            return 0x7F0000000000

        def map_borrowed(self, *a):
            pass

    def no_sleep(s):
        raise AssertionError("map slept")

    monkeypatch.setattr(V, "time", types.SimpleNamespace(
        monotonic_ns=time.monotonic_ns, time_ns=time.time_ns, sleep=no_sleep))
    v.map(_MM())
    assert v.clocks == 0 and v.view[4] == 0  # vvar.clocks: every call is the syscall
    monkeypatch.undo()
    v.calibrate()
    assert v.clocks == V.CLOCK_MASK and v.view[4] != 0
