"""The fd table: fd number -> (open file description, close-on-exec)."""

from ...abi import errno as E
from ...abi.errno import SyscallError

NR_OPEN = 1 << 20  # fs/file.c sysctl_nr_open default
NR_OPEN_DEFAULT = 64  # the size of a fresh table


def _grown_size(fd):
    """fs/file.c alloc_fdtable: the table size Linux picks to hold fd."""
    n = fd // 128 + 1
    return min((1 << (n - 1).bit_length()) * 128, NR_OPEN)


class FdTable:
    def __init__(self):
        self.fds = {}
        self.limit = 1024  # RLIMIT_NOFILE soft, kept in step by the kernel
        self.users = 1  # tasks sharing this table (CLONE_FILES)
        # Linux's fdt->max_fds: it only grows, and select() ignores fds
        # at or past it, so programs can see it.
        self.size = NR_OPEN_DEFAULT
        self.next_fd = 0  # fs/file.c files->next_fd: no free fd below it

    def get(self, fd):
        e = self.fds.get(fd)
        if e is None:
            raise SyscallError(E.EBADF)
        return e[0]

    def install(self, f, cloexec=False, lowest=0):
        fd = max(lowest, self.next_fd)
        fds = self.fds
        while fd in fds:
            fd += 1
        if fd >= self.limit:
            raise SyscallError(E.EMFILE)
        f.refs += 1
        fds[fd] = (f, cloexec)
        if lowest <= self.next_fd:
            self.next_fd = fd + 1
        if fd >= self.size:
            self.size = _grown_size(fd)
        return fd

    def install_at(self, fd, f, cloexec=False):
        if fd < 0 or fd >= self.limit:
            raise SyscallError(E.EBADF)
        old = self.fds.get(fd)
        f.refs += 1
        self.fds[fd] = (f, cloexec)
        if fd >= self.size:
            self.size = _grown_size(fd)
        if old is not None:
            drop(old[0])

    def close(self, fd):
        e = self.fds.pop(fd, None)
        if e is None:
            raise SyscallError(E.EBADF)
        if fd < self.next_fd:
            self.next_fd = fd
        drop(e[0])

    def set_cloexec(self, fd, on):
        f = self.get(fd)
        self.fds[fd] = (f, on)

    def cloexec(self, fd):
        self.get(fd)
        return self.fds[fd][1]

    def copy(self):
        c = FdTable()
        c.limit = self.limit
        c.next_fd = self.next_fd
        for fd, (f, ce) in self.fds.items():
            f.refs += 1
            c.fds[fd] = (f, ce)
        if self.fds:  # fs/file.c dup_fd sizes the copy to the highest open fd
            top = (max(self.fds) // 64 + 1) * 64
            if top > NR_OPEN_DEFAULT:
                c.size = _grown_size(top - 1)
        return c

    def close_on_exec(self):
        for fd in [fd for fd, (f, ce) in self.fds.items() if ce]:
            self.close(fd)

    def close_all(self):
        for fd in list(self.fds):
            self.close(fd)


def drop(f):
    f.refs -= 1
    if f.refs <= 0:
        if f.release_hooks:
            for fn in f.release_hooks[:]:  # a hook unregisters itself as it runs
                fn(f)
        f.release()
