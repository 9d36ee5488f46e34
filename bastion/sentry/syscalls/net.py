"""Socket syscalls (net/socket.c): argument and struct handling around the
socket objects of net/: AF_UNIX (net/unix.py), AF_INET/AF_INET6 on the
sandbox's loopback and AF_NETLINK/NETLINK_ROUTE (net/inet.py). A socket
class that names itself differently from AF_UNIX provides pack_name,
parse_name, sockname and peername."""

import struct

from ...abi import errno as E
from ...abi.caps import CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN
from ...abi.errno import SyscallError
from ..net import hostinet as H
from ..net import inet as I
from ..net import unix as U
from ..vfs.fdtable import drop
from ..vfs.inode import O_CLOEXEC, O_NONBLOCK
from .fs import _iovecs, _scatter
from .util import s32

SOCK_TYPE_MASK = 0xF
SOCK_FLAGS = O_NONBLOCK | O_CLOEXEC
AF_MAX = 46
SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS = 1, 1, 2
SCM_MAX_FD = 253
MSGHDR = struct.Struct("<QI4xQQQQi4x")  # struct msghdr
CMSGHDR = struct.Struct("<Qii")
UCRED = struct.Struct("<iII")
SOCKADDR_MAX = 128  # sizeof(struct sockaddr_storage)

SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF = 2, 3, 4, 5, 6, 7, 8
SO_KEEPALIVE, SO_OOBINLINE, SO_LINGER, SO_PASSCRED, SO_PEERCRED = 9, 10, 13, 16, 17
SO_PRIORITY, SO_REUSEPORT, SO_BINDTODEVICE, SO_TIMESTAMP, SO_MARK = 12, 15, 25, 29, 36
# SOL_SOCKET options inet sockets keep only to be read back
INET_KEPT = (SO_REUSEPORT, SO_PRIORITY, SO_TIMESTAMP, SO_MARK, 35, 46, 49, 60)
SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO, SO_SNDTIMEO = 18, 19, 20, 21
SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN, SO_SNDBUFFORCE, SO_RCVBUFFORCE = 30, 38, 39, 32, 33
SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF = 4608, 2304  # include/net/sock.h on x86-64
WMEM_MAX = 212992  # net.core.wmem_max / rmem_max


def _cmsg_align(n):
    return (n + 7) & ~7


def sock_of(t, fd):
    f = t.files.get(s32(fd))
    if not isinstance(f, (U.UnixSocket, H.HostSocket)):
        raise SyscallError(E.ENOTSOCK)
    return f


def _split_type(stype):
    if stype & ~(SOCK_TYPE_MASK | SOCK_FLAGS):
        raise SyscallError(E.EINVAL)
    return stype & SOCK_TYPE_MASK, stype & SOCK_FLAGS


def _unix_type(domain, base, proto):
    if domain < 0 or domain >= AF_MAX:
        raise SyscallError(E.EAFNOSUPPORT)
    if base < 1 or base > 10:
        raise SyscallError(E.EINVAL)
    if domain in (I.AF_INET, I.AF_INET6):
        raise SyscallError(E.EOPNOTSUPP)  # socketpair
    if domain != U.AF_UNIX:
        raise SyscallError(E.EAFNOSUPPORT)
    if proto not in (0, U.AF_UNIX):
        raise SyscallError(E.EPROTONOSUPPORT)
    if base == U.SOCK_RAW:
        return U.SOCK_DGRAM
    if base not in (U.SOCK_STREAM, U.SOCK_DGRAM, U.SOCK_SEQPACKET):
        raise SyscallError(E.ESOCKTNOSUPPORT)
    return base


def sys_socket(t, domain, stype, proto, *_):
    """socket(2): AF_UNIX, AF_INET/AF_INET6 (TCP, UDP on loopback, or through
    host sockets with --network host), AF_NETLINK (NETLINK_ROUTE only); other
    families EAFNOSUPPORT."""
    base, flags = _split_type(s32(stype))
    domain, proto = s32(domain), s32(proto)
    if domain in (I.AF_INET, I.AF_INET6, I.AF_NETLINK) and 1 <= base <= 10:
        net = H if t.kernel.network == "host" else I
        if domain == I.AF_NETLINK:
            s = net.new_netlink(t, base, proto, flags)
        else:
            s = net.new_socket(t, domain, base, proto, flags)
    else:
        s = U.UnixSocket(t.kernel, _unix_type(domain, base, proto), flags)
    return t.files.install(s, bool(flags & O_CLOEXEC))


