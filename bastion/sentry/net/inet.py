"""AF_INET and AF_INET6 on the sandbox's own loopback (network=none), and a
NETLINK_ROUTE socket that describes it. No host socket is ever made.

TCP connections reuse the AF_UNIX stream machinery (net/unix.py): a
TcpSocket *is* a UnixSocket whose naming (bind, connect, listen) speaks
sockaddr_in/sockaddr_in6 and whose data path is the unix byte stream, so
blocking, MSG_* flags, SO_SNDBUF flow control, EOF, ECONNRESET on close with
unread data and poll/epoll readiness behave the same way. UDP sockets queue
one Message per datagram at the receiver, as unix datagram sockets do.

Addresses are kept as 16-byte IPv6 addresses (IPv4 ones v4-mapped), so a
dual-stack AF_INET6 socket and an AF_INET one share one port table, as
Linux's inet hash tables do; only packing a sockaddr looks at the family.
The only interface is `lo`: 127.0.0.0/8 and ::1. Other destinations give
ENETUNREACH, other local addresses EADDRNOTAVAIL.
"""

import os
import struct

from ...abi import errno as E
from ...abi.caps import CAP_NET_BIND_SERVICE
from ...abi.errno import SyscallError
from ..fd import POLLIN, POLLRDNORM
from ..vfs.inode import O_NONBLOCK
from . import unix as U
from . import kernel_state

AF_UNSPEC, AF_INET, AF_INET6, AF_NETLINK = 0, 2, 10, 16
IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 0, 6, 17, 41
SOL_SOCKET = 1
SO_REUSEADDR, SO_REUSEPORT, SO_LINGER = 2, 15, 13
TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT = 1, 2, 4, 5, 6, 7
TCP_LINGER2, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION = 8, 11, 12, 13
IP_TOS, IP_TTL, IP_MTU_DISCOVER, IP_MTU, IP_MULTICAST_TTL, IP_MULTICAST_LOOP = 1, 2, 10, 14, 33, 34
IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_V6ONLY, IPV6_MTU = 16, 18, 19, 26, 24
EPHEMERAL = (32768, 60999)   # net.ipv4.ip_local_port_range
LO_MTU = 65536
UDP_TRUESIZE = 768           # per-datagram rmem charge (skb overhead), roughly as Linux
UDP_MAX = {AF_INET: 65507, AF_INET6: 65527}

V4MAPPED = bytes(10) + b"\xff\xff"
ANY6 = bytes(16)
ANY4 = V4MAPPED + bytes(4)
LOOP6 = bytes(15) + b"\x01"
LOOP4 = V4MAPPED + bytes([127, 0, 0, 1])

# TCP states as /proc/net/tcp prints them (include/net/tcp_states.h)
TCP_ESTABLISHED, TCP_FIN_WAIT2, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LISTEN = 1, 5, 7, 8, 10


def is_v4(ip):
    return ip[:12] == V4MAPPED


def is_any(ip):
    return ip == ANY4 or ip == ANY6


def _randint(lo, hi):
    """A random integer in [lo, hi] (the random module would cost every
    sandbox's start a few ms of imports)."""
    return lo + int.from_bytes(os.urandom(4), "little") % (hi - lo + 1)


class Stack:
    """The port tables: (proto, port) -> sockets bound there (listeners,
    connected and accepted sockets alike, as Linux's bind buckets)."""

    def __init__(self):
        self.ports = {}
        self.rr = 0

    def add(self, s):
        self.ports.setdefault((s.proto, s.lport), []).append(s)

    def remove(self, s):
        lst = self.ports.get((s.proto, s.lport))
        if lst and s in lst:
            lst.remove(s)
            if not lst:
                del self.ports[(s.proto, s.lport)]

    def sockets(self):
        for lst in list(self.ports.values()):
            yield from lst


def stack(kernel):
    return kernel_state(kernel, "inet_stack", Stack)


def ip_text(ip):
    import socket
    if is_v4(ip):
        return socket.inet_ntop(socket.AF_INET, ip[12:])
    return socket.inet_ntop(socket.AF_INET6, ip)


