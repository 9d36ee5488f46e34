"""Building a sandbox: the gofer, the mount tree, and the first process."""

import fcntl
import os
import resource

from ..abi import errno as E
from ..abi import signals as S
from ..abi.caps import ALL
from ..abi.errno import SyscallError
from ..gofer import server as gofer_server
from ..gofer.client import GoferClient
from .kernel import Kernel
from .syscalls import process
from .creds import Creds
from .task import RLIM_INFINITY, RLIMIT_NOFILE, FSContext, SigActions
from .vfs.devfs import make_devfs
from .vfs.fdtable import FdTable
from .vfs.goferfs import GoferFS
from .vfs.hostfile import HostFile
from .vfs.inode import S_IFDIR
from .vfs.memfs import ACCOUNT, MemFS
from .vfs.path import MS_RDONLY, Mount, Walker
from .vfs.procfs import make_procfs
from .vfs.sysfs import make_sysfs
from .vfs.pty import Console, devpts


NETWORK_MODES = ("none", "host")


class Config:
    """What `bastion run` (or the Python API) asks for."""

    def __init__(self, argv, rootfs="/", mounts=(), tmpfs=(), cwd=None, env=None,
                 hostname="bastion", uid=None, gid=None, strace=None, debug_log=None, tty=False,
                 network="none", platform=None, vdso=True, files=(), root_readonly=False,
                 patch=True, ignored_signals=(), directfs=None, mount_flags=None):
        self.argv = list(argv)
        self.rootfs = rootfs
        self.mounts = list(mounts)  # [(src, dst, readonly)]
        self.tmpfs = list(tmpfs)
        # destination -> MS_RDONLY/NOSUID/NODEV/NOEXEC for the mount there (an
        # OCI config's options), the sentry's own (/proc, /dev, ...) included
        self.mount_flags = dict(mount_flags or {})
        self.cwd = cwd
        self.env = dict(os.environ) if env is None else dict(env)
        self.hostname = hostname
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.strace = strace
        self.debug_log = debug_log
        self.tty = tty  # the caller's terminal relayed to a sandbox pty (vfs/pty.py Console)
        if network not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}")
        self.network = network  # "none": own loopback (net/inet.py); "host": net/hostinet.py
        self.vdso = vdso  # map the sandbox's vDSO into every process (sentry/vdso)
        self.patch = patch  # rewrite trapped syscall sites (sentry/mm/patch.py)
        self.platform = platform or default_platform()
        # the sentry opens host files beneath the mounts itself (see
        # docs/architecture.md, Files); False: every file op is a gofer round trip
        self.directfs = default_directfs() if directfs is None else directfs
        # [(dst, bytes, mode)]: single files put into the root at boot (the OCI
        # runtime's file bind mounts: /etc/hosts, /run/.containerenv, ...),
        # read by the caller: the sentry opens host files only beneath mounts
        self.files = list(files)
        self.root_readonly = root_readonly
        # signals the first process starts with ignored: those its caller
        # ignores, as an exec keeps them (`cmd &` in a script ignores INT, QUIT)
        self.ignored_signals = list(ignored_signals)


PLATFORMS = ("ptrace", "systrap")


def default_platform():
    """BASTION_PLATFORM, else systrap where the host kernel filters syscalls
    with seccomp (it traps to SIGSYS), else ptrace."""
    name = os.environ.get("BASTION_PLATFORM")
    if name:
        return name
    try:
        with open("/proc/self/status") as f:
            seccomp = any(line.startswith("Seccomp:") for line in f)
    except OSError:
        seccomp = False
    return "systrap" if seccomp else "ptrace"


def default_directfs():
    """On unless BASTION_DIRECTFS=0 (as runsc's --directfs)."""
    return os.environ.get("BASTION_DIRECTFS", "1") != "0"


def platform_class(name):
    if name == "systrap":
        from ..platform.systrap import SystrapPlatform
        return SystrapPlatform
    if name == "ptrace":
        from ..platform.ptrace import PtracePlatform
        return PtracePlatform
    raise ValueError(f"unknown platform {name!r}")


def _mkdir_p(k, root, path):
    """Walk to `path`, creating directories in the writable root as needed."""
    d = root
    for comp in [c for c in path.split("/") if c]:
        try:
            d = Walker(root).walk(d, comp, True)
        except SyscallError as e:
            if e.errno != E.ENOENT:
                raise
            d.inode.create(comp, S_IFDIR | 0o755, 0, 0)
            d.forget(comp)
            d = d.child(comp)
    return d


