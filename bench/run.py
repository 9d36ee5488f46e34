"""Bastion benchmarks: each workload timed natively and under Bastion.

Why: every syscall a sandboxed program makes is a ptrace stop served by a
Python kernel, so Bastion's cost is a per-syscall overhead multiplied by how
syscall-heavy a workload is. Absolute figures alone drift with the machine;
the ratio bastion/native, measured in the same run on the same host, is what
tells whether a change to the hot path helped. The workloads span the range:
a raw syscall loop (pure per-syscall cost), find (VFS and gofer), dd bs=1
(read/write path), /bin/true (sandbox start-up), python3 (a real
program's start-up: mmap, open, stat, many small reads), and throughputs:
a pipe (dd | cat), loopback TCP (iperf3) and redis-benchmark SET/GET, both
ends inside one sandbox (natively on the host's loopback). For a
throughput the ratio bastion/native is the fraction of native speed kept.

This is a benchmark, not a test: nothing here asserts on timing. A workload
that fails under Bastion is reported as FAILED with its stderr tail, and the
run goes on.

    python3 bench/run.py [--quick] [--only NAME] [--json PATH]
"""

import argparse
import compileall
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "bench", ".build")
LOOP_SRC = os.path.join(REPO, "tests", "programs", "getppid_loop.c")
LOOP_BIN = os.path.join(BUILD, "getppid_loop")
TIMEOUT = 600


def free_port():
    """A port free on the host's loopback now, for the native server runs
    (the sandbox has its own port table, so any port does there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_script(server, client, port):
    """sh -c script: start a server in the background, wait until it answers,
    run the client, stop the server."""
    if server == "redis":
        start = (f"redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no "
                 f"--logfile /dev/null &\n"
                 f"for i in $(seq 200); do redis-cli -p {port} ping >/dev/null 2>&1 && break; "
                 f"sleep 0.05; done\n")
        stop = f"redis-cli -p {port} shutdown nosave >/dev/null; wait\n"
    else:  # iperf3: a one-test server; the client retries until it listens
        start = f"iperf3 -s -1 -p {port} >/dev/null &\n"
        client = f"for i in $(seq 200); do {client} && break; sleep 0.05; done"
        stop = "wait\n"
    return ["/bin/sh", "-c", start + client + "\n" + stop]


def benchmarks(quick):
    """(name, command, repetitions, unit); unit 'us/syscall' parses stderr,
    'ms' is wall time, MB/s, Gbit/s and req/s are throughputs parsed from
    the program's own report. Sizes and repetitions keep the default run
    under ~4 minutes on a slow 2-core VM (dd bs=1 is ~12 s a run under
    Bastion, redis-benchmark ~8 s)."""
    n = 10_000 if quick else 100_000
    dd = 20_000 if quick else 200_000
    pipe = 400 if quick else 4000            # 64 KiB blocks: 25 or 250 MiB
    tcp = "50M" if quick else "500M"
    req = 2000 if quick else 10_000
    port = free_port()
    return [
        ("getppid", [LOOP_BIN, str(n)], 1 if quick else 3, "us/syscall"),
        ("find", ["find", "/usr/lib", "-type", "f"], 1 if quick else 3, "ms"),
        ("dd", ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={dd}"],
         1 if quick else 3, "ms"),
        ("true", ["/bin/true"], 3 if quick else 9, "ms"),
        ("python3", ["/usr/bin/python3", "-c", "pass"], 1 if quick else 5, "ms"),
        ("pipe", ["/bin/sh", "-c", f"dd if=/dev/zero bs=64k count={pipe} | cat > /dev/null"],
         1 if quick else 3, "MB/s"),
        ("tcp", server_script("iperf3", f"iperf3 -c 127.0.0.1 -p {port} -n {tcp} -J", port),
         1 if quick else 3, "Gbit/s"),
        ("redis-set", server_script("redis", f"redis-benchmark -p {port} -q -t set -n {req} --csv",
                                    port), 1 if quick else 3, "req/s"),
        ("redis-get", server_script("redis", f"redis-benchmark -p {port} -q -t get -n {req} --csv",
                                    port), 1 if quick else 3, "req/s"),
    ]


THROUGHPUT = {"MB/s", "Gbit/s", "req/s"}
NEEDS = {"tcp": "iperf3", "redis-set": "redis-benchmark", "redis-get": "redis-benchmark"}


def parse_figure(unit, stdout, stderr):
    """The figure a run reports for itself, or None."""
    if unit == "us/syscall":
        m = re.search(rb"([\d.]+) ns/syscall", stderr)
        return float(m.group(1)) / 1000 if m else None
    if unit == "MB/s":  # dd's summary: "N bytes (...) copied, T s, ..."
        m = re.search(rb"(\d+) bytes .* copied, ([\d.e-]+) s", stderr)
        return int(m.group(1)) / float(m.group(2)) / 1e6 if m else None
    if unit == "Gbit/s":
        try:
            end = json.loads(stdout)["end"]["sum_received"]
        except (ValueError, KeyError):
            return None
        return end["bits_per_second"] / 1e9
    if unit == "req/s":  # redis-benchmark --csv: "SET","12345.67",...
        m = re.search(rb'^"[A-Z]+","([\d.]+)"', stdout, re.M)
        return float(m.group(1)) if m else None
    return None


def build_loop():
    """Compile the getppid loop if missing or older than its source."""
    if (os.path.exists(LOOP_BIN)
            and os.path.getmtime(LOOP_BIN) >= os.path.getmtime(LOOP_SRC)):
        return
    os.makedirs(BUILD, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-o", LOOP_BIN, LOOP_SRC], check=True)


def run_once(cmd, sandboxed):
    """One run: (seconds, returncode, stdout, stderr); returncode None on
    timeout. Bastion's own start-up is inside the measured time."""
    env = dict(os.environ)
    if sandboxed:
        cmd = [sys.executable, "-m", "bastion", "run", "--"] + cmd
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd="/tmp", env=env, capture_output=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"") + f"\ntimeout after {TIMEOUT}s".encode()
        return time.perf_counter() - t0, None, b"", err
    return time.perf_counter() - t0, p.returncode, p.stdout, p.stderr