class InetSocket(U.UnixSocket):
    """What TCP and UDP share: family, local/remote address, the bind rules."""

    proto = None

    def __init__(self, kernel, family, stype, flags=0, uid=0):
        super().__init__(kernel, stype, flags)
        self.family = family
        self.protocol = IPPROTO_TCP if stype == U.SOCK_STREAM else IPPROTO_UDP
        self.laddr = ANY4 if family == AF_INET else ANY6
        self.lport = 0
        self.raddr, self.rport = None, 0
        self.v6only = False
        self.uid = uid
        self.bound_by_user = False
        self.ipopts = {}        # (level, name) -> raw bytes, read back as set
        self.stack = stack(kernel)

    # --- sockaddr ---------------------------------------------------------
    def pack_name(self, addr):
        if addr is None:
            return b""
        ip, port = addr
        if self.family == AF_INET:
            return struct.pack("<H", AF_INET) + struct.pack(">H", port) + ip[12:] + bytes(8)
        return struct.pack("<H", AF_INET6) + struct.pack(">HI", port, 0) + ip + bytes(4)

    def parse_name(self, raw, unspec_ok=False):
        """sockaddr -> (ip16, port); AF_UNSPEC gives None when unspec_ok."""
        if len(raw) < 2:
            raise SyscallError(E.EINVAL)
        fam = int.from_bytes(raw[:2], "little")
        if self.family == AF_INET:
            if len(raw) < 16:
                raise SyscallError(E.EINVAL)
            if fam == AF_UNSPEC and unspec_ok:
                return None
            if fam != AF_INET:
                raise SyscallError(E.EAFNOSUPPORT)
            return V4MAPPED + raw[4:8], struct.unpack(">H", raw[2:4])[0]
        if fam == AF_UNSPEC and unspec_ok:
            return None
        if fam != AF_INET6:
            raise SyscallError(E.EAFNOSUPPORT if fam != AF_INET or len(raw) >= 16 else E.EINVAL)
        if len(raw) < 24:
            raise SyscallError(E.EINVAL)
        return bytes(raw[8:24]), struct.unpack(">H", raw[2:4])[0]

    def sockname(self):
        return self.pack_name((self.laddr, self.lport))

    def peername(self):
        if self.raddr is None or not self._connected():
            raise SyscallError(E.ENOTCONN)
        return self.pack_name((self.raddr, self.rport))

    def _connected(self):
        return self.state == U.CONNECTED

    # --- addresses and ports ----------------------------------------------
    def _accepts4(self):
        return self.family == AF_INET or (not self.v6only and (self.laddr == ANY6 or is_v4(self.laddr)))

    def _accepts6(self):
        return self.family == AF_INET6 and not is_v4(self.laddr)

    def covers(self, dst):
        """Would a packet to dst reach this bound socket's address?"""
        if is_v4(dst):
            return self._accepts4() and (is_any(self.laddr) or self.laddr == dst)
        return self._accepts6() and (self.laddr == ANY6 or self.laddr == dst)

    def overlaps(self, o):
        if self._accepts4() and o._accepts4():
            if is_any(self.laddr) or is_any(o.laddr) or self.laddr == o.laddr:
                return True
        if self._accepts6() and o._accepts6():
            if self.laddr == ANY6 or o.laddr == ANY6 or self.laddr == o.laddr:
                return True
        return False

    def _reuse_ok(self, o):
        if self.opts.get(SO_REUSEPORT) and o.opts.get(SO_REUSEPORT) and self.uid == o.uid:
            return True
        if self.opts.get(SO_REUSEADDR) and o.opts.get(SO_REUSEADDR):
            return self.proto == "udp" or o.state != U.LISTEN
        return False

    def conflicts(self, port):
        for o in self.stack.ports.get((self.proto, port), ()):
            if o is not self and self.overlaps(o) and not self._reuse_ok(o):
                return True
        return False

    def _check_local(self, ip):
        if is_v4(ip):
            if self.family == AF_INET6 and self.v6only:
                raise SyscallError(E.EADDRNOTAVAIL)
            if not (ip == ANY4 or ip[12] == 127):
                raise SyscallError(E.EADDRNOTAVAIL)
        elif ip not in (ANY6, LOOP6):
            raise SyscallError(E.EADDRNOTAVAIL)

    def _pick_port(self):
        lo, hi = EPHEMERAL
        start = _randint(lo, hi)
        for i in range(hi - lo + 1):
            port = lo + (start - lo + i) % (hi - lo + 1)
            if (self.proto, port) not in self.stack.ports:
                return port
        for i in range(hi - lo + 1):  # every port has users: share where the rules allow
            port = lo + (start - lo + i) % (hi - lo + 1)
            if not self.conflicts(port):
                return port
        raise SyscallError(E.EADDRINUSE)

    def bind(self, t, raw):
        addr = self.parse_name(raw, unspec_ok=True)
        if addr is None:  # AF_UNSPEC: only INADDR_ANY, for old programs (inet_bind)
            if raw[4:8] != bytes(4):
                raise SyscallError(E.EAFNOSUPPORT)
            addr = (ANY4, struct.unpack(">H", raw[2:4])[0])
        ip, port = addr
        self._check_local(ip)
        if self.lport != 0:
            raise SyscallError(E.EINVAL)
        if 0 < port < 1024 and not t.tg.creds.capable(CAP_NET_BIND_SERVICE):
            raise SyscallError(E.EACCES)
        old = self.laddr
        self.laddr = ip
        if port == 0:
            port = self._pick_port()
        elif self.conflicts(port):
            self.laddr = old
            raise SyscallError(E.EADDRINUSE)
        self.lport = port
        self.bound_by_user = True
        self.stack.add(self)
        return 0

    def autobind(self):
        if self.lport == 0:
            self.lport = self._pick_port()
            self.stack.add(self)

    def _unbind(self):
        if self.lport:
            self.stack.remove(self)
            self.lport = 0
            self.laddr = ANY4 if self.family == AF_INET else ANY6

    def route(self, ip):
        """The loopback destination for ip (0.0.0.0 and :: mean this host),
        or ENETUNREACH as network=none has no other interface."""
        if is_v4(ip):
            if self.family == AF_INET6 and self.v6only:
                raise SyscallError(E.ENETUNREACH)
            if ip == ANY4:
                return LOOP4
            if ip[12] == 127:
                return ip
            raise SyscallError(E.ENETUNREACH)
        if ip == ANY6:
            return LOOP6
        if ip == LOOP6:
            return ip
        raise SyscallError(E.ENETUNREACH)

    def source_for(self, dst):
        if not is_any(self.laddr):
            return self.laddr
        return LOOP4 if is_v4(dst) else LOOP6

    def find(self, dst, port, pred):
        """The bound socket a packet to (dst, port) is delivered to: exact
        address beats wildcard; a SO_REUSEPORT group shares by turns."""
        best, best_score = [], -1
        for s in self.stack.ports.get((self.proto, port), ()):
            if not pred(s) or not s.covers(dst):
                continue
            score = 2 if s.laddr == dst else 1
            if s.family == AF_INET:
                score += 1  # a v4 socket beats a dual-stack one for v4 packets
            if score > best_score:
                best, best_score = [s], score
            elif score == best_score:
                best.append(s)
        if not best:
            return None
        self.stack.rr += 1
        return best[self.stack.rr % len(best)] if best[0].opts.get(SO_REUSEPORT) else best[-1]

    def release(self):
        self._unbind()
        super().release()

    # --- options -------------------------------------------------------------
    def _level_ok(self, level):
        return level == IPPROTO_IP or (level == IPPROTO_IPV6 and self.family == AF_INET6) or \
            (level == IPPROTO_TCP and self.proto == "tcp") or (level == IPPROTO_UDP and self.proto == "udp")

    def getsockopt_ip(self, level, name):
        """-> int or bytes for the IP, IPV6, TCP and UDP levels."""
        if not self._level_ok(level):  # ip_getsockopt / ipv6_getsockopt
            raise SyscallError(E.EOPNOTSUPP if self.family == AF_INET else E.ENOPROTOOPT)
        if (level, name) in self.ipopts:
            return self.ipopts[(level, name)]
        if level == IPPROTO_IPV6 and name == IPV6_V6ONLY:
            return int(self.v6only)
        if level == IPPROTO_IP:
            if name == IP_MTU or (name == IPV6_MTU and level == IPPROTO_IPV6):
                if not self._connected():
                    raise SyscallError(E.ENOTCONN)
                return LO_MTU
            return {IP_TTL: 64, IP_MULTICAST_TTL: 1, IP_MULTICAST_LOOP: 1,
                    IP_MTU_DISCOVER: 1 if self.proto == "tcp" else 0}.get(name, 0)
        if level == IPPROTO_IPV6:
            if name == IPV6_MTU:
                if not self._connected():
                    raise SyscallError(E.ENOTCONN)
                return LO_MTU
            return {IPV6_UNICAST_HOPS: 64, IPV6_MULTICAST_HOPS: 1, IPV6_MULTICAST_LOOP: 1}.get(name, 0)
        if level == IPPROTO_TCP:
            if name == TCP_INFO:
                st = self.tcp_state()
                return bytes([st]) + bytes(231)
            if name == TCP_CONGESTION:
                return b"cubic" + bytes(11)
            return {TCP_MAXSEG: 65483 if self._connected() else 536, TCP_KEEPIDLE: 7200,
                    TCP_KEEPINTVL: 75, TCP_KEEPCNT: 9, TCP_SYNCNT: 6, TCP_LINGER2: 60,
                    TCP_QUICKACK: 1}.get(name, 0)
        return 0

    def setsockopt_ip(self, level, name, raw):
        if not self._level_ok(level):
            raise SyscallError(E.ENOPROTOOPT)
        if level == IPPROTO_IPV6 and name == IPV6_V6ONLY:
            if len(raw) < 4:
                raise SyscallError(E.EINVAL)
            if self.lport:
                raise SyscallError(E.EINVAL)
            self.v6only = bool(int.from_bytes(raw[:4], "little"))
            return 0
        if level == IPPROTO_TCP and name == TCP_CONGESTION:
            name_ = bytes(raw).split(b"\0", 1)[0]
            if name_ not in (b"cubic", b"reno"):
                raise SyscallError(E.ENOENT)
            self.ipopts[(level, name)] = name_ + bytes(16 - len(name_))
            return 0
        if level in (IPPROTO_TCP, IPPROTO_UDP) and len(raw) < 4 and name != TCP_CONGESTION:
            raise SyscallError(E.EINVAL)
        v = int.from_bytes(raw[:4], "little", signed=True) if len(raw) >= 4 else (raw[0] if raw else 0)
        if len(raw) <= 4:
            self.ipopts[(level, name)] = v if len(raw) == 4 else int(raw[0]) if raw else 0
        else:
            self.ipopts[(level, name)] = bytes(raw)
        return 0

    def tcp_state(self):
        return TCP_CLOSE

    # --- ioctls on the interface list (SIOCGIF*), as netdevice(7) ------------
    def ioctl(self, t, req, arg):
        if req in (0x8910, 0x8913, 0x8921, 0x8933, 0x8915):
            name = t.mm.read(arg, 16).split(b"\0", 1)[0]
            if req == 0x8910:  # SIOCGIFNAME by index
                if t.mm.read_u32(arg + 16) != 1:
                    raise SyscallError(E.ENODEV)
                t.mm.write(arg, b"lo".ljust(16, b"\0"))
                return 0
            if name != b"lo":
                raise SyscallError(E.ENODEV)
            if req == 0x8933:   # SIOCGIFINDEX
                t.mm.write(arg + 16, struct.pack("<i", 1))
            elif req == 0x8913:  # SIOCGIFFLAGS: IFF_UP|IFF_LOOPBACK|IFF_RUNNING
                t.mm.write(arg + 16, struct.pack("<h", 0x49))
            elif req == 0x8921:  # SIOCGIFMTU
                t.mm.write(arg + 16, struct.pack("<i", LO_MTU))
            else:                # SIOCGIFADDR
                t.mm.write(arg + 16, struct.pack("<H", AF_INET) + bytes(2) + bytes([127, 0, 0, 1]) + bytes(8))
            return 0
        if req == 0x8912:  # SIOCGIFCONF
            ln, buf = struct.unpack("<i4xQ", t.mm.read(arg, 16))
            ent = b"lo".ljust(16, b"\0") + struct.pack("<H", AF_INET) + bytes(2) + bytes([127, 0, 0, 1]) + bytes(8)
            if buf:
                if ln < len(ent):
                    t.mm.write(arg, struct.pack("<i", 0))
                    return 0
                t.mm.write(buf, ent)
            t.mm.write(arg, struct.pack("<i", len(ent)))
            return 0
        return super().ioctl(t, req, arg)


