"""The sentry's side of the gofer connection.

A request may also be sent ahead of need (ask): the gofer works on it while
the sentry does other things, and its reply is read before anything else is
sent. One request at most is ever on its way, so a receive never holds more
than one reply (protocol.recv reads one message).

Under directfs (`direct`) there is no gofer process: every call runs the
gofer's code in the sentry, and nothing is asked ahead. A listing asked of
a process ahead cost more (JSON both ways, the reply decoded and taken in)
than making it in the sentry when it is wanted: find -25%."""

import os

from ..abi.errno import SyscallError


class GoferClient:
    def __init__(self, sock, on_wait=None, direct=None):
        self.sock = sock  # to the gofer process; None under directfs
        self.asked = None  # what to do with the reply of the request sent ahead
        self.on_wait = on_wait  # called before the sentry waits for a reply (Platform.nap_waiting)
        self.direct = direct  # a server.Gofer of the sentry's own (directfs), or None
        # protocol.py (json, socket: ~10 ms of a start) only with a process
        self.wire = None if sock is None else _protocol()

    def call(self, op, mount, path, *args):
        """Return (result, fd or None; [fds] for open_many) or raise SyscallError."""
        direct = self.direct
        if direct is not None:
            # directfs: the gofer's op runs here, on the sentry's own root
            # fds, as the process would run it (every path resolved beneath
            # its mount); the sentry's own requests need no checking (run)
            try:
                return direct.ops[op](mount, path, *args)
            except OSError as e:
                raise SyscallError(e.errno or 5)
            except (KeyError, IndexError, TypeError, ValueError):  # a bad request, as run answers it
                raise SyscallError(22) from None
        if self.asked is not None:
            self.drain()
        wire = self.wire
        wire.send(self.sock, [op, mount, path, *args])
        if self.on_wait is not None:
            self.on_wait()
        reply, fds = wire.recv(self.sock)
        if "e" in reply:
            for fd in fds:
                os.close(fd)
            raise SyscallError(reply["e"])
        return reply["r"], (fds if "fds" in reply else fds[0] if fds else None)

    def ask(self, done, op, mount, path, *args):
        """Send a request now; done(result, [fds]) runs when its reply is
        read. An error reply is dropped (an ask is only ever a prefetch).
        Not under directfs (callers look at `direct`)."""
        if self.asked is not None:
            self.drain()
        self.wire.send(self.sock, [op, mount, path, *args])
        self.asked = done

    def drain(self):
        """Read the reply of the request sent ahead, if one is on its way."""
        done, self.asked = self.asked, None
        if done is not None:
            reply, fds = self.wire.recv(self.sock)
            if "e" in reply:
                for fd in fds:
                    os.close(fd)
            else:
                done(reply["r"], fds)

def _protocol():
    from . import protocol  # json and socket: imported with the process's first request
    return protocol
