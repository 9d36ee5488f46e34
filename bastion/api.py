"""The Python API: sandboxes for code you don't trust, from Python.

    from bastion import Sandbox, Mount, Limits
    with Sandbox(mounts=[Mount.tmpfs("/work")], cwd="/work",
                 limits=Limits(memory="256M", pids=64)) as sb:
        r = sb.run(["python3", "-c", "print(6*7)"], timeout=5)
        r.returncode, r.stdout   # 0, b"42\\n"

A Sandbox is one sentry process (bastion/sentry/serve.py) started directly,
with a private control socket (sentry/control.py); no daemon and no CLI in
between. Runs share the sandbox's files; each run is its own process tree
inside, so a timeout kills that tree and nothing else. A non-zero exit is a
Result, not an exception; only a sandbox that cannot be set up (or is gone)
raises.
"""

import base64
import dataclasses
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time

from . import wire

__all__ = ["Sandbox", "Mount", "Limits", "Result", "SandboxError", "SetupError", "SandboxClosed"]


class SandboxError(Exception):
    """Something about the sandbox itself (never a program's own failure)."""


class SetupError(SandboxError):
    """The sandbox cannot be made as asked: a bad rootfs, mount or limit."""


class SandboxClosed(SandboxError):
    """The sandbox was closed, or its sentry is gone."""


@dataclasses.dataclass(frozen=True)
class Mount:
    kind: str  # "bind" or "tmpfs"
    target: str
    source: str = None
    readonly: bool = False

    @classmethod
    def bind(cls, source, target, readonly=False):
        return cls("bind", target, source, readonly)

    @classmethod
    def tmpfs(cls, target):
        return cls("tmpfs", target)


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.I)


def parse_size(v):
    """256M, 1g, 4096 (bytes) -> bytes; None stays None."""
    if v is None or isinstance(v, int):
        return v
    m = _SIZE.match(str(v))
    if not m:
        raise SetupError(f"bad size {v!r}: expected a number with an optional K, M, G or T")
    return int(m.group(1)) << (10 * " kmgt".index(m.group(2).lower() or " "))


@dataclasses.dataclass(frozen=True)
class Limits:
    """memory: bytes or "256M" (the sandbox's app memory; over it the biggest
    process is killed); pids: tasks at once (fork gets EAGAIN past it);
    cpu_seconds: CPU time of each process (RLIMIT_CPU: SIGKILL past it)."""
    memory: object = None
    pids: int = None
    cpu_seconds: int = None


@dataclasses.dataclass
class Result:
    argv: list
    returncode: int  # like subprocess: -N when killed by signal N
    stdout: bytes
    stderr: bytes
    timed_out: bool
    duration: float  # seconds, wall clock
    oom_killed: bool = False  # a process of this run was killed over the memory limit
    pids_limited: bool = False  # a fork of this run was refused by the pids limit

    @property
    def ok(self):
        return self.returncode == 0 and not self.timed_out


