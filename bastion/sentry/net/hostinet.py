"""AF_INET/AF_INET6 sockets backed by host sockets (--network host), like
gVisor's hostinet.

Each sandbox TCP or UDP socket is a HostSocket: a File over a host socket
the sentry owns (non-blocking, close-on-exec, never visible to the app: the
app only ever holds the sentry's fd number). The sentry does bind, listen,
accept, connect, send, recv, shutdown and the whitelisted socket options on
it on the app's behalf, copying data between app memory and the host
socket. Nothing blocks the sentry: an operation that would block parks the
task on the socket's WaitQueue, which the kernel notifies on each edge of the
host fd (`Kernel.host_fd_watch`, one edge-triggered entry in the kernel's
epoll), so poll/select/epoll (level- and edge-triggered) see the host fd's
readiness.

Everything the app passes is validated here before it reaches the host:
sockaddrs are parsed and re-packed (never handed through as raw bytes),
lengths and option values checked, MSG_* flags filtered to the ones that only
shape the data path, socket options whitelisted (others ENOPROTOOPT), ioctls
limited to queue sizes and SIOCGIF* queries. No control messages cross in
either direction, so no host fd or credential can reach the app.

In this mode the loopback is the host's (as docker --network host). The
interface list (NETLINK_ROUTE dumps, /proc/net/dev, SIOCGIF*) is the host's,
read from the host kernel (hostsys.rtnl_dump); /proc/net/{tcp,udp}[6] show the
sandbox's own sockets only. AF_UNIX and netlink sockets stay sentry-served.
"""

import select
import socket
import struct

from ... import hostsys
from ...abi import errno as E
from ...abi.caps import CAP_NET_BIND_SERVICE
from ...abi.errno import SyscallError
from ..fd import POLLHUP
from ..vfs.inode import O_NONBLOCK, O_RDWR, S_IFSOCK, File, Inode
from . import inet as I
from . import unix as U
from . import kernel_state, sock_wait

AF_INET, AF_INET6, AF_UNSPEC = I.AF_INET, I.AF_INET6, I.AF_UNSPEC
SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 1, 0, 6, 17, 41

# MSG_* flags passed to the host: they shape the data path only. MSG_DONTWAIT
# and MSG_NOSIGNAL are always added (the sentry never blocks; it raises
# SIGPIPE itself); MSG_WAITALL is the sentry's loop; others are dropped, as
# Linux ignores flags a protocol does not know.
MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_TRUNC = 0x1, 0x2, 0x4, 0x20
MSG_DONTWAIT, MSG_EOR, MSG_WAITALL, MSG_CONFIRM = 0x40, 0x80, 0x100, 0x800
MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE = 0x2000, 0x4000, 0x8000
SEND_PASS = MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_CONFIRM | MSG_MORE
RECV_PASS = MSG_OOB | MSG_PEEK | MSG_TRUNC
MSG_OUT = MSG_OOB | MSG_TRUNC | MSG_EOR  # msg_flags reported back
RECV_CHUNK = 1 << 20  # at most this much per host recv: a short read, as stream reads may be

SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_PEERCRED = 20, 21, 13, 17
TCP_CONGESTION = 13
TCP_CONGESTION_OK = (b"cubic", b"reno")  # built in: setting them never loads a host module

