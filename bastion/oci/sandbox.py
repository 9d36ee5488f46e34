"""The OCI container's sandbox process: `python -m bastion.oci.sandbox
BOOT_FD LISTEN_FD CONSOLE_FD LOG`, started detached by `bastion create`.

It is the host pid of the container (state.json, --pid-file): a sentry
(sentry/serve.py) that loads the container's process as pid 1 from the
config read on BOOT_FD, answers "ready" there, then serves the listening
control socket LISTEN_FD. When pid 1 exits it exits too, with pid 1's
status as its exit code (128+N for signal N), so conmon or the containerd
shim waiting on this pid see the container's status. Its inherited stdin,
stdout, stderr belong to the container's process; its own stderr goes to
LOG (the state directory's sentry.log).
"""

import os
import socket
import sys

from .. import wire


def main():
    boot_fd, listen_fd, console_fd = (int(a) for a in sys.argv[1:4])
    log = sys.argv[4]
    boot = socket.socket(fileno=boot_fd)
    listener = socket.socket(fileno=listen_fd)
    try:
        conf, _ = wire.Channel(boot).recv()
    except (EOFError, OSError):
        os._exit(1)
    boot.setblocking(True)
    console = None if console_fd < 0 else os.dup(console_fd)  # (fd 0 is replaced below)
    if console is not None:
        from ..hostsys import set_controlling_tty
        try:  # resizes of the caller's terminal then reach the Console as SIGWINCH
            set_controlling_tty(console)
        except OSError:
            pass
    # the init's stdio are fds 0-2 as inherited; the sentry's own are the log
    stdio = [os.dup(fd) if _valid(fd) else os.open(os.devnull, os.O_RDWR) for fd in (0, 1, 2)]
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    from ..sentry.serve import exit_code, serve
    status = serve(boot, conf, listening=listener, console_fd=console, stdio_fds=stdio)
    os._exit(exit_code(status))


def _valid(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