def tail(data, lines=4):
    text = data.decode(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])[-400:]


def measure(cmd, reps, unit, sandboxed):
    """Median over reps runs; stops at the first failure."""
    values, stdout = [], b""
    for _ in range(reps):
        secs, rc, stdout, stderr = run_once(cmd, sandboxed)
        if rc != 0:
            return {"ok": False, "returncode": rc, "error": tail(stderr)}
        if unit == "ms":
            values.append(secs * 1000)
            continue
        v = parse_figure(unit, stdout, stderr)
        if v is None:
            return {"ok": False, "returncode": rc,
                    "error": f"no {unit} figure in output: " + tail(stdout + stderr)}
        values.append(v)
    return {"ok": True, "median": statistics.median(values), "runs": values,
            "stdout_lines": stdout.count(b"\n")}


def fmt(side):
    if not side["ok"]:
        return "FAILED"
    v = side["median"]
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def main():
    names = [b[0] for b in benchmarks(False)]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions and smaller counts (smoke check)")
    ap.add_argument("--only", action="append", choices=names, metavar="NAME",
                    help="run only this benchmark (repeatable): "
                         + ", ".join(names))
    ap.add_argument("--json", default=os.path.join(REPO, "bench", "results.json"),
                    metavar="PATH", help="where to write results")
    args = ap.parse_args()
    # time Bastion as installed (pip writes .pyc files), not its first compile
    compileall.compile_dir(os.path.join(REPO, "bastion"), quiet=1)

    results = []
    header = f"{'benchmark':<10} {'unit':<11} {'native':>10} {'bastion':>10} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, cmd, reps, unit in benchmarks(args.quick):
        if args.only and name not in args.only:
            continue
        r = {"name": name, "command": cmd, "unit": unit, "repetitions": reps}
        try:
            if name == "getppid":
                build_loop()
        except (OSError, subprocess.CalledProcessError) as e:
            r["native"] = r["bastion"] = {"ok": False, "error": f"build: {e}"}
        else:
            if name in NEEDS and shutil.which(NEEDS[name]) is None:
                r["native"] = r["bastion"] = {"ok": False, "error": f"{NEEDS[name]} not installed"}
            else:
                r["native"] = measure(cmd, reps, unit, False)
                r["bastion"] = measure(cmd, reps, unit, True)
        nat, bas = r["native"], r["bastion"]
        r["ratio"] = (bas["median"] / nat["median"]
                      if nat["ok"] and bas["ok"] and nat["median"] else None)
        notes = [f"{side} FAILED (rc={s.get('returncode')}): {s['error']}"
                 for side, s in (("native", nat), ("bastion", bas)) if not s["ok"]]
        if name == "find" and nat["ok"] and bas["ok"] \
                and nat["stdout_lines"] != bas["stdout_lines"]:
            notes.append(f"stdout MISMATCH: native {nat['stdout_lines']} lines, "
                         f"bastion {bas['stdout_lines']} lines")
        r["notes"] = notes
        if unit in THROUGHPUT:
            r["higher_is_better"] = True
        ratio = "-" if r["ratio"] is None else \
            f"{r['ratio']:.3g}x" if unit in THROUGHPUT else f"{r['ratio']:.1f}x"
        print(f"{name:<10} {unit:<11} {fmt(nat):>10} {fmt(bas):>10} {ratio:>8}")
        for note in notes:
            print(f"    {note}")
        sys.stdout.flush()
        results.append(r)

    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick,
           "host": platform.platform(), "cpus": os.cpu_count(),
           "python": platform.python_version(), "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
