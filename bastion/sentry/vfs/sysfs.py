"""/sys: only the few files that libc, Python and coreutils read (CPU
topology), so nothing of the host's /sys shows through the root overlay."""

from .inode import S_IFDIR, S_IFREG
from .memfs import MemFS


def make_sysfs(k):
    fs = MemFS("sysfs")
    root = fs.new_root(mode=S_IFDIR | 0o555)
    n, cpus = k.ncpus, k.cpu_list
    files = {
        "devices/system/cpu/online": cpus,
        "devices/system/cpu/possible": cpus,
        "devices/system/cpu/present": cpus,
        "devices/system/cpu/kernel_max": "8191",
        "kernel/mm/transparent_hugepage/enabled": "always [madvise] never",
    }
    for i in range(n):
        files[f"devices/system/cpu/cpu{i}/online"] = "1"
    for path, text in files.items():
        d = root
        *dirs, name = path.split("/")
        for comp in dirs:
            try:
                d = d.lookup(comp)
            except Exception:
                d = d.create(comp, S_IFDIR | 0o755, 0, 0)
        f = d.create(name, S_IFREG | 0o444, 0, 0)
        f.write_at(0, (text + "\n").encode())
    for path in ("fs/cgroup", "class/net", "block", "bus", "firmware"):
        d = root
        for comp in path.split("/"):
            try:
                d = d.lookup(comp)
            except Exception:
                d = d.create(comp, S_IFDIR | 0o755, 0, 0)
    fs.readonly = True
    return fs, root
