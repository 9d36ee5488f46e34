"""mount and umount2 inside the sandbox: tmpfs, proc and binds of the
sandbox's own tree. Nothing here reaches the host's mount table."""

from ...abi import errno as E
from ...abi.caps import CAP_SYS_ADMIN
from ...abi.errno import SyscallError
from ..vfs.memfs import MemFS
from ..vfs.path import MNT_FLAGS, Mount
from .util import path_arg

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE = 1 << 18, 1 << 19, 1 << 20, 1 << 17
MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8


def sys_mount(t, source, target, fstype, flags, data, _a6):
    k = t.kernel
    if not t.tg.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(E.EPERM)
    tpath = path_arg(t, target)
    mp = k.lookup(t, tpath, True)
    if flags & (MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_UNBINDABLE):
        return 0  # propagation types: one mount namespace, nothing to propagate
    if flags & MS_REMOUNT:
        m = mp.mount
        m.flags = flags & MNT_FLAGS
        return 0
    if flags & MS_BIND:
        src = k.lookup(t, path_arg(t, source), True)
        fs, root = src.inode.fs, src.inode
        src_name = src.path(t.fs.root)
    else:
        kind = path_arg(t, fstype) if fstype else ""
        if kind == "tmpfs":
            fs = MemFS("tmpfs")
            root = fs.new_root()
        elif kind == "proc":
            from ..vfs.procfs import make_procfs
            fs, root = make_procfs(k)
        else:
            raise SyscallError(E.ENODEV)
        src_name = path_arg(t, source) if source else kind
    if not mp.inode.is_dir() and not (flags & MS_BIND):
        raise SyscallError(E.ENOTDIR)
    while mp.mounted is not None:
        mp = mp.mounted.root
    m = Mount(fs, root, mp, flags & MNT_FLAGS, src_name)
    mp.mounted = m
    k.mounts.append((mp.path(k.root_dentry), m))
    return 0


def sys_umount2(t, target, flags, *_):
    k = t.kernel
    if not t.tg.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(E.EPERM)
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        raise SyscallError(E.EINVAL)
    d = k.lookup(t, path_arg(t, target), not flags & UMOUNT_NOFOLLOW)
    m = d.mount
    if d is not m.root or m.mountpoint is None:
        raise SyscallError(E.EINVAL)
    if any(x.mountpoint is not None and x.mountpoint.mount is m for _, x in k.mounts):
        raise SyscallError(E.EBUSY)
    m.mountpoint.mounted = None
    k.mounts = [(p, x) for p, x in k.mounts if x is not m]
    return 0