class TcpSocket(InetSocket):
    proto = "tcp"

    def __init__(self, kernel, family, flags=0, uid=0):
        super().__init__(kernel, family, U.SOCK_STREAM, flags, uid)
        self.connecting = False

    def tcp_state(self):
        if self.state == U.LISTEN:
            return TCP_LISTEN
        if self.state != U.CONNECTED:
            return TCP_CLOSE
        if self.shutdown_bits & U.RCV_SHUTDOWN:
            return TCP_CLOSE_WAIT
        if self.shutdown_bits & U.SEND_SHUTDOWN:
            return TCP_FIN_WAIT2
        return TCP_ESTABLISHED

    def listen(self, t, backlog):
        if self.state == U.CONNECTED or self.connecting:
            raise SyscallError(E.EINVAL)
        if self.lport == 0:
            self.autobind()
        elif self.state != U.LISTEN:
            for o in self.stack.ports.get((self.proto, self.lport), ()):
                if o is not self and o.state == U.LISTEN and self.overlaps(o) and not (
                        self.opts.get(SO_REUSEPORT) and o.opts.get(SO_REUSEPORT) and self.uid == o.uid):
                    raise SyscallError(E.EADDRINUSE)
        self.backlog = min(max(backlog, 0), U.SOMAXCONN)
        if self.state != U.LISTEN:
            self.state = U.LISTEN
            self.queue.notify()
        return 0

    def connect(self, t, raw):
        if self.connecting:  # the completion of a non-blocking connect (__inet_stream_connect)
            self.connecting = False
            if self.state == U.CONNECTED:
                return 0
            err, self.err = self.err or E.ECONNABORTED, 0
            raise SyscallError(err)
        if self.state == U.CONNECTED:
            raise SyscallError(E.EISCONN)
        if self.state == U.LISTEN:
            raise SyscallError(E.EINVAL)
        addr = self.parse_name(raw, unspec_ok=True)
        if addr is None:
            return 0  # AF_UNSPEC on an unconnected socket: nothing to undo
        dst = self.route(addr[0])
        port = addr[1]
        if not is_any(self.laddr) and is_v4(self.laddr) != is_v4(dst):
            raise SyscallError(E.ENETUNREACH)
        autobound = self.lport == 0
        nonblock = self.flags & O_NONBLOCK
        self.shutdown_bits = 0
        while True:
            other = self.find(dst, port, lambda s: s.state == U.LISTEN and not s.dead)
            if other is None or port == 0:
                self.shutdown_bits = U.SHUTDOWN_MASK  # tcp_done
                if autobound:
                    self._unbind()
                if nonblock:
                    self.err = E.ECONNREFUSED
                    self.connecting = True
                    self.queue.notify()
                    raise SyscallError(E.EINPROGRESS)
                raise SyscallError(E.ECONNREFUSED)
            if len(other.rq) <= other.backlog or nonblock:
                break
            self._wait(t, [other.queue], self.sndtimeo)
        if autobound:
            self.laddr = self.source_for(dst)
            self.autobind()
        elif is_any(self.laddr):
            self.laddr = self.source_for(dst)
        srv = TcpSocket(self.kernel, other.family, 0, other.uid)
        srv.laddr, srv.lport = dst, other.lport
        srv.raddr, srv.rport = self.laddr, self.lport
        srv.v6only = other.v6only
        srv.state = U.CONNECTED
        srv.opts = dict(other.opts)
        srv.ipopts = dict(other.ipopts)
        srv.sndbuf, srv.rcvbuf = other.sndbuf, other.rcvbuf
        srv.peer, self.peer = self, srv
        self.raddr, self.rport = dst, port
        self.state = U.CONNECTED
        self.stack.add(srv)
        other.rq.append(srv)
        other.queue.notify(POLLIN | POLLRDNORM)
        if nonblock:
            self.connecting = True
            self.queue.notify()
            raise SyscallError(E.EINPROGRESS)
        return 0

    def shutdown(self, how):
        if how not in (0, 1, 2):
            raise SyscallError(E.EINVAL)
        if self.state == U.LISTEN and how != 1:
            # shutting down a listener (SHUT_RD/RDWR) closes it: pending connections reset
            self.state = U.CLOSED
            self._reset_pending()
            self.queue.notify()
            return 0
        if self.state != U.CONNECTED:
            raise SyscallError(E.ENOTCONN)
        return super().shutdown(how)

    def _reset_pending(self):
        while self.rq:
            m = self.rq.popleft()
            if m.peer is not None:
                m.peer.err = E.ECONNRESET
            m.release()

    def sendmsg(self, t, data, fds, cred, addr, flags):
        if flags & U.MSG_OOB:
            raise SyscallError(E.EOPNOTSUPP)
        if self.state != U.CONNECTED and not t.sys_state:
            if self.err:
                err, self.err = self.err, 0
                raise SyscallError(err)
            self._epipe(t, flags)
        p = self.peer
        if (p is None or p.dead) and not t.sys_state:
            if self.err:
                err, self.err = self.err, 0
                raise SyscallError(err)
            if not self.shutdown_bits & U.SEND_SHUTDOWN:
                # the peer is closed: this segment is answered by a RST (tcp_reset
                # in CLOSE_WAIT gives EPIPE next time)
                self.shutdown_bits = U.SHUTDOWN_MASK
                self.queue.notify()
                return len(data)
        return self._send_stream(t, data, None, None, None, flags)

    def recvmsg(self, t, n, flags):
        if self.state != U.CONNECTED:
            if self.err:
                err, self.err = self.err, 0
                raise SyscallError(err)
            raise SyscallError(E.ENOTCONN)
        return super().recvmsg(t, n, flags & ~U.MSG_OOB)

    def release(self):
        lg = self.opts.get(SO_LINGER)
        if lg and lg[:4] != bytes(4) and lg[4:8] == bytes(4) and self.peer is not None:
            self.peer.err = E.ECONNRESET  # linger 0: close sends RST
        if self.state == U.LISTEN:
            self._reset_pending()
        p = self.peer
        old = p.shutdown_bits if p is not None else 0
        super().release()
        if p is not None and not p.err:  # a FIN, not a RST: the peer may still send
            p.shutdown_bits = old | U.RCV_SHUTDOWN


