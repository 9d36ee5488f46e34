"""The sentry's door for its host-side users: the Python API (bastion/api.py)
and the OCI runtime talk to a running sandbox over unix sockets, with the
messages of bastion/wire.py.

Requests are served by the kernel loop itself, between syscalls, so they see
and change kernel state directly (no locks). The sockets are O_ASYNC: a
request raises SIGIO in the sentry, which interrupts the loop's blocking wait
like any host signal, so a sandbox with a control socket keeps the loop's
fast path (no epoll per syscall).

A request is {"id": N, "op": NAME, ...}; the reply is {"id": N, "r": value}
or {"id": N, "e": errno, "msg": text}. A process started by "spawn" has no
parent inside (like `docker exec`'s, its getppid() is 0); when it ends, the
connection that started it gets {"ev": "exit", "pid": P, "status": S} (a
wait status). The "run" tag given at spawn is inherited by every process the
program forks, so "kill" with a run tag reaches the whole tree, wherever its
processes moved (setsid, orphaning). The uid/gid checks of files are those of
root inside the sandbox: the caller owns the sandbox.
"""

import base64
import fcntl
import os
import signal
import socket

from .. import wire
from ..abi import errno as E
from ..abi import signals as S
from ..abi.errno import SyscallError
from .creds import Creds
from .task import RLIM_INFINITY, FSContext, Task
from .vfs.fdtable import FdTable
from .vfs.hostfile import HostFile

MAX_FILE = 128 << 20  # read_file/write_file through the socket
SAFETY_TICK = 0.2