def sys_socketpair(t, domain, stype, proto, sv, *_):
    """socketpair(2) for AF_UNIX."""
    base, flags = _split_type(s32(stype))
    base = _unix_type(s32(domain), base, s32(proto))
    t.mm.check(sv, 8, write=True)
    a, b = U.socketpair(t, base, flags)
    ce = bool(flags & O_CLOEXEC)
    fa = t.files.install(a, ce)
    try:
        fb = t.files.install(b, ce)
    except SyscallError:
        t.files.close(fa)
        raise
    t.mm.write(sv, struct.pack("<ii", fa, fb))
    return 0


def _read_addr(t, addr, alen):
    alen = s32(alen)
    if alen < 0 or alen > SOCKADDR_MAX:
        raise SyscallError(E.EINVAL)
    return t.mm.read(addr, alen) if alen else b""


def _pack(s, name):
    f = getattr(s, "pack_name", None)
    return f(name) if f is not None else U.pack_addr(name)


def _write_addr(t, addr, lenp, raw):
    """move_addr_to_user: copy what fits, report the full length."""
    if not addr:
        return
    n = s32(t.mm.read_u32(lenp))
    if n < 0:
        raise SyscallError(E.EINVAL)
    if n:
        t.mm.write(addr, raw[:n])
    t.mm.write_u32(lenp, len(raw))


def sys_bind(t, fd, addr, alen, *_):
    """bind(2): a path creates a socket inode (EADDRINUSE if taken); a name
    starting with NUL is abstract; just the family autobinds."""
    s = sock_of(t, fd)
    raw = _read_addr(t, addr, alen)
    if len(raw) < 2:
        raise SyscallError(E.EINVAL)
    return s.bind(t, raw)


def sys_listen(t, fd, backlog, *_):
    return sock_of(t, fd).listen(t, s32(backlog))


def sys_connect(t, fd, addr, alen, *_):
    """connect(2): unix connects complete at once (or wait for backlog room)."""
    s = sock_of(t, fd)
    raw = _read_addr(t, addr, alen)
    if len(raw) < 2:
        raise SyscallError(E.EINVAL)
    return s.connect(t, raw)


def sys_accept4(t, fd, addr, lenp, flags, *_):
    if flags & ~SOCK_FLAGS:
        raise SyscallError(E.EINVAL)
    s = sock_of(t, fd)
    if addr:
        t.mm.check(lenp, 4, write=True)
    new = s.accept(t, flags)
    nfd = t.files.install(new, bool(flags & O_CLOEXEC))
    if isinstance(new, H.HostSocket):
        _write_addr(t, addr, lenp, new.accepted_name())
        return nfd
    if hasattr(new, "peername"):
        _write_addr(t, addr, lenp, new.pack_name((new.raddr, new.rport)))
        return nfd
    peer = new.peer
    _write_addr(t, addr, lenp, U.pack_addr(peer.name if peer is not None else None))
    return nfd


def sys_accept(t, fd, addr, lenp, *_):
    return sys_accept4(t, fd, addr, lenp, 0)


def sys_getsockname(t, fd, addr, lenp, *_):
    s = sock_of(t, fd)
    _write_addr(t, addr, lenp, s.sockname() if hasattr(s, "sockname") else U.pack_addr(s.name))
    return 0


def sys_getpeername(t, fd, addr, lenp, *_):
    s = sock_of(t, fd)
    if hasattr(s, "peername"):
        _write_addr(t, addr, lenp, s.peername())
        return 0
    if s.peer is None or s.state != U.CONNECTED:
        raise SyscallError(E.ENOTCONN)
    _write_addr(t, addr, lenp, U.pack_addr(s.peer.name))
    return 0


