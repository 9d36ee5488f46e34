"""The `bastion` command: `bastion run [OPTIONS] -- CMD [ARGS...]`,
`bastion syscalls`. User errors print one line and exit non-zero."""

import argparse
import os
import sys

EXIT_USAGE = 2
EXIT_SETUP = 125  # like runc/docker: the sandbox could not be set up


class UserError(Exception):
    pass


def _parse_mount(spec):
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise UserError(f"bad --mount {spec!r}: expected SRC:DST[:ro|:rw]")
    src, dst = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise UserError(f"bad --mount {spec!r}: mode must be ro or rw")
    if not dst.startswith("/"):
        raise UserError(f"bad --mount {spec!r}: destination must be an absolute path")
    if not os.path.exists(src):
        raise UserError(f"bad --mount {spec!r}: {src} does not exist")
    if not os.path.isdir(src):
        raise UserError(f"bad --mount {spec!r}: {src} is not a directory (file binds are not supported)")
    return os.path.abspath(src), os.path.normpath(dst), mode == "ro"


def _parse_user(spec):
    uid, _, gid = spec.partition(":")
    try:
        return int(uid), int(gid) if gid else int(uid)
    except ValueError:
        raise UserError(f"bad --user {spec!r}: expected UID[:GID]")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(message)


def _parser():
    p = _Parser(prog="bastion", description="Run Linux programs in a sandbox whose kernel is Bastion's.")
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="run a command in a new sandbox")
    r.add_argument("--rootfs", default="/", help="root filesystem (read-only, with a writable overlay)")
    r.add_argument("--mount", action="append", default=[], metavar="SRC:DST[:ro|:rw]")
    r.add_argument("--tmpfs", action="append", default=[], metavar="DST")
    r.add_argument("--cwd", default=None)
    r.add_argument("--env", action="append", default=None, metavar="KEY=VALUE")
    r.add_argument("--hostname", default="bastion")
    r.add_argument("--user", default=None, metavar="UID[:GID]")
    r.add_argument("--strace", action="store_true", help="log every syscall to stderr")
    r.add_argument("--strace-log", default=None, metavar="FILE")
    r.add_argument("--debug-log", default=None, metavar="FILE")
    r.add_argument("--no-vdso", action="store_true",
                   help="no vDSO: every time query is a syscall (debugging, A/B)")
    r.add_argument("--network", default="none", choices=("none", "host"),
                   help="none: only the sandbox's own loopback (default); host: the host's network")
    r.add_argument("--platform", default=None, choices=("ptrace", "systrap"),
                   help="how app syscalls reach the sentry (default: $BASTION_PLATFORM or ptrace)")
    r.add_argument("-t", "--tty", action="store_true",
                   help="give the command a terminal: a sandbox pty relayed to this one")
    r.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("syscalls", help="print the syscall support table")
    return p


def _config(a):
    from .sentry.boot import Config
    if not os.path.isdir(a.rootfs):
        raise UserError(f"rootfs {a.rootfs!r} is not a directory")
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
    if not argv:
        raise UserError("missing command: bastion run [OPTIONS] -- CMD [ARGS...]")
    mounts = [_parse_mount(m) for m in a.mount]
    for d in a.tmpfs:
        if not d.startswith("/"):
            raise UserError(f"bad --tmpfs {d!r}: must be an absolute path")
    env = None
    if a.env is not None:
        env = {}
        for kv in a.env:
            k, sep, v = kv.partition("=")
            if not sep or not k:
                raise UserError(f"bad --env {kv!r}: expected KEY=VALUE")
            env[k] = v
    uid = gid = None
    if a.user:
        uid, gid = _parse_user(a.user)
    strace = a.strace_log if a.strace_log else ("-" if a.strace else None)
    return Config(argv, rootfs=os.path.abspath(a.rootfs), mounts=mounts, tmpfs=a.tmpfs,
                  cwd=a.cwd, env=env, hostname=a.hostname, uid=uid, gid=gid, strace=strace,
                  debug_log=a.debug_log, tty=a.tty, network=a.network,
                  platform=a.platform, vdso=not a.no_vdso)


def cmd_run(a):
    from .abi.errno import NAMES, SyscallError
    from .sentry.boot import boot
    cfg = _config(a)
    try:
        k, _ = boot(cfg)
    except SyscallError as e:
        name = NAMES.get(e.errno, str(e.errno))
        raise UserError(f"cannot run {cfg.argv[0]!r}: {os.strerror(e.errno)} ({name})")
    except (OSError, EOFError) as e:  # the host refused a resource (gofer, stub, ...)
        raise UserError(f"cannot start the sandbox: {e}")
    console = getattr(k, "console", None)
    restore = lambda: None  # noqa: E731
    try:
        if console is not None:
            from .sentry.vfs.pty import host_raw_mode
            restore = host_raw_mode(console.host_in)
        status = k.run()
    finally:
        if console is not None:
            console.flush()
        restore()
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def cmd_syscalls(a):
    from .abi.sysno import NAMES
    from .sentry.syscalls.table import support
    sup = support()
    for nr in sorted(NAMES):
        print(f"{nr:4d} {NAMES[nr]:<24} {sup.get(NAMES[nr], 'none')}")
    return 0


def main(argv=None):
    try:
        a = _parser().parse_args(argv)
        if a.cmd == "run":
            return cmd_run(a)
        if a.cmd == "syscalls":
            return cmd_syscalls(a)
        _parser().print_help()
        return EXIT_USAGE
    except UserError as e:
        print(f"bastion: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
