"""Bastion benchmarks: each workload natively, under Bastion (every platform
`bastion run` offers) and under gVisor's `runsc` when installed, in one run.

Why: every syscall a sandboxed program makes is served by a Python kernel,
so Bastion's cost is a per-syscall overhead multiplied by how syscall-heavy a
workload is. Absolute figures alone drift with the machine; the ratio to
native, measured in the same run on the same host, is what tells whether a
change to the hot path helped, and runsc (gVisor, the design Bastion
follows) in the same run says how far off a Go sentry on the same host is.
The workloads span the range from a raw syscall loop (pure per-syscall cost)
to CPU-bound code (no syscalls: ratio ~1), and servers (iperf3, redis) with
both ends inside one sandbox; each says why it is here below.

This is a benchmark, not a test: nothing asserts on timing. A workload that
fails is reported as FAILED with its stderr tail, and the run goes on. A
sandbox that is not available (runsc not installed, or unable to run on this
host) or a tool that is missing (sysbench) shows "n/a" with the reason.

    python3 bench/run.py [--quick] [--only NAME] [--native-only] [--json PATH] [--markdown]
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
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "bench", ".build")
TIMEOUT = 600
# Inside a sandbox /tmp, /dev, /proc and /sys are the sandbox's own: a host
# path under them must be bound in to be seen.
PRIVATE = ("/tmp/", "/dev/", "/proc/", "/sys/")
SANDBOX_TMP = "/tmp/bastion-bench"  # scratch dir inside a sandbox: its own /tmp

PROGRAMS = {  # binary name -> C source, extra gcc flags
    "getppid_loop": (os.path.join(REPO, "tests", "programs", "getppid_loop.c"), []),
    "fork_exec": (os.path.join(REPO, "bench", "fork_exec.c"), []),
    "raw_getppid": (os.path.join(REPO, "bench", "raw_getppid.c"), ["-static", "-nostdlib"]),
}

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


# ---------------------------------------------------------------- parsers
# Each takes (seconds, stdout, stderr) and returns the figure, or raises
# ValueError with what was missing.

def wall_ms(secs, out, err):
    return secs * 1000


def grep(pattern, scale=1.0, stream="stderr"):
    def parse(secs, out, err):
        m = re.search(pattern, err if stream == "stderr" else out)
        if not m:
            raise ValueError(f"no {pattern.decode()!r} in {stream}")
        return float(m.group(1)) * scale
    return parse


def sysbench_fileio_ops(secs, out, err):
    r = re.search(rb"reads/s:\s+([\d.]+)", out)
    w = re.search(rb"writes/s:\s+([\d.]+)", out)
    if not (r and w):
        raise ValueError("no reads/s, writes/s in stdout")
    return float(r.group(1)) + float(w.group(1))


def dd_pipe_mbs(secs, out, err):
    """Bytes over the slower of the two dd's own timings (the sandbox's
    start-up is not in it), in MB/s (10^6 bytes, as dd)."""
    runs = re.findall(rb"(\d+) bytes .*copied, ([\d.e-]+) s", err)
    if not runs:
        raise ValueError("no dd summary in stderr")
    nbytes = max(int(b) for b, _ in runs)
    return nbytes / max(float(s) for _, s in runs) / 1e6


def iperf3_gbits(secs, out, err):
    try:
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
    except (ValueError, KeyError, TypeError):
        raise ValueError("no end.sum_received.bits_per_second in iperf3 -J stdout")


def redis_rps(secs, out, err):
    m = re.search(rb'^"[A-Z]+","([\d.]+)"', out, re.M)  # --csv: "SET","12345.67",...
    if not m:
        raise ValueError("no requests/s in redis-benchmark --csv stdout")
    return float(m.group(1))


def free_port():
    """A port free on the host's loopback now, for the native server runs
    (a sandbox has its own port table, so any port does there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_script(server, client, port):
    """sh -c script: start a server in the background, wait until it is
    ready, run the client, stop the server (by force if asked nicely fails:
    the script must never wait forever on it)."""
    if server == "redis":
        start = (f"redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no "
                 f"--logfile /dev/null & srv=$!\n"
                 f"for i in $(seq 200); do redis-cli -p {port} ping >/dev/null 2>&1 && break; "
                 f"sleep 0.05; done\n")
        stop = f"redis-cli -p {port} shutdown nosave >/dev/null 2>&1 || kill $srv; wait\n"
    else:
        # iperf3: a one-test server. Wait for it to listen by reading
        # /proc/net/tcp, not by connecting (a probe would be its one test),
        # run the client once, and never wait on a server that is still up.
        start = (f"iperf3 -s -1 -B 127.0.0.1 -p {port} >/dev/null & srv=$!\n"
                 f"for i in $(seq 200); do grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp "
                 f"&& break; sleep 0.05; done\n")
        client += "; rc=$?"
        stop = "kill $srv 2>/dev/null; wait; exit $rc\n"
    return ["/bin/sh", "-c", start + client + "\n" + stop]


# ------------------------------------------------------------ benchmarks

FORK_BIG = """import os, time
a = bytearray(b"x") * ({mb} << 20)
t = time.perf_counter()
for i in range(5):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print("%.2f ms/fork" % ((time.perf_counter() - t) / 5 * 1e3))
"""


def benchmarks(quick, work):
    """The benchmarks, as dicts. argv strings may hold {tmp}: a writable
    scratch directory (natively a fresh dir on tmpfs, in a sandbox under
    its own in-memory /tmp). Sizes and repetitions keep the default run
    under ~6 minutes on a slow 2-core VM with one Bastion platform and
    runsc (find and dd bs=1 are ~20-35 s a run under Bastion, ~12 s under
    runsc; redis-benchmark ~15 s), --quick under ~1.5 minutes."""
    q = quick
    b = BUILD
    hello = os.path.join(work, "hello.c")
    fio = ("--file-num=16 --file-total-size=" + ("16M" if q else "64M"))
    port = free_port()
    return [
        dict(name="getppid", unit="us/syscall", better="lower", reps=1 if q else 3,
             argv=[f"{b}/getppid_loop", "10000" if q else "50000"],
             parse=grep(rb"([\d.]+) ns/syscall", 1 / 1000), build="getppid_loop",
             floor=True,
             why="pure per-syscall cost of a trapped syscall: a raw getppid loop from a "
                 "site no patch takes (every call a host signal on systrap), timed by "
                 "the program itself (start-up excluded). Under it, the floor of any "
                 "Python ptrace tracer on this host (bench/ptrace_floor.py), to read the "
                 "ptrace column against"),
        dict(name="getppid_site", unit="us/syscall", better="lower", reps=1 if q else 3,
             argv=[f"{b}/getppid_loop", "10000" if q else "50000", "site"],
             parse=grep(rb"([\d.]+) ns/syscall", 1 / 1000), build="getppid_loop",
             why="the same from one `mov $110, %eax; syscall` site, the form most libc "
                 "wrappers have (libc's syscall() has another that is patched too): what "
                 "systrap patches after its second trap (--no-patch makes it the getppid "
                 "figure again)"),
        dict(name="find", unit="ms", better="lower", reps=1 if q else 2, warm=True,
             argv=["find", "/usr/lib/python3" if q else "/usr/lib", "-type", "f"],
             parse=wall_ms, compare="lines",
             why="VFS walk of a big host tree: getdents64 and newfstatat through "
                 "the gofer; stdout line counts are compared with native"),
        dict(name="dd", unit="ms", better="lower", reps=1,
             argv=["dd", "if=/dev/zero", "of=/dev/null", "bs=1",
                   "count=" + ("20000" if q else "200000")],
             parse=wall_ms,
             why="the read/write path with 1-byte buffers: two cheap syscalls per "
                 "byte, so almost all of it is sandbox overhead"),
        dict(name="true", unit="ms", better="lower", reps=3 if q else 9,
             argv=["/bin/true"], parse=wall_ms, interp=True,
             why="sandbox start-up and teardown: what every `run` pays once. Under "
                 "it, the start of the interpreter Bastion runs on, with and without "
                 "its site (-S): .pth files of the host's site-packages are part of "
                 "every start"),
        dict(name="python3", unit="ms", better="lower", reps=1 if q else 5, warm=True,
             argv=["/usr/bin/python3", "-c", "pass"], parse=wall_ms,
             why="a real program's start-up: mmap, openat, newfstatat, many small reads"),
        dict(name="py_import", unit="ms", better="lower", reps=1 if q else 3, warm=True,
             argv=["/usr/bin/python3", "-c", "import json, asyncio, sqlite3"],
             parse=wall_ms,
             why="a heavier start-up: ~100 module files and two C extensions "
                 "(dlopen), the typical cost of running a Python tool"),
        dict(name="gcc", unit="ms", better="lower", reps=1 if q else 3, warm=True,
             argv=["gcc", "-o", os.path.join(work, "hello"), hello], parse=wall_ms,
             files={hello: HELLO_C},
             why="a compiler: gcc forks and execs cc1, as and collect2/ld, pipes "
                 "and temp files in /tmp; hello.c is in a host dir bound into the sandbox"),
        dict(name="tar", unit="ms", better="lower", reps=1 if q else 2, warm=True,
             argv=["sh", "-c", "tar cf - " + ("/usr/share/doc/p*" if q else "/usr/share/doc")
                   + " 2>/dev/null | wc -c"],
             parse=wall_ms, compare="exact",
             why="bulk file reads (120 MB of host files through the gofer) into a "
                 "pipe; the byte counts are compared with native"),
        dict(name="sysbench_cpu", unit="events/s", better="higher", reps=1, needs="sysbench",
             argv=["sysbench", "cpu", "--time=" + ("1" if q else "5"), "run"],
             parse=grep(rb"events per second:\s+([\d.]+)", stream="stdout"),
             why="CPU-bound code makes almost no syscalls: the ratio should be ~1 "
                 "(anything else is a platform cost, e.g. timer or scheduling)"),
        dict(name="sysbench_fileio", unit="ops/s", better="higher", reps=1, needs="sysbench",
             argv=["sh", "-c",
                   f"mkdir -p {{tmp}} && cd {{tmp}} && sysbench fileio {fio} prepare >/dev/null"
                   f" && sysbench fileio {fio} --file-test-mode=rndrw --time={1 if q else 5} run;"
                   f" rc=$?; sysbench fileio {fio} cleanup >/dev/null; exit $rc"],
             parse=sysbench_fileio_ops,
             why="random 16 KiB reads and writes (and fsyncs) on tmpfs files: "
                 "pread/pwrite served by the sandbox's own in-memory /tmp; natively on "
                 "a tmpfs dir too (/dev/shm), so the medium is the same; reads/s + writes/s"),
        dict(name="pipe_dd", unit="MB/s", better="higher", reps=1 if q else 3,
             argv=["sh", "-c", "dd if=/dev/zero bs=64k count=" + ("1000" if q else "4000")
                   + " | dd of=/dev/null bs=64k"],
             parse=dd_pipe_mbs,
             why="pipe throughput with 64 KiB writes: data copies through the "
                 "sandbox's pipe buffer, few syscalls per byte"),
        dict(name="pipe", unit="MB/s", better="higher", reps=1 if q else 3,
             argv=["/bin/sh", "-c", "dd if=/dev/zero bs=64k count=" + ("400" if q else "4000")
                   + " | cat > /dev/null"],
             parse=dd_pipe_mbs,
             why="pipe throughput as a shell pipeline does it: dd's 64 KiB writes, "
                 "cat's reads (from the apps branch; pipe_dd is the dd|dd variant)"),
        dict(name="tcp", unit="Gbit/s", better="higher", reps=1, needs="iperf3",
             argv=server_script("iperf3", f"iperf3 -c 127.0.0.1 -p {port} -n "
                                + ("50M" if q else "500M") + " -J", port),
             parse=iperf3_gbits,
             why="loopback TCP, iperf3 server and client in one sandbox (its own "
                 "network stack); natively on the host's loopback"),
        dict(name="redis-set", unit="req/s", better="higher", reps=1,
             needs="redis-benchmark",
             argv=server_script("redis", f"redis-benchmark -p {port} -q -t set -n "
                                f"{2000 if q else 5000} --csv", port),
             parse=redis_rps,
             why="a request/response server: redis-server and redis-benchmark in "
                 "one sandbox, many small socket reads/writes and epoll waits"),
        dict(name="redis-get", unit="req/s", better="higher", reps=1,
             needs="redis-benchmark",
             argv=server_script("redis", f"redis-benchmark -p {port} -q -t get -n "
                                f"{2000 if q else 5000} --csv", port),
             parse=redis_rps, why="as redis-set, GET requests"),
        dict(name="fork_exec", unit="us/iter", better="lower", reps=1 if q else 3,
             argv=[f"{b}/fork_exec", "20" if q else "100"],
             parse=grep(rb"([\d.]+) us/iteration"), build="fork_exec",
             why="process creation: fork, execve of /bin/true, wait4; a new address "
                 "space and ELF load each time (what shells and make do all day)"),
        dict(name="fork_big", unit="ms/fork", better="lower", reps=1 if q else 3,
             argv=["/usr/bin/python3", "-c", FORK_BIG.format(mb=20 if q else 100)],
             parse=grep(rb"([\d.]+) ms/fork", stream="stdout"),
             why="fork+exit+wait of a Python process holding 100 MB (a server forking "
                 "workers, multiprocessing's fork): what copy-on-write saves"),
        dict(name="memory", unit="MiB", better="lower", reps=1 if q else 3, kind="memory",
             argv=["sleep", "1"],
             why="the sentry's peak RSS (VmHWM) for an idle sandbox: the fixed "
                 "memory price of one sandbox (runsc: its runsc-sandbox process)"),
    ]


# --------------------------------------------------------------- runners

class Runner:
    """How to run a command natively or in one sandbox."""

    def __init__(self, name, prefix=(), env=None, tmp=None, kind="native",
                 reason=None):
        self.name, self.prefix, self.env, self.kind = name, list(prefix), env, kind
        self.tmp = tmp  # value of {tmp}
        self.reason = reason  # None: available; else why it is n/a

    def argv(self, bench, work):
        cmd = [a.replace("{tmp}", self.tmp) for a in bench["argv"]]
        if self.kind != "bastion":
            return self.prefix + cmd
        mounts = []
        if any(work in a for a in cmd):
            mounts += ["--mount", f"{work}:{work}"]
        if REPO.startswith(PRIVATE) and any(REPO in a for a in cmd):
            mounts += ["--mount", f"{REPO}:{REPO}:ro"]
        return self.prefix + mounts + ["--"] + cmd


def bastion_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def bastion_platforms():
    """The platforms `bastion run` offers: the choices of its --platform
    option, or [None] (run without the flag) when it has none."""
    p = subprocess.run([sys.executable, "-m", "bastion", "run", "--help"],
                       env=bastion_env(), capture_output=True, text=True, timeout=60)
    text = p.stdout + p.stderr
    if "--platform" not in text:
        return [None]
    m = re.search(r"--platform[ =]\{([\w,-]+)\}", text)
    if m:
        return m.group(1).split(",")
    # a metavar instead of {choices}: take the known names the help mentions
    found = [n for n in ("ptrace", "systrap", "kvm") if re.search(rf"\b{n}\b", text)]
    return found or [None]


def bastion_runners():
    env = bastion_env()
    base = [sys.executable, "-m", "bastion", "run"]
    runners = []
    for plat in bastion_platforms():
        flag = ["--platform", plat] if plat else []
        runners.append(Runner(f"bastion-{plat or 'ptrace'}", base + flag, env,
                              tmp=SANDBOX_TMP, kind="bastion"))
    return runners


RUNSC_BASE = ["--network=none", "--platform=ptrace"]


def runsc_runner():
    """runsc (gVisor) `do`: the host / read-only under an in-memory overlay,
    like `bastion run`. Tries the flag sets that may be needed on this host;
    the first that runs `echo ok` wins."""
    exe = shutil.which("runsc")
    if not exe:
        return Runner("runsc", kind="runsc", reason="n/a: not installed")
    if os.geteuid() == 0:
        variants = [[], ["--ignore-cgroups"], ["--rootless"]]
    else:
        variants = [["--rootless"], ["--rootless", "--ignore-cgroups"],
                    ["--rootless", "--ignore-cgroups", "--TESTONLY-unsafe-nonroot"]]
    first_error = None
    for extra in variants:
        prefix = [exe] + RUNSC_BASE + extra + ["do"]
        try:
            p = subprocess.run(prefix + ["/bin/echo", "ok"], cwd="/tmp",
                               capture_output=True, timeout=120)
            ok, err = p.stdout == b"ok\n", tail(p.stderr) or f"exit status {p.returncode}"
        except subprocess.TimeoutExpired:
            ok, err = False, "timeout after 120s"
        if ok:
            return Runner("runsc", prefix, kind="runsc", tmp=SANDBOX_TMP)
        first_error = first_error or f"{' '.join(prefix)} echo ok: {err}"
    return Runner("runsc", kind="runsc",
                  reason=f"n/a: runsc cannot run here: {first_error}")


# ------------------------------------------------------------- measuring

def tail(data, lines=4):
    text = data.decode(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])[-400:]


