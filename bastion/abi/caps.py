"""Capabilities and securebits (include/uapi/linux/capability.h,
securebits.h): numbers, names (as OCI's config.json spells them), masks."""

CAP_CHOWN = 0
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
CAP_FOWNER = 3
CAP_FSETID = 4
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_LINUX_IMMUTABLE = 9
CAP_NET_BIND_SERVICE = 10
CAP_NET_BROADCAST = 11
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
CAP_IPC_LOCK = 14
CAP_IPC_OWNER = 15
CAP_SYS_MODULE = 16
CAP_SYS_RAWIO = 17
CAP_SYS_CHROOT = 18
CAP_SYS_PTRACE = 19
CAP_SYS_PACCT = 20
CAP_SYS_ADMIN = 21
CAP_SYS_BOOT = 22
CAP_SYS_NICE = 23
CAP_SYS_RESOURCE = 24
CAP_SYS_TIME = 25
CAP_SYS_TTY_CONFIG = 26
CAP_MKNOD = 27
CAP_LEASE = 28
CAP_AUDIT_WRITE = 29
CAP_AUDIT_CONTROL = 30
CAP_SETFCAP = 31
CAP_MAC_OVERRIDE = 32
CAP_MAC_ADMIN = 33
CAP_SYSLOG = 34
CAP_WAKE_ALARM = 35
CAP_BLOCK_SUSPEND = 36
CAP_AUDIT_READ = 37
CAP_PERFMON = 38
CAP_BPF = 39
CAP_CHECKPOINT_RESTORE = 40

NAMES = tuple(n[4:] for n, v in sorted(
    ((n, v) for n, v in globals().items() if n.startswith("CAP_")), key=lambda x: x[1]))
CAP_LAST_CAP = len(NAMES) - 1  # 40, as /proc/sys/kernel/cap_last_cap says
ALL = (1 << len(NAMES)) - 1

# what fsuid 0 has always meant: the set a change of fsuid to or from 0 takes
# away or gives back (cap_drop_fs_set)
FS_MASK = sum(1 << c for c in (CAP_CHOWN, CAP_MKNOD, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                               CAP_FOWNER, CAP_FSETID, CAP_LINUX_IMMUTABLE, CAP_MAC_OVERRIDE))
# either one lets a walk through a directory it may not search
SEARCH_BYPASS = 1 << CAP_DAC_OVERRIDE | 1 << CAP_DAC_READ_SEARCH

VERSION_1, VERSION_2, VERSION_3 = 0x19980330, 0x20071026, 0x20080522

# securebits: each bit has a lock bit above it
SECURE_NOROOT, SECURE_NO_SETUID_FIXUP, SECURE_KEEP_CAPS = 1 << 0, 1 << 2, 1 << 4
SECURE_NO_CAP_AMBIENT_RAISE = 1 << 6
SECURE_KEEP_CAPS_LOCKED = 1 << 5
SECURE_EXEC_RESTRICT_FILE, SECURE_EXEC_DENY_INTERACTIVE = 1 << 8, 1 << 10  # Linux 6.14
SECURE_ALL_BITS = 0x555
SECURE_ALL_LOCKS = SECURE_ALL_BITS << 1
SECURE_ALL_UNPRIVILEGED = SECURE_EXEC_RESTRICT_FILE | SECURE_EXEC_DENY_INTERACTIVE


def mask(names):
    """The set OCI's names ("CAP_KILL", ...) make. Names this kernel does not
    know are left out, as runc leaves them (with a warning)."""
    m = 0
    for n in names:
        if n.startswith("CAP_") and n[4:] in NAMES:
            m |= 1 << NAMES.index(n[4:])
    return m
