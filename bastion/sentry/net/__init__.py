"""Sockets: AF_UNIX (unix.py), the sandbox's own inet and netlink
(inet.py), and inet through the host's network (hostinet.py)."""

from ...abi import errno as E
from ...abi.errno import SyscallError


def kernel_state(kernel, name, make):
    """A socket family's per-kernel state, made on first use (a sandbox
    that opens no socket of that family never pays for it)."""
    s = kernel.__dict__.get(name)
    if s is None:
        s = kernel.__dict__[name] = make()
    return s


def sock_wait(t, queues, timeo):
    """Block a socket call; a timeout (SO_RCVTIMEO/SO_SNDTIMEO) gives EAGAIN,
    a signal ERESTARTSYS, or EINTR when there is a timeout (sock_intr_errno)."""
    try:
        t.block(queues, t.deadline_after(timeo) if timeo else None)
    except SyscallError as e:
        if e.errno == E.ETIMEDOUT:
            raise SyscallError(E.EAGAIN)
        if e.errno == E.ERESTARTSYS and timeo:
            raise SyscallError(E.EINTR)
        raise


def etc_files(hostname):
    """The /etc files the sandbox's resolver needs (its own loopback network:
    names resolve from /etc/hosts). Here, not in inet.py, so that boot does
    not import the socket code for them."""
    return {
        "hosts": ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                  f"127.0.1.1\t{hostname}\n").encode(),
        "resolv.conf": b"# bastion: no network; names resolve from /etc/hosts\nnameserver 127.0.0.1\n",
    }