def run_once(argv, env):
    """(seconds, returncode, stdout, stderr); returncode None on timeout.
    A sandbox's start-up is inside the measured wall time."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd="/tmp", env=env, capture_output=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"") + f"\ntimeout after {TIMEOUT}s".encode()
        return time.perf_counter() - t0, None, b"", err
    return time.perf_counter() - t0, p.returncode, p.stdout, p.stderr


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    return kids


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def sentry_pid(runner, pid):
    """The process to weigh: Bastion's sentry is the `python3 -m bastion`
    process itself (its children are the gofer and the stubs); runsc's is
    its `runsc-sandbox` child (the others are the gofer and `runsc do`)."""
    if runner.kind == "bastion":
        return pid
    for c in children(pid):
        try:
            with open(f"/proc/{c}/cmdline", "rb") as f:
                if f.read().startswith(b"runsc-sandbox"):
                    return c
        except OSError:
            pass
    return None


def run_memory(argv, env, runner):
    """Peak RSS of the sentry while `sleep 1` runs: VmHWM polled until the
    process exits (the last reading is the peak). (MiB, rc, stderr)."""
    p = subprocess.Popen(argv, cwd="/tmp", env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    peak, target = None, None
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        target = target or sentry_pid(runner, p.pid)
        if target:
            peak = vm_hwm_kb(target) or peak
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    err = p.communicate()[1]
    if p.returncode == 0 and peak is None:
        return None, 1, b"could not read the sentry's VmHWM: " + err
    return (peak / 1024 if peak else None), p.returncode, err


def run_bench(bench, runners, work):
    """Interleaved repetitions (rep 1 on every runner, then rep 2, ...) so
    noise from other load hits every column alike; the median is kept."""
    sides = {}
    for r in runners:
        if r.reason:
            sides[r.name] = {"ok": False, "na": r.reason}
        elif bench.get("kind") == "memory" and r.kind == "native":
            sides[r.name] = {"ok": False, "na": "n/a: no sentry"}
        elif bench.get("needs") and not shutil.which(bench["needs"]):
            sides[r.name] = {"ok": False, "na": "n/a: not installed"}
        else:
            sides[r.name] = {"ok": True, "runs": [], "argv": r.argv(bench, work)}
    live = [r for r in runners if sides[r.name]["ok"]]
    native = next((r for r in live if r.kind == "native"), None)
    if native and bench.get("warm"):  # page cache: every side sees it warm
        run_once(native.argv(bench, work), native.env)
    for _ in range(bench["reps"]):
        for r in live:
            s = sides[r.name]
            if not s["ok"]:
                continue
            if bench.get("kind") == "memory":
                value, rc, err = run_memory(s["argv"], r.env, r)
                out = b""
            else:
                secs, rc, out, err = run_once(s["argv"], r.env)
                value = None
                if rc == 0:
                    try:
                        value = bench["parse"](secs, out, err)
                    except ValueError as e:
                        rc, err = "parse", f"{e}: {tail(err)}".encode()
            if rc != 0:
                s.update(ok=False, returncode=rc, error=tail(err))
                continue
            s["runs"].append(value)
            s.setdefault("stdout", out)
    for s in sides.values():
        if s["ok"]:
            s["median"] = statistics.median(s["runs"])
    return sides


def ratio(bench, nat, side):
    """How many times slower than native: sandbox/native for a time,
    native/sandbox for a throughput."""
    if not (nat.get("ok") and side.get("ok")) or not nat["median"] or not side["median"]:
        return None
    if bench["better"] == "higher":
        return nat["median"] / side["median"]
    return side["median"] / nat["median"]


def fmt(side):
    if side.get("na"):
        return "n/a"
    if not side["ok"]:
        return "FAILED"
    v = side["median"]
    return f"{v:.3f}" if v < 9.9995 else f"{v:.1f}" if v < 999.95 else f"{v:.0f}"


def compare_notes(bench, sides, native_name):
    how = bench.get("compare")
    nat = sides.get(native_name, {})
    if not how or not nat.get("ok"):
        return []
    notes = []
    for name, s in sides.items():
        if name == native_name or not s.get("ok"):
            continue
        a, b = nat["stdout"], s["stdout"]
        if how == "lines":
            a, b = a.count(b"\n"), b.count(b"\n")
        if a != b:
            notes.append(f"{name}: stdout MISMATCH with native: {b!r:.60} vs {a!r:.60}")
    return notes


# ------------------------------------------------------------------ main

def build(name):
    """Compile a C program of the bench if missing or older than its source."""
    (src, flags), out = PROGRAMS[name], os.path.join(BUILD, name)
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return
    os.makedirs(BUILD, exist_ok=True)
    subprocess.run(["gcc", "-O2", *flags, "-o", out, src], check=True, capture_output=True)


def ptrace_floor(reps):
    """µs per syscall of a bare Python ptrace tracer (bench/ptrace_floor.py),
    the median of `reps` runs, or None when it cannot run here."""
    try:
        build("raw_getppid")
        runs = []
        for _ in range(reps):
            p = subprocess.run([sys.executable, os.path.join(REPO, "bench", "ptrace_floor.py"),
                                os.path.join(BUILD, "raw_getppid")],
                               capture_output=True, timeout=TIMEOUT, check=True)
            runs.append(float(p.stdout.split()[0]))
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None
    return statistics.median(runs)


def sentry_alone():
    """(kernel, kernel + systrap's sentry side) µs per getppid with no stub
    under the sentry (bench/sentry_loop.py), or None when it cannot run."""
    try:
        p = subprocess.run([sys.executable, os.path.join(REPO, "bench", "sentry_loop.py"), "50000"],
                           capture_output=True, timeout=TIMEOUT, check=True, text=True)
        w = p.stdout.split()
        return float(w[0]), float(w[w.index("with") - 2])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def interpreter_start(reps):
    """(ms, ms with -S): median wall time of `python3 -c pass` on the
    interpreter Bastion runs on, with its site and without."""
    out = []
    for flags in ([], ["-S"]):
        runs = []
        for _ in range(reps):
            t = time.perf_counter()
            subprocess.run([sys.executable, *flags, "-c", "pass"], check=True)
            runs.append((time.perf_counter() - t) * 1e3)
        out.append(statistics.median(runs))
    return tuple(out)


def tool_versions():
    versions = {}
    for tool, flag in (("runsc", "--version"), ("sysbench", "--version"), ("gcc", "--version")):
        if shutil.which(tool):
            p = subprocess.run([tool, flag], capture_output=True, text=True, timeout=30)
            versions[tool] = (p.stdout or p.stderr).strip().splitlines()[0]
        else:
            versions[tool] = "not installed"
    return versions


def scratch_dir():
    """Native {tmp}: a fresh dir on tmpfs (/dev/shm) when there is one, the
    medium a sandbox's own /tmp has; else under /tmp."""
    shm = "/dev/shm"
    ok = os.path.isdir(shm) and os.access(shm, os.W_OK)
    return tempfile.mkdtemp(prefix="bastion-bench-", dir=shm if ok else None)


def table(rows, runners, markdown=False):
    cols = ["benchmark", "unit"]
    for r in runners:
        cols.append(r.name)
        if r.kind != "native":
            cols.append("ratio")
    lines = []
    if markdown:
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "|".join([" --- "] * 2 + [" ---: "] * (len(cols) - 2)) + "|")
    for row in rows:
        cells = [row["name"], row["unit"]]
        for r in runners:
            cells.append(fmt(row["sides"][r.name]))
            if r.kind != "native":
                x = row["ratio"].get(r.name)
                cells.append(f"{x:.1f}x" if x is not None else "-")
        if markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(cells)
    if markdown:
        return lines
    return cols, lines


