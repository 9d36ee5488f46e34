"""The state directory: --root DIR (default /run/bastion) holds one
directory per container, with state.json (what `create` learned) and
control.sock (the sentry's listening control socket), so every later
command finds the sandbox that `create` made.

The container's status is not stored but asked: a sentry that is gone (or
a zombie, or a recycled pid) means "stopped"; otherwise the sentry says
whether its pid 1 was started and whether it is paused.
"""

import json
import os
import re
import shutil
import socket
import time

from .. import wire

DEFAULT_ROOT = "/run/bastion"
SOCK = "control.sock"
REQUEST_TIMEOUT = 30  # seconds for one control request (waiting for an exit has none)
_ID = re.compile(r"^[\w+\-.]+$")  # runc's container id rule


class StateError(Exception):
    pass


def check_id(cid):
    if not cid or not _ID.match(cid) or cid in (".", ".."):
        raise StateError(f"invalid container id {cid!r}")
    return cid


def now_rfc3339():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def proc_starttime(pid):
    """The host process's start time (field 22 of /proc/PID/stat) and its
    state letter, or (None, None) if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode(errors="replace")
    except OSError:
        return None, None
    rest = data[data.rfind(")") + 2:].split()
    return int(rest[19]), rest[0]


def alive(pid, starttime):
    st, letter = proc_starttime(pid)
    return st is not None and st == starttime and letter not in ("Z", "X")


class Container:
    def __init__(self, root, cid):
        self.root = root
        self.id = check_id(cid)
        self.dir = os.path.join(root, cid)
        self.info = None

    # --- the directory ----------------------------------------------------
    def exists(self):
        return os.path.exists(os.path.join(self.dir, "state.json"))

    def make_dir(self):
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(self.dir, 0o711)
        except FileExistsError:
            raise StateError(f"container {self.id!r} already exists")

    def load(self):
        try:
            with open(os.path.join(self.dir, "state.json")) as fh:
                self.info = json.load(fh)
        except FileNotFoundError:
            raise StateError(f"container {self.id!r} does not exist")
        except (OSError, ValueError) as e:
            raise StateError(f"container {self.id!r}: unreadable state: {e}")
        return self

    def save(self):
        tmp = os.path.join(self.dir, "state.json.tmp")
        with open(tmp, "w") as fh:
            json.dump(self.info, fh)
        os.rename(tmp, os.path.join(self.dir, "state.json"))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the sentry ---------------------------------------------------------
    @property
    def sock_path(self):
        return os.path.join(self.dir, SOCK)

    def listen(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _at_path(s.bind, self.sock_path)
        s.listen(16)
        return s

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(REQUEST_TIMEOUT)  # a wedged sentry is an error, not a hang
        try:
            _at_path(s.connect, self.sock_path)
        except OSError:
            s.close()
            raise
        return Client(s)

    def pid(self):
        return self.info["pid"]

    def alive(self):
        return alive(self.info["pid"], self.info.get("starttime"))

    def status(self):
        """created, running, paused or stopped (asked of the sentry)."""
        if not self.alive():
            return "stopped"
        try:
            with self.connect() as c:
                st = c.request("status")
        except (OSError, EOFError, ControlError):
            return "stopped"
        if st.get("paused"):
            return "paused"
        return "running" if st.get("started") else "created"

    def oci_state(self, status=None):
        """runc's `state` JSON."""
        status = status or self.status()
        i = self.info
        return {"ociVersion": i.get("ociVersion", "1.0.2"), "id": self.id,
                "pid": 0 if status == "stopped" else i["pid"], "status": status, "bundle": i["bundle"],
                "rootfs": i["rootfs"], "created": i["created"], "owner": i.get("owner", ""),
                "annotations": i.get("annotations") or {}}


def _at_path(fn, path):
    """bind/connect a unix socket at `path`, even past sun_path's 108 bytes
    (through the directory's /proc/self/fd path)."""
    if len(os.fsencode(path)) < 100:
        return fn(path)
    d, name = os.path.split(path)
    fd = os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return fn(f"/proc/self/fd/{fd}/{name}")
    finally:
        os.close(fd)


class ControlError(Exception):
    def __init__(self, errno, msg):
        super().__init__(msg)
        self.errno = errno


class Client:
    """One blocking control connection to a sentry (sentry/control.py)."""

    def __init__(self, sock):
        self.ch = wire.Channel(sock)
        self.next_id = 0
        self.events = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.ch.close()

    def request(self, op, fds=(), **args):
        self.next_id += 1
        rid = self.next_id
        self.ch.send(dict(args, op=op, id=rid), fds)
        while True:
            msg, got = self.ch.recv()
            for fd in got:
                os.close(fd)
            if "ev" in msg:
                self.events.append(msg)
            elif msg.get("id") == rid:
                if "e" in msg:
                    raise ControlError(msg["e"], msg.get("msg") or os.strerror(msg["e"]))
                return msg.get("r")

    def wait_exit(self, pid):
        """The wait status of process `pid` (spawned on this connection);
        None if the sandbox went away first."""
        self.ch.sock.settimeout(None)
        while True:
            for ev in self.events:
                if ev.get("ev") == "exit" and ev.get("pid") == pid:
                    return ev.get("status")
            try:
                msg, got = self.ch.recv()
            except (EOFError, OSError):
                return None
            for fd in got:
                os.close(fd)
            if "ev" in msg:
                self.events.append(msg)


def list_ids(root):
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [n for n in names if os.path.exists(os.path.join(root, n, "state.json"))]