class ControlServer:
    def __init__(self, k, sock, listening=False):
        self.k = k
        self.conns = {}  # fd -> Channel
        self.listener = sock if listening else None
        self.owners = {}  # pid -> Channel that spawned it
        self.consoles = {}  # pid -> the Console of its terminal (spawn with tty)
        self.root_task = self._root_task()
        self.ops = {name[3:]: getattr(self, name) for name in dir(self) if name.startswith("op_")}
        k.on_orphan_exit = self._on_exit
        # the handler first: SIGIO's default action would end the sentry
        k.host_signal_hooks[signal.SIGIO] = self.poll
        signal.signal(signal.SIGIO, k._on_host_signal)
        if listening:
            self._async(sock)
        else:
            self._add(sock)
        k.host_signals.append(signal.SIGIO)  # what came before O_ASYNC raised no signal
        # SIGIO alone has been seen to miss a request (a socket whose data
        # raised no signal): the tick looks too, so a lost one costs 0.2 s, never a hang
        k.tick_hooks.append(self.poll)
        k.start_tick(SAFETY_TICK)

    # --- sockets ----------------------------------------------------------
    def _async(self, sock):
        sock.setblocking(False)
        fd = sock.fileno()
        fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC | os.O_NONBLOCK)

    def _add(self, sock):
        self._async(sock)
        self.conns[sock.fileno()] = wire.Channel(sock)

    def poll(self):
        """Serve everything that is waiting (run by the loop on SIGIO)."""
        if self.listener is not None:
            while True:
                try:
                    s, _ = self.listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                self._add(s)
        for fd, ch in list(self.conns.items()):
            try:
                while True:
                    try:
                        ch.fill()
                    except (BlockingIOError, InterruptedError):
                        break
            except (EOFError, OSError):
                self._drop(fd, ch)
                continue
            while True:
                m = ch.take()
                if m is None:
                    break
                self._serve(ch, *m)

    def _drop(self, fd, ch):
        self.conns.pop(fd, None)
        for pid, owner in list(self.owners.items()):
            if owner is ch:
                del self.owners[pid]
        ch.close()
        if not self.conns and self.listener is None:  # the API went away
            self.shutdown()

    def _serve(self, ch, req, fds):
        rid = req.get("id") if isinstance(req, dict) else None
        fn = self.ops.get(req.get("op")) if isinstance(req, dict) else None
        try:
            if fn is None:
                raise SyscallError(E.EINVAL)
            reply = {"r": fn(ch, req, fds)}
        except SyscallError as e:
            reply = {"e": e.errno, "msg": os.strerror(e.errno)}
        except (KeyError, TypeError, ValueError) as e:
            reply = {"e": E.EINVAL, "msg": f"bad request: {e}"}
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        reply["id"] = rid
        self._send(ch, reply)

    def _send(self, ch, msg):
        try:
            ch.sock.setblocking(True)
            ch.send(msg)
            ch.sock.setblocking(False)
        except OSError:
            pass

    def _on_exit(self, tg):
        console = self.consoles.pop(tg.pid, None)
        if console is not None:
            console.close()
        ch = self.owners.pop(tg.pid, None)
        if ch is not None:
            ev = {"ev": "exit", "pid": tg.pid, "status": tg.exit_status}
            ev.update(self.k.limits.events.pop(tg.run, {}))  # oom kills, refused forks
            self._send(ch, ev)

    def _root_task(self):
        """A task that never runs: the caller's hands inside the sandbox
        (file requests resolve paths and check permissions as root)."""
        from .task import ThreadGroup, SigActions
        k = self.k
        unlimited = [RLIM_INFINITY, RLIM_INFINITY]  # (its file writes meet no RLIMIT_FSIZE)
        tg = ThreadGroup(k, 0, None, SigActions(), Creds(0, 0, [0]), [unlimited] * 16)
        t = Task(k, 0, tg, None, FdTable(), FSContext(k.root_dentry, k.root_dentry))
        return t

    # --- processes -------------------------------------------------------
    def op_spawn(self, ch, req, fds):
        """argv, env (dict), cwd, uid, gid, groups, run, start, rlimits, tty,
        caps ({set: mask}, as boot.spawn), no_new_privs;
        fds: stdin, stdout, stderr (host fds; missing ones are /dev/null), or
        with tty a host terminal (fds[0] in, fds[1] or fds[0] out) relayed to
        a new sandbox pty that becomes the process's controlling terminal."""
        from .boot import spawn
        argv = [str(a) for a in req["argv"]]
        if not argv:
            raise SyscallError(E.EINVAL)
        env = {str(a): str(b) for a, b in req.get("env", {}).items()}
        k = self.k
        files = stdio = None
        if req.get("tty"):
            from .vfs.pty import Console
            if not fds:
                raise SyscallError(E.EBADF)
            console = Console(k, fds[0], fds[1] if len(fds) > 1 else fds[0])
            stdio = console.stdio
        else:
            files = FdTable()
            for i in range(3):
                fd = fds[i] if i < len(fds) else os.open(os.devnull, os.O_RDWR)
                flags = fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK
                files.install_at(i, HostFile(k, os.dup(fd), flags))
        rl = {int(r): v for r, v in (req.get("rlimits") or {}).items()}
        try:
            t = spawn(k, argv, env, req.get("cwd"), int(req.get("uid", 0)), int(req.get("gid", 0)), files,
                      groups=req.get("groups"), run=req.get("run"), start=req.get("start", True),
                      stdio=stdio, rlimits=rl, caps=req.get("caps"),
                      no_new_privs=bool(req.get("no_new_privs")))
        except BaseException:
            if stdio is not None:
                console.close()
            raise
        cpu = req.get("cpu")
        if cpu:  # RLIMIT_CPU of the new process (sentry/limits.py)
            t.tg.rlimits[0] = [int(cpu), int(cpu)]
            k.limits.start()
        self.owners[t.tg.pid] = ch
        if stdio is not None:
            self.consoles[t.tg.pid] = console
        return t.tg.pid

    def op_start(self, ch, req, fds):
        tg = self._group(req["pid"])
        t = tg.tasks[0]
        if not getattr(tg, "started", True) and not t.on_host and t.sys_state is None and not t.blocked:
            tg.started = True
            self.k.return_to_user(t, from_syscall=False)
        return 0

    def op_status(self, ch, req, fds):
        """The sandbox's first process (OCI state): its pid, whether it was
        started, whether the sandbox is paused."""
        k = self.k
        init = k.init
        return {"init": init.pid if init else 0,
                "started": bool(init and getattr(init, "started", True)),
                "paused": k.frozen is not None}

    def op_pause(self, ch, req, fds):
        self.k.freeze()
        return 0

    def op_resume(self, ch, req, fds):
        self.k.thaw()
        return 0

    def _group(self, pid):
        tg = self.k.groups.get(int(pid))
        if tg is None or tg.zombie or not tg.tasks:
            raise SyscallError(E.ESRCH)
        return tg

    def _targets(self, req):
        k = self.k
        if "run" in req:
            return [tg for tg in k.groups.values() if tg.run == req["run"] and not tg.zombie]
        if req.get("all"):
            return [tg for tg in k.groups.values() if not tg.zombie]
        return [self._group(req["pid"])]

    def op_kill(self, ch, req, fds):
        """pid, or run (a whole tree), or all; sig (default SIGKILL)."""
        sig = int(req.get("sig", S.SIGKILL))
        if not 0 <= sig < 65:
            raise SyscallError(E.EINVAL)
        targets = self._targets(req)
        for tg in targets:
            self.k.send_signal_group(tg, sig, S.siginfo(sig, S.SI_USER, pid=0, uid=0))
        if sig == S.SIGKILL and self.k.frozen is not None:  # as cgroup v2: a kill reaches the frozen
            self.k.thaw()
        return len(targets)

    def op_ps(self, ch, req, fds):
        out = []
        for tg in sorted(self.k.groups.values(), key=lambda g: g.pid):
            if tg.zombie or not tg.tasks:
                continue
            t = tg.tasks[0]
            out.append({"pid": tg.pid, "ppid": tg.parent.pid if tg.parent else 0, "run": tg.run,
                        "comm": t.comm.decode("utf-8", "replace"), "uid": tg.creds.ruid,
                        "threads": len(tg.tasks), "stopped": tg.stopped})
        return out

    def op_stats(self, ch, req, fds):
        k = self.k
        u = s = 0.0
        for tg in k.groups.values():
            a, b = k.cpu_times(tg)
            u += a
            s += b
        return {"memory": k.memory_used(), "pids": len(k.tasks), "utime": u, "stime": s}

    def op_shutdown(self, ch, req, fds):
        """End the sandbox; `status` is the wait status it ends with (a created
        but never started OCI container killed by a signal)."""
        self.shutdown(int(req.get("status", 0)))
        return 0

    def shutdown(self, status=0):
        k = self.k
        for tg in list(k.groups.values()):
            if not tg.zombie:
                k.send_signal_group(tg, S.SIGKILL)
        k.shutdown(status)

    # --- files -------------------------------------------------------------
    def _open(self, path, flags, mode=0o644):
        from .syscalls.fs import do_open
        t = self.root_task
        fd = do_open(t, -100, str(path), flags | os.O_CLOEXEC, mode)
        return t, fd

    def op_read_file(self, ch, req, fds):
        t, fd = self._open(req["path"], os.O_RDONLY)
        try:
            f = t.files.get(fd)
            if f.inode.is_dir():
                raise SyscallError(E.EISDIR)
            out = bytearray()
            while True:
                chunk = f.read(t, 1 << 20)
                if not chunk:
                    break
                out += chunk
                if len(out) > MAX_FILE:
                    raise SyscallError(E.EFBIG)
        finally:
            t.files.close(fd)
        return base64.b64encode(out).decode()

    def op_write_file(self, ch, req, fds):
        data = base64.b64decode(req["data"])
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if req.get("append") else os.O_TRUNC)
        t, fd = self._open(req["path"], flags, int(req.get("mode", 0o644)) & 0o7777)
        try:
            f = t.files.get(fd)
            view = memoryview(data)
            while view:
                n = f.write(t, bytes(view[:1 << 20]))
                view = view[n:]
        finally:
            t.files.close(fd)
        return len(data)

    def op_listdir(self, ch, req, fds):
        t = self.root_task
        d = self.k.lookup(t, str(req["path"]), True)
        if not d.inode.is_dir():
            raise SyscallError(E.ENOTDIR)
        return sorted(name for name, _, _ in d.inode.readdir())


def socketpair():
    """(sentry end, caller end) of a private control connection."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
