"""/proc, drawn only from the sandbox's own state (fs/proc).

Directories are generated on lookup; file contents are produced when the file
is opened (a snapshot, like seq_file), so reads at any offset are consistent.
"""

import os
import time

from ...abi import errno as E
from ...abi.errno import SyscallError
from .files import DirFile, RegularFile
from .inode import S_IFDIR, S_IFLNK, S_IFREG, FileSystem, Inode, dtype
from .path import MS_NODEV, MS_NOEXEC, MS_NOSUID, Mount

CLK_TCK = 100


class ProcFS(FileSystem):
    name = "proc"
    cache_dentries = False  # /proc/[pid] comes and goes


class SnapshotFile(RegularFile):
    def __init__(self, inode, flags, data):
        super().__init__(inode, flags)
        self.data = data

    def read(self, t, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def pread(self, t, n, off):
        return self.data[off:off + n]

    def write(self, t, data):
        writer = getattr(self.inode, "writer", None)
        if writer is None:
            raise SyscallError(E.EACCES)
        return writer(t, data)

    def lseek(self, off, whence):
        if whence == 2:
            self.pos = len(self.data) + off
            return self.pos
        return super().lseek(off, whence)


class ProcFile(Inode):
    def __init__(self, fs, gen, mode=0o444, writer=None):
        super().__init__(S_IFREG | mode)
        self.fs = fs
        self.gen = gen
        self.writer = writer

    def read_at(self, off, n):
        return self.gen(None)[off:off + n]

    def open(self, flags, t=None):
        return ProcOpen(self, flags)


class ProcOpen(SnapshotFile):
    """Generates the content with the opening task in view, on first read."""

    def __init__(self, inode, flags):
        super().__init__(inode, flags, None)

    def _data(self, t):
        if self.data is None:
            self.data = self.inode.gen(t)
        return self.data

    def read(self, t, n):
        d = self._data(t)
        out = d[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def pread(self, t, n, off):
        return self._data(t)[off:off + n]


class ProcMem(Inode):
    """/proc/PID/mem: the process's memory, the file offset its address
    (Linux's mem_rw: whatever the protection, as a tracer's PTRACE_PEEKDATA;
    debuggers read through it). Opening needs ptrace's permission; the file
    keeps the address space it was opened on, as Linux's keeps its mm."""

    MAX_RW = 1 << 20  # bytes one read or write moves at most (a short count past it)

    def __init__(self, fs, tg):
        super().__init__(S_IFREG | 0o600)
        self.fs = fs
        self.tg = tg

    def open(self, flags, t=None):
        if t is not None:
            from ..ptrace import may_attach
            try:
                may_attach(t, self.tg)
            except SyscallError:
                raise SyscallError(E.EACCES)
        f = MemFile(self, flags)
        f.mm = self.tg.tasks[0].mm if self.tg.tasks else None
        return f


class MemFile(RegularFile):
    mm = None

    def _rw(self, addr, n, data=None):
        mm = self.mm
        n = min(n, ProcMem.MAX_RW)
        done = 0
        out = []
        while mm is not None and done < n:
            a = addr + done
            v = mm.find(a)
            if v is None or v.eof_prot is not None:
                break
            k = min(n - done, v.end - a)
            if data is None:
                out.append(mm.peek(a, k))
            else:
                mm.poke(a, data[done:done + k])
            done += k
        if not done and n:
            raise SyscallError(E.EIO)
        return b"".join(out) if data is None else done

    def pread(self, t, n, off):
        return self._rw(off, n)

    def read(self, t, n):
        out = self._rw(self.pos, n)
        self.pos += len(out)
        return out

    def pwrite(self, t, data, off):
        return self._rw(off, len(data), data)

    def write(self, t, data):
        n = self._rw(self.pos, len(data), data)
        self.pos += n
        return n

    def lseek(self, off, whence):
        if whence == 0:
            self.pos = off
        elif whence == 1:
            self.pos += off
        else:
            raise SyscallError(E.EINVAL)
        return self.pos


class ProcLink(Inode):
    """A symlink whose target is computed: a path, or for magic links a
    dentry to jump to (target) with the text readlink shows (text)."""

    def __init__(self, fs, target, text=None):
        super().__init__(S_IFLNK | 0o777)
        self.fs = fs
        self.target = target  # fn(t) -> str path or Dentry
        self.text = text

    def readlink(self):
        return self.link_text(None)

    def get_link(self, t):
        return self.target(t)

    def link_text(self, t):
        if self.text is not None:
            return self.text(t)
        v = self.target(t)
        if isinstance(v, str):
            return v
        return v.path(t.fs.root if t is not None else None)


class ProcDir(Inode):
    def __init__(self, fs, entries, mode=0o555):
        super().__init__(S_IFDIR | mode)
        self.fs = fs
        self.entries = entries  # fn() -> {name: Inode factory}

    def lookup(self, name, rest=(), opening=False):
        make = self.entries().get(name)
        if make is None:
            raise SyscallError(E.ENOENT)
        return make()

    def open(self, flags, t=None):
        return DirFile(self, flags)

    def readdir(self):
        out = []
        for name, make in self.entries().items():
            n = make()
            out.append((name, n.ino, dtype(n.mode)))
        return out


def _b(s):
    return os.fsencode(s) if isinstance(s, str) else s


def make_procfs(kernel):
    fs = ProcFS()
    k = kernel

    def file(gen, mode=0o444, writer=None):
        return lambda: ProcFile(fs, lambda t: _b(gen(t)), mode, writer)

    def link(target):
        return lambda: ProcLink(fs, target)

    def pid_dir(tg, task=None):
        def ents():
            return pid_entries(tg, task)
        return lambda: ProcDir(fs, ents)

    def pid_entries(tg, task=None):
        main = task or (tg.tasks[0] if tg.tasks else None)
        e = {
            "stat": file(lambda t: _stat(k, tg, main)),
            "status": file(lambda t: _status(k, tg, main)),
            "cmdline": file(lambda t: _mm_bytes(main, "arg")),
            "environ": file(lambda t: _mm_bytes(main, "env"), 0o400),
            "comm": file(lambda t: (main.comm if main else b"") + b"\n", 0o644,
                         lambda t, data: _set_comm(main, data)),
            "maps": file(lambda t: _maps(main)),
            "auxv": file(lambda t: main.mm.auxv if main and main.mm else b"", 0o400),
            "mem": lambda: ProcMem(fs, tg),
            "limits": file(lambda t: _limits(tg)),
            "mounts": file(lambda t: _mounts(k)),
            "mountinfo": file(lambda t: _mountinfo(k)),
            "statm": file(lambda t: _statm(main)),
            "oom_score_adj": file(lambda t: "0\n", 0o644, lambda t, d: len(d)),
            "cgroup": file(lambda t: "0::/\n"),
            "exe": link(lambda t: main.mm.exe_path if main and main.mm else ""),
            "cwd": link(lambda t: main.fs.cwd if main else ""),
            "root": link(lambda t: main.fs.root if main else ""),
            "fd": lambda: ProcDir(fs, lambda: _fd_entries(main), 0o500),
            "fdinfo": lambda: ProcDir(fs, lambda: _fdinfo_entries(main), 0o500),
            "net": lambda: ProcDir(fs, net_entries),
        }
        if task is None:
            e["task"] = lambda: ProcDir(fs, lambda: {str(x.tid): pid_dir(tg, x) for x in tg.tasks})
        return e

    def _fd_entries(t):
        if t is None or t.files is None:
            return {}
        out = {}
        for fd, (f, _) in sorted(t.files.fds.items()):
            out[str(fd)] = _fd_link(f)
        return out

    def _fd_link(f):
        """/proc/[pid]/fd/N: readlink names the file; opening it reopens the
        same file, even a pipe or a deleted one (Linux's magic links)."""
        def target(t):
            if f.dentry is not None:
                return f.dentry
            return Mount(f.inode.fs, f.inode).root

        def text(t):
            d = f.dentry
            if d is not None:
                return d.path(t.fs.root if t is not None else None) + \
                    (" (deleted)" if d.unlinked else "")
            name = getattr(f, "link_name", None)
            if name:
                return name
            ino = f.inode
            kind = getattr(ino.fs, "name", "")
            if kind == "host" and getattr(f, "is_tty", False):
                return "/dev/pts/0"
            if kind in ("pipefs", "host"):
                return f"pipe:[{ino.ino}]"
            if kind == "sockfs":
                return f"socket:[{ino.ino}]"
            return f"anon_inode:[{kind}]"
        return lambda: ProcLink(fs, target, text)

    def _fdinfo_entries(t):
        if t is None:
            return {}
        return {str(fd): file(lambda _t, f=f, ce=ce: f"pos:\t{f.pos}\nflags:\t0{f.flags | (0o2000000 if ce else 0):o}\nmnt_id:\t1\n" + f.fdinfo())
                for fd, (f, ce) in t.files.fds.items()}

    def self_link(t):
        return str(t.tg.pid) if t is not None else "1"

    def thread_self(t):
        return f"{t.tg.pid}/task/{t.tid}" if t is not None else "1/task/1"

    def root_entries():
        e = {
            "self": link(self_link),
            "thread-self": link(thread_self),
            "meminfo": file(lambda t: _meminfo(k)),
            "cpuinfo": file(lambda t: _cpuinfo(k.ncpus)),
            "stat": file(lambda t: _kstat(k)),
            "uptime": file(lambda t: "%.2f %.2f\n" % (time.monotonic() - k.boot_mono,
                                                     (time.monotonic() - k.boot_mono) * k.ncpus)),
            "loadavg": file(lambda t: f"0.00 0.00 0.00 1/{len(k.tasks)} {k.next_pid - 1}\n"),
            "version": file(lambda t: f"Linux version {os.uname().release} (bastion) #1 SMP\n"),
            "filesystems": file(lambda t: "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\toverlay\nnodev\tpipefs\n"),
            "mounts": file(lambda t: _mounts(k)),
            "cmdline": file(lambda t: "BOOT_IMAGE=bastion\n"),
            "sys": lambda: ProcDir(fs, sys_entries),
            "net": link(lambda t: "self/net"),
        }
        for pid, tg in list(k.groups.items()):
            if not tg.zombie or tg.tasks:
                e[str(pid)] = pid_dir(tg)
        return e

    def net_entries():
        from ..net import hostinet, inet
        net = hostinet if k.network == "host" else inet
        e = {f"{p}{v}": file(lambda t, p=p, v=v: net.proc_net(k, p, v == "6"))
             for p in ("tcp", "udp") for v in ("", "6")}
        e["dev"] = file(lambda t: net.proc_net_dev(k))
        return e

    def sys_entries():
        return {"kernel": lambda: ProcDir(fs, lambda: {
            "hostname": file(lambda t: k.hostname + "\n", 0o644),
            "domainname": file(lambda t: k.domainname + "\n", 0o644),
            "ostype": file(lambda t: "Linux\n"),
            "osrelease": file(lambda t: os.uname().release + "\n"),
            "version": file(lambda t: "#1 SMP bastion\n"),
            "pid_max": file(lambda t: "4194304\n"),
            "ngroups_max": file(lambda t: "65536\n"),
            "cap_last_cap": file(lambda t: "40\n"),
            "random": lambda: ProcDir(fs, lambda: {
                "boot_id": file(lambda t: k.boot_id + "\n"),
                "uuid": file(lambda t: _uuid() + "\n"),
                "entropy_avail": file(lambda t: "256\n")}),
            "overflowuid": file(lambda t: "65534\n"),
            "overflowgid": file(lambda t: "65534\n"),
            "threads-max": file(lambda t: "100000\n"),
            "yama": lambda: ProcDir(fs, lambda: {"ptrace_scope": file(lambda t: "1\n")}),
        }), "vm": lambda: ProcDir(fs, lambda: {
            "overcommit_memory": file(lambda t: "0\n"),
            "max_map_count": file(lambda t: "65530\n"),
            "mmap_min_addr": file(lambda t: "65536\n")}),
            "fs": lambda: ProcDir(fs, lambda: {
                "file-max": file(lambda t: "1048576\n"),
                "nr_open": file(lambda t: "1048576\n"),
                "pipe-max-size": file(lambda t: "1048576\n"),
                "protected_hardlinks": file(lambda t: "1\n")}),  # (syscalls/fs.py may_linkat)
            "net": lambda: ProcDir(fs, lambda: {"core": lambda: ProcDir(fs, lambda: {
                "somaxconn": file(lambda t: "4096\n")})})}

    k.boot_id = _uuid()
    return fs, ProcDir(fs, root_entries)


def _set_comm(task, data):
    """Writing /proc/[pid]/task/[tid]/comm renames the thread (pthread_setname_np)."""
    if task is not None:
        task.comm = data.split(b"\n", 1)[0][:15]
    return len(data)


def _uuid():
    """A random (version 4) UUID, as /proc/sys/kernel/random/uuid gives."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mm_bytes(t, which):
    if t is None or t.mm is None:
        return b""
    mm = t.mm
    a, b = (mm.arg_start, mm.arg_end) if which == "arg" else (mm.env_start, mm.env_end)
    try:
        return mm.read(a, b - a)
    except SyscallError:
        return b""


def _state_char(tg, t):
    if tg.zombie:
        return "Z"
    if tg.stopped:
        return "T"
    if t is not None and t.blocked:
        return "S"
    return "R"


def _stat(k, tg, t):
    comm = (t.comm if t else b"").decode("utf-8", "replace")
    ppid = tg.parent.pid if tg.parent else 0
    start = int((tg.start_time - k.boot_mono) * CLK_TCK)
    vsize = sum(v.end - v.start for v in t.mm.vmas) if t and t.mm else 0
    x = t or tg.leader
    nice = x.nice if x else 0
    rt = x.sched.rt_priority if x and x.sched.realtime() else 0
    fields = [tg.pid if t is None else t.tid, f"({comm})", _state_char(tg, t), ppid, tg.pgid, tg.sid,
              0, -1, 0x400000, 0, 0, 0, 0, int(tg.utime * CLK_TCK), int(tg.stime * CLK_TCK),
              0, 0, -1 - rt if rt else 20 + nice, nice, len(tg.tasks), 0, start, vsize, 0,
              2**64 - 1]
    fields += [0] * (52 - len(fields))
    if x is not None:  # exit_signal (a thread's: none), processor, rt_priority, policy
        fields[37:41] = [tg.exit_signal if x is tg.leader else -1, x.sched.first_cpu(k.ncpus),
                         rt, x.sched.policy]
    return " ".join(str(x) for x in fields) + "\n"


def _status(k, tg, t):
    c = tg.creds
    comm = (t.comm if t else b"").decode("utf-8", "replace")
    ppid = tg.parent.pid if tg.parent else 0
    state = {"R": "R (running)", "S": "S (sleeping)", "T": "T (stopped)", "Z": "Z (zombie)"}[
        _state_char(tg, t)]
    vm = sum(v.end - v.start for v in t.mm.vmas) // 1024 if t and t.mm else 0
    mask = t.sigmask if t else 0
    return (f"Name:\t{comm}\nUmask:\t{t.fs.umask if t else 18:04o}\nState:\t{state}\n"
            f"Tgid:\t{tg.pid}\nNgid:\t0\nPid:\t{t.tid if t else tg.pid}\nPPid:\t{ppid}\n"
            f"TracerPid:\t0\nUid:\t{c.ruid}\t{c.euid}\t{c.suid}\t{c.fsuid}\n"
            f"Gid:\t{c.rgid}\t{c.egid}\t{c.sgid}\t{c.fsgid}\nFDSize:\t64\n"
            f"Groups:\t{' '.join(str(g) for g in c.groups)}\n"
            f"NStgid:\t{tg.pid}\nNSpid:\t{t.tid if t else tg.pid}\nNSpgid:\t{tg.pgid}\nNSsid:\t{tg.sid}\n"
            f"VmPeak:\t{vm} kB\nVmSize:\t{vm} kB\nVmRSS:\t{vm // 4} kB\n"
            f"Threads:\t{len(tg.tasks)}\nSigQ:\t0/63541\n"
            f"SigPnd:\t{(t.pending if t else 0):016x}\nShdPnd:\t{tg.shared_pending:016x}\n"
            f"SigBlk:\t{mask:016x}\nSigIgn:\t{_sigmask_of(tg, 1):016x}\n"
            f"SigCgt:\t{_sigmask_of(tg, None):016x}\n"
            f"CapInh:\t{c.cap_inh:016x}\nCapPrm:\t{c.cap_prm:016x}\nCapEff:\t{c.cap_eff:016x}\n"
            f"CapBnd:\t{c.cap_bset:016x}\nCapAmb:\t{c.cap_amb:016x}\nNoNewPrivs:\t{tg.no_new_privs}\n"
            f"Seccomp:\t0\n{_cpus_allowed(k, t or tg.leader)}"
            f"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")


def _cpus_allowed(k, t):
    """Cpus_allowed (%*pb: hex, 32 bits to a comma-separated group) and its list."""
    mask = t.sched.allowed(k.ncpus) if t is not None else (1 << k.ncpus) - 1
    groups, n = [], k.ncpus
    while n > 0:
        bits = n % 32 or 32
        n -= bits
        groups.append(f"{mask >> n & ((1 << bits) - 1):0{(bits + 3) // 4}x}")
    return f"Cpus_allowed:\t{','.join(groups)}\nCpus_allowed_list:\t{_cpu_list(mask)}\n"


def _cpu_list(mask):
    """A mask as Linux lists CPUs (%*pbl): "0-1", "0,2-3"."""
    out, i = [], 0
    while mask >> i:
        if mask >> i & 1:
            j = i
            while mask >> (j + 1) & 1:
                j += 1
            out.append(str(i) if i == j else f"{i}-{j}")
            i = j + 1
        else:
            i += 1
    return ",".join(out)


def _sigmask_of(tg, handler):
    m = 0
    for sig in range(1, 65):
        h = tg.sigactions.actions[sig][0]
        if (handler == 1 and h == 1) or (handler is None and h > 1):
            m |= 1 << (sig - 1)
    return m


def _maps(t):
    if t is None or t.mm is None:
        return ""
    lines = []
    for v in t.mm.vmas:
        prot = v.prot if v.eof_prot is None else v.eof_prot
        perms = ("r" if prot & 1 else "-") + ("w" if prot & 2 else "-") + \
            ("x" if prot & 4 else "-") + ("s" if v.shared else "p")
        dev = f"{(v.dev >> 8) & 0xFFF:02x}:{v.dev & 0xFF:02x}"
        name = v.name
        off = v.file_off if v.ino else 0
        line = f"{v.start:08x}-{v.end:08x} {perms} {off:08x} {dev} {v.ino}"
        if name:
            line = line.ljust(73) + name
        lines.append(line)
    return "\n".join(lines) + "\n"


def _statm(t):
    """size resident shared text lib data dt, in pages: the mapped size,
    resident as a quarter of it (as VmRSS in status: the sentry does not
    count the host's resident pages), text the executable mappings, data
    the private writable ones."""
    if t is None or t.mm is None:
        return "0 0 0 0 0 0 0\n"
    size = text = data = 0
    for v in t.mm.vmas:
        n = (v.end - v.start) >> 12
        size += n
        if v.prot & 4:
            text += n
        elif v.prot & 2 and not v.shared:
            data += n
    return f"{size} {size // 4} 0 {text} 0 {data} 0\n"


def _limits(tg):
    names = [("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
             ("Max stack size", "bytes"), ("Max core file size", "bytes"),
             ("Max resident set", "bytes"), ("Max processes", "processes"),
             ("Max open files", "files"), ("Max locked memory", "bytes"),
             ("Max address space", "bytes"), ("Max file locks", "locks"),
             ("Max pending signals", "signals"), ("Max msgqueue size", "bytes"),
             ("Max nice priority", ""), ("Max realtime priority", ""),
             ("Max realtime timeout", "us")]
    out = ["Limit                     Soft Limit           Hard Limit           Units     "]
    for (name, unit), (soft, hard) in zip(names, tg.rlimits):
        s = "unlimited" if soft >= 2**63 else str(soft)
        h = "unlimited" if hard >= 2**63 else str(hard)
        out.append(f"{name:<26}{s:<21}{h:<21}{unit:<10}")
    return "\n".join(out) + "\n"


def _mount_opts(m, ro):
    """A mount's options as /proc/mounts shows them (show_mnt_opts)."""
    return ",".join(["ro" if ro else "rw"] + [o for bit, o in ((MS_NOSUID, "nosuid"), (MS_NODEV, "nodev"),
                                                               (MS_NOEXEC, "noexec")) if m.flags & bit]
                    + ["relatime"])


def _mounts(k):
    out = []
    for path, m in k.mounts:
        fsname = getattr(m.fs, "name", "none")
        ro = m.flags & 1 or getattr(m.fs, "readonly", False) and path != "/"
        out.append(f"{m.source} {path} {fsname} {_mount_opts(m, ro)} 0 0")
    return "\n".join(out) + "\n"


def _mountinfo(k):
    out = []
    for i, (path, m) in enumerate(k.mounts):
        fsname = getattr(m.fs, "name", "none")
        opts = _mount_opts(m, m.flags & 1)
        out.append(f"{i + 1} {1 if i else 0} 0:{m.fs.dev} / {path} {opts} - {fsname} {m.source} "
                   f"{'ro' if m.flags & 1 else 'rw'}")
    return "\n".join(out) + "\n"


def _meminfo(k):
    total = k.mem_total // 1024
    used = k.memory_used() // 1024
    free = max(total - used, 0)
    rows = [("MemTotal", total), ("MemFree", free), ("MemAvailable", free), ("Buffers", 0),
            ("Cached", 0), ("SwapCached", 0), ("Active", used), ("Inactive", 0),
            ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 0), ("Writeback", 0),
            ("AnonPages", used), ("Mapped", 0), ("Shmem", 0), ("Slab", 0),
            ("CommitLimit", total), ("Committed_AS", used), ("VmallocTotal", 34359738367),
            ("HugePages_Total", 0), ("Hugepagesize", 2048)]
    return "".join(f"{name + ':':<16}{v:>8} kB\n" if not name.startswith("HugePages_") else
                   f"{name + ':':<16}{v:>8}\n" for name, v in rows)


_CPUINFO = None


def _cpuinfo(n):
    """The host CPU's model and flags (what cpuid shows the app anyway), for
    the sandbox's n CPUs."""
    global _CPUINFO
    if _CPUINFO is None or _CPUINFO[0] != n:
        model, flags = "Bastion virtual CPU", "fpu sse sse2"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name") and model.startswith("Bastion"):
                        model = line.split(":", 1)[1].strip()
                    elif line.startswith("flags"):
                        flags = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        out = []
        for i in range(n):
            out.append(f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: {model}\n"
                       f"cpu MHz\t\t: 2000.000\ncache size\t: 32768 KB\nphysical id\t: 0\n"
                       f"siblings\t: {n}\ncore id\t\t: {i}\ncpu cores\t: {n}\n"
                       f"apicid\t\t: {i}\nfpu\t\t: yes\nflags\t\t: {flags}\nbogomips\t: 4000.00\n"
                       f"clflush size\t: 64\ncache_alignment\t: 64\n"
                       f"address sizes\t: 46 bits physical, 48 bits virtual\n\n")
        _CPUINFO = n, "".join(out)
    return _CPUINFO[1]


def _kstat(k):
    n = k.ncpus
    up = int((time.monotonic() - k.boot_mono) * CLK_TCK)
    lines = [f"cpu  0 0 0 {up * n} 0 0 0 0 0 0"]
    lines += [f"cpu{i} 0 0 0 {up} 0 0 0 0 0 0" for i in range(n)]
    lines += ["intr 0", "ctxt 0", f"btime {int(k.boot_time)}", f"processes {k.next_pid}",
              "procs_running 1", "procs_blocked 0", "softirq 0"]
    return "\n".join(lines) + "\n"