# The socket options that reach the host: (level, name) -> kind. "int" takes
# an int (optlen >= 4; the IP level also takes one byte, as ip_setsockopt),
# "get" is read-only (set: ENOPROTOOPT), "linger" a struct linger, "cc" a
# congestion control name. Anything else is ENOPROTOOPT. Left out on purpose:
# options that need privilege on the host (SO_*BUFFORCE, SO_MARK,
# SO_BINDTODEVICE, IP_TRANSPARENT) and options whose effect is control
# messages (SO_TIMESTAMP*, IP_PKTINFO, IP_RECVERR, ...), which never cross.
SOCKOPTS = {
    (SOL_SOCKET, 2): "int",    # SO_REUSEADDR
    (SOL_SOCKET, 3): "get",    # SO_TYPE
    (SOL_SOCKET, 4): "get",    # SO_ERROR
    (SOL_SOCKET, 5): "int",    # SO_DONTROUTE
    (SOL_SOCKET, 6): "int",    # SO_BROADCAST
    (SOL_SOCKET, 7): "int",    # SO_SNDBUF
    (SOL_SOCKET, 8): "int",    # SO_RCVBUF
    (SOL_SOCKET, 9): "int",    # SO_KEEPALIVE
    (SOL_SOCKET, 10): "int",   # SO_OOBINLINE
    (SOL_SOCKET, 12): "int",   # SO_PRIORITY (0-6 without privilege)
    (SOL_SOCKET, 13): "linger",  # SO_LINGER
    (SOL_SOCKET, 15): "int",   # SO_REUSEPORT
    (SOL_SOCKET, 18): "int",   # SO_RCVLOWAT
    (SOL_SOCKET, 19): "get",   # SO_SNDLOWAT
    (SOL_SOCKET, 30): "get",   # SO_ACCEPTCONN
    (SOL_SOCKET, 38): "get",   # SO_PROTOCOL
    (SOL_SOCKET, 39): "get",   # SO_DOMAIN
    (SOL_SOCKET, 49): "get",   # SO_INCOMING_CPU
    (IPPROTO_TCP, 1): "int",   # TCP_NODELAY
    (IPPROTO_TCP, 2): "int",   # TCP_MAXSEG
    (IPPROTO_TCP, 3): "int",   # TCP_CORK
    (IPPROTO_TCP, 4): "int",   # TCP_KEEPIDLE
    (IPPROTO_TCP, 5): "int",   # TCP_KEEPINTVL
    (IPPROTO_TCP, 6): "int",   # TCP_KEEPCNT
    (IPPROTO_TCP, 7): "int",   # TCP_SYNCNT
    (IPPROTO_TCP, 8): "int",   # TCP_LINGER2
    (IPPROTO_TCP, 9): "int",   # TCP_DEFER_ACCEPT
    (IPPROTO_TCP, 10): "int",  # TCP_WINDOW_CLAMP
    (IPPROTO_TCP, 11): "get",  # TCP_INFO
    (IPPROTO_TCP, 12): "int",  # TCP_QUICKACK
    (IPPROTO_TCP, 13): "cc",   # TCP_CONGESTION
    (IPPROTO_TCP, 18): "int",  # TCP_USER_TIMEOUT
    (IPPROTO_TCP, 23): "int",  # TCP_FASTOPEN
    (IPPROTO_TCP, 25): "int",  # TCP_NOTSENT_LOWAT
    (IPPROTO_IP, 1): "int",    # IP_TOS
    (IPPROTO_IP, 2): "int",    # IP_TTL
    (IPPROTO_IP, 10): "int",   # IP_MTU_DISCOVER
    (IPPROTO_IP, 14): "get",   # IP_MTU
    (IPPROTO_IP, 15): "int",   # IP_FREEBIND
    (IPPROTO_IP, 24): "int",   # IP_BIND_ADDRESS_NO_PORT
    (IPPROTO_IP, 33): "int",   # IP_MULTICAST_TTL
    (IPPROTO_IP, 34): "int",   # IP_MULTICAST_LOOP
    (IPPROTO_IPV6, 16): "int",  # IPV6_UNICAST_HOPS
    (IPPROTO_IPV6, 18): "int",  # IPV6_MULTICAST_HOPS
    (IPPROTO_IPV6, 19): "int",  # IPV6_MULTICAST_LOOP
    (IPPROTO_IPV6, 23): "int",  # IPV6_MTU_DISCOVER
    (IPPROTO_IPV6, 24): "get",  # IPV6_MTU
    (IPPROTO_IPV6, 26): "int",  # IPV6_V6ONLY
    (IPPROTO_IPV6, 67): "int",  # IPV6_TCLASS
    (IPPROTO_UDP, 1): "int",   # UDP_CORK
}

SIOCINQ, SIOCOUTQ, SIOCATMARK = 0x541B, 0x5411, 0x8905
SIOCGIFCONF = 0x8912
# SIOCGIF* queries whose argument is a plain 40-byte struct ifreq
IFREQ_GETS = (0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891B, 0x891D, 0x8921, 0x8927,
              0x8933, 0x8942)
PRIVILEGED_PORTS = 1024  # net.ipv4.ip_unprivileged_port_start


def _oserr(e):
    return SyscallError(e.errno if isinstance(e, OSError) and e.errno else E.EINVAL)


