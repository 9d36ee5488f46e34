"""The sentry's side of the gofer connection: synchronous calls."""

import os

from ..abi.errno import SyscallError
from . import protocol as P


class GoferClient:
    def __init__(self, sock):
        self.sock = sock

    def call(self, op, mount, path, *args):
        """Return (result, fd or None; [fds] for open_many) or raise SyscallError."""
        P.send(self.sock, [op, mount, path, *args])
        reply, fds = P.recv(self.sock)
        if "e" in reply:
            for fd in fds:
                os.close(fd)
            raise SyscallError(reply["e"])
        return reply["r"], (fds if "fds" in reply else fds[0] if fds else None)
