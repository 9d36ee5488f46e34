"""The `bastion` command: `bastion run [OPTIONS] -- CMD [ARGS...]`,
`bastion syscalls`, and the runc-compatible OCI runtime
(`bastion [GLOBAL OPTIONS] create|start|run|state|kill|delete|exec|...`,
bastion/oci/runtime.py). User errors print one line and exit non-zero.

`run` has two forms. It is the OCI verb (`bastion run [--bundle DIR]
[--pid-file F] [--console-socket S] [--detach] [--keep] CONTAINER_ID`) when
it has no `--` and either a runc global option came first (--root, --log,
...), or one of the OCI run options is given, or its only argument is one
word and the current directory holds a config.json (a bundle). Otherwise it
is the sandbox command, `bastion run [OPTIONS] -- CMD [ARGS...]`."""

import argparse
import os
import signal
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


class _Formatter(argparse.HelpFormatter):
    """argparse's own asks shutil for the terminal width, and importing
    shutil (zlib, bz2, lzma) costs every start a few ms: os knows it too."""

    def __init__(self, prog):
        try:
            width = int(os.environ.get("COLUMNS", "")) or 0
        except ValueError:
            width = 0
        if not width:
            try:
                width = os.get_terminal_size(sys.__stdout__.fileno()).columns
            except (AttributeError, OSError, ValueError):
                width = 80
        super().__init__(prog, width=max(width, 20) - 2)


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)

    def error(self, message):
        raise UserError(message)


def _parser():
    p = _Parser(prog="bastion", description="Run Linux programs in a sandbox whose kernel is Bastion's.",
                epilog="OCI runtime (runc-compatible): bastion [--root DIR] [--log FILE] [--log-format "
                       "text|json] [--debug] " + "|".join(OCI_COMMANDS) + "|run ... CONTAINER_ID")
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
    r.add_argument("--no-patch", action="store_true",
                   help="never rewrite the app's syscall instructions (systrap patches "
                        "trapped `mov $nr, %%eax; syscall` sites to skip the trap)")
    r.add_argument("--no-directfs", action="store_true",
                   help="every file op is a round trip to the gofer process; by default the "
                        "sentry runs the gofer's file code itself, beneath the same mount roots "
                        "(default: on unless $BASTION_DIRECTFS=0)")
    r.add_argument("--network", default="none", choices=("none", "host"),
                   help="none: only the sandbox's own loopback (default); host: the host's network")
    r.add_argument("--platform", default=None, choices=("ptrace", "systrap"),
                   help="how app syscalls reach the sentry (default: $BASTION_PLATFORM, "
                        "else systrap where the host has seccomp, else ptrace)")
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
    from .sentry.boot import PLATFORMS, default_platform
    platform = a.platform or default_platform()
    if platform not in PLATFORMS:
        raise UserError(f"bad platform {platform!r} (from BASTION_PLATFORM): expected one of {', '.join(PLATFORMS)}")
    return Config(argv, rootfs=os.path.abspath(a.rootfs), mounts=mounts, tmpfs=a.tmpfs,
                  cwd=a.cwd, env=env, hostname=a.hostname, uid=uid, gid=gid, strace=strace,
                  debug_log=a.debug_log, tty=a.tty, network=a.network,
                  platform=platform, vdso=not a.no_vdso, patch=not a.no_patch,
                  directfs=False if a.no_directfs else None,
                  ignored_signals=_caller_ignored())


def _caller_ignored():
    """The signals our caller ignores, which the command would start with
    ignored had it been exec'd directly (before the sentry sets handlers of
    its own). Not SIGPIPE or SIGXFSZ: Python ignores those itself at start,
    so the caller's choice for them is lost."""
    own = (signal.SIGPIPE, signal.SIGXFSZ)
    return [s for s in range(1, 32) if s not in own and signal.getsignal(s) == signal.SIG_IGN]


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


OCI_COMMANDS = ("create", "start", "state", "kill", "delete", "exec", "ps", "list", "spec", "pause",
                "resume", "events", "features", "checkpoint", "restore")
OCI_GLOBALS = ("--root", "--log", "--log-format", "--debug", "--systemd-cgroup", "--criu", "--rootless")
OCI_RUN_OPTIONS = ("--bundle", "-b", "--pid-file", "--console-socket", "--detach", "-d", "--keep",
                   "--no-subreaper", "--no-pivot", "--no-new-keyring", "--preserve-fds")


def _is_oci(argv):
    """Whether argv is an OCI runtime command line (see the module docstring)."""
    if not argv:
        return False
    if argv[0].partition("=")[0] in OCI_GLOBALS or argv[0] in OCI_COMMANDS:
        return True
    if argv[0] != "run" or "--" in argv:
        return False
    args = argv[1:]
    names = {a.partition("=")[0] for a in args if a.startswith("-")}
    if names & set(OCI_RUN_OPTIONS):
        return True
    words = [a for a in args if not a.startswith("-")]
    return not names and len(words) == 1 and os.path.isfile("config.json")


def main(argv=None):
    entry = argv is None  # run as the program, not called from Python
    argv = sys.argv[1:] if entry else list(argv)
    if argv and argv[0] in ("--version", "-v"):
        from .oci.runtime import VERSION
        from .oci.spec import OCI_VERSION
        print(f"bastion version {VERSION}\nspec: {OCI_VERSION}")
        return 0
    if _is_oci(argv):
        from .oci import runtime
        return runtime.main(argv)
    try:
        a = _parser().parse_args(argv)
        if a.cmd == "run":
            status = cmd_run(a)
            if entry:
                # As the program: skip the interpreter's teardown of the
                # whole kernel's objects (~40 ms here, a fifth of a short
                # run). Stubs and the gofer die with us (PDEATHSIG); logs
                # are flushed as they are written.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
            return status
        if a.cmd == "syscalls":
            return cmd_syscalls(a)
        _parser().print_help()
        return EXIT_USAGE
    except UserError as e:
        print(f"bastion: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `bastion syscalls | head`: end quietly, as a tool killed by SIGPIPE
        # would (and keep Python's exit-time flush from complaining again)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