class HostHandle:
    """A host socket the sentry owns, behind a handle that knows how to make
    it again: (family, type, protocol). Checkpointing keeps only that; a
    restored handle is a fresh, unbound host socket (`reopen`): a live
    connection or a listening port cannot be carried across, so a restored
    host-backed socket comes back reset (its next operation sees the
    connection gone)."""

    def __init__(self, family, stype, proto, sock=None):
        self.family, self.type, self.proto = family, stype, proto
        if sock is None:
            sock = socket.socket(family, stype | socket.SOCK_CLOEXEC, proto)
        sock.setblocking(False)
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()

    def reopen(self):
        self.close()
        self.__init__(self.family, self.type, self.proto)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __getstate__(self):
        return {"family": self.family, "type": self.type, "proto": self.proto}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.sock = None
        self.reopen()


def host_sockets(kernel):
    return kernel_state(kernel, "host_sockets", dict)


class HostSocket(File):
    """A sandbox TCP or UDP socket whose network is the host's.

    The state that matters (bound address, connection, queues, options)
    lives in the host socket; the sentry keeps only what must not reach the
    host: SO_RCVTIMEO/SO_SNDTIMEO (the host socket never blocks), a lingering
    close's timeout (a host close must not block the sentry) and the sandbox
    uid shown in /proc/net. Cannot be checkpointed live: see HostHandle."""

    def __init__(self, kernel, family, stype, proto, flags=0, uid=0, sock=None):
        inode = Inode(S_IFSOCK | 0o777)
        inode.fs = U._sockfs
        super().__init__(inode, O_RDWR | (flags & O_NONBLOCK))
        self.kernel = kernel
        self.family = family
        self.type = stype
        self.protocol = proto or (IPPROTO_TCP if stype == U.SOCK_STREAM else IPPROTO_UDP)
        self.proto = "tcp" if stype == U.SOCK_STREAM else "udp"
        self.uid = uid
        self.rcvtimeo = self.sndtimeo = 0
        self.linger = None      # struct linger the app set with a timeout, kept here
        self.peer_addr = None   # for accepted sockets: the address accept() reports
        self.dead = False
        reg = host_sockets(kernel)
        if len(reg) >= max_host_sockets():
            raise SyscallError(E.ENFILE)
        try:
            self.handle = HostHandle(family, stype, self.protocol, sock)
        except OSError as e:
            raise _oserr(e)
        self.queue = kernel.host_fd_watch(self.handle.fileno())
        reg[id(self)] = self

    @property
    def sock(self):
        s = self.handle.sock
        if s is None:  # closed under a task that was waiting on it
            raise SyscallError(E.EBADF)
        return s

    # --- sockaddr -------------------------------------------------------------
    def parse_name(self, raw, unspec_ok=False):
        """A sockaddr from the app -> a Python address tuple of numeric text,
        checked as inet_bind/inet_stream_connect/udp_sendmsg check it;
        AF_UNSPEC gives None when unspec_ok."""
        raw = bytes(raw)
        if len(raw) < 2:
            raise SyscallError(E.EINVAL)
        fam = int.from_bytes(raw[:2], "little")
        if fam == AF_UNSPEC and unspec_ok:
            return None
        port = struct.unpack(">H", raw[2:4])[0] if len(raw) >= 4 else 0
        if self.family == AF_INET:
            if len(raw) < 16:
                raise SyscallError(E.EINVAL)
            if fam != AF_INET:
                raise SyscallError(E.EAFNOSUPPORT)
            return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
        if fam != AF_INET6:
            raise SyscallError(E.EAFNOSUPPORT if fam != AF_INET or len(raw) >= 16 else E.EINVAL)
        if len(raw) < 24:
            raise SyscallError(E.EINVAL)
        flow = struct.unpack(">I", raw[4:8])[0] & 0xFFFFF
        scope = struct.unpack("<I", raw[24:28])[0] if len(raw) >= 28 else 0
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port, flow, scope

    def pack_name(self, addr):
        """A Python address tuple from the host -> the sockaddr the app gets."""
        if not addr:
            return struct.pack("<H", self.family)
        if self.family == AF_INET:
            return (struct.pack("<H", AF_INET) + struct.pack(">H", addr[1])
                    + socket.inet_pton(socket.AF_INET, addr[0]) + bytes(8))
        host = addr[0].split("%", 1)[0]
        flow = addr[2] if len(addr) > 2 else 0
        scope = addr[3] if len(addr) > 3 else 0
        return (struct.pack("<H", AF_INET6) + struct.pack(">HI", addr[1], flow)
                + socket.inet_pton(socket.AF_INET6, host) + struct.pack("<I", scope))

    def sockname(self):
        try:
            return self.pack_name(self.sock.getsockname())
        except OSError as e:
            raise _oserr(e)

    def peername(self):
        try:
            return self.pack_name(self.sock.getpeername())
        except OSError as e:
            raise _oserr(e)

    def accepted_name(self):
        return self.pack_name(self.peer_addr)

    # --- blocking -------------------------------------------------------------
    def _nonblock(self, flags=0):
        return self.flags & O_NONBLOCK or flags & MSG_DONTWAIT

    def _wait(self, t, timeo):
        """Park until the host fd's next edge."""
        sock_wait(t, [self.queue], timeo)

    # --- naming and connections ----------------------------------------------
    def bind(self, t, raw):
        addr = self.parse_name(raw, unspec_ok=True)
        if addr is None:  # AF_UNSPEC: INADDR_ANY only, for old programs (inet_bind)
            if self.family != AF_INET or len(raw) < 16 or bytes(raw[4:8]) != bytes(4):
                raise SyscallError(E.EAFNOSUPPORT if len(raw) >= 16 else E.EINVAL)
            addr = ("0.0.0.0", struct.unpack(">H", bytes(raw[2:4]))[0])
        if 0 < addr[1] < PRIVILEGED_PORTS and not t.tg.creds.capable(CAP_NET_BIND_SERVICE):
            raise SyscallError(E.EACCES)
        try:
            self.sock.bind(addr)
        except (OSError, OverflowError) as e:
            raise _oserr(e)
        return 0

    def listen(self, t, backlog):
        if self.type != U.SOCK_STREAM:
            raise SyscallError(E.EOPNOTSUPP)
        try:
            self.sock.listen(min(max(backlog, 0), U.SOMAXCONN))
        except OSError as e:
            raise _oserr(e)
        return 0

    def accept(self, t, flags):
        if self.type != U.SOCK_STREAM:
            raise SyscallError(E.EOPNOTSUPP)
        while True:
            try:
                ns, addr = self.sock.accept()
                break
            except BlockingIOError:
                if self._nonblock():
                    raise SyscallError(E.EAGAIN)
                self._wait(t, self.rcvtimeo)
            except OSError as e:
                raise _oserr(e)
        try:
            new = HostSocket(self.kernel, self.family, self.type, self.protocol, flags,
                             t.tg.creds.euid, sock=ns)
        except SyscallError:
            ns.close()
            raise
        new.peer_addr = addr
        new.rcvtimeo, new.sndtimeo = self.rcvtimeo, self.sndtimeo
        return new

    def connect(self, t, raw):
        addr = self.parse_name(raw, unspec_ok=True)
        if addr is None:
            try:
                hostsys.connect_unspec(self.sock.fileno())
            except OSError as e:
                raise _oserr(e)
            return 0
        try:
            err = self.sock.connect_ex(addr)
        except (OSError, OverflowError) as e:
            raise _oserr(e)
        if t.sys_state == "connecting" and err in (0, E.EISCONN):
            return 0  # the blocking connect we waited for is done
        if err in (E.EINPROGRESS, E.EALREADY) and self.type == U.SOCK_STREAM and not self._nonblock():
            # a blocking connect: wait for the handshake, then ask the host
            # again (as __inet_stream_connect, that also ends a failed attempt)
            t.sys_state = "connecting"
            try:
                self._wait(t, self.sndtimeo)
            except SyscallError as e:
                raise SyscallError(E.EINPROGRESS if e.errno == E.EAGAIN else e.errno)
        if err:
            raise SyscallError(err)
        return 0

    def shutdown(self, how):
        if how not in (0, 1, 2):
            raise SyscallError(E.EINVAL)
        try:
            self.sock.shutdown(how)
        except OSError as e:
            raise _oserr(e)
        return 0

    # --- data ------------------------------------------------------------------
    def sendmsg(self, t, data, fds, cred, addr, flags):
        """Copy app data to the host socket; a blocking stream send goes on
        until all is sent (progress in t.sys_state), as tcp_sendmsg."""
        if fds or cred:
            raise SyscallError(E.EINVAL)  # no SCM_RIGHTS/SCM_CREDENTIALS on inet sockets
        if addr is not None and self.type == U.SOCK_STREAM:
            addr = None  # TCP ignores the address (unless TCP_FASTOPEN, not passed)
        hflags = (flags & SEND_PASS) | MSG_DONTWAIT | MSG_NOSIGNAL
        sent = t.sys_state or 0
        view = memoryview(data)
        while True:
            try:
                if addr is None:
                    n = self.sock.send(view[sent:], hflags)
                else:
                    n = self.sock.sendto(view[sent:], hflags, addr)
            except BlockingIOError:
                if self._nonblock(flags):
                    if sent:
                        return sent
                    raise SyscallError(E.EAGAIN)
                t.sys_state = sent
                try:
                    self._wait(t, self.sndtimeo)
                except SyscallError:
                    if sent:
                        return sent
                    raise
                continue  # not reached: _wait raises
            except (OSError, OverflowError) as e:
                if sent:
                    return sent
                if isinstance(e, OSError) and e.errno == E.EPIPE and not flags & MSG_NOSIGNAL:
                    t.kernel.send_sigpipe(t)
                raise _oserr(e)
            sent += n
            if self.type != U.SOCK_STREAM or sent >= len(data):
                return sent

    def recvmsg(self, t, n, flags):
        """-> (data, fds, cred, addr, msg_flags, length to return), as unix.py's."""
        if flags & MSG_ERRQUEUE:
            raise SyscallError(E.EAGAIN)  # no IP_RECVERR: the error queue stays empty
        hflags = (flags & RECV_PASS) | MSG_DONTWAIT
        got = t.sys_state or b""  # MSG_WAITALL progress
        waitall = flags & MSG_WAITALL and self.type == U.SOCK_STREAM and not flags & MSG_PEEK
        while True:
            buf = bytearray(min(n - len(got), RECV_CHUNK))
            try:
                nbytes, _, mflags, addr = self.sock.recvmsg_into([buf], 0, hflags)
            except BlockingIOError:
                if got and self._nonblock(flags):
                    return got, None, None, None, 0, len(got)
                if self._nonblock(flags):
                    raise SyscallError(E.EAGAIN)
                t.sys_state = got
                try:
                    self._wait(t, self.rcvtimeo)
                except SyscallError:
                    if got:
                        return got, None, None, None, 0, len(got)
                    raise
                continue  # not reached
            except OSError as e:
                if got:
                    return got, None, None, None, 0, len(got)
                raise _oserr(e)
            data = got + bytes(buf[:min(nbytes, len(buf))])
            if waitall and nbytes and len(data) < n:
                got = data
                continue
            ret = nbytes if self.type != U.SOCK_STREAM else len(data)
            return data, None, None, addr or None, mflags & MSG_OUT, ret

    def read(self, t, n):
        return self.recvmsg(t, n, 0)[0]

    def write(self, t, data):
        return self.sendmsg(t, data, None, None, None, 0)

    # --- options -----------------------------------------------------------------
    def getsockopt(self, t, level, name, n):
        """-> the bytes to copy out (at most n)."""
        if level == SOL_SOCKET and name in (SO_RCVTIMEO, SO_SNDTIMEO):
            ns = self.rcvtimeo if name == SO_RCVTIMEO else self.sndtimeo
            return struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000)[:n]
        if level == SOL_SOCKET and name == SO_PEERCRED:
            return struct.pack("<iII", 0, 0xFFFFFFFF, 0xFFFFFFFF)[:n]  # inet: no peer creds
        if level == SOL_SOCKET and name == SO_LINGER and self.linger is not None:
            return self.linger[:n]
        if (level, name) not in SOCKOPTS:
            raise SyscallError(E.ENOPROTOOPT)
        if n == 0:
            return b""
        try:
            return self.sock.getsockopt(level, name, min(n, 1024))
        except OSError as e:
            raise _oserr(e)

    def setsockopt(self, t, level, name, val, n):
        if n < 0:
            raise SyscallError(E.EINVAL)
        if level == SOL_SOCKET and name in (SO_RCVTIMEO, SO_SNDTIMEO):
            if n < 16:
                raise SyscallError(E.EINVAL)
            sec, usec = struct.unpack("<qq", t.mm.read(val, 16))
            if usec < 0 or usec >= 10**6:
                raise SyscallError(E.EDOM)
            ns = 0 if sec < 0 else min(sec, 2**40) * 10**9 + usec * 1000
            if name == SO_RCVTIMEO:
                self.rcvtimeo = ns
            else:
                self.sndtimeo = ns
            return 0
        kind = SOCKOPTS.get((level, name))
        if kind is None or kind == "get":
            raise SyscallError(E.ENOPROTOOPT)
        if kind == "linger":
            if n < 8:
                raise SyscallError(E.EINVAL)
            raw = t.mm.read(val, 8)
            onoff, secs = struct.unpack("<ii", raw)
            if onoff and secs > 0:
                # a lingering close would block the sentry's host close: keep it
                # here; the host socket closes gracefully in the background
                self.linger = raw
                value = struct.pack("<ii", 0, 0)
            else:
                self.linger = None
                value = struct.pack("<ii", 1 if onoff else 0, 0)
        elif kind == "cc":
            cc = t.mm.read(val, min(n, 16)).split(b"\0", 1)[0] if n > 0 else b""
            if cc not in TCP_CONGESTION_OK:
                raise SyscallError(E.ENOENT)
            value = cc
        else:
            if n >= 4:
                v = struct.unpack("<i", t.mm.read(val, 4))[0]
            elif n >= 1 and level == IPPROTO_IP:
                v = t.mm.read(val, 1)[0]
            else:
                raise SyscallError(E.EINVAL)
            value = v
        try:
            self.sock.setsockopt(level, name, value)
        except (OSError, OverflowError) as e:
            raise _oserr(e)
        return 0

    # --- File ------------------------------------------------------------------
    def poll(self):
        if self.handle.sock is None:
            return POLLHUP
        p = select.poll()
        p.register(self.handle.fileno(), select.POLLIN | select.POLLPRI | select.POLLOUT | select.POLLRDHUP)
        r = p.poll(0)
        return r[0][1] if r else 0

    def wait_queue(self, events=0):
        return self.queue

    def ioctl(self, t, req, arg):
        fd = self.sock.fileno()
        if req in (SIOCINQ, SIOCOUTQ, SIOCATMARK):
            try:
                t.mm.write(arg, struct.pack("<i", hostsys.int_ioctl(fd, req)))
            except OSError as e:
                raise _oserr(e)
            return 0
        return _netdev_ioctl(fd, t, req, arg)

    def release(self):
        self.dead = True
        host_sockets(self.kernel).pop(id(self), None)
        if self.handle.sock is not None:
            self.kernel.host_fd_unwatch(self.handle.fileno())
            self.queue.notify()
            self.handle.close()

    def __getstate__(self):
        st = dict(self.__dict__)
        st["queue"] = None  # re-made by the kernel's host_fd_watch on restore
        return st


