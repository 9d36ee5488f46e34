"""Named pipes: a FIFO node opens ends of one Pipe shared by all openers."""

from ...abi import errno as E
from ...abi.errno import SyscallError
from .inode import O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY
from .pipe import Pipe, PipeFile


class FifoDriver:
    def __init__(self):
        self.pipe = Pipe()

    def open(self, node, flags):
        acc = flags & O_ACCMODE
        p = self.pipe
        if acc == O_WRONLY and p.readers == 0 and flags & O_NONBLOCK:
            raise SyscallError(E.ENXIO)
        f = PipeFile(p, flags & ~O_ACCMODE | (O_RDWR if acc == O_RDWR else acc))
        p.queue.notify()
        return f


def attach_fifo(node):
    node.special = FifoDriver()


