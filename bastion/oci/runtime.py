"""The runc-compatible commands: create, start, run, state, kill, delete,
exec, ps, list, spec, pause, resume, events, features (and checkpoint /
restore, which say they are not supported yet).

A container is one sandbox process (oci/sandbox.py) whose host pid is the
container's pid, as with gVisor: the container's processes are not host
processes. Every command after `create` reaches it through the control
socket in the container's state directory (oci/state.py).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from . import cgroup
from . import spec as ocispec
from .state import DEFAULT_ROOT, Container, ControlError, StateError, list_ids, now_rfc3339, proc_starttime

VERSION = "0.1.0"
EXIT_FAIL = 1
SIGNALS = {s.name[3:]: int(s) for s in signal.Signals if s.name.startswith("SIG") and "_" not in s.name}
IGNORED_BY_DEFAULT = {signal.SIGCHLD, signal.SIGCONT, signal.SIGURG, signal.SIGWINCH}


class OCIError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise OCIError(message)


class Globals:
    """runc's global options."""

    def __init__(self):
        self.root = DEFAULT_ROOT
        self.log = None
        self.log_format = "text"
        self.debug = False
        self.systemd_cgroup = False

    def parse(self, argv):
        """Consume the global options at the head of argv; return the rest."""
        i = 0
        while i < len(argv):
            a = argv[i]
            name, eq, val = a.partition("=")
            if name in ("--root", "--log", "--log-format", "--criu", "--rootless"):
                if not eq:
                    if i + 1 >= len(argv):
                        raise OCIError(f"option {name} needs a value")
                    i += 1
                    val = argv[i]
                if name == "--root":
                    self.root = os.path.abspath(val)
                elif name == "--log":
                    self.log = val
                elif name == "--log-format":
                    if val not in ("text", "json"):
                        raise OCIError(f"bad --log-format {val!r}: expected text or json")
                    self.log_format = val
            elif a == "--debug":
                self.debug = True
            elif a == "--systemd-cgroup":
                self.systemd_cgroup = True  # accepted: cgroups are the host's business here
            else:
                break
            i += 1
        return argv[i:]

    def write_log(self, level, msg):
        if not self.log:
            return
        if self.log_format == "json":
            line = json.dumps({"level": level, "msg": msg, "time": now_rfc3339()})
        else:
            line = f'time="{now_rfc3339()}" level={level} msg="{msg}"'
        try:
            with open(self.log, "a") as fh:
                fh.write(line + "\n")
        except OSError:
            pass

    def debug_log(self, msg):
        if self.debug:
            self.write_log("debug", msg)


G = Globals()


def _container(cid, want=None):
    c = Container(G.root, cid).load()
    if want is not None:
        st = c.status()
        if st not in want:
            raise OCIError(f"container {cid} is {st}, not {' or '.join(want)}")
    return c


def _write_pid_file(path, pid):
    path = os.path.abspath(path)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(pid))
    os.rename(tmp, path)


def _parse_signal(s):
    s = s.strip()
    if s.isdigit():
        n = int(s)
    else:
        name = s.upper()
        name = name[3:] if name.startswith("SIG") else name
        if name not in SIGNALS:
            raise OCIError(f"unknown signal {s!r}")
        n = SIGNALS[name]
    if not 0 <= n < 65:
        raise OCIError(f"bad signal {s!r}")
    return n


def _pkg_env():
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# --- hooks -----------------------------------------------------------------
def run_hooks(kind, hooks, state, fatal=True):
    """Run config.json's hooks of `kind` on the host, the state JSON on stdin."""
    data = json.dumps(state).encode()
    for h in hooks.get(kind, ()):
        argv = h.get("args") or [h["path"]]
        env = dict(kv.partition("=")[::2] for kv in h.get("env", []))
        try:
            r = subprocess.run(argv, executable=h["path"], input=data, env=env, capture_output=True,
                               timeout=h.get("timeout"))
            err = None if r.returncode == 0 else \
                f"exit status {r.returncode}: {r.stderr.decode(errors='replace').strip()[:200]}"
        except subprocess.TimeoutExpired:
            err = f"timed out after {h.get('timeout')}s"
        except OSError as e:
            err = e.strerror
        if err:
            msg = f"{kind} hook {h['path']} failed: {err}"
            if fatal:
                raise OCIError(msg)
            G.write_log("warning", msg)