def _netdev_ioctl(fd, t, req, arg):
    """SIOCGIF* queries of the host's interfaces, asked on host socket fd."""
    try:
        if req in IFREQ_GETS:
            ifr = bytearray(t.mm.read(arg, hostsys.IFREQ_SIZE))
            ifr[15] = 0  # the name is at most IFNAMSIZ-1 bytes, as dev_ioctl makes it
            t.mm.write(arg, hostsys.ifreq_ioctl(fd, req, bytes(ifr)))
            return 0
        if req == SIOCGIFCONF:
            ln, buf = struct.unpack("<i4xQ", t.mm.read(arg, 16))
            ents = hostsys.ifconf(fd)
            if buf:
                if ln < 0:
                    raise SyscallError(E.EINVAL)
                ents = ents[:ln // hostsys.IFREQ_SIZE * hostsys.IFREQ_SIZE]
                if ents:
                    t.mm.write(buf, ents)
            t.mm.write(arg, struct.pack("<i", len(ents)))
            return 0
    except OSError as e:
        raise _oserr(e)
    raise SyscallError(E.ENOTTY)


LO_IOCTLS = (0x8910, 0x8912, 0x8913, 0x8915, 0x8921, 0x8933)  # what inet.py answers for `lo`


def netdev_ioctl(sock, t, req, arg):
    """SIOCGIF* on a socket of another family (glibc's if_indextoname asks an
    AF_UNIX one): dev_ioctl answers them on any socket. With --network host
    the host's interfaces, through one query socket per kernel; otherwise
    the loopback's, as inet.py answers them."""
    k = t.kernel
    if k.network == "host":
        try:
            q = kernel_state(k, "netdev_query", lambda: HostHandle(AF_INET, socket.SOCK_DGRAM, 0))
        except OSError as e:
            raise _oserr(e)
        return _netdev_ioctl(q.fileno(), t, req, arg)
    if req in LO_IOCTLS:
        return I.InetSocket.ioctl(sock, t, req, arg)
    raise SyscallError(E.ENOTTY)


def max_host_sockets():
    """At most this many host sockets at once (ENFILE beyond): the sentry's
    own fds (memory file, gofer files, stdio) keep a reserve."""
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(64, soft - 256)


def new_socket(t, family, base, proto, flags):
    """socket(AF_INET/AF_INET6, ...) with --network host."""
    uid = t.tg.creds.euid
    if base == U.SOCK_STREAM:
        if proto not in (0, IPPROTO_TCP):
            raise SyscallError(E.EPROTONOSUPPORT)
    elif base == U.SOCK_DGRAM:
        if proto not in (0, IPPROTO_UDP):
            raise SyscallError(E.EPROTONOSUPPORT if proto not in (1, 58) else E.EACCES)
    elif base == U.SOCK_RAW:
        raise SyscallError(E.EPERM)
    else:
        raise SyscallError(E.ESOCKTNOSUPPORT)
    return HostSocket(t.kernel, family, base, proto, flags, uid)


# --- /proc/net: the sandbox's own sockets, read from their host sockets --------
def _hex(addr, v6):
    if not v6:
        return "%08X" % int.from_bytes(socket.inet_pton(socket.AF_INET, addr[0]), "little")
    raw = socket.inet_pton(socket.AF_INET6, addr[0].split("%", 1)[0])
    return "".join("%08X" % int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4))