class UdpSocket(InetSocket):
    proto = "udp"

    def __init__(self, kernel, family, flags=0, uid=0):
        super().__init__(kernel, family, U.SOCK_DGRAM, flags, uid)

    def listen(self, t, backlog):
        raise SyscallError(E.EOPNOTSUPP)

    def accept(self, t, flags):
        raise SyscallError(E.EOPNOTSUPP)

    def connect(self, t, raw):
        addr = self.parse_name(raw, unspec_ok=True)
        if addr is None:  # AF_UNSPEC dissolves the association
            self.raddr, self.rport = None, 0
            self.state = U.CLOSED
            if not self.bound_by_user:
                self._unbind()
            return 0
        dst = self.route(addr[0])
        if is_any(self.laddr):
            self.laddr = self.source_for(dst)
        self.autobind()
        self.raddr, self.rport = dst, addr[1]
        self.state = U.CONNECTED
        return 0

    def shutdown(self, how):
        if how not in (0, 1, 2):
            raise SyscallError(E.EINVAL)
        if self.state != U.CONNECTED:
            raise SyscallError(E.ENOTCONN)
        self.shutdown_bits |= how + 1
        self.queue.notify()
        return 0

    def sendmsg(self, t, data, fds, cred, addr, flags):
        if flags & U.MSG_OOB:
            raise SyscallError(E.EOPNOTSUPP)
        if addr is None:
            if self.state != U.CONNECTED:
                raise SyscallError(E.EDESTADDRREQ)
            dst, port = self.raddr, self.rport
            if self.err:
                err, self.err = self.err, 0
                raise SyscallError(err)
        else:
            dst, port = self.route(addr[0]), addr[1]
            if port == 0:
                raise SyscallError(E.EINVAL)
        if self.shutdown_bits & U.SEND_SHUTDOWN:
            self._epipe(t, flags)
        if len(data) > UDP_MAX[AF_INET if is_v4(dst) else AF_INET6]:
            raise SyscallError(E.EMSGSIZE)
        self.autobind()
        src = self.source_for(dst)
        me = (src, self.lport)

        def accepts(s):
            return s.raddr is None or (s.raddr, s.rport) == me

        other = self.find(dst, port, accepts)
        if other is None:
            if self.state == U.CONNECTED:  # ICMP port unreachable, reported to connected sockets
                self.err = E.ECONNREFUSED
                self.queue.notify()
            return len(data)
        if other.shutdown_bits & U.RCV_SHUTDOWN:
            return len(data)
        if other.rq_bytes + (len(other.rq) + 1) * UDP_TRUESIZE + len(data) > other.rcvbuf and other.rq:
            return len(data)  # receive buffer full: dropped
        other._enqueue(U.Message(data, None, None, me, None))
        return len(data)

    def recvmsg(self, t, n, flags):
        if self.err and not self.rq:
            err, self.err = self.err, 0
            raise SyscallError(err)
        return super().recvmsg(t, n, flags & ~U.MSG_WAITALL)


