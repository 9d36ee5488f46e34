"""AF_UNIX sockets (net/unix/af_unix.c), entirely inside the sentry.

A socket's receive queue holds Messages (bytes, passed Files, sender
credentials, sender address); a listening socket's queue holds the
server-side sockets of connections not yet accepted, which are made
connected at connect() time as in Linux. A stream read crosses message
boundaries but never past one that carried fds; datagram and seqpacket
reads take one message. Bytes queued by a sender count against its
SO_SNDBUF (Linux's sk_wmem_alloc, without skb overhead), so writers block
and poll() reports POLLOUT like Linux. Path names live in the VFS as socket
inodes (the inode points at its socket); abstract names in a per-kernel map.
"""

import collections
import itertools
import os

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..fd import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM
from ..sched import WaitQueue
from ..vfs.fdtable import drop
from ..vfs.inode import O_NONBLOCK, O_RDWR, S_IFSOCK, File, FileSystem, Inode
from . import kernel_state, sock_wait

AF_UNIX = 1
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET = 1, 2, 3, 5
RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK = 1, 2, 3
MSG_OOB, MSG_PEEK, MSG_CTRUNC, MSG_TRUNC, MSG_DONTWAIT = 0x1, 0x2, 0x8, 0x20, 0x40
MSG_EOR, MSG_WAITALL, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC = 0x80, 0x100, 0x4000, 0x40000000
CLOSED, LISTEN, CONNECTED = "closed", "listen", "connected"
WMEM_DEFAULT = 212992      # net.core.wmem_default / rmem_default
MAX_DGRAM_QLEN = 10        # net.unix.max_dgram_qlen
SOMAXCONN = 4096           # net.core.somaxconn
SUN_PATH_MAX = 108
SIOCINQ, SIOCOUTQ = 0x541B, 0x5411
SIOCGIFNAME, SIOCGIFINDEX = 0x8910, 0x8933


class SockFS(FileSystem):
    name = "sockfs"


_sockfs = SockFS()
_autobind = itertools.count(1)


class Message:
    """One send's data: bytes, or what a stream reader left of them (a
    memoryview of those bytes: taking a piece copies nothing), so a read
    that takes a whole message gets the sent object back (a stream's bytes
    are copied twice, out of the sender's memory and into the reader's)."""

    __slots__ = ("data", "fds", "cred", "addr", "owner")

    def __init__(self, data, fds, cred, addr, owner):
        if type(data) is not bytes:
            data = bytes(data)
        self.data, self.fds, self.cred, self.addr, self.owner = data, fds, cred, addr, owner
        for f in fds or ():
            f.refs += 1  # in flight: the message holds the description


def creds_of(t):
    """(pid, uid, gid) for SCM_CREDENTIALS: the sender's real ids."""
    c = t.tg.creds
    return (t.tg.pid, c.ruid, c.rgid)


def names(kernel):
    """The abstract namespace: (type, name bytes) -> bound socket."""
    return kernel_state(kernel, "unix_abstract", dict)


def parse_addr(raw):
    """sockaddr_un bytes -> sun_path as bound: b'/path' or b'\\0abstract'."""
    if len(raw) <= 2 or len(raw) > 2 + SUN_PATH_MAX:
        raise SyscallError(E.EINVAL)
    if int.from_bytes(raw[:2], "little") != AF_UNIX:
        raise SyscallError(E.EINVAL)
    path = raw[2:]
    if path[0] != 0:
        path = path.split(b"\0", 1)[0]
    return path


def pack_addr(name):
    """The sockaddr Linux returns for a bound name (paths get their NUL)."""
    raw = AF_UNIX.to_bytes(2, "little")
    if name is None:
        return raw
    return raw + name + (b"\0" if name[:1] != b"\0" else b"")