def _row(s, v6):
    """(local, remote, state, tx, rx) of one host socket, or None."""
    sock = s.sock
    try:
        local = sock.getsockname()
    except OSError:
        return None
    try:
        remote = sock.getpeername()
    except OSError:
        remote = ("::", 0, 0, 0) if v6 else ("0.0.0.0", 0)
    fd = sock.fileno()
    if s.proto == "tcp":
        try:
            state = sock.getsockopt(IPPROTO_TCP, 11, 1)[0]  # TCP_INFO: tcpi_state
        except OSError:
            return None
        if state == I.TCP_CLOSE:
            return None
    else:
        state = I.TCP_ESTABLISHED if remote[1] else I.TCP_CLOSE
    try:
        rx = hostsys.int_ioctl(fd, SIOCINQ)
        tx = hostsys.int_ioctl(fd, SIOCOUTQ)
    except OSError:
        rx = tx = 0
    return local, remote, state, tx, rx


def proc_net(kernel, proto, v6):
    """/proc/net/{tcp,tcp6,udp,udp6} in host mode: the sandbox's sockets only."""
    fam = AF_INET6 if v6 else AF_INET
    rows = []
    for s in list(host_sockets(kernel).values()):
        if s.proto != proto or s.family != fam or s.dead:
            continue
        r = _row(s, v6)
        if r is not None:
            rows.append((r, s))
    rows.sort(key=lambda x: x[0][0][1])
    return I.proc_net_table(proto, [
        (_hex(local, v6), local[1], _hex(remote, v6), remote[1], state, tx, rx, s.uid, s.inode.ino)
        for (local, remote, state, tx, rx), s in rows])