def main():
    names = [b["name"] for b in benchmarks(False, "/x")]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smaller workloads, fewer repetitions (~1.5 min)")
    ap.add_argument("--only", action="append", choices=names, metavar="NAME",
                    help="run only this benchmark (repeatable): " + ", ".join(names))
    ap.add_argument("--native-only", action="store_true",
                    help="no sandbox: check that every workload runs and parses")
    ap.add_argument("--json", default=os.path.join(REPO, "bench", "results.json"),
                    metavar="PATH", help="where to write results (default bench/results.json)")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the table as Markdown at the end")
    args = ap.parse_args()
    # time Bastion as installed (pip writes .pyc files), not its first compile
    compileall.compile_dir(os.path.join(REPO, "bastion"), quiet=1)

    started = time.monotonic()
    runners = [Runner("native", env=dict(os.environ), tmp=None)]
    if not args.native_only:
        runners += bastion_runners() + [runsc_runner()]
    work = tempfile.mkdtemp(prefix="bastion-bench-")  # gcc's hello.c; bound into Bastion
    shm = scratch_dir()
    runners[0].tmp = os.path.join(shm, "fileio")
    try:
        rows = run_all(args, runners, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    elapsed = time.monotonic() - started

    if args.markdown:
        print()
        print("\n".join(table(rows, runners, markdown=True)))
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick,
           "host": platform.platform(), "cpus": os.cpu_count(),
           "python": platform.python_version(), "elapsed_s": round(elapsed, 1),
           "versions": tool_versions(),
           "ratio": "times slower than native: sandbox/native for a time, "
                    "native/sandbox for a throughput (events/s, ops/s, MB/s)",
           "runners": [{"name": r.name, "command": r.prefix, "available": r.reason is None,
                        "reason": r.reason} for r in runners],
           "results": [{k: v for k, v in row.items()} for row in rows]}
    for row in out["results"]:
        for s in row["sides"].values():
            s.pop("stdout", None)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\n{elapsed:.0f} s; wrote {args.json}")
    return 0