def new_socket(t, family, base, proto, flags):
    """socket(AF_INET/AF_INET6, ...)."""
    uid = t.tg.creds.euid
    if base == U.SOCK_STREAM:
        if proto not in (0, IPPROTO_TCP):
            raise SyscallError(E.EPROTONOSUPPORT)
        return TcpSocket(t.kernel, family, flags, uid)
    if base == U.SOCK_DGRAM:
        if proto not in (0, IPPROTO_UDP):
            raise SyscallError(E.EPROTONOSUPPORT if proto != 1 and proto != 58 else E.EACCES)
        return UdpSocket(t.kernel, family, flags, uid)
    if base == U.SOCK_RAW:
        raise SyscallError(E.EPERM)
    raise SyscallError(E.ESOCKTNOSUPPORT)


# --- /proc/net ----------------------------------------------------------------
def _hex_ip(ip, v6):
    if not v6:
        return "%08X" % int.from_bytes(ip[12:], "little")
    return "".join("%08X" % int.from_bytes(ip[i:i + 4], "little") for i in range(0, 16, 4))


def proc_net_table(proto, rows):
    """The text of /proc/net/{tcp,udp}[6] (net/ipv4/tcp_ipv4.c, udp.c) from
    rows of (local hex, port, remote hex, port, state, tx, rx, uid, inode);
    the sentry's own stack and host-backed sockets both print through it."""
    tcp = proto == "tcp"
    if tcp:
        out = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
               "   uid  timeout inode"]
    else:
        out = ["   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
               "   uid  timeout inode ref pointer drops"]
    for i, (la, lp, ra, rp, state, tx, rx, uid, ino) in enumerate(rows):
        line = "%*d: %s:%04X %s:%04X %02X %08X:%08X 00:00000000 00000000 %5d %8d %d 2 0000000000000000" % (
            4 if tcp else 5, i, la, lp, ra, rp, state, tx, rx, uid, 0, ino)
        out.append(line + (" 100 0 0 10 0" if tcp else " 0"))
    return "\n".join(out) + "\n"


