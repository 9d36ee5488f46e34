"""The sentry's side of the gofer connection: synchronous calls."""

from ..abi.errno import SyscallError
from . import protocol as P


class GoferClient:
    def __init__(self, sock):
        self.sock = sock

    def call(self, op, mount, path, *args):
        """Return (result, fd or None) or raise SyscallError."""
        P.send(self.sock, [op, mount, path, *args])
        reply, fd = P.recv(self.sock)
        if "e" in reply:
            raise SyscallError(reply["e"])
        return reply["r"], fd