# --- create / start / run ------------------------------------------------------
def _send_console(path, master, name):
    """Hand the pty master to the caller's --console-socket (SCM_RIGHTS), as runc."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        socket.send_fds(s, [name.encode()], [master])
    except OSError as e:
        raise OCIError(f"console socket {path}: {e.strerror or e}")
    finally:
        s.close()


def _open_console(console_socket, size=None):
    """A host pty pair: the master goes to the console socket, the slave (raw:
    the sandbox pty does the line discipline) is returned."""
    import termios
    import tty
    master, slave = os.openpty()
    try:
        tty.setraw(slave, termios.TCSANOW)
        if size and size[0] and size[1]:
            import fcntl
            import struct
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        _send_console(console_socket, master, os.ttyname(slave))
    except BaseException:
        os.close(slave)
        raise
    finally:
        os.close(master)
    return slave


def do_create(cid, bundle, pid_file, console_socket, foreground=False):
    """Start the sandbox with pid 1 loaded, not started. Returns (Container,
    Popen of the sandbox process)."""
    c = Container(G.root, cid)
    sp = ocispec.load(bundle or ".")
    if sp.process is None:
        raise OCIError("config.json: process is required")
    if c.exists():
        raise OCIError(f"container {cid!r} already exists")
    if sp.process.terminal and not console_socket and not (foreground and os.isatty(0)):
        raise OCIError("process.terminal is true: --console-socket is required")
    if console_socket and not sp.process.terminal:
        raise OCIError("--console-socket given but process.terminal is false")
    c.make_dir()
    proc = cg = None
    listener = boot = theirs = None
    console = -1
    try:
        conf = sp.sandbox_conf(os.path.join(c.dir, "debug.log") if G.debug else None)
        for dst, why in sp.skipped:
            G.debug_log(f"mount skipped: {why}")
        listener = c.listen()
        if sp.process.terminal:
            console = _open_console(console_socket, sp.process.console_size) if console_socket else 0
        boot, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno(), listener.fileno()] + ([console] if console > 0 else [])
        proc = subprocess.Popen(
            [sys.executable, "-m", "bastion.oci.sandbox", str(theirs.fileno()), str(listener.fileno()),
             str(console), os.path.join(c.dir, "sentry.log")],
            pass_fds=fds, start_new_session=True, env=_pkg_env(), cwd="/")
        theirs.close()
        listener.close()
        if console > 0:
            os.close(console)
        cg, why = cgroup.apply(sp.cpu, sp.cgroups_path, cid, proc.pid)  # before it forks
        if why:
            G.debug_log(f"cpu limits skipped: {why}")
        from .. import wire
        ch = wire.Channel(boot)
        ch.send(conf)
        try:
            reply, _ = ch.recv()
        except (EOFError, OSError):
            reply = {"e": 5, "msg": "the sandbox process died while starting"}
        boot.close()
        if "e" in reply:
            raise OCIError(reply.get("msg") or os.strerror(reply["e"]))
        pid = reply["pid"]
        start, _ = proc_starttime(pid)
        c.info = {"ociVersion": sp.raw.get("ociVersion") or ocispec.OCI_VERSION, "id": cid, "pid": pid,
                  "starttime": start, "bundle": sp.bundle, "rootfs": sp.rootfs, "created": now_rfc3339(),
                  "owner": "", "annotations": sp.annotations, "hooks": sp.hooks,
                  "process": sp.raw.get("process"), "memory": sp.memory, "pids": sp.pids, "cgroup": cg}
        c.save()
        st = c.oci_state("created")
        run_hooks("prestart", sp.hooks, st)
        run_hooks("createRuntime", sp.hooks, st)
        run_hooks("createContainer", sp.hooks, st)
        if pid_file:
            _write_pid_file(pid_file, pid)
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if cg:
            cgroup.remove(cg)
        c.remove()
        raise
    finally:
        for s in (listener, boot, theirs):
            if s is not None:
                s.close()
    if not foreground:
        proc.returncode = 0  # not ours to wait for: conmon / the shim reaps it
    return c, proc


def do_start(c):
    st = c.status()
    if st != "created":
        raise OCIError(f"cannot start a container that is {st}")
    try:
        with c.connect() as cl:
            cl.request("start", pid=1)
    except (OSError, EOFError, ControlError) as e:
        raise OCIError(f"cannot start container {c.id}: {e}")
    run_hooks("poststart", c.info.get("hooks") or {}, c.oci_state("running"), fatal=False)


def cmd_create(a):
    do_create(a.id, a.bundle, a.pid_file, a.console_socket)
    return 0


def cmd_start(a):
    do_start(_container(a.id))
    return 0


def cmd_run(a):
    c, proc = do_create(a.id, a.bundle, a.pid_file, a.console_socket, foreground=not a.detach)
    restore = lambda: None  # noqa: E731
    try:
        do_start(c)
    except BaseException:
        _destroy(c)
        raise
    if a.detach:
        return 0
    fwd = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGWINCH)  # the sentry passes SIGWINCH to its Console
    for s in fwd:
        signal.signal(s, lambda n, f: _forward(proc.pid, n))
    if c.info["process"].get("terminal") and not a.console_socket:
        from ..sentry.vfs.pty import host_raw_mode
        restore = host_raw_mode(0)
    try:
        while True:
            try:
                rc = proc.wait()
                break
            except KeyboardInterrupt:
                continue
    finally:
        restore()
    if not a.keep:
        _delete(c)
    return rc if rc >= 0 else 128 - rc


def _forward(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


# --- state / list / ps / events ------------------------------------------------------
def cmd_state(a):
    c = _container(a.id)
    print(json.dumps(c.oci_state(), indent=2))
    return 0


def cmd_list(a):
    rows = []
    for cid in list_ids(G.root):
        try:
            c = Container(G.root, cid).load()
        except StateError:
            continue
        rows.append(c.oci_state())
    if a.quiet:
        for r in rows:
            print(r["id"])
    elif a.format == "json":
        print(json.dumps(rows))
    else:
        import pwd
        try:
            owner = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            owner = str(os.getuid())
        table = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        table += [(r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"], owner) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(6)]
        for row in table:
            print("   ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _request(c, op, **args):
    try:
        with c.connect() as cl:
            return cl.request(op, **args)
    except (OSError, EOFError) as e:
        raise OCIError(f"container {c.id} is not running ({e})")
    except ControlError as e:
        raise OCIError(f"container {c.id}: {op}: {e}")


def cmd_ps(a):
    c = _container(a.id, want=("created", "running", "paused"))
    procs = _request(c, "ps")
    if a.format == "json":
        print(json.dumps([p["pid"] for p in procs]))
        return 0
    print(f"{'PID':>5} {'PPID':>5} {'UID':>5} {'STAT':4} CMD")
    for p in procs:
        print(f"{p['pid']:>5} {p['ppid']:>5} {p['uid']:>5} {'T' if p['stopped'] else 'S':4} {p['comm']}")
    return 0


def _stats(c):
    s = _request(c, "stats")
    total = int((s["utime"] + s["stime"]) * 1e9)
    mem = {"usage": s["memory"]}
    if c.info.get("memory"):
        mem["limit"] = c.info["memory"]
    pids = {"current": s["pids"]}
    if c.info.get("pids"):
        pids["limit"] = c.info["pids"]
    return {"type": "stats", "id": c.id, "data": {
        "cpu": {"usage": {"total": total, "user": int(s["utime"] * 1e9), "kernel": int(s["stime"] * 1e9)}},
        "memory": {"usage": mem}, "pids": pids}}


def cmd_events(a):
    c = _container(a.id, want=("created", "running", "paused"))
    if a.stats:
        print(json.dumps(_stats(c)))
        return 0
    while True:
        try:
            ev = _stats(c)
        except OCIError:
            return 0  # stopped
        print(json.dumps(ev), flush=True)
        time.sleep(max(a.interval, 0.1))


# --- kill / delete / pause -------------------------------------------------------
def cmd_kill(a):
    c = _container(a.id)
    sig = _parse_signal(a.signal)
    st = c.status()
    if st == "stopped":
        raise OCIError(f"container {a.id} is not running")
    if sig == 0:  # only asks whether it is there
        return 0
    if st == "created":
        # nothing has run yet, so no handler can catch it: a fatal signal ends the sandbox
        if sig and sig not in IGNORED_BY_DEFAULT and sig not in (signal.SIGSTOP, signal.SIGTSTP):
            _request(c, "shutdown", status=sig)
        return 0
    if a.all:
        _request(c, "kill", all=True, sig=sig)
    else:
        _request(c, "kill", pid=1, sig=sig)
    return 0


def _wait_gone(c, timeout):
    deadline = time.monotonic() + timeout
    while c.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _destroy(c):
    """Kill the sandbox (whatever its state) and wait until it is gone."""
    if c.alive():
        try:
            _request(c, "shutdown", status=signal.SIGKILL)
        except OCIError:
            pass
        if not _wait_gone(c, 5):
            _forward(c.pid(), signal.SIGKILL)
            _wait_gone(c, 5)


def _delete(c):
    _destroy(c)
    st = c.oci_state("stopped")
    if c.info.get("cgroup"):
        cgroup.remove(c.info["cgroup"])
    c.remove()
    run_hooks("poststop", c.info.get("hooks") or {}, st, fatal=False)


def cmd_delete(a):
    try:
        c = Container(G.root, a.id).load()
    except StateError:
        if a.force:
            return 0
        raise
    st = c.status()
    if st in ("running", "paused") and not a.force:
        raise OCIError(f"cannot delete container {a.id} that is not stopped: {st}")
    _delete(c)
    return 0


def cmd_pause(a):
    c = _container(a.id, want=("running",))
    _request(c, "pause")
    return 0


def cmd_resume(a):
    c = _container(a.id, want=("paused",))
    _request(c, "resume")
    return 0


# --- exec ----------------------------------------------------------------------
def _exec_process(a, c):
    if a.process:
        try:
            with open(a.process, "rb") as fh:
                obj = json.loads(fh.read())
        except OSError as e:
            raise OCIError(f"--process {a.process}: {e.strerror}")
        except ValueError as e:
            raise OCIError(f"--process {a.process}: invalid JSON: {e}")
        return ocispec.Process(obj, "process")
    if not a.command:
        raise OCIError("exec: missing command (or --process FILE)")
    base = dict(c.info.get("process") or {})
    base["args"] = a.command
    base["terminal"] = a.tty
    base.pop("consoleSize", None)
    if a.cwd:
        base["cwd"] = a.cwd
    if a.env:
        base["env"] = list(base.get("env") or []) + a.env
    if a.user:
        uid, _, gid = a.user.partition(":")
        try:
            base["user"] = {"uid": int(uid), "gid": int(gid) if gid else 0}
        except ValueError:
            raise OCIError(f"bad --user {a.user!r}: expected UID[:GID]")
    if a.additional_gids:
        base.setdefault("user", {})
        base["user"] = dict(base["user"], additionalGids=a.additional_gids)
    return ocispec.Process(base, "process")


def cmd_exec(a):
    c = _container(a.id, want=("running",))
    p = _exec_process(a, c)
    if a.cwd and a.process:
        p.cwd = a.cwd
    if p.terminal and not a.console_socket and not (os.isatty(0) and not a.detach):
        raise OCIError("a terminal was asked for: --console-socket is required")
    req = p.request()
    if p.terminal:
        fds = [_open_console(a.console_socket, p.console_size)] if a.console_socket else [0, 1]
    else:
        fds = [0, 1, 2]
    owned = fds if a.console_socket else []
    if not a.detach:
        return _exec_wait(c, req, fds, owned, raw=p.terminal and not a.console_socket)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the process's stand-in on the host: conmon / the shim wait on it
        os.close(r)
        try:
            os.setsid()
            cl = c.connect()
            inner = cl.request("spawn", fds=fds, **req)
            os.write(w, b"ok")
        except BaseException as e:  # reported by the parent
            os.write(w, f"cannot exec in container {c.id}: {e}".encode())
            os._exit(EXIT_FAIL)
        os.close(w)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for fd in owned:
            os.close(fd)
        status = cl.wait_exit(inner)
        from ..sentry.serve import exit_code
        os._exit(128 + signal.SIGKILL if status is None else exit_code(status))
    os.close(w)
    for fd in owned:
        os.close(fd)
    msg = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        msg += chunk
    os.close(r)
    if msg != b"ok":
        os.waitpid(pid, 0)
        raise OCIError(msg.decode(errors="replace") or "exec failed")
    if a.pid_file:
        _write_pid_file(a.pid_file, pid)
    return 0


def _exec_wait(c, req, fds, owned, raw):
    from ..sentry.serve import exit_code
    try:
        cl = c.connect()
    except OSError as e:
        raise OCIError(f"container {c.id} is not running ({e})")
    try:
        inner = cl.request("spawn", fds=fds, **req)
    except ControlError as e:
        raise OCIError(f"cannot exec {req['argv'][0]!r} in container {c.id}: {e}")
    finally:
        for fd in owned:
            os.close(fd)
    restore = lambda: None  # noqa: E731
    if raw:
        from ..sentry.vfs.pty import host_raw_mode
        restore = host_raw_mode(0)

    def fwd(n, f):
        try:
            c.connect().request("kill", pid=inner, sig=n)
        except (OSError, EOFError, ControlError):
            pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, fwd)
    try:
        status = cl.wait_exit(inner)
    finally:
        restore()
    return 128 + signal.SIGKILL if status is None else exit_code(status)


# --- spec / features / unsupported --------------------------------------------------
def cmd_spec(a):
    path = os.path.join(a.bundle or ".", "config.json")
    if os.path.exists(path):
        raise OCIError(f"{path} exists: remove it first")
    try:
        with open(path, "w") as fh:
            json.dump(ocispec.default_spec(), fh, indent="\t")
            fh.write("\n")
    except OSError as e:
        raise OCIError(f"cannot write {path}: {e.strerror}")
    return 0


def cmd_features(a):
    print(json.dumps({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.1.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                  "poststop"],
        "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "private", "rprivate"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": [],
            "cgroup": {"v1": False, "v2": False, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"io.github.bastion.version": VERSION,
                        "io.github.bastion.sandbox": "sentry"},
    }, indent=4))
    return 0


def cmd_unsupported(a):
    raise OCIError(f"{a.cmd} is not supported yet")


# --- the command line ------------------------------------------------------------
COMMANDS = ("create", "start", "run", "state", "kill", "delete", "exec", "ps", "list", "spec", "pause",
            "resume", "events", "features", "checkpoint", "restore")


def parser():
    p = _Parser(prog="bastion")
    sub = p.add_subparsers(dest="cmd")

    def bundle(x):
        x.add_argument("--bundle", "-b", default=None)

    def container(x):
        x.add_argument("id", metavar="CONTAINER_ID")

    for name in ("create", "run"):
        x = sub.add_parser(name)
        bundle(x)
        x.add_argument("--pid-file", default=None)
        x.add_argument("--console-socket", default=None)
        x.add_argument("--no-pivot", action="store_true")
        x.add_argument("--no-new-keyring", action="store_true")
        x.add_argument("--preserve-fds", type=int, default=0)
        if name == "run":
            x.add_argument("--detach", "-d", action="store_true")
            x.add_argument("--keep", action="store_true")
            x.add_argument("--no-subreaper", action="store_true")
        container(x)
    for name in ("start", "state", "pause", "resume"):
        container(sub.add_parser(name))
    x = sub.add_parser("kill")
    x.add_argument("--all", "-a", action="store_true")
    container(x)
    x.add_argument("signal", nargs="?", default="SIGTERM")
    x = sub.add_parser("delete")
    x.add_argument("--force", "-f", action="store_true")
    container(x)
    x = sub.add_parser("exec")
    x.add_argument("--process", "-p", default=None)
    x.add_argument("--tty", "-t", action="store_true")
    x.add_argument("--detach", "-d", action="store_true")
    x.add_argument("--pid-file", default=None)
    x.add_argument("--cwd", default=None)
    x.add_argument("--env", "-e", action="append", default=[])
    x.add_argument("--user", "-u", default=None)
    x.add_argument("--additional-gids", "-g", action="append", type=int, default=[])
    x.add_argument("--console-socket", default=None)
    x.add_argument("--preserve-fds", type=int, default=0)
    for flag in ("--process-label", "--apparmor", "--cap", "-c", "--cgroup"):
        x.add_argument(flag, action="append", default=[], dest=flag.strip("-").replace("-", "_"))
    for flag in ("--no-new-privs", "--ignore-paused"):
        x.add_argument(flag, action="store_true")
    container(x)
    x.add_argument("command", nargs=argparse.REMAINDER)
    x = sub.add_parser("ps")
    x.add_argument("--format", "-f", choices=("table", "json"), default="table")
    container(x)
    x.add_argument("ps_args", nargs="*")
    x = sub.add_parser("list")
    x.add_argument("--format", "-f", choices=("table", "json"), default="table")
    x.add_argument("--quiet", "-q", action="store_true")
    x = sub.add_parser("spec")
    bundle(x)
    x.add_argument("--rootless", action="store_true")
    x = sub.add_parser("events")
    x.add_argument("--stats", action="store_true")
    x.add_argument("--interval", type=float, default=5.0)
    container(x)
    sub.add_parser("features")
    for name in ("checkpoint", "restore"):
        x = sub.add_parser(name)
        x.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv):
    """Run one OCI command (argv after the global options were removed);
    returns the exit status. User errors print one line."""
    a = None
    try:
        argv = G.parse(list(argv))
        if not argv:
            raise OCIError("missing command: one of " + ", ".join(COMMANDS))
        a = parser().parse_args(argv)
        G.debug_log(f"{a.cmd} {' '.join(argv[1:])}")
        fn = globals().get("cmd_" + a.cmd.replace("-", "_"), cmd_unsupported)
        if a.cmd in ("checkpoint", "restore"):
            fn = cmd_unsupported
        return fn(a)
    except (OCIError, StateError, ocispec.SpecError) as e:
        msg = str(e)
        G.write_log("error", msg)
        print(f"bastion: {msg}", file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        return EXIT_FAIL
