"""A process's credentials: ids, groups, capabilities, securebits
(include/linux/cred.h), and the rules that move them. Linux's are in
security/commoncap.c: a set*uid call (cap_emulate_setxuid), an exec
(cap_bprm_creds_from_file; files carry no capabilities here, so only the
set-user-ID and set-group-ID bits and root's rules apply), and the DAC check
of every open and path walk (generic_permission).

Creds are a plain object copied at fork. Linux keeps them per thread, but
glibc's set*id calls change every thread of a process at once, so here they
belong to the process."""

from ..abi import caps as C

S_IFMT, S_IFDIR = 0o170000, 0o040000
S_ISUID, S_ISGID, S_IXGRP = 0o4000, 0o2000, 0o010
_OVERRIDE = 1 << C.CAP_DAC_OVERRIDE


class Creds:
    def __init__(self, uid=0, gid=0, groups=()):
        self.ruid = self.euid = self.suid = self.fsuid = uid
        self.rgid = self.egid = self.sgid = self.fsgid = gid
        self.groups = list(groups)
        # root starts with every capability, any other user with none (what
        # a login gives each); the bounding set is full
        self.cap_prm = self.cap_eff = C.ALL if uid == 0 else 0
        self.cap_inh = self.cap_amb = 0
        self.cap_bset = C.ALL
        self.securebits = 0

    def copy(self):
        c = Creds()
        c.__dict__.update(self.__dict__)
        c.groups = list(self.groups)
        return c

    def capable(self, cap):
        return self.cap_eff >> cap & 1

    def owns_ids_of(self, d):
        """Are d's real, effective and saved ids all our real ones (uid and
        gid)? Who may trace or set limits of another process without a
        capability (ptrace's and prlimit's checks)."""
        return self.ruid == d.ruid == d.euid == d.suid and self.rgid == d.rgid == d.egid == d.sgid

    def in_group(self, gid):
        return gid == self.fsgid or gid in self.groups

    def for_access(self):
        """The credentials access(2) checks with: the real ids for the fs
        ones, and real root's capabilities (the permitted set) or none."""
        c = self.copy()
        c.fsuid, c.fsgid = c.ruid, c.rgid
        if not c.securebits & C.SECURE_NO_SETUID_FIXUP:
            c.cap_eff = c.cap_prm if c.ruid == 0 else 0
        return c

    def fix_setuid(self, ruid, euid, suid):
        """After a set*uid call from (ruid, euid, suid): leaving root for good
        takes the capabilities away (all but the permitted set with
        SECURE_KEEP_CAPS, as PR_SET_KEEPCAPS asks); an effective uid that
        leaves 0 takes the effective set, one that comes back to 0 gives
        the permitted set back (cap_emulate_setxuid)."""
        if self.securebits & C.SECURE_NO_SETUID_FIXUP:
            return
        if 0 in (ruid, euid, suid) and 0 not in (self.ruid, self.euid, self.suid):
            if not self.securebits & C.SECURE_KEEP_CAPS:
                self.cap_prm = self.cap_eff = 0
            self.cap_amb = 0
        if euid == 0 and self.euid != 0:
            self.cap_eff = 0
        if euid != 0 and self.euid == 0:
            self.cap_eff = self.cap_prm

    def fix_setfsuid(self, fsuid):
        """After setfsuid from fsuid: the file-system capabilities follow an
        fsuid that leaves or returns to 0."""
        if self.securebits & C.SECURE_NO_SETUID_FIXUP:
            return
        if fsuid == 0 and self.fsuid != 0:
            self.cap_eff &= ~C.FS_MASK
        elif fsuid != 0 and self.fsuid == 0:
            self.cap_eff |= self.cap_prm & C.FS_MASK

    def exec(self, inode, nosuid, no_new_privs, unsafe):
        """The credentials of an exec of inode (bprm_fill_uid, then
        cap_bprm_creds_from_file): its set-user-ID and set-group-ID bits,
        unless the mount is nosuid or no_new_privs is set; root's
        capabilities (the bounding and inheritable sets); the ambient set
        for anyone else. `unsafe`: a tracer without CAP_SYS_PTRACE watches,
        so a privilege gained is dropped. True when the exec is a secure
        one (AT_SECURE: the new program must not trust its environment)."""
        euid, egid = self.euid, self.egid
        mode = inode.mode
        if not nosuid and not no_new_privs:
            if mode & S_ISUID:
                euid = inode.uid
            if mode & S_ISGID and mode & S_IXGRP:
                egid = inode.gid
        prm, effective = 0, False
        if not self.securebits & C.SECURE_NOROOT:
            if euid == 0 or self.ruid == 0:
                prm = self.cap_bset | self.cap_inh
            effective = euid == 0
        setid = euid != self.ruid or egid != self.rgid
        if (setid or prm & ~self.cap_prm) and (no_new_privs or unsafe):
            if no_new_privs or not self.capable(C.CAP_SETUID):
                euid, egid = self.ruid, self.rgid
            prm &= self.cap_prm
        self.euid = self.suid = self.fsuid = euid
        self.egid = self.sgid = self.fsgid = egid
        amb = 0 if setid else self.cap_amb
        prm |= amb
        self.cap_prm, self.cap_eff, self.cap_amb = prm, prm if effective else amb, amb
        self.securebits &= ~C.SECURE_KEEP_CAPS
        return setid or (self.ruid != 0 and (effective or bool(prm & ~amb)))


def permission(c, inode, want):
    """May creds c have `want` (4 read, 2 write, 1 exec/search) on inode? The
    mode's bits for owner, group or others, then the capabilities that
    override them (generic_permission)."""
    mode = inode.mode
    eff = c.cap_eff
    # CAP_DAC_OVERRIDE first, root's case: reading and writing anything,
    # executing what has some exec bit (and searching any directory, below)
    if eff & _OVERRIDE and (not want & 1 or mode & 0o111):
        return True
    if c.fsuid == inode.uid:
        bits = mode >> 6
    elif c.in_group(inode.gid):
        bits = mode >> 3
    else:
        bits = mode
    if not want & ~bits & 7:
        return True
    if mode & S_IFMT == S_IFDIR:
        if not want & 2 and eff >> C.CAP_DAC_READ_SEARCH & 1:
            return True
        return bool(eff >> C.CAP_DAC_OVERRIDE & 1)
    return want == 4 and bool(eff >> C.CAP_DAC_READ_SEARCH & 1)


def owner_or_capable(c, inode):
    """inode_owner_or_capable: may c change inode's mode, times, flags?"""
    return c.fsuid == inode.uid or c.capable(C.CAP_FOWNER)
