"""A sandbox with no first program, served over a control socket
(control.py): the process the Python API starts (`python -m
bastion.sentry.serve FD`, FD one end of a socketpair) and the OCI runtime's
sandbox process.

The first message on the socket is the configuration,
{"op": "boot", "config": {...}} (Config's fields, limits included); the
reply is {"r": "ready", "pid": sentry pid} or {"e": errno, "msg": text} for a
bad setup, after which this process exits. Then the socket serves control
requests until the caller closes it or asks for shutdown; everything inside
dies with it.
"""

import os
import socket
import sys

from .. import wire


def serve(sock, conf, listening=None):
    """Build the sandbox described by `conf` and serve `sock` until the end."""
    from ..abi.errno import SyscallError
    from .boot import Config, build
    from .control import ControlServer
    ch = wire.Channel(sock)
    try:
        cfg = Config([], rootfs=conf.get("rootfs", "/"),
                     mounts=[(m[0], m[1], bool(m[2])) for m in conf.get("mounts", ())],
                     tmpfs=conf.get("tmpfs", ()), env={}, hostname=conf.get("hostname", "bastion"),
                     uid=0, gid=0, strace=conf.get("strace"), debug_log=conf.get("debug_log"),
                     network=conf.get("network", "none"), vdso=conf.get("vdso", True))
        k = build(cfg)
        k.next_pid = 2  # pid 1 stays free: no init inside, as in `docker exec`'s view
        lim = conf.get("limits") or {}
        k.limits.set_memory(lim.get("memory"))
        k.limits.pids = lim.get("pids")
    except (SyscallError, OSError, EOFError, ValueError, TypeError, KeyError) as e:
        errno = getattr(e, "errno", None) or 22
        ch.send({"e": errno, "msg": f"cannot start the sandbox: {e}"})
        return 1
    ch.send({"r": "ready", "pid": os.getpid()})
    ControlServer(k, listening or sock, listening=listening is not None)
    return k.run()


def main():
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    ch = wire.Channel(sock)
    try:
        req, _ = ch.recv()
    except EOFError:
        return 1
    sock.setblocking(True)
    rc = serve(sock, req.get("config") or {})
    os._exit(rc & 0xFF)


if __name__ == "__main__":
    main()