def proc_net(kernel, proto, v6):
    """/proc/net/{tcp,tcp6,udp,udp6}: the sandbox's own sockets."""
    st = stack(kernel)
    fam = AF_INET6 if v6 else AF_INET
    rows = []
    for s in sorted(st.sockets(), key=lambda s: s.lport):
        if s.proto != proto or s.family != fam or s.dead:
            continue
        if proto == "tcp":
            state = s.tcp_state()
            if state == TCP_CLOSE:
                continue
            rx = len(s.rq) if state == TCP_LISTEN else s.rq_bytes
            tx = s.wmem
        else:
            state = TCP_ESTABLISHED if s.state == U.CONNECTED else TCP_CLOSE
            rx, tx = s.rq_bytes, 0
        zero = ANY6 if v6 else ANY4
        ra = s.raddr if s.raddr is not None and state != TCP_LISTEN else zero
        rp = s.rport if s.raddr is not None and state != TCP_LISTEN else 0
        rows.append((_hex_ip(s.laddr, v6), s.lport, _hex_ip(ra, v6), rp, state, tx, rx,
                     s.uid, s.inode.ino))
    return proc_net_table(proto, rows)


def proc_net_dev(kernel):
    return ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|"
            "bytes    packets errs drop fifo colls carrier compressed\n"
            "    lo:       0       0    0    0    0     0          0         0"
            "        0       0    0    0    0     0       0          0\n")