class UnixSocket(File):
    def __init__(self, kernel, stype, flags=0):
        inode = Inode(S_IFSOCK | 0o777)
        inode.fs = _sockfs
        super().__init__(inode, O_RDWR | (flags & O_NONBLOCK))
        self.kernel = kernel
        self.type = stype
        self.state = CLOSED
        self.peer = None
        self.name = None        # bound sun_path
        self.bound_inode = None
        self.rq = collections.deque()
        self.rq_bytes = 0
        self.wmem = 0           # bytes this socket has queued at receivers
        self.shutdown_bits = 0
        self.err = 0
        self.backlog = 0
        self.queue = WaitQueue()
        self.peercred = None
        self.passcred = False
        self.sndbuf = self.rcvbuf = WMEM_DEFAULT
        self.rcvtimeo = self.sndtimeo = 0
        self.dead = False
        self.opts = {}          # options kept only to be read back

    # --- helpers ------------------------------------------------------------
    def _nonblock(self, flags):
        return self.flags & O_NONBLOCK or flags & MSG_DONTWAIT

    _wait = staticmethod(sock_wait)  # (t, queues, timeo)

    def _enqueue(self, msg):
        self.rq.append(msg)
        self.rq_bytes += len(msg.data)
        if msg.owner is not None:
            msg.owner.wmem += len(msg.data)
        self.queue.notify(POLLIN | POLLRDNORM)

    def _consumed(self, msg, n):
        """n bytes of msg left the queue: give the sender its buffer back."""
        self.rq_bytes -= n
        if msg.owner is not None:
            msg.owner.wmem -= n
            msg.owner.queue.notify(POLLOUT | POLLWRNORM | POLLWRBAND)
        self.queue.notify(POLLOUT | POLLWRNORM | POLLWRBAND)  # senders waiting on a full queue

    def writable(self):
        return self.state != LISTEN and self.wmem * 4 <= self.sndbuf

    # --- naming ---------------------------------------------------------------
    def bind(self, t, raw):
        if len(raw) == 2 and int.from_bytes(raw, "little") == AF_UNIX:
            if self.name is not None:
                raise SyscallError(E.EINVAL)
            return self.autobind()
        name = parse_addr(raw)
        if name[:1] == b"\0":
            if self.name is not None:
                raise SyscallError(E.EINVAL)
            ns = names(self.kernel)
            if (self.type, name) in ns:
                raise SyscallError(E.EADDRINUSE)
            ns[(self.type, name)] = self
        else:
            k = t.kernel
            path = os.fsdecode(name)
            parent, base = k.lookup_parent(t, path)
            try:
                k.lookup(t, base, False, parent)
                raise SyscallError(E.EADDRINUSE)
            except SyscallError as e:
                if e.errno != E.ENOENT:
                    raise
            if parent.mount.flags & 1 or parent.inode.fs.readonly:
                raise SyscallError(E.EROFS)
            if self.name is not None:
                raise SyscallError(E.EINVAL)
            c = t.tg.creds
            node = parent.inode.create(base, S_IFSOCK | (0o777 & ~t.fs.umask), c.fsuid, c.fsgid)
            parent.forget(base)
            node.bound_socket = self
            self.bound_inode = node
        self.name = name
        return 0

    def autobind(self):
        ns = names(self.kernel)
        while True:
            name = b"\0" + b"%05x" % (next(_autobind) & 0xFFFFF)
            if (self.type, name) not in ns:
                break
        ns[(self.type, name)] = self
        self.name = name
        return 0

    def lookup_peer(self, t, name):
        """The socket bound to a name (unix_find_other)."""
        if name[:1] == b"\0":
            other = names(self.kernel).get((self.type, name))  # per type, as in Linux
            if other is None:
                raise SyscallError(E.ECONNREFUSED)
        else:
            d = t.kernel.lookup(t, os.fsdecode(name))
            if d.inode.mode & 0o170000 != S_IFSOCK:
                raise SyscallError(E.ECONNREFUSED)
            other = getattr(d.inode, "bound_socket", None)
            if other is None:
                raise SyscallError(E.ECONNREFUSED)
        if other.type != self.type:
            raise SyscallError(E.EPROTOTYPE)
        return other

    # --- connections --------------------------------------------------------------
    def listen(self, t, backlog):
        if self.type == SOCK_DGRAM:
            raise SyscallError(E.EOPNOTSUPP)
        if self.name is None or self.state == CONNECTED:
            raise SyscallError(E.EINVAL)
        self.backlog = min(max(backlog, 0), SOMAXCONN)
        if self.state != LISTEN:
            self.state = LISTEN
            self.peercred = peercred_of(t)
            self.queue.notify()
        return 0

    def connect(self, t, raw):
        if self.type == SOCK_DGRAM:
            if len(raw) >= 2 and int.from_bytes(raw[:2], "little") == 0:  # AF_UNSPEC
                self.peer = None
                self.state = CLOSED
                return 0
            self.peer = self.lookup_peer(t, parse_addr(raw))
            self.state = CONNECTED
            return 0
        name = parse_addr(raw)
        if self.state == CONNECTED:
            raise SyscallError(E.EISCONN)
        if self.state == LISTEN:
            raise SyscallError(E.EINVAL)
        while True:
            other = self.lookup_peer(t, name)
            if other.state != LISTEN or other.dead:
                raise SyscallError(E.ECONNREFUSED)
            if len(other.rq) <= other.backlog:
                break
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            self._wait(t, [other.queue], self.sndtimeo)
        srv = UnixSocket(self.kernel, self.type)
        srv.name = other.name
        srv.state = CONNECTED
        srv.peer, self.peer = self, srv
        srv.peercred = peercred_of(t)
        srv.passcred = other.passcred
        srv.sndbuf, srv.rcvbuf = other.sndbuf, other.rcvbuf
        self.peercred = other.peercred
        self.state = CONNECTED
        other.rq.append(srv)
        other.queue.notify(POLLIN | POLLRDNORM)
        return 0

    def accept(self, t, flags):
        if self.type == SOCK_DGRAM:
            raise SyscallError(E.EOPNOTSUPP)
        if self.state != LISTEN:
            raise SyscallError(E.EINVAL)
        while not self.rq:
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            self._wait(t, [self.queue], self.rcvtimeo)
        srv = self.rq.popleft()
        srv.flags = O_RDWR | (flags & O_NONBLOCK)
        self.queue.notify(POLLOUT)  # room in the backlog
        return srv

    def shutdown(self, how):
        if how not in (0, 1, 2):
            raise SyscallError(E.EINVAL)
        mode = how + 1
        self.shutdown_bits |= mode
        self.queue.notify()
        p = self.peer
        if p is not None and self.type != SOCK_DGRAM:
            if mode & RCV_SHUTDOWN:
                p.shutdown_bits |= SEND_SHUTDOWN
            if mode & SEND_SHUTDOWN:
                p.shutdown_bits |= RCV_SHUTDOWN
            p.queue.notify()
        return 0

    # --- data ---------------------------------------------------------------------
    def _epipe(self, t, flags, sent=0):
        if not sent and not flags & MSG_NOSIGNAL:
            t.kernel.send_sigpipe(t)
        raise SyscallError(E.EPIPE)

    def sendmsg(self, t, data, fds, cred, addr, flags):
        """Queue data (and fds, creds) at the receiver; returns bytes sent."""
        if flags & MSG_OOB:
            raise SyscallError(E.EOPNOTSUPP)
        cred = cred or creds_of(t)
        if self.type == SOCK_STREAM:
            return self._send_stream(t, data, fds, cred, addr, flags)
        if self.type == SOCK_SEQPACKET:
            if self.state != CONNECTED:
                raise SyscallError(E.ENOTCONN)
            addr = None
        if self.shutdown_bits & SEND_SHUTDOWN:
            raise SyscallError(E.EPIPE)
        if len(data) > self.sndbuf - 32:
            raise SyscallError(E.EMSGSIZE)
        while True:
            if addr is not None:
                other = self.lookup_peer(t, addr)
            else:
                other = self.peer
                if other is None:
                    raise SyscallError(E.ENOTCONN)
            if other.dead:
                if self.type == SOCK_SEQPACKET:
                    raise SyscallError(E.EPIPE)
                if self.peer is other:
                    self.peer = None
                    self.state = CLOSED
                raise SyscallError(E.ECONNREFUSED)
            if other.peer is not None and other.peer is not self:
                raise SyscallError(E.EPERM)
            if other.shutdown_bits & RCV_SHUTDOWN:
                raise SyscallError(E.EPIPE)
            full = other.peer is not self and len(other.rq) > MAX_DGRAM_QLEN
            if not full and self.wmem < self.sndbuf:
                break
            if self._nonblock(flags):
                raise SyscallError(E.EAGAIN)
            self._wait(t, [other.queue, self.queue], self.sndtimeo)
        if self.name is None and other.passcred:
            self.autobind()
        other._enqueue(Message(data, fds, cred, self.name, self))
        return len(data)

    def _send_stream(self, t, data, fds, cred, addr, flags):
        if addr is not None:
            raise SyscallError(E.EISCONN if self.state == CONNECTED else E.EOPNOTSUPP)
        sent = t.sys_state or 0
        if self.peer is None and not sent:
            raise SyscallError(E.ENOTCONN)
        chunk = max(self.sndbuf // 2 - 64, 1)
        if self.shutdown_bits & SEND_SHUTDOWN:
            self._epipe(t, flags, sent)
        while True:
            if sent >= len(data):
                return sent
            other = self.peer
            if other is None or other.dead or other.shutdown_bits & RCV_SHUTDOWN:
                if sent:
                    return sent
                self._epipe(t, flags)
            if self.wmem < self.sndbuf:
                part = data[sent:sent + chunk]
                other._enqueue(Message(part, fds if not sent else None, cred, self.name, self))
                sent += len(part)
                continue
            if self._nonblock(flags):
                if sent:
                    return sent
                raise SyscallError(E.EAGAIN)
            t.sys_state = sent
            try:
                self._wait(t, [self.queue, other.queue], self.sndtimeo)
            except SyscallError:
                if sent:
                    return sent
                raise

    def recvmsg(self, t, n, flags):
        """-> (data, fds, cred, addr, msg_flags, length to return)."""
        if flags & MSG_OOB:
            raise SyscallError(E.EOPNOTSUPP)
        if self.type == SOCK_STREAM and self.state != CONNECTED:
            raise SyscallError(E.EINVAL)
        if self.type == SOCK_SEQPACKET and self.state != CONNECTED:
            raise SyscallError(E.ENOTCONN)
        got = t.sys_state or b""  # MSG_WAITALL progress
        while not self.rq:
            if self.err and not got:
                err, self.err = self.err, 0
                raise SyscallError(err)
            if self.shutdown_bits & RCV_SHUTDOWN or (got and self._nonblock(flags)):
                return got, None, None, None, 0, len(got)
            if self._nonblock(flags):
                raise SyscallError(E.EAGAIN)
            try:
                self._wait(t, [self.queue], self.rcvtimeo)
            except SyscallError:
                if got:
                    return got, None, None, None, 0, len(got)
                raise
        if self.type != SOCK_STREAM:
            msg = self.rq[0]
            data = bytes(msg.data[:n])
            mflags = MSG_TRUNC if len(msg.data) > n else 0
            full = len(msg.data)
            fds = msg.fds
            if not flags & MSG_PEEK:
                self.rq.popleft()
                self._consumed(msg, full)
                msg.fds = None
            return data, fds, msg.cred, msg.addr, mflags, full if flags & MSG_TRUNC else len(data)
        return self._recv_stream(t, n, flags, got)

    def _recv_stream(self, t, n, flags, got):
        parts = [got] if got else []
        have = len(got)
        fds = cred = addr = None
        peek = flags & MSG_PEEK
        for msg in list(self.rq):
            if have >= n:
                break
            if cred is not None and self.passcred and msg.cred != cred:
                break
            if cred is None:
                cred, addr = msg.cred, msg.addr
            d = msg.data
            k = min(n - have, len(d))
            parts.append(d if k == len(d) else d[:k])
            have += k
            if msg.fds:
                fds = msg.fds
            if not peek:
                msg.data = b"" if k == len(d) else (d if type(d) is memoryview else memoryview(d))[k:]
                self._consumed(msg, k)
                if msg.fds:
                    msg.fds = None
                if not msg.data:
                    self.rq.popleft()
            if fds:
                break
        out = b"".join(parts)  # one part of bytes: that object itself
        want = n if flags & MSG_WAITALL and not peek else 1
        if len(out) < want and not fds and not self.shutdown_bits & RCV_SHUTDOWN \
                and not self._nonblock(flags):
            t.sys_state = out
            try:
                self._wait(t, [self.queue], self.rcvtimeo)
            except SyscallError:
                if out:
                    return out, None, cred, addr, 0, len(out)
                raise
        return out, fds, cred, addr, 0, len(out)

    # --- File ---------------------------------------------------------------------
    def read(self, t, n):
        return self.recvmsg(t, n, 0)[0]

    def write(self, t, data):
        return self.sendmsg(t, data, None, None, None, 0)

    def poll(self):
        mask = 0
        sh = self.shutdown_bits
        if self.err:
            mask |= POLLERR
        if sh == SHUTDOWN_MASK:
            mask |= POLLHUP
        if sh & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.rq:
            mask |= POLLIN | POLLRDNORM
        if self.type != SOCK_DGRAM and self.state == CLOSED:
            mask |= POLLHUP
        writable = self.writable()
        if self.type != SOCK_STREAM:
            p = self.peer
            if p is not None and p.peer is not self and len(p.rq) > MAX_DGRAM_QLEN:
                writable = False
        if writable:
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask

    def wait_queue(self, events=POLLIN | POLLOUT):
        return self.queue

    def ioctl(self, t, req, arg):
        if req == SIOCINQ:
            if self.state == LISTEN:
                raise SyscallError(E.EINVAL)
            if self.type == SOCK_STREAM:
                n = self.rq_bytes
            else:
                n = len(self.rq[0].data) if self.rq else 0
            t.mm.write_u32(arg, n)
            return 0
        if req == SIOCOUTQ:
            if self.state == LISTEN:
                raise SyscallError(E.EINVAL)
            t.mm.write_u32(arg, self.wmem)
            return 0
        if SIOCGIFNAME <= req <= SIOCGIFINDEX:  # interface queries: dev_ioctl, any socket
            from .hostinet import netdev_ioctl
            return netdev_ioctl(self, t, req, arg)
        raise SyscallError(E.ENOTTY)

    def release(self):
        self.dead = True
        if self.name is not None and self.name[:1] == b"\0":
            ns = names(self.kernel)
            if ns.get((self.type, self.name)) is self:
                del ns[(self.type, self.name)]
        if self.bound_inode is not None:
            self.bound_inode.bound_socket = None
        p = self.peer
        if p is not None and self.type != SOCK_DGRAM:
            p.shutdown_bits = SHUTDOWN_MASK
            if self.rq:
                p.err = E.ECONNRESET
            p.queue.notify()
        self.peer = None
        while self.rq:
            m = self.rq.popleft()
            if isinstance(m, UnixSocket):  # a connection never accepted
                if m.peer is not None:
                    m.peer.err = E.ECONNRESET
                m.release()
                continue
            self._consumed(m, len(m.data))
            for f in m.fds or ():
                drop(f)
        self.queue.notify()


def peercred_of(t):
    c = t.tg.creds
    return (t.tg.pid, c.euid, c.egid)


def socketpair(t, stype, flags):
    a, b = UnixSocket(t.kernel, stype, flags), UnixSocket(t.kernel, stype, flags)
    a.peer, b.peer = b, a
    a.state = b.state = CONNECTED
    a.peercred = b.peercred = peercred_of(t)
    return a, b