class Sandbox:
    def __init__(self, rootfs="/", mounts=(), network="none", env=None, cwd="/",
                 limits=None, hostname="bastion", debug_log=None):
        if network not in ("none", "host"):
            raise SetupError(f"bad network {network!r}: expected 'none' or 'host'")
        if not os.path.isdir(rootfs):
            raise SetupError(f"rootfs {rootfs!r} is not a directory")
        binds, tmpfs = [], []
        for m in mounts:
            if not isinstance(m, Mount):
                raise SetupError(f"bad mount {m!r}: use Mount.bind() or Mount.tmpfs()")
            if not m.target.startswith("/"):
                raise SetupError(f"bad mount {m}: the target must be an absolute path")
            if m.kind == "tmpfs":
                tmpfs.append(os.path.normpath(m.target))
            elif m.kind == "bind":
                if not os.path.isdir(m.source or ""):
                    raise SetupError(f"bad mount {m}: {m.source!r} is not a directory")
                binds.append([os.path.abspath(m.source), os.path.normpath(m.target), m.readonly])
            else:
                raise SetupError(f"bad mount {m}: kind must be bind or tmpfs")
        limits = limits or Limits()
        self.limits = limits
        self.env = dict({"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "HOME": "/root", "LANG": "C.UTF-8"} if env is None else env)
        self.cwd = cwd
        conf = {"rootfs": os.path.abspath(rootfs), "mounts": binds, "tmpfs": tmpfs,
                "hostname": hostname, "network": network, "debug_log": debug_log,
                "limits": {"memory": parse_size(limits.memory), "pids": limits.pids}}
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiting = {}  # request id -> [Event, reply]
        self._exits = {}  # pid -> [Event, event message]
        self._closed = False
        self._proc, self._ch, self.sentry_pid = self._start(conf)
        self._reader = threading.Thread(target=self._read_loop, name="bastion-control", daemon=True)
        self._reader.start()
        if cwd:
            try:
                self._request("listdir", path=cwd)
            except SandboxError:
                self.close()
                raise SetupError(f"bad cwd {cwd!r}: not a directory in the sandbox")

    # --- the sentry ----------------------------------------------------------
    def _start(self, conf):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            proc = subprocess.Popen([sys.executable, "-m", "bastion.sentry.serve", str(theirs.fileno())],
                                    pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        finally:
            theirs.close()
        ch = wire.Channel(mine)
        try:
            ch.send({"op": "boot", "config": conf})
            reply, _ = ch.recv()
        except (EOFError, OSError):
            proc.kill()
            proc.wait()
            ch.close()
            raise SetupError("the sandbox's sentry did not start")
        if "e" in reply:
            proc.wait()
            ch.close()
            raise SetupError(reply.get("msg") or os.strerror(reply["e"]))
        return proc, ch, reply["pid"]

    def _read_loop(self):
        ch = self._ch
        try:
            while True:
                msg, fds = ch.recv()
                for fd in fds:
                    os.close(fd)
                if "ev" in msg:
                    with self._lock:
                        slot = self._exits.setdefault(msg.get("pid"), [threading.Event(), None])
                    slot[1] = msg
                    slot[0].set()
                else:
                    with self._lock:
                        slot = self._waiting.pop(msg.get("id"), None)
                    if slot is not None:
                        slot[1] = msg
                        slot[0].set()
        except (EOFError, OSError, ValueError):
            pass
        with self._lock:
            self._closed = True
            slots = list(self._waiting.values()) + list(self._exits.values())
        for slot in slots:
            slot[0].set()

    def _request(self, op, fds=(), **args):
        with self._lock:
            if self._closed:
                raise SandboxClosed("the sandbox is closed")
            self._next_id += 1
            rid = self._next_id
            slot = self._waiting[rid] = [threading.Event(), None]
            try:
                self._ch.send(dict(args, op=op, id=rid), fds)
            except OSError:
                self._waiting.pop(rid, None)
                raise SandboxClosed("the sandbox's sentry is gone")
        slot[0].wait()
        reply = slot[1]
        if reply is None:
            raise SandboxClosed("the sandbox's sentry is gone")
        if "e" in reply:
            err = OSError(reply["e"], reply.get("msg") or os.strerror(reply["e"]))
            raise SandboxError(f"{op}: {err.strerror}") from err
        return reply["r"]

    # --- running programs ------------------------------------------------
    def _spawn(self, argv, env, cwd, stdin_fd, out_w, err_w):
        if isinstance(argv, str):
            raise TypeError("argv must be a list of strings (use ['sh', '-c', cmd] for a shell line)")
        e = dict(self.env)
        e.update(env or {})
        with self._lock:
            self._next_id += 1
            run = self._next_id
        pid = self._request("spawn", fds=[stdin_fd, out_w, err_w], argv=[os.fsdecode(a) for a in argv],
                            env=e, cwd=cwd or self.cwd, run=run, cpu=self.limits.cpu_seconds)
        with self._lock:
            self._exits.setdefault(pid, [threading.Event(), None])
        return pid, run

    def _start_run(self, argv, input, env, cwd):
        in_r, in_w = os.pipe() if input is not None else (os.open(os.devnull, os.O_RDONLY), None)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid, run = self._spawn(argv, env, cwd, in_r, out_w, err_w)
        except BaseException:
            for fd in (in_w, out_r, err_r):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        if in_w is not None:
            threading.Thread(target=_feed, args=(in_w, input), daemon=True).start()
        return pid, run, out_r, err_r

    def stream(self, argv, input=None, timeout=None, env=None, cwd=None):
        """Run argv, yielding ("stdout"|"stderr", bytes) as output comes; the
        generator's return value (StopIteration.value) is the Result."""
        t0 = time.monotonic()
        pid, run, out_r, err_r = self._start_run(argv, input, env, cwd)
        deadline = None if timeout is None else t0 + timeout
        timed_out = False
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ, "stdout")
        sel.register(err_r, selectors.EVENT_READ, "stderr")
        slot = self._exits[pid]
        try:
            while sel.get_map() or not slot[0].is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    if timed_out:
                        break  # the tree is dead but someone else holds the pipes
                    timed_out = True
                    self._kill_run(run)
                    deadline = now + 5.0  # time to drain the pipes and hear the exit
                wait = None if deadline is None else max(0.0, deadline - now)
                if not sel.get_map():
                    slot[0].wait(wait)
                    continue
                for key, _ in sel.select(wait):
                    data = os.read(key.fd, 65536)
                    if data:
                        yield key.data, data
                    else:
                        sel.unregister(key.fd)
        finally:
            sel.close()
            os.close(out_r)
            os.close(err_r)
            if not slot[0].is_set():
                self._kill_run(run)
                slot[0].wait(5.0)
            with self._lock:
                self._exits.pop(pid, None)
        ev = slot[1] or {"status": 9}
        st = ev.get("status", 9)
        rc = -(st & 0x7F) if st & 0x7F else (st >> 8) & 0xFF
        return Result(list(argv), rc, b"", b"", timed_out, time.monotonic() - t0,
                      bool(ev.get("oom")), bool(ev.get("pids")))

    def run(self, argv, input=None, timeout=None, env=None, cwd=None):
        """Run argv to its end; returns a Result (stdout and stderr in full)."""
        out = {"stdout": bytearray(), "stderr": bytearray()}
        gen = self.stream(argv, input=input, timeout=timeout, env=env, cwd=cwd)
        while True:
            try:
                name, data = next(gen)
            except StopIteration as stop:
                r = stop.value
                break
            out[name] += data
        r.stdout, r.stderr = bytes(out["stdout"]), bytes(out["stderr"])
        return r

    def _kill_run(self, run):
        try:
            self._request("kill", run=run, sig=9)
        except SandboxError:
            pass

    # --- files ---------------------------------------------------------------
    def write_file(self, path, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        self._request("write_file", path=path, data=base64.b64encode(data).decode(), mode=mode)

    def read_file(self, path):
        return base64.b64decode(self._request("read_file", path=path))

    def listdir(self, path="/"):
        return self._request("listdir", path=path)

    def processes(self):
        """The processes inside: [{"pid", "ppid", "comm", "run", ...}]."""
        return self._request("ps")

    def stats(self):
        """{"memory": bytes of app memory, "pids": tasks, "utime", "stime"}."""
        return self._request("stats")

    # --- the end ---------------------------------------------------------------
    def close(self):
        """Kill everything inside and stop the sentry (idempotent)."""
        proc = getattr(self, "_proc", None)
        if proc is None:
            return
        try:
            self._ch.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._reader.join(5)
        self._ch.close()
        self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _feed(fd, data):
    try:
        view = memoryview(data if isinstance(data, (bytes, bytearray)) else data.encode())
        while view:
            n = os.write(fd, view[:65536])
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)
