"""bench/ must not rot: every workload runs and parses natively (quick
sizes), and one goes through the sandbox path. Nothing here looks at timing."""

import json
import os
import subprocess
import sys

from conftest import ROOT

RUN = os.path.join(ROOT, "bench", "run.py")


def bench(tmp_path, *args):
    out = tmp_path / "results.json"
    p = subprocess.run([sys.executable, RUN, "--quick", "--json", str(out), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(out.read_text()), p.stdout


def test_every_benchmark_runs_natively(tmp_path):
    res, table = bench(tmp_path, "--native-only")
    names = [r["name"] for r in res["results"]]
    assert "getppid" in names and "memory" in names and len(names) >= 13, table
    for r in res["results"]:
        nat = r["sides"]["native"]
        if r["name"] == "memory" or nat.get("na") == "n/a: not installed":
            assert nat.get("na"), r
            continue
        assert nat["ok"] and nat["median"] > 0, (r["name"], nat, table)


def test_getppid_in_every_sandbox(tmp_path):
    res, table = bench(tmp_path, "--only", "getppid")
    [r] = res["results"]
    assert any(n.startswith("bastion") for n in r["sides"]), r
    for name, side in r["sides"].items():
        # a sandbox this host lacks (runsc not installed) is n/a, never FAILED
        assert side["ok"] or side.get("na"), (name, side, table)
        if name.startswith("bastion"):
            assert side["ok"] and r["ratio"][name] > 0, (name, side, table)
    assert "getppid" in table


def test_sentry_loop_measures_both_sides():
    """bench/sentry_loop.py (the sentry's own part of a syscall, noted under
    the getppid row) runs the kernel over its stand-in platforms."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import run
        alone = run.sentry_alone()
    finally:
        sys.path.remove(os.path.join(ROOT, "bench"))
    # both measured (not their order: two timings on a loaded machine)
    assert alone is not None and alone[0] > 0 and alone[1] > 0, alone


def test_interpreter_start_is_measured_under_true():
    """The `true` row notes the start of the interpreter Bastion runs on,
    with and without its site: part of every sandbox's start-up."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import run
        site, bare = run.interpreter_start(1)
        [true] = [b for b in run.benchmarks(True, "/tmp") if b["name"] == "true"]
    finally:
        sys.path.remove(os.path.join(ROOT, "bench"))
    assert site > 0 and bare > 0 and true.get("interp")
