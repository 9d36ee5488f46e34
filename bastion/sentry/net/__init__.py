"""Sockets: AF_UNIX (unix.py), the sandbox's own inet and netlink
(inet.py), and inet through the host's network (hostinet.py)."""


def kernel_state(kernel, name, make):
    """A socket family's per-kernel state, made on first use (a sandbox
    that opens no socket of that family never pays for it)."""
    s = kernel.__dict__.get(name)
    if s is None:
        s = kernel.__dict__[name] = make()
    return s
