"""The gofer wire protocol: length-prefixed JSON messages over a unix socket.

Request:  [op, mount, path, args...]     (path is relative to the mount root)
Reply:    {"r": result} or {"e": errno}; an opened host fd rides along by
          SCM_RIGHTS when the reply says {"fd": 1}, several (open_many) when
          it says {"fds": n}.
JSON keeps the gofer from trusting anything the sentry sends beyond plain data.
"""

import json
import socket
import struct

from .server import MAX_FDS  # host fds in one message

_LEN = struct.Struct("<I")
MAX_MSG = 64 << 20
# made once: json.dumps with separators= builds a new encoder every call (~3 us)
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def send(sock, obj, fds=()):
    data = _encode(obj).encode()
    msg = _LEN.pack(len(data)) + data
    if not fds:
        sock.sendall(msg)
    else:
        socket.send_fds(sock, [msg], fds)


def recv(sock):
    """Return (obj, [fds]); EOFError when the peer is gone. Requests and
    replies alternate, so one receive usually holds a whole message."""
    data, fds, _, _ = socket.recv_fds(sock, 65536, MAX_FDS)
    if not data:
        raise EOFError
    if len(data) < 4:
        data += _recv_exact(sock, 4 - len(data))
    (n,) = _LEN.unpack_from(data)
    if n > MAX_MSG:
        raise EOFError
    if len(data) < 4 + n:
        data += _recv_exact(sock, 4 + n - len(data))
    return _decode(data[4:4 + n].decode()), fds


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)
