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

With "init" in the config (the OCI runtime, bastion/oci/), the sandbox has a
first program: it is loaded as pid 1 before "ready" and waits for the control
request "start"; when it exits the sandbox ends like a container (every
process killed) and serve() returns its wait status.
"""

import os
import socket
import sys

from .. import wire


def serve(sock, conf, listening=None, console_fd=None, stdio_fds=(0, 1, 2)):
    """Build the sandbox described by `conf` and serve `sock` until the end.
    `console_fd`: a host terminal for the init's pty (OCI process.terminal);
    `stdio_fds`: the host fds that are the init's stdin, stdout, stderr."""
    import base64
    from ..abi.errno import SyscallError
    from .boot import Config, build
    from .control import ControlServer
    ch = wire.Channel(sock)
    init = conf.get("init")
    what = "cannot start the sandbox: "
    try:
        cfg = Config([], rootfs=conf.get("rootfs", "/"),
                     mounts=[(m[0], m[1], bool(m[2])) for m in conf.get("mounts", ())],
                     tmpfs=conf.get("tmpfs", ()), mount_flags=conf.get("mount_flags") or {},
                     env={}, hostname=conf.get("hostname", "bastion"),
                     uid=0, gid=0, strace=conf.get("strace"), debug_log=conf.get("debug_log"),
                     network=conf.get("network", "none"), vdso=conf.get("vdso", True),
                     files=[(f[0], base64.b64decode(f[1]), int(f[2])) for f in conf.get("files", ())],
                     root_readonly=bool(conf.get("root_readonly")))
        k = build(cfg)
        if init is None:
            k.next_pid = 2  # pid 1 stays free: no init inside, as in `docker exec`'s view
        lim = conf.get("limits") or {}
        k.limits.set_memory(lim.get("memory"))
        k.limits.pids = lim.get("pids")
        if init is not None:
            what = f"cannot run {init['argv'][0]!r}: "
            _load_init(k, init, console_fd, stdio_fds)
    except SyscallError as e:
        ch.send({"e": e.errno, "msg": what + os.strerror(e.errno)})
        return 1
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError) as e:
        errno = getattr(e, "errno", None) or 22
        ch.send({"e": errno, "msg": f"cannot start the sandbox: {e}"})
        return 1
    ch.send({"r": "ready", "pid": os.getpid()})
    ControlServer(k, listening or sock, listening=listening is not None)
    return k.run()


def _load_init(k, init, console_fd, stdio_fds):
    """The container's process as pid 1, loaded and waiting for "start"."""
    from .boot import _host_stdio, spawn
    from .vfs.pty import Console
    stdio = files = None
    if init.get("tty"):
        fd = 0 if console_fd is None else console_fd
        k.console = Console(k, fd, 1 if console_fd is None else console_fd)
        stdio = k.console.stdio
    else:
        files = _host_stdio(k, stdio_fds)
    t = spawn(k, init["argv"], init.get("env", {}), init.get("cwd") or "/", int(init.get("uid", 0)),
              int(init.get("gid", 0)), files, groups=init.get("groups"), pid=k.alloc_pid(),
              start=False, stdio=stdio,
              rlimits={int(r): v for r, v in (init.get("rlimits") or {}).items()},
              caps=init.get("caps"), no_new_privs=bool(init.get("no_new_privs")))
    k.init = t.tg


def exit_code(status):
    """A wait status as a process exit code: N, or 128+N when signal N killed it."""
    return 128 + (status & 0x7F) if status & 0x7F else (status >> 8) & 0xFF


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
