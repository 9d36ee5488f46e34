"""The sentry's side of the gofer connection.

A request may also be sent ahead of need (ask): the gofer works on it while
the sentry does other things, and its reply is read before anything else is
sent. One request at most is ever on its way, so a receive never holds more
than one reply (protocol.recv reads one message).

Under directfs the gofer process is only for requests asked ahead, so it is
started at the first one (`start`): a sandbox whose programs walk no tree
(most) never forks it, nor imports the wire protocol (json, socket: ~10 ms
of each start)."""

import os

from ..abi.errno import SyscallError


class GoferClient:
    def __init__(self, sock, on_wait=None, direct=None, start=None):
        self.sock = sock  # None until `start` made the process
        self.start = start  # () -> (socket, pid) of a new gofer process: server.start
        self.asked = None  # what to do with the reply of the request sent ahead
        self.on_wait = on_wait  # called before the sentry waits for a reply (Platform.nap_waiting)
        self.direct = direct  # a server.Gofer of the sentry's own (directfs), or None
        self.wire = None if sock is None else _protocol()  # protocol.py, once it is needed

    def call(self, op, mount, path, *args):
        """Return (result, fd or None; [fds] for open_many) or raise SyscallError."""
        if self.asked is not None:
            self.drain()
        if self.direct is not None:
            return self._direct(op, mount, path, args)
        wire = self.wire or self._connect()
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
        read. An error reply is dropped (an ask is only ever a prefetch)."""
        if self.asked is not None:
            self.drain()
        try:
            wire = self.wire or self._connect()
        except OSError:  # no gofer process (fork refused): no prefetch either
            return
        wire.send(self.sock, [op, mount, path, *args])
        self.asked = done

    def _connect(self):
        """Start the gofer process (its first request); the protocol module."""
        self.sock = self.start()[0]
        self.wire = _protocol()
        return self.wire

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

    def _direct(self, op, mount, path, args):
        """directfs: run the op here, on the sentry's own root fds, as the
        gofer would (the same code, every path resolved beneath its mount)."""
        try:
            return self.direct.run(op, mount, (path, *args))
        except OSError as e:
            raise SyscallError(e.errno or 5)


def _protocol():
    from . import protocol  # json and socket: imported with the process's first request
    return protocol