# --- NETLINK_ROUTE ----------------------------------------------------------------
NLMSG = struct.Struct("<IHHII")
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 1, 2, 4, 0x300
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR, RTM_GETROUTE = 16, 18, 20, 22, 26
NETLINK_ROUTE = 0
IFF_LO = 0x1 | 0x8 | 0x40 | 0x10000  # UP, LOOPBACK, RUNNING, LOWER_UP
ARPHRD_LOOPBACK = 772


def _nlmsg(kind, flags, seq, pid, payload):
    ln = NLMSG.size + len(payload)
    return NLMSG.pack(ln, kind, flags, seq, pid) + payload + bytes(-ln % 4)


def _rta(kind, data):
    ln = 4 + len(data)
    return struct.pack("<HH", ln, kind) + data + bytes(-ln % 4)


def _link_msg():
    body = struct.pack("<BxHiII", AF_UNSPEC, ARPHRD_LOOPBACK, 1, IFF_LO, 0)
    body += _rta(3, b"lo\0") + _rta(13, struct.pack("<I", 1000)) + _rta(16, b"\0") + _rta(17, b"\0")
    body += _rta(4, struct.pack("<I", LO_MTU)) + _rta(1, bytes(6)) + _rta(2, bytes(6))
    body += _rta(7, bytes(96))  # IFLA_STATS: struct rtnl_link_stats
    return body


def _addr_msgs(family):
    out = []
    if family in (AF_UNSPEC, AF_INET):
        b = struct.pack("<BBBBI", AF_INET, 8, 0x80, 254, 1)
        lo = bytes([127, 0, 0, 1])
        b += _rta(1, lo) + _rta(2, lo) + _rta(3, b"lo\0") + _rta(8, struct.pack("<I", 0x80))
        out.append(b)
    if family in (AF_UNSPEC, AF_INET6):
        b = struct.pack("<BBBBI", AF_INET6, 128, 0x80, 254, 1)
        b += _rta(1, LOOP6) + _rta(8, struct.pack("<I", 0x80))
        out.append(b)
    return out