def run_all(args, runners, work):
    """Run the benchmarks, printing the table a row at a time."""
    cols = table([], runners)[0]
    widths = [16, 10] + [max(9, len(c)) for c in cols[2:]]
    line = lambda cells: " ".join(  # noqa: E731
        (c.ljust(w) if i < 2 else c.rjust(w)) for i, (c, w) in enumerate(zip(cells, widths)))
    print("ratio = times slower than native (time: sandbox/native; "
          "throughput: native/sandbox)")
    for r in runners:
        if r.reason:
            print(f"{r.name}: {r.reason}")
    print(line(cols))
    print("-" * len(line(cols)))
    sys.stdout.flush()
    rows = []
    for bench in benchmarks(args.quick, work):
        if args.only and bench["name"] not in args.only:
            continue
        row = {"name": bench["name"], "unit": bench["unit"], "better": bench["better"],
               "repetitions": bench["reps"], "why": bench["why"],
               "command": bench["argv"]}
        try:
            if bench.get("build"):
                build(bench["build"])
            for path, text in bench.get("files", {}).items():
                with open(path, "w") as f:
                    f.write(text)
        except (OSError, subprocess.CalledProcessError) as e:
            err = getattr(e, "stderr", b"") or b""
            sides = {r.name: {"ok": False, "error": f"build: {e} {tail(err)}"}
                     for r in runners}
        else:
            sides = run_bench(bench, runners, work)
        row["sides"] = sides
        row["ratio"] = {r.name: ratio(bench, sides["native"], sides[r.name])
                        for r in runners if r.kind != "native"}
        notes = [f"{n}: FAILED (rc={s.get('returncode')}): {s['error']}"
                 for n, s in sides.items() if not s["ok"] and not s.get("na")]
        if bench.get("needs") and not shutil.which(bench["needs"]):
            notes.append(f"{bench['needs']}: n/a: not installed")
        notes += compare_notes(bench, sides, "native")
        if bench.get("floor") and any(r.name == "bastion-ptrace" and sides[r.name]["ok"]
                                      for r in runners):
            row["ptrace_floor_us"] = floor = ptrace_floor(bench["reps"])
            if floor is not None:
                notes.append(f"floor: a bare Python ptrace tracer on one CPU here: "
                             f"{floor:.1f} us/syscall")
        if bench.get("floor") and any(r.name == "bastion-systrap" for r in runners):
            row["sentry_alone_us"] = alone = sentry_alone()
            if alone is not None:
                notes.append(f"the sentry alone (bench/sentry_loop.py, no stub): {alone[0]:.2f} "
                             f"us/syscall in the kernel, {alone[1]:.2f} with systrap's side")
        if bench.get("interp") and any(r.kind == "bastion" for r in runners):
            row["interpreter_ms"] = site, bare = interpreter_start(bench["reps"])
            notes.append(f"the interpreter alone ({sys.executable} -c pass): {site:.1f} ms, "
                         f"{bare:.1f} ms with -S (no site)")
        row["notes"] = notes
        cells = table([row], runners)[1][0]
        print(line(cells))
        for note in notes:
            print(f"    {note}")
        sys.stdout.flush()
        rows.append(row)
    return rows


if __name__ == "__main__":
    sys.exit(main())