def mount_at(k, path, fs, root_inode, flags=0, source="none"):
    mp = _mkdir_p(k, k.root_dentry, path)
    while mp.mounted is not None:
        mp = mp.mounted.root
    m = Mount(fs, root_inode, mp, flags, source)
    mp.mounted = m
    k.mounts.append((path, m))
    return m


def _write_etc(k, hostname):
    """The sandbox's own /etc/hosts and /etc/resolv.conf (net/__init__.py), in the
    overlay's upper layer, replacing the rootfs's files or links. With the
    host's network the rootfs's resolv.conf stays: its name servers are reachable."""
    from .net import etc_files
    from .vfs.memfs import MemNode
    try:
        etc = _mkdir_p(k, k.root_dentry, "/etc")
    except SyscallError:
        return
    for name, data in etc_files(hostname).items():
        if name == "resolv.conf" and k.network == "host":
            continue
        node = MemNode(etc.inode.fs, 0o100644)
        node.data = bytearray(data)
        etc.inode.entries[name] = node
        etc.forget(name)


def boot(cfg):
    """Start the gofer and the kernel, build the mounts, load the first program."""
    k = build(cfg)
    return k, _start_init(k, cfg)


def build(cfg):
    """Start the gofer and the kernel and build the mounts: a sandbox with no
    process yet."""
    gofer_mounts = [(cfg.rootfs, True)] + [(src, ro) for src, _, ro in cfg.mounts]
    log = open(cfg.debug_log, "a") if cfg.debug_log else None
    strace = None
    if cfg.strace is not None:
        from .strace import Strace
        strace = Strace(cfg.strace)
    k = Kernel(platform_class(cfg.platform), hostname=cfg.hostname, log=log, strace=strace,
               network=cfg.network, vdso=cfg.vdso, patch=cfg.patch)
    k.platform.prepare()
    k.mem_total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    ACCOUNT.limit = k.mem_total // 2  # Linux's default tmpfs size
    ACCOUNT.memfile = k.memfile
    # directfs: the sentry runs the gofer's file code itself on root fds of
    # its own, and no gofer process is started
    if cfg.directfs:
        client = GoferClient(None, direct=gofer_server.Gofer(gofer_mounts))
    else:
        client = GoferClient(gofer_server.start(gofer_mounts)[0], on_wait=k.platform.nap_waiting)
    lower = GoferFS(client, 0, True).root()
    overlay = MemFS("overlay")
    root_mount = Mount(overlay, overlay.new_root(lower), None, 1 if cfg.root_readonly else 0, "overlay")
    k.root_dentry = root_mount.root
    k.mounts.append(("/", root_mount))
    _write_etc(k, cfg.hostname)
    flags = cfg.mount_flags.get
    devfs, devroot = make_devfs(k)
    mount_at(k, "/dev", devfs, devroot, flags("/dev", 0), source="devtmpfs")
    shm = MemFS("tmpfs")
    mount_at(k, "/dev/shm", shm, shm.new_root(), flags("/dev/shm", 0), source="tmpfs")
    pts = devpts(k)
    mount_at(k, "/dev/pts", pts, pts.root, flags("/dev/pts", 0), source="devpts")
    procfs, procroot = make_procfs(k)
    mount_at(k, "/proc", procfs, procroot, flags("/proc", 0), source="proc")
    sysfs, sysroot = make_sysfs(k)
    mount_at(k, "/sys", sysfs, sysroot, flags("/sys", 0) | MS_RDONLY, source="sysfs")
    tmp = MemFS("tmpfs")
    mount_at(k, "/tmp", tmp, tmp.new_root(), flags("/tmp", 0), source="tmpfs")
    for i, (src, dst, ro) in enumerate(cfg.mounts):
        fs = GoferFS(client, i + 1, ro, name="9p")
        mount_at(k, dst, fs, fs.root(), flags(dst, 0) | (MS_RDONLY if ro else 0), source=src)
    for dst in cfg.tmpfs:
        fs = MemFS("tmpfs")
        mount_at(k, dst, fs, fs.new_root(), flags(dst, 0), source="tmpfs")
    for dst, data, mode in cfg.files:
        put_file(k, dst, data, mode)
    return k


def put_file(k, path, data, mode=0o644):
    """A regular file with `data` at `path` in the root's writable layer (or a
    tmpfs), replacing what was there; its directory is made as needed."""
    from .vfs.memfs import MemNode
    parent, _, name = path.rstrip("/").rpartition("/")
    d = _mkdir_p(k, k.root_dentry, parent or "/")
    while d.mounted is not None:
        d = d.mounted.root
    entries = getattr(d.inode, "entries", None)
    if entries is None or not name:
        raise SyscallError(E.EROFS)
    node = MemNode(d.inode.fs, 0o100000 | (mode & 0o7777))
    node.data = bytearray(data)
    entries[name] = node
    d.forget(name)