# --- the host's interfaces: NETLINK_ROUTE and /proc/net/dev ----------------------
RTM_NEWLINK, RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 16, 18, 22, 26
IFLA_IFNAME, IFLA_STATS, IFLA_STATS64 = 3, 7, 23
DUMP_FAMILIES = (AF_UNSPEC, AF_INET, AF_INET6, 17)  # 17: AF_PACKET (getifaddrs' link dump)
NLMSG_GOODSIZE = 3776  # SKB_WITH_OVERHEAD(PAGE_SIZE) on x86-64
DUMP_BODY = {RTM_GETLINK: 16, RTM_GETADDR: 8, RTM_GETROUTE: 12}  # ifinfomsg, ifaddrmsg, rtmsg


def _messages(blob):
    off = 0
    while off + 16 <= len(blob):
        ln, kind = struct.unpack_from("<IH", blob, off)
        if ln < 16 or off + ln > len(blob):
            return
        yield kind, blob[off:off + ln]
        off += (ln + 3) & ~3


def _attrs(msg, start):
    off = start
    while off + 4 <= len(msg):
        ln, kind = struct.unpack_from("<HH", msg, off)
        if ln < 4 or off + ln > len(msg):
            return
        yield kind & 0x3FFF, msg[off + 4:off + ln]
        off += (ln + 3) & ~3


