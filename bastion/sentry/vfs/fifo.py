"""Named pipes (fs/pipe.c fifo_open): every opener of a FIFO node gets an end
of the one Pipe behind it. Opening one end blocks until the other end is
there, unless O_NONBLOCK (then a lone writer gets ENXIO) or O_RDWR."""

from ...abi import errno as E
from ...abi.errno import SyscallError
from .inode import O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY
from .pipe import Pipe, PipeFile


class FifoDriver:
    def __init__(self):
        self.pipe = Pipe()
        self.pending = {O_RDONLY: 0, O_WRONLY: 0}  # openers waiting for a partner
        self.opened = {O_RDONLY: 0, O_WRONLY: 0}   # opens so far (Linux r/w_counter)

    def open(self, node, flags, t=None):
        acc = flags & O_ACCMODE
        p = self.pipe
        if acc == O_RDWR:
            return self._done(acc, flags, None)
        other = O_WRONLY if acc == O_RDONLY else O_RDONLY
        present = (p.writers if acc == O_RDONLY else p.readers) + self.pending[other]
        st = t.sys_state if t is not None and isinstance(t.sys_state, tuple) else None
        if present or (st is not None and st[1] != self.opened[other]):
            return self._done(acc, flags, st)
        if flags & O_NONBLOCK or t is None:
            if acc == O_WRONLY:
                raise SyscallError(E.ENXIO)
            return self._done(acc, flags, None)
        if st is None:  # first attempt: count ourselves so the partner need not wait
            self.pending[acc] += 1
            t.sys_state = ("fifo", self.opened[other])
        try:
            t.block([p.queue])
        except SyscallError:
            self.pending[acc] -= 1
            t.sys_state = None
            raise

    def _done(self, acc, flags, st):
        if st is not None:
            self.pending[acc] -= 1
        f = PipeFile(self.pipe, flags)
        if acc != O_RDWR:
            self.opened[acc] += 1
        self.pipe.queue.notify()
        return f


def attach_fifo(node):
    node.special = FifoDriver()