def _host_stdio(k, fds=(0, 1, 2)):
    """An fd table whose 0, 1, 2 are (dups of) the host fds `fds`."""
    files = FdTable()
    for i, fd in enumerate(fds):
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        f = HostFile(k, os.dup(fd), flags & ~os.O_NONBLOCK)
        files.install_at(i, f)
        if f.is_tty and k.host_tty_fd is None:
            k.host_tty_fd = fd
    return files


def _find_program(k, t, name, env):
    if "/" in name:
        return name
    for d in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":"):
        cand = (d or ".") + "/" + name
        try:
            dn = k.lookup(t, cand, True)
        except SyscallError:
            continue
        if dn.inode.is_reg() and dn.inode.mode & 0o111:
            return cand
    raise SyscallError(E.ENOENT)


def host_rlimits():
    rl = [list(resource.getrlimit(r)) for r in range(16)]
    return [[(v if v != resource.RLIM_INFINITY else RLIM_INFINITY) for v in r] for r in rl]


def spawn(k, argv, env, cwd, uid, gid, files, groups=None, pid=None, start=True, run=None, stdio=None,
          rlimits=None, ignored=(), caps=None, no_new_privs=False):
    """A new process with no parent in the sandbox (pid 1, or one started
    from outside by control.py), running argv[0] found on env's PATH.
    `stdio(tg)` may build its fd table instead of `files` (a terminal).
    With start=False it waits, loaded, for k.return_to_user (OCI create/start).
    `rlimits` {resource number: (soft, hard)} override the host's;
    `ignored`: signals it starts with ignored (an exec keeps SIG_IGN).
    `caps` {"bounding", "effective", "inheritable", "permitted", "ambient":
    mask}: the sets it has before its exec (as runc leaves them before its
    own), which the exec then transforms as Linux's does; None: the user's
    own (root: all). `no_new_privs`: PR_SET_NO_NEW_PRIVS from the start."""
    from .task import Task
    actions = SigActions()
    for sig in ignored:
        if sig not in (S.SIGKILL, S.SIGSTOP):
            actions.actions[sig] = (S.SIG_IGN, 0, 0, 0)
    creds = Creds(uid, gid, [gid] if groups is None else groups)
    if caps is not None:
        creds.cap_bset = caps.get("bounding", 0) & ALL
        creds.cap_prm = caps.get("permitted", 0) & ALL
        creds.cap_eff = caps.get("effective", 0) & creds.cap_prm
        creds.cap_inh = caps.get("inheritable", 0) & ALL
        creds.cap_amb = caps.get("ambient", 0) & creds.cap_prm & creds.cap_inh
    tg = k.new_group(None, actions, creds, host_rlimits(), pid=pid or k.alloc_pid())
    tg.no_new_privs = int(no_new_privs)
    tg.run = run
    tg.started = start
    for r, (soft, hard) in (rlimits or {}).items():
        tg.rlimits[int(r)] = [int(soft), int(hard)]
    try:
        if stdio is not None:
            files = stdio(tg)
        files.limit = min(tg.rlimits[RLIMIT_NOFILE][0], 1 << 20)
        fs = FSContext(k.root_dentry, k.root_dentry)
        t = Task(k, tg.pid, tg, None, files, fs)
        t.on_host = False
        t.stopped_in_sentry = False
        tg.tasks.append(t)
        k.tasks[t.tid] = t
        if cwd:
            fs.cwd = k.lookup(t, cwd, True)
            if not fs.cwd.inode.is_dir():
                raise SyscallError(E.ENOTDIR)
        path = _find_program(k, t, argv[0], env)
        d = k.lookup(t, path, True, opening=True)
        process.do_execve(t, d, path, [os.fsencode(a) for a in argv],
                          [os.fsencode(f"{a}={b}") for a, b in env.items()])
    except BaseException:
        k.tasks.pop(tg.pid, None)
        k.groups.pop(tg.pid, None)
        if files is not None:
            files.users -= 1
            if files.users <= 0:
                files.close_all()
        raise
    if start:
        k.return_to_user(t, from_syscall=False)
    return t


def _start_init(k, cfg):
    pid = k.alloc_pid()
    stdio = None
    if cfg.tty:
        k.console = Console(k)
        stdio = k.console.stdio
    t = spawn(k, cfg.argv, cfg.env, cfg.cwd, cfg.uid, cfg.gid,
              None if cfg.tty else _host_stdio(k), pid=pid, stdio=stdio,
              ignored=cfg.ignored_signals)
    k.init = t.tg
    return t
