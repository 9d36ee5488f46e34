"""An OCI bundle's config.json, read into what the sentry needs: the root
and mounts of the sandbox, its limits, and its first process.

Anything wrong with the file is a SpecError with one line that names the
field (`process.args: ...`). Namespaces, seccomp, capabilities, apparmor
and the like are recorded or ignored: the sandbox is the isolation, and
the sentry gives every container its own pid, mount, uts, ipc and network
view anyway.

Mounts map onto the sentry's own filesystems: /proc, /dev, /dev/pts,
/dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup are always the sentry's, so
config.json's entries for them (and a host directory bound at /dev/shm, as
podman does) are skipped with a debug note. A directory bind goes through
the gofer; a *file* bind (podman's /etc/hosts, /etc/resolv.conf,
/etc/hostname, /run/.containerenv) is copied into the root's writable layer
at create time: a snapshot, since the gofer serves directories only.
"""

import base64
import json
import os
import posixpath

from ..abi.caps import mask

OCI_VERSION = "1.0.2"

RLIMITS = {name: i for i, name in enumerate((
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"))}
RLIM_INFINITY = 2**64 - 1

# served by the sentry itself, whatever config.json mounts there
OWN_MOUNTS = ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup")
OWN_TYPES = ("proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2")
MOUNT_OPTIONS = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8}  # the MS_* flags a mount keeps
MAX_FILE_BIND = 1 << 20  # a file bind is a copy: small files only (hosts, resolv.conf, ...)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SpecError(Exception):
    pass


def _want(cond, field, msg):
    if not cond:
        raise SpecError(f"{field}: {msg}")


def _int(v, field, lo=None):
    _want(isinstance(v, int) and not isinstance(v, bool), field, f"expected an integer, got {v!r}")
    if lo is not None:
        _want(v >= lo, field, f"must be >= {lo}")
    return v


def _strs(v, field, nonempty=False):
    _want(isinstance(v, list) and all(isinstance(a, str) for a in v), field, "expected a list of strings")
    if nonempty:
        _want(v, field, "must not be empty")
    return v


def _obj(v, field):
    _want(isinstance(v, dict), field, f"expected an object, got {type(v).__name__}")
    return v


class Process:
    """process: what to run, as whom, with which terminal and limits."""

    def __init__(self, obj, field="process"):
        obj = _obj(obj, field)
        self.argv = _strs(obj.get("args"), f"{field}.args", nonempty=True)
        self.env = {}
        for kv in _strs(obj.get("env", []), f"{field}.env"):
            k, sep, v = kv.partition("=")
            _want(sep and k, f"{field}.env", f"bad entry {kv!r}: expected KEY=VALUE")
            self.env[k] = v
        self.cwd = obj.get("cwd", "/")
        _want(isinstance(self.cwd, str) and self.cwd.startswith("/"), f"{field}.cwd",
              f"must be an absolute path, got {self.cwd!r}")
        user = _obj(obj.get("user", {}), f"{field}.user")
        self.uid = _int(user.get("uid", 0), f"{field}.user.uid", 0)
        self.gid = _int(user.get("gid", 0), f"{field}.user.gid", 0)
        extra = user.get("additionalGids") or []
        _want(isinstance(extra, list), f"{field}.user.additionalGids", "expected a list of integers")
        self.groups = [self.gid] + [_int(g, f"{field}.user.additionalGids", 0) for g in extra]
        self.terminal = obj.get("terminal", False)
        _want(isinstance(self.terminal, bool), f"{field}.terminal", "expected true or false")
        self.rlimits = {}
        rls = obj.get("rlimits") or []
        _want(isinstance(rls, list), f"{field}.rlimits", "expected a list")
        for i, r in enumerate(rls):
            f = f"{field}.rlimits[{i}]"
            r = _obj(r, f)
            _want(r.get("type") in RLIMITS, f + ".type", f"unknown rlimit {r.get('type')!r}")
            soft = _int(r.get("soft"), f + ".soft", 0)
            hard = _int(r.get("hard"), f + ".hard", 0)
            _want(soft <= hard, f, "soft is greater than hard")
            self.rlimits[RLIMITS[r["type"]]] = [min(soft, RLIM_INFINITY), min(hard, RLIM_INFINITY)]
        self.no_new_privileges = bool(obj.get("noNewPrivileges", False))
        self.caps = None  # no "capabilities": the user's own (root: all)
        caps = obj.get("capabilities")
        if caps is not None:
            caps = _obj(caps, f"{field}.capabilities")
            self.caps = {k: mask(_strs(caps.get(k, []), f"{field}.capabilities.{k}"))
                         for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
        size = obj.get("consoleSize")
        self.console_size = (size.get("height", 0), size.get("width", 0)) if isinstance(size, dict) else None

    def request(self):
        """As the control socket's "spawn" fields."""
        return {"argv": self.argv, "env": self.env, "cwd": self.cwd, "uid": self.uid, "gid": self.gid,
                "groups": self.groups, "rlimits": self.rlimits, "tty": self.terminal,
                "caps": self.caps, "no_new_privs": self.no_new_privileges}


class Spec:
    def __init__(self, bundle, raw):
        self.bundle = bundle
        self.raw = raw
        _want(isinstance(raw.get("ociVersion", ""), str), "ociVersion", "expected a string")
        self.process = Process(raw["process"]) if raw.get("process") is not None else None
        root = _obj(raw.get("root"), "root") if "root" in raw else {"path": "rootfs"}
        path = root.get("path")
        _want(isinstance(path, str) and path, "root.path", "expected a path")
        self.rootfs = os.path.normpath(os.path.join(bundle, path))
        _want(os.path.isdir(self.rootfs), "root.path", f"{self.rootfs} is not a directory")
        self.readonly = bool(root.get("readonly", False))
        self.hostname = raw.get("hostname") or "bastion"
        _want(isinstance(self.hostname, str), "hostname", "expected a string")
        self.annotations = raw.get("annotations") or {}
        _want(isinstance(self.annotations, dict), "annotations", "expected an object")
        self.hooks = self._hooks(raw.get("hooks") or {})
        self.binds, self.tmpfs, self.files, self.skipped = [], [], [], []
        self.mount_flags = {}  # destination -> MS_RDONLY/NOSUID/NODEV/NOEXEC of its options
        mounts = raw.get("mounts") or []
        _want(isinstance(mounts, list), "mounts", "expected a list")
        for i, m in enumerate(mounts):
            self._mount(i, _obj(m, f"mounts[{i}]"))
        linux = _obj(raw.get("linux") or {}, "linux")
        res = _obj(linux.get("resources") or {}, "linux.resources")
        mem = _obj(res.get("memory") or {}, "linux.resources.memory")
        self.memory = None
        if mem.get("limit") is not None:
            v = _int(mem["limit"], "linux.resources.memory.limit")
            self.memory = v if v > 0 else None
        pids = _obj(res.get("pids") or {}, "linux.resources.pids")
        self.pids = None
        if pids.get("limit") is not None:
            v = _int(pids["limit"], "linux.resources.pids.limit")
            self.pids = v if v > 0 else None
        self.cpu = _obj(res.get("cpu") or {}, "linux.resources.cpu")
        self.cgroups_path = linux.get("cgroupsPath")

    def _hooks(self, hooks):
        hooks = _obj(hooks, "hooks")
        out = {}
        for kind, lst in hooks.items():
            _want(isinstance(lst, list), f"hooks.{kind}", "expected a list")
            for i, h in enumerate(lst):
                f = f"hooks.{kind}[{i}]"
                h = _obj(h, f)
                _want(isinstance(h.get("path"), str) and h["path"].startswith("/"), f + ".path",
                      "expected an absolute path")
                _strs(h.get("args", []), f + ".args")
                _strs(h.get("env", []), f + ".env")
                if h.get("timeout") is not None:
                    _int(h["timeout"], f + ".timeout", 1)
            out[kind] = lst
        return out

    def _mount(self, i, m):
        f = f"mounts[{i}]"
        dst = m.get("destination")
        _want(isinstance(dst, str) and dst.startswith("/"), f + ".destination", "expected an absolute path")
        dst = posixpath.normpath(dst)
        kind = m.get("type") or ""
        opts = _strs(m.get("options") or [], f + ".options")
        src = m.get("source") or ""
        _want(isinstance(src, str), f + ".source", "expected a path")
        flags = sum(bit for name, bit in MOUNT_OPTIONS.items() if name in opts)
        if dst in OWN_MOUNTS:  # the sentry's own mount there takes the flags
            self.mount_flags[dst] = flags
        if dst in OWN_MOUNTS or any(dst.startswith(p + "/") for p in ("/proc", "/sys")):
            self.skipped.append((dst, f"{kind or 'bind'} at {dst}: the sentry's own filesystem"))
            return
        if kind == "bind" or "bind" in opts or "rbind" in opts:
            src = os.path.normpath(os.path.join(self.bundle, src))
            ro = "ro" in opts
            if os.path.isdir(src):
                self.binds.append((src, dst, ro))
                self.mount_flags[dst] = flags
            elif os.path.isfile(src):
                self.files.append((src, dst))
            elif os.path.exists(src):
                self.skipped.append((dst, f"bind of {src} at {dst}: not a file or directory"))
            else:
                raise SpecError(f"{f}.source: {src} does not exist")
        elif kind == "tmpfs":
            self.tmpfs.append(dst)
            self.mount_flags[dst] = flags
        elif kind in OWN_TYPES:
            self.skipped.append((dst, f"{kind} at {dst}: only at its usual place"))
        else:
            raise SpecError(f"{f}.type: mounts of type {kind!r} are not supported (bind, tmpfs, proc, "
                            "sysfs, devpts, mqueue, cgroup are)")

    def sandbox_conf(self, debug_log=None):
        """The sentry's boot configuration (sentry/serve.py), file binds read here."""
        files = []
        for src, dst in self.files:
            try:
                st = os.stat(src)
                if st.st_size > MAX_FILE_BIND:
                    self.skipped.append((dst, f"file bind {src}: larger than {MAX_FILE_BIND} bytes"))
                    continue
                with open(src, "rb") as fh:
                    data = fh.read()
            except OSError as e:
                raise SpecError(f"file bind {src} at {dst}: {e.strerror}")
            files.append([dst, base64.b64encode(data).decode(), st.st_mode & 0o7777])
        conf = {"rootfs": self.rootfs, "mounts": [list(b) for b in self.binds], "tmpfs": self.tmpfs,
                "mount_flags": self.mount_flags,
                "files": files, "root_readonly": self.readonly, "hostname": self.hostname,
                "debug_log": debug_log, "limits": {"memory": self.memory, "pids": self.pids}}
        if self.process is not None:
            conf["init"] = self.process.request()
        return conf


def load(bundle):
    """Spec of the bundle directory `bundle` (its config.json)."""
    bundle = os.path.abspath(bundle)
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as fh:
            raw = json.loads(fh.read())
    except FileNotFoundError:
        raise SpecError(f"no config.json in bundle {bundle}")
    except OSError as e:
        raise SpecError(f"cannot read {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text")
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a JSON object")
    try:
        return Spec(bundle, raw)
    except SpecError as e:
        raise SpecError(f"config.json: {e}")


def default_spec(args=("sh",), terminal=True):
    """What `runc spec` writes (hostname aside): a config.json to edit."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [f"PATH={DEFAULT_PATH}", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bastion",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