def sys_shutdown(t, fd, how, *_):
    return sock_of(t, fd).shutdown(s32(how))


# --- data ----------------------------------------------------------------------
def _parse_cmsgs(t, ctl, clen):
    """SCM_RIGHTS (Files) and SCM_CREDENTIALS from a control buffer (__scm_send)."""
    fds, cred = None, None
    if clen > 0x7FFFFFFF:
        raise SyscallError(E.ENOBUFS)
    if clen < CMSGHDR.size:
        return fds, cred
    raw = t.mm.read(ctl, clen)
    off = 0
    while off + CMSGHDR.size <= clen:
        ln, level, kind = CMSGHDR.unpack_from(raw, off)
        if ln < CMSGHDR.size or ln > clen - off:
            raise SyscallError(E.EINVAL)
        if level == SOL_SOCKET:
            body = raw[off + 16:off + ln]
            if kind == SCM_RIGHTS:
                nums = struct.unpack(f"<{len(body) // 4}i", body[:len(body) // 4 * 4])
                fds = fds or []
                if len(fds) + len(nums) > SCM_MAX_FD:
                    raise SyscallError(E.EINVAL)
                fds += [t.files.get(n) for n in nums]
            elif kind == SCM_CREDENTIALS:
                if ln != 16 + UCRED.size:
                    raise SyscallError(E.EINVAL)
                pid, uid, gid = UCRED.unpack(body)
                c = t.tg.creds  # scm_check_creds
                if pid != t.tg.pid and not c.capable(CAP_SYS_ADMIN) \
                        or uid not in (c.ruid, c.euid, c.suid) and not c.capable(CAP_SETUID) \
                        or gid not in (c.rgid, c.egid, c.sgid) and not c.capable(CAP_SETGID):
                    raise SyscallError(E.EPERM)
                cred = (pid, uid, gid)
            else:
                raise SyscallError(E.EINVAL)
        off += _cmsg_align(ln)
    return fds, cred


def _send(t, s, data, fds, cred, raw_addr, flags):
    if not raw_addr:
        addr = None
    elif hasattr(s, "parse_name"):
        addr = s.parse_name(raw_addr)
    else:
        addr = U.parse_addr(raw_addr)
    return s.sendmsg(t, data, fds, cred, addr, flags)


def sys_sendto(t, fd, buf, n, flags, addr, alen):
    """sendto(2)/send(2)."""
    s = sock_of(t, fd)
    data = t.mm.read(buf, min(n, 0x7FFFF000)) if n else b""
    raw = _read_addr(t, addr, alen) if addr else b""
    return _send(t, s, data, None, None, raw, flags)


def sys_sendmsg(t, fd, msgp, flags, *_):
    """sendmsg(2) with SCM_RIGHTS and SCM_CREDENTIALS."""
    s = sock_of(t, fd)
    name, namelen, iov, iovlen, ctl, clen, _ = MSGHDR.unpack(t.mm.read(msgp, MSGHDR.size))
    raw = _read_addr(t, name, namelen) if name else b""
    data = b"".join(t.mm.read(b, ln) for b, ln in _iovecs(t, iov, iovlen) if ln)
    fds, cred = _parse_cmsgs(t, ctl, clen)
    return _send(t, s, data, fds, cred, raw, flags)


def _install_fds(t, fds, room, flags, peek):
    """Install received Files; those beyond `room` are dropped (MSG_CTRUNC)."""
    out = []
    for i, f in enumerate(fds):
        if i < room:
            try:
                out.append(t.files.install(f, bool(flags & U.MSG_CMSG_CLOEXEC)))
            except SyscallError:
                room = i
        if not peek:
            drop(f)  # the in-flight reference
    return out, len(out) < len(fds)


def _control(t, s, fds, cred, clen, flags, peek):
    """The control buffer recvmsg hands back, and MSG_CTRUNC."""
    out = bytearray()
    trunc = False
    if cred is not None and s.passcred:
        c = CMSGHDR.pack(16 + UCRED.size, SOL_SOCKET, SCM_CREDENTIALS) + UCRED.pack(*cred)
        if clen - len(out) >= len(c):
            out += c + bytes(_cmsg_align(len(c)) - len(c))
        else:
            trunc = True
    if fds:
        room = max(0, (clen - len(out) - 16) // 4)
        nums, cut = _install_fds(t, fds, room, flags, peek)
        trunc |= cut
        if nums:
            c = CMSGHDR.pack(16 + 4 * len(nums), SOL_SOCKET, SCM_RIGHTS) + struct.pack(f"<{len(nums)}i", *nums)
            out += c + bytes(min(_cmsg_align(len(c)), clen - len(out)) - len(c))
    return bytes(out[:clen]), trunc


def sys_recvmsg(t, fd, msgp, flags, *_):
    """recvmsg(2): MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_CMSG_CLOEXEC."""
    s = sock_of(t, fd)
    name, namelen, iov, iovlen, ctl, clen, _ = MSGHDR.unpack(t.mm.read(msgp, MSGHDR.size))
    vecs = _iovecs(t, iov, iovlen)
    for b, ln in vecs:
        if ln:
            t.mm.check(b, ln, write=True)
    data, fds, cred, addr, mflags, ret = s.recvmsg(t, sum(ln for _, ln in vecs), flags)
    _scatter(t, vecs, data)
    ctl_out, trunc = _control(t, s, fds, cred, clen if ctl else 0, flags, flags & U.MSG_PEEK)
    if ctl_out:
        t.mm.write(ctl, ctl_out)
    mflags |= flags & U.MSG_CMSG_CLOEXEC  # Linux echoes it
    if trunc:
        mflags |= U.MSG_CTRUNC
    nl = 0
    if name and addr is not None:
        raw = _pack(s, addr)
        t.mm.write(name, raw[:max(0, s32(namelen))])
        nl = len(raw)
    t.mm.write(msgp + 8, struct.pack("<I", nl))
    t.mm.write(msgp + 40, struct.pack("<Qi", len(ctl_out), mflags))
    return ret


def sys_recvfrom(t, fd, buf, n, flags, addr, lenp):
    """recvfrom(2)/recv(2); passed fds are discarded as in Linux (no control buffer)."""
    s = sock_of(t, fd)
    n = min(n, 0x7FFFF000)
    if n:
        t.mm.check(buf, n, write=True)
    data, fds, cred, src, _, ret = s.recvmsg(t, n, flags)
    if data:
        t.mm.write(buf, data)
    if fds and not flags & U.MSG_PEEK:
        for f in fds:
            drop(f)
    if addr:
        _write_addr(t, addr, lenp, _pack(s, src) if src is not None else b"")
    return ret


# --- options -----------------------------------------------------------------------
def sys_getsockopt(t, fd, level, name, val, lenp, *_):
    """getsockopt(2) at SOL_SOCKET; IP, IPV6, TCP and UDP levels for inet
    sockets (options a program set read back as set)."""
    s = sock_of(t, fd)
    n = s32(t.mm.read_u32(lenp))
    if n < 0:
        raise SyscallError(E.EINVAL)
    name = s32(name)
    if isinstance(s, H.HostSocket):
        out = s.getsockopt(t, s32(level), name, n)
        t.mm.write(val, out)
        t.mm.write_u32(lenp, len(out))
        return 0
    inet = isinstance(s, I.InetSocket)
    if s32(level) != SOL_SOCKET:
        if not inet:
            raise SyscallError(E.EOPNOTSUPP)
        v = s.getsockopt_ip(s32(level), name)
        out = v if isinstance(v, bytes) else struct.pack("<i", v)
        if not isinstance(v, bytes) and n < 4:
            out = bytes([v & 0xFF]) if n > 0 else b""
        out = out[:n]
        t.mm.write(val, out)
        t.mm.write_u32(lenp, len(out))
        return 0
    if name == SO_BINDTODEVICE and inet:
        out = b""
    elif name == SO_PEERCRED:
        pc = s.peercred or (0, 0xFFFFFFFF, 0xFFFFFFFF)
        out = UCRED.pack(*pc)
    elif name == SO_ERROR:
        out = struct.pack("<i", s.err)
        s.err = 0
    elif name in (SO_RCVTIMEO, SO_SNDTIMEO):
        ns = s.rcvtimeo if name == SO_RCVTIMEO else s.sndtimeo
        out = struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000)
    elif name == SO_LINGER:
        out = s.opts.get(SO_LINGER, bytes(8))
    else:
        v = {SO_TYPE: s.type, SO_SNDBUF: s.sndbuf, SO_RCVBUF: s.rcvbuf, SO_PASSCRED: int(s.passcred),
             SO_ACCEPTCONN: int(s.state == U.LISTEN), SO_DOMAIN: getattr(s, "family", U.AF_UNIX),
             SO_PROTOCOL: getattr(s, "protocol", 0),
             SO_RCVLOWAT: 1, SO_SNDLOWAT: 1}.get(name)
        if v is None:
            if name not in (SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE) \
                    and not (inet and name in INET_KEPT):
                raise SyscallError(E.ENOPROTOOPT)
            v = s.opts.get(name, 0)
        out = struct.pack("<i", v)
        if n < 4 and name not in (SO_PASSCRED,):
            raise SyscallError(E.EINVAL)
    out = out[:n]
    t.mm.write(val, out)
    t.mm.write_u32(lenp, len(out))
    return 0


def sys_setsockopt(t, fd, level, name, val, n, *_):
    """setsockopt(2) at SOL_SOCKET; unknown options ENOPROTOOPT. Inet sockets
    take IP, IPV6, TCP and UDP options too: IPV6_V6ONLY acts, the rest are
    kept to be read back."""
    s = sock_of(t, fd)
    name, n = s32(name), s32(n)
    if isinstance(s, H.HostSocket):
        return s.setsockopt(t, s32(level), name, val, n)
    inet = isinstance(s, I.InetSocket)
    if s32(level) != SOL_SOCKET:
        if not inet:
            raise SyscallError(E.EOPNOTSUPP)
        if n < 0:
            raise SyscallError(E.EINVAL)
        return s.setsockopt_ip(s32(level), name, t.mm.read(val, min(n, 256)) if n else b"")
    if inet and name == SO_BINDTODEVICE:
        dev = t.mm.read(val, min(max(n, 0), 16)).split(b"\0", 1)[0] if n > 0 else b""
        if dev not in (b"", b"lo"):
            raise SyscallError(E.ENODEV)
        return 0
    if name in (SO_RCVTIMEO, SO_SNDTIMEO):
        if n < 16:
            raise SyscallError(E.EINVAL)
        sec, usec = struct.unpack("<qq", t.mm.read(val, 16))
        if usec < 0 or usec >= 10**6:
            raise SyscallError(E.EDOM)
        ns = 0 if sec < 0 else sec * 10**9 + usec * 1000
        if name == SO_RCVTIMEO:
            s.rcvtimeo = ns
        else:
            s.sndtimeo = ns
        return 0
    if name == SO_LINGER:
        if n < 8:
            raise SyscallError(E.EINVAL)
        s.opts[SO_LINGER] = t.mm.read(val, 8)
        return 0
    if n < 4:
        raise SyscallError(E.EINVAL)
    v = s32(t.mm.read_u32(val))
    if name in (SO_SNDBUF, SO_SNDBUFFORCE):
        s.sndbuf = max(min(v & 0xFFFFFFFF, WMEM_MAX) * 2, SOCK_MIN_SNDBUF)
        s.queue.notify()
    elif name in (SO_RCVBUF, SO_RCVBUFFORCE):
        s.rcvbuf = max(min(v & 0xFFFFFFFF, WMEM_MAX) * 2, SOCK_MIN_RCVBUF)
    elif name == SO_PASSCRED:
        s.passcred = bool(v)
    elif name in (SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE):
        s.opts[name] = int(bool(v))
    elif name in (SO_RCVLOWAT, SO_SNDLOWAT):
        pass
    elif inet and name in INET_KEPT:
        s.opts[name] = v if name != SO_REUSEPORT else int(bool(v))
    else:
        raise SyscallError(E.ENOPROTOOPT)
    return 0