def host_dump(kind, family):
    """The host's answer to a dump request, built here (never the app's bytes)."""
    body = bytes([family]) + bytes(DUMP_BODY[kind] - 1)
    try:
        return hostsys.rtnl_dump(kind, body)
    except OSError:
        return b""


def host_links():
    """[(ifindex, name, msg)] of the host's interfaces."""
    out = []
    for kind, msg in _messages(host_dump(RTM_GETLINK, AF_UNSPEC)):
        if kind != RTM_NEWLINK or len(msg) < 32:
            continue
        idx = struct.unpack_from("<i", msg, 20)[0]
        name = b""
        for a, data in _attrs(msg, 32):
            if a == IFLA_IFNAME:
                name = data.split(b"\0", 1)[0]
        out.append((idx, name, msg))
    return out


class HostNetlinkSocket(I.NetlinkSocket):
    """NETLINK_ROUTE with --network host: link, address and route dumps are
    the host's, fetched with the sentry's own request and re-addressed to
    this socket (sequence number, port id). Everything else answers as in
    network=none."""

    def _answer(self, kind, nflags, seq, body, hdr):
        if kind < 16 or not nflags & I.NLM_F_REQUEST:
            return []
        pid = self.portid
        fam = body[0] if body else AF_UNSPEC
        if kind in DUMP_BODY and nflags & I.NLM_F_DUMP == I.NLM_F_DUMP:
            # one datagram per NLMSG_GOODSIZE of messages, as netlink_dump
            # fills skbs: readers use page-sized buffers
            out, cur = [], bytearray()
            if fam in DUMP_FAMILIES:
                for k, msg in _messages(host_dump(kind, fam if kind != RTM_GETLINK else AF_UNSPEC)):
                    ln, _, fl = struct.unpack_from("<IHH", msg)
                    m = I.NLMSG.pack(ln, k, fl | I.NLM_F_MULTI, seq, pid) + msg[16:] + bytes(-ln % 4)
                    if cur and len(cur) + len(m) > NLMSG_GOODSIZE:
                        out.append(bytes(cur))
                        cur = bytearray()
                    cur += m
            if cur:
                out.append(bytes(cur))
            out.append(I._nlmsg(I.NLMSG_DONE, I.NLM_F_MULTI, seq, pid, struct.pack("<i", 0)))
            return out
        if kind == RTM_GETLINK:
            idx = struct.unpack("<i", body[4:8])[0] if len(body) >= 8 else 0
            name = None
            for a, data in _attrs(body, 16):
                if a == IFLA_IFNAME:
                    name = data.split(b"\0", 1)[0]
            for i, nm, msg in host_links():
                if (idx and i == idx) or (not idx and name is not None and nm == name):
                    r = [I._nlmsg(RTM_NEWLINK, 0, seq, pid, msg[16:])]
                    if nflags & I.NLM_F_ACK:
                        r.append(I._nlmsg(I.NLMSG_ERROR, 0, seq, pid, struct.pack("<i", 0) + hdr))
                    return r
            return [I._nlmsg(I.NLMSG_ERROR, 0, seq, pid, struct.pack("<i", -E.ENODEV) + hdr)]
        return [I._nlmsg(I.NLMSG_ERROR, 0, seq, pid, struct.pack("<i", -E.EOPNOTSUPP) + hdr)]


