"""Messages between the sentry and its host-side clients (the Python API, the
OCI runtime): length-prefixed JSON over a unix stream socket, host fds riding
along by SCM_RIGHTS.

Unlike the gofer's strict request/reply, a control connection carries
unsolicited events (a process exited), so reading is buffered: one receive
may hold several messages. Each message says how many fds it carries
("nfds"); they arrive with its first bytes, in order.
"""

import json
import socket
import struct

_LEN = struct.Struct("<I")
MAX_MSG = 256 << 20
MAX_FDS = 16


class Channel:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.fds = []

    def fileno(self):
        return self.sock.fileno()

    def send(self, obj, fds=()):
        if fds:
            obj = dict(obj, nfds=len(fds))
        data = json.dumps(obj, separators=(",", ":")).encode()
        msg = _LEN.pack(len(data)) + data
        if fds:
            n = socket.send_fds(self.sock, [msg[:65536]], list(fds))
            msg = msg[n:]
        if msg:
            self.sock.sendall(msg)

    def fill(self):
        """One receive (blocks until something comes); EOFError at the end."""
        data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, MAX_FDS)
        self.fds += fds
        if not data:
            raise EOFError
        self.buf += data

    def take(self):
        """The next whole buffered message as (obj, fds), or None."""
        buf = self.buf
        if len(buf) < 4:
            return None
        (n,) = _LEN.unpack_from(buf)
        if n > MAX_MSG:
            raise EOFError
        if len(buf) < 4 + n:
            return None
        obj = json.loads(bytes(buf[4:4 + n]))
        del buf[:4 + n]
        k = obj.get("nfds", 0) if isinstance(obj, dict) else 0
        fds, self.fds = self.fds[:k], self.fds[k:]
        return obj, fds

    def recv(self):
        """Block for the next message: (obj, fds)."""
        while True:
            m = self.take()
            if m is not None:
                return m
            self.fill()

    def close(self):
        import os
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self.sock.close()