class NetlinkSocket(U.UnixSocket):
    """AF_NETLINK/NETLINK_ROUTE answering link and address dumps with `lo`."""

    def __init__(self, kernel, stype, flags=0):
        super().__init__(kernel, stype, flags)
        self.family = AF_NETLINK
        self.protocol = NETLINK_ROUTE
        self.portid = 0

    def pack_name(self, addr):
        return struct.pack("<HHII", AF_NETLINK, 0, addr or 0, 0)

    def parse_name(self, raw, unspec_ok=False):
        if len(raw) < 12:
            raise SyscallError(E.EINVAL)
        if int.from_bytes(raw[:2], "little") != AF_NETLINK:
            raise SyscallError(E.EINVAL)
        return struct.unpack("<I", raw[4:8])[0]

    def sockname(self):
        return self.pack_name(self.portid)

    def peername(self):
        return self.pack_name(0)

    def _autobind(self, t):
        if self.portid == 0:
            used = {s.portid for s in names_nl(self.kernel)}
            pid = t.tg.pid
            while pid in used:
                pid = -_randint(4096, 1 << 30) & 0xFFFFFFFF
            self.portid = pid
            names_nl(self.kernel).add(self)

    def bind(self, t, raw):
        pid = self.parse_name(raw)
        if pid and self.portid and pid != self.portid:
            raise SyscallError(E.EINVAL)
        if pid and not self.portid:
            if any(s.portid == pid for s in names_nl(self.kernel)):
                raise SyscallError(E.EADDRINUSE)
            self.portid = pid
            names_nl(self.kernel).add(self)
        self._autobind(t)
        return 0

    def connect(self, t, raw):
        self.parse_name(raw) if len(raw) >= 12 else None
        self._autobind(t)
        return 0

    def listen(self, t, backlog):
        raise SyscallError(E.EOPNOTSUPP)

    def accept(self, t, flags):
        raise SyscallError(E.EOPNOTSUPP)

    def shutdown(self, how):
        return 0

    def sendmsg(self, t, data, fds, cred, addr, flags):
        if addr:
            raise SyscallError(E.ECONNREFUSED)  # only the kernel (pid 0) answers
        self._autobind(t)
        off, replies = 0, []
        while off + NLMSG.size <= len(data):
            ln, kind, nflags, seq, _pid = NLMSG.unpack_from(data, off)
            if ln < NLMSG.size or off + ln > len(data):
                break
            body = data[off + NLMSG.size:off + ln]
            replies += self._answer(kind, nflags, seq, body, data[off:off + NLMSG.size])
            off += (ln + 3) & ~3
        for r in replies:
            self._enqueue(U.Message(r, None, None, 0, None))
        return len(data)

    def _answer(self, kind, nflags, seq, body, hdr):
        pid = self.portid
        if kind < 16 or not nflags & NLM_F_REQUEST:
            return []
        fam = body[0] if body else AF_UNSPEC
        if kind in (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE) and nflags & NLM_F_DUMP == NLM_F_DUMP:
            if kind == RTM_GETLINK:
                items = [(RTM_NEWLINK, _link_msg())] if fam in (AF_UNSPEC, AF_INET, AF_INET6, 17) else []
            elif kind == RTM_GETADDR:
                items = [(RTM_NEWADDR, b) for b in _addr_msgs(fam)]
            else:
                items = []
            out = b"".join(_nlmsg(k, NLM_F_MULTI, seq, pid, b) for k, b in items)
            out += _nlmsg(NLMSG_DONE, NLM_F_MULTI, seq, pid, struct.pack("<i", 0))
            return [out]
        if kind == RTM_GETLINK:
            idx = struct.unpack("<i", body[4:8])[0] if len(body) >= 8 else 0
            if idx in (0, 1):
                r = [_nlmsg(RTM_NEWLINK, 0, seq, pid, _link_msg())]
                if nflags & NLM_F_ACK:
                    r.append(_nlmsg(NLMSG_ERROR, 0, seq, pid, struct.pack("<i", 0) + hdr))
                return r
            return [_nlmsg(NLMSG_ERROR, 0, seq, pid, struct.pack("<i", -E.ENODEV) + hdr)]
        return [_nlmsg(NLMSG_ERROR, 0, seq, pid, struct.pack("<i", -E.EOPNOTSUPP) + hdr)]

    def poll(self):
        from ..fd import POLLOUT, POLLWRNORM
        return POLLOUT | POLLWRNORM | (POLLIN | POLLRDNORM if self.rq else 0)

    def release(self):
        names_nl(self.kernel).discard(self)
        super().release()


def names_nl(kernel):
    return kernel_state(kernel, "netlink_ports", set)


def new_netlink(t, base, proto, flags):
    if base not in (U.SOCK_RAW, U.SOCK_DGRAM):
        raise SyscallError(E.ESOCKTNOSUPPORT)
    if proto != NETLINK_ROUTE:
        raise SyscallError(E.EPROTONOSUPPORT)
    return NetlinkSocket(t.kernel, base, flags)