def new_netlink(t, base, proto, flags):
    if base not in (U.SOCK_RAW, U.SOCK_DGRAM):
        raise SyscallError(E.ESOCKTNOSUPPORT)
    if proto != I.NETLINK_ROUTE:
        raise SyscallError(E.EPROTONOSUPPORT)
    return HostNetlinkSocket(t.kernel, base, flags)


def proc_net_dev(kernel):
    """/proc/net/dev with the host's interfaces and counters (IFLA_STATS64),
    laid out as net/core/net-procfs.c dev_seq_printf_stats."""
    out = ["Inter-|   Receive                                                |  Transmit",
           " face |bytes    packets errs drop fifo frame compressed multicast|"
           "bytes    packets errs drop fifo colls carrier compressed"]
    for _, name, msg in host_links():
        st = None
        for a, data in _attrs(msg, 32):
            if a == IFLA_STATS64 and len(data) >= 23 * 8:
                st = struct.unpack_from("<23Q", data)
            elif a == IFLA_STATS and len(data) >= 23 * 4 and st is None:
                st = struct.unpack_from("<23I", data)
        st = st or (0,) * 23
        (rxp, txp, rxb, txb, rxe, txe, rxd, txd, mc, coll, rxlen, rxover, rxcrc, rxframe,
         rxfifo, rxmiss, txab, txcar, txfifo, txhb, txwin, rxc, txc) = st
        out.append("%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d" % (
            name.decode(errors="replace"), rxb, rxp, rxe, rxd + rxmiss, rxfifo,
            rxlen + rxover + rxcrc + rxframe, rxc, mc, txb, txp, txe, txd, txfifo, coll,
            txcar + txab + txwin + txhb, txc))
    return "\n".join(out) + "\n"

