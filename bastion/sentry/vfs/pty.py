"""Pseudo-terminals: /dev/ptmx, the devpts filesystem at /dev/pts, and the
line discipline between them (drivers/tty/pty.c, n_tty.c, tty_io.c,
tty_jobctrl.c).

A `Pty` is one master/slave pair. Bytes written on the master go through the
input side of the line discipline (ICRNL, ISIG, canonical editing, echo) into
the slave's read queue; bytes written on the slave go through output
processing (OPOST, ONLCR) into the master's read queue. There is one termios
and one window size per pair, as in Linux, where the master's mode ioctls act
on the slave.

Sessions have no object of their own in the sentry: a pty is the controlling
terminal of session `pty.session` (an sid), and its foreground process group is
`pty.pgrp` (a pgid). As in Linux, a session leader without a terminal that
opens a slave without O_NOCTTY takes it. Known differences from Linux: TIOCNOTTY by a process that is not the session leader only detaches that
process, not its later children; the exit of a session leader does not hang
up its terminal; TIOCPKT reports data packets only.

`Console` is the other end of `bastion run -t`: it relays the caller's
terminal (host fds, waited on in the kernel's epoll) to a pty master inside
the sentry.
"""

import fcntl
import os
import select
import signal
import struct
import termios
import time

from ...abi import errno as E
from ...abi import signals as S
from ...abi.caps import CAP_SYS_ADMIN
from ...abi.errno import SyscallError
from ..sched import Callback, WaitQueue
from .inode import O_NOCTTY, O_NONBLOCK, O_RDWR, S_IFCHR, S_IFDIR, File, FileSystem, Inode

# --- termios (include/uapi/asm-generic/termbits.h) ---------------------------
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP, INLCR, IGNCR, ICRNL = \
    0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400
IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8 = 0o1000, 0o2000, 0o4000, 0o10000, 0o20000, 0o40000
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
TABDLY, XTABS = 0o14000, 0o14000
B38400, CS8, CREAD, HUPCL = 0o17, 0o60, 0o200, 0o2000
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, TOSTOP = \
    0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400
ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, IEXTEN, EXTPROC = \
    0o1000, 0o2000, 0o4000, 0o10000, 0o40000, 0o100000, 0o200000
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC, VSTART, VSTOP, VSUSP, VEOL, \
    VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = range(17)
NCCS = 19
# include/linux/tty.h INIT_C_CC: ^C ^\ DEL ^U ^D 0 1 0 ^Q ^S ^Z 0 ^R ^O ^W ^V 0
INIT_C_CC = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0])
TERMIOS = struct.Struct("<IIIIB19s")        # struct termios, 36 bytes
TERMIOS2 = struct.Struct("<IIIIB19sII")     # struct termios2, 44 bytes
WINSZ_SIZE = 8

# --- ioctls (include/uapi/asm-generic/ioctls.h) ------------------------------
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCSBRK, TCXONC, TCFLSH, TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x5409, 0x540A, 0x540B, 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCSTI, TIOCGWINSZ, TIOCSWINSZ = \
    0x540F, 0x5410, 0x5411, 0x5412, 0x5413, 0x5414
FIONREAD, TIOCPKT, TIOCNOTTY, TIOCSETD, TIOCGETD, TCSBRKP = 0x541B, 0x5420, 0x5422, 0x5423, 0x5424, 0x5425
TIOCGSID, TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x5429, 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCGPTN, TIOCSPTLCK, TIOCSIG, TIOCGPKT, TIOCGPTLCK, TIOCGEXCL, TIOCGPTPEER = \
    0x80045430, 0x40045431, 0x40045436, 0x80045438, 0x80045439, 0x80045440, 0x5441

POLLIN, POLLOUT, POLLERR, POLLHUP = 0x1, 0x4, 0x8, 0x10

N_TTY_BUF_SIZE = 4096        # drivers/tty/n_tty.c: the line discipline's read buffer
TTYB_MEM_LIMIT = 65536       # drivers/tty/tty_buffer.c TTYB_DEFAULT_MEM_LIMIT
PTY_MAJOR, PTMX_MAJOR, PTMX_MINOR = 136, 5, 2
TTY_GID = 5                  # devpts mounted with gid=5 (the tty group), as by systemd/docker
NR_PTYS = 4096               # /proc/sys/kernel/pty/max (default)


def _cntrl(c):
    return c < 32 or c == 127


class DevptsFS(FileSystem):
    name = "devpts"
    cache_dentries = False  # /dev/pts/N come and go

    def __init__(self, kernel):
        super().__init__()
        self.kernel = kernel
        self.ptys = {}  # index -> Pty (allocated: master or slaves still open)
        self.root = PtsDir(self)
        self.ptmx = Inode(S_IFCHR | 0o000, 0, 0, rdev=os.makedev(PTMX_MAJOR, PTMX_MINOR))
        self.ptmx.fs = self
        self.ptmx.open = lambda flags, t=None: self.open_master(self.ptmx, flags, t)

    def alloc(self, t):
        i = 0
        while i in self.ptys:
            i += 1
        if i >= NR_PTYS:
            raise SyscallError(E.ENOSPC)
        c = t.tg.creds if t is not None else None
        p = Pty(self, i, c.fsuid if c else 0)
        self.ptys[i] = p
        return p

    def open_master(self, inode, flags, t=None):
        return PtyMaster(self.alloc(t), inode, flags)

    def ctty(self, tg):
        """The controlling terminal of tg's session, or None."""
        for p in self.ptys.values():
            if p.session == tg.sid and tg.pid not in p.detached:
                if p.session_alive():
                    return p
                p.session = p.pgrp = None
        return None


def devpts(kernel):
    """The sandbox's one devpts instance (created on first use)."""
    fs = getattr(kernel, "devpts", None)
    if fs is None:
        fs = kernel.devpts = DevptsFS(kernel)
    return fs


class PtsDir(Inode):
    def __init__(self, fs):
        super().__init__(S_IFDIR | 0o755)
        self.fs = fs

    def _entries(self):
        out = {"ptmx": self.fs.ptmx}
        for i, p in sorted(self.fs.ptys.items()):
            if p.master_open:
                out[str(i)] = p.inode
        return out

    def lookup(self, name, rest=(), opening=False):
        n = self._entries().get(name)
        if n is None:
            raise SyscallError(E.ENOENT)
        return n

    def readdir(self):
        return [(name, n.ino, (n.mode >> 12) & 0o17) for name, n in self._entries().items()]

    def open(self, flags, t=None):
        from .files import DirFile
        return DirFile(self, flags)


class SlaveInode(Inode):
    def __init__(self, pty, uid):
        super().__init__(S_IFCHR | 0o620, uid, TTY_GID, rdev=os.makedev(PTY_MAJOR, pty.index))
        self.fs = pty.devpts
        self.pty = pty

    def open(self, flags, t=None):
        return self.pty.open_slave(flags, self, t)


class _Driver:
    """The special of /dev/ptmx in devfs."""

    def __init__(self, kernel):
        self.kernel = kernel

    def open(self, node, flags, t=None):
        return devpts(self.kernel).open_master(node, flags, t)


def ptmx_driver(kernel):
    return _Driver(kernel)


def open_ctty(kernel, t, flags, node):
    """/dev/tty: a new open of the caller's controlling terminal, or None."""
    if t is None:
        return None
    p = devpts(kernel).ctty(t.tg)
    if p is None:
        return None
    return p.open_slave(flags, node)


# --- the pair -------------------------------------------------------------
class Pty:
    def __init__(self, devpts, index, uid=0):
        self.devpts = devpts
        self.kernel = devpts.kernel
        self.index = index
        self.iflag = ICRNL | IXON
        self.oflag = OPOST | ONLCR
        self.cflag = B38400 | CS8 | CREAD  # pty.c: the slave driver's init_termios
        self.lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
        self.line = 0
        self.cc = bytearray(INIT_C_CC)
        self.winsize = bytes(WINSZ_SIZE)
        self.pend = bytearray()   # master writes not yet through the line discipline
        self.inq = bytearray()    # input the slave may read
        self.marks = []           # canonical mode: ends of complete lines in inq
        self.canon = bytearray()  # canonical mode: the line being edited
        self.outq = bytearray()   # output the master may read
        self.lnext = False
        self.col = 0
        self.canon_col = 0
        self.stopped = False      # output stopped by ^S / TCOOFF
        self.session = None
        self.pgrp = None
        self.detached = set()     # pids that left this ctty with TIOCNOTTY
        self.locked = True
        self.packet = False
        self.excl = False
        self.master_open = True
        self.slaves = 0
        self.slave_opened = False
        self.hung_up = False
        self.mq = WaitQueue()     # master side: output to read, room for input, slave closed
        self.sq = WaitQueue()     # slave side: input to read, room for output, hangup
        self.inode = SlaveInode(self, uid)

    # --- opening and closing ----------------------------------------------
    def open_slave(self, flags, inode=None, t=None):
        if not self.master_open or self.hung_up or self.locked:
            raise SyscallError(E.EIO)
        f = PtySlave(self, inode or self.inode, flags)
        if t is not None and not flags & O_NOCTTY:
            # tty_open_proc_set_tty: a session leader without a terminal
            # takes a tty that no session has
            tg = t.tg
            if tg.sid == tg.pid and (self.session is None or not self.session_alive()) \
                    and self.devpts.ctty(tg) is None:
                self.session, self.pgrp = tg.sid, tg.pgid
                self.detached.clear()
        return f

    def slave_released(self):
        self.slaves -= 1
        if self.slaves == 0:
            self.mq.notify()
            self._maybe_free()

    def master_released(self):
        self.master_open = False
        self.hangup()
        self._maybe_free()

    def _maybe_free(self):
        if not self.master_open and self.slaves == 0:
            if self.devpts.ptys.get(self.index) is self:
                del self.devpts.ptys[self.index]

    def session_alive(self):
        sid = self.session
        return sid is not None and any(g.sid == sid and not g.zombie
                                       for g in self.kernel.groups.values())

    def hangup(self):
        """The master went away (tty_vhangup): the session leader gets SIGHUP
        and SIGCONT, the session loses its terminal, slave files read EOF."""
        self.hung_up = True
        k = self.kernel
        if self.session is not None and self.session_alive():
            leader = k.groups.get(self.session)
            if leader is not None and not leader.zombie and leader.sid == self.session:
                k.send_signal_group(leader, S.SIGHUP)
                k.send_signal_group(leader, S.SIGCONT)
        self.session = self.pgrp = None
        self.sq.notify()
        self.mq.notify()

    # --- termios ---------------------------------------------------------
    @property
    def icanon(self):
        return bool(self.lflag & ICANON)

    def get_termios(self, two=False):
        if two:
            return TERMIOS2.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                                 bytes(self.cc), 38400, 38400)
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc))

    def set_termios(self, raw, flush=False):
        fields = (TERMIOS2 if len(raw) == TERMIOS2.size else TERMIOS).unpack(raw)
        iflag, oflag, cflag, lflag, line, cc = fields[:6]
        if flush:
            self.flush_input()
        was_canon = self.icanon
        self.iflag, self.oflag, self.cflag, self.lflag, self.line = iflag, oflag, cflag, lflag, line
        self.cc = bytearray(cc)
        if was_canon and not self.icanon:
            # n_tty_set_termios: a partial line becomes readable input
            self.inq += self.canon
            self.canon.clear()
            self.marks = []
            self.lnext = False
        elif not was_canon and self.icanon and self.inq:
            self.marks = [len(self.inq)]  # what was typed raw reads as one line
        if not self.iflag & IXON and self.stopped:
            self.stopped = False
        self.process_input()
        self.sq.notify()
        self.mq.notify()

    def set_winsize(self, ws):
        if ws == self.winsize:
            return
        self.winsize = ws
        if self.pgrp is not None:
            self.kernel.kill_pgrp(self.pgrp, S.SIGWINCH)

    def flush_input(self):
        self.pend.clear()
        self.inq.clear()
        self.marks = []
        self.canon.clear()
        self.lnext = False
        self.mq.notify()

    def flush_output(self):
        self.outq.clear()
        self.sq.notify()

    # --- job control (tty_jobctrl.c) ----------------------------------------
    def is_ctty(self, tg):
        return self.session is not None and self.session == tg.sid and tg.pid not in self.detached

    def check_change(self, t, sig):
        """__tty_check_change: a background process group touching its
        terminal is stopped with `sig` (SIGTTOU/SIGTTIN) or gets EIO."""
        tg = t.tg
        if not self.is_ctty(tg) or self.pgrp is None or tg.pgid == self.pgrp:
            return
        if t.sigmask & S.bit(sig) or tg.sigactions.actions[sig][0] == S.SIG_IGN:
            if sig == S.SIGTTIN:
                raise SyscallError(E.EIO)
            return
        if self.kernel.pgrp_orphaned(tg.pgid):
            raise SyscallError(E.EIO)
        self.kernel.kill_pgrp(tg.pgid, sig)
        raise SyscallError(E.ERESTARTSYS)


    def signal_fg(self, sig):
        """n_tty.c isig: signal the foreground group; unless NOFLSH, flush
        the input and the output the master has not read yet."""
        if not self.lflag & NOFLSH:
            self.inq.clear()
            self.marks = []
            self.canon.clear()
            self.lnext = False
            self.outq.clear()
            self.sq.notify(POLLOUT)
        if self.pgrp is not None:
            self.kernel.kill_pgrp(self.pgrp, sig)

    # --- output processing (n_tty.c do_output_char) ---------------------------
    def opost(self, data):
        o = self.oflag
        if not o & OPOST:
            self.outq += data
            return
        if o & (OLCUC | OCRNL | ONOCR | ONLRET | TABDLY | ONLCR) == ONLCR:
            # the common case, only ONLCR: translate in bulk, then find the column
            self.outq += data.replace(b"\n", b"\r\n")
            i = max(data.rfind(b"\n"), data.rfind(b"\r"))
            if i >= 0:
                self.col = self.canon_col = 0
            for c in data[i + 1:]:
                self._advance(c)
            return
        for c in data:
            self._out_char(c)

    def _advance(self, c):
        if c == 9:
            self.col = (self.col | 7) + 1
        elif c == 8:
            if self.col > 0:
                self.col -= 1
        elif not _cntrl(c) and not (self.iflag & IUTF8 and c & 0xC0 == 0x80):
            self.col += 1

    def _out_char(self, c):
        o, q = self.oflag, self.outq
        if c == 10:
            if o & ONLRET:
                self.col = 0
            if o & ONLCR:
                self.col = self.canon_col = 0
                q += b"\r\n"
                return
            self.canon_col = self.col
        elif c == 13:
            if o & ONOCR and self.col == 0:
                return
            if o & OCRNL:
                c = 10
                if o & ONLRET:
                    self.canon_col = self.col = 0
            else:
                self.canon_col = self.col = 0
        elif c == 9:
            spaces = 8 - (self.col & 7)
            self.col += spaces
            if o & TABDLY == XTABS:
                q += b" " * spaces
                return
        elif c == 8:
            if self.col > 0:
                self.col -= 1
        else:
            if o & OLCUC and 97 <= c <= 122:
                c -= 32
            if not _cntrl(c) and not (self.iflag & IUTF8 and c & 0xC0 == 0x80):
                self.col += 1
        q.append(c)

    # --- echo ------------------------------------------------------------------
    def _echo_raw(self, c):
        self._out_char(c) if self.oflag & OPOST else self.outq.append(c)

    def _echo(self, c):
        """echo_char: control characters as ^X with ECHOCTL."""
        if self.lflag & ECHOCTL and _cntrl(c) and c != 9:
            self.outq += bytes([94, c ^ 0o100])
            self.col += 2
        else:
            self._echo_raw(c)

    def _echo_bs(self, n):
        for _ in range(n):
            self.outq += b"\b \b"
            if self.col > 0:
                self.col -= 1

    def _col_before(self, end):
        """The screen column where canon[end] was echoed."""
        col = self.canon_col
        ctl = self.lflag & ECHOCTL
        for c in self.canon[:end]:
            if c == 9:
                col = (col | 7) + 1
            elif _cntrl(c):
                col += 2 if ctl else 0
            elif not (self.iflag & IUTF8 and c & 0xC0 == 0x80):
                col += 1
        return col

    def _erase(self, kind):
        """n_tty.c eraser: kind is VERASE, VWERASE or VKILL."""
        lf = self.lflag
        if not self.canon:
            return
        if kind == VKILL:
            if not lf & ECHO:
                self.canon.clear()
                return
            if not (lf & ECHOK and lf & ECHOKE and lf & ECHOE):
                self.canon.clear()
                self._echo(self.cc[VKILL])
                if lf & ECHOK:
                    self._echo_raw(10)
                return
        seen_alnum = False
        while self.canon:
            end = len(self.canon) - 1
            if self.iflag & IUTF8:
                while end > 0 and self.canon[end] & 0xC0 == 0x80:
                    end -= 1
            c = self.canon[end]
            if kind == VWERASE:
                if chr(c).isalnum() or c == 95:
                    seen_alnum = True
                elif seen_alnum:
                    break
            col_before = self._col_before(end) if c == 9 else 0
            del self.canon[end:]
            if lf & ECHO:
                if kind == VERASE and not lf & ECHOE:
                    self._echo(self.cc[VERASE])
                elif c == 9:
                    back = max(0, self.col - col_before)
                    self.outq += b"\b" * back
                    self.col -= back
                elif _cntrl(c):
                    if lf & ECHOCTL:
                        self._echo_bs(2)
                else:
                    self._echo_bs(1)
            if kind == VERASE:
                break

    # --- input processing (n_tty.c n_tty_receive_char_special) -----------------
    def master_write(self, data):
        """Queue bytes typed on the master; return how many were taken."""
        room = TTYB_MEM_LIMIT - len(self.pend)
        if room <= 0:
            return 0
        data = data[:room]
        self.pend += data
        self.process_input()
        return len(data)

    def _room(self):
        return N_TTY_BUF_SIZE - 1 - len(self.inq) - len(self.canon)

    def process_input(self):
        if not self.pend:
            return
        before_in, before_out = (len(self.inq), len(self.marks)), len(self.outq)
        pend = self.pend
        i = 0
        n = len(pend)
        while i < n:
            room = self._room()
            overflow = False
            if room <= 0:
                overflow = self.icanon and not self.marks
                if not overflow:
                    break
            self._receive(pend[i], overflow)
            i += 1
        del pend[:i]
        if i:
            self.mq.notify(POLLOUT)
        if (len(self.inq), len(self.marks)) != before_in:
            self.sq.notify(POLLIN)
        if len(self.outq) != before_out:
            self.mq.notify(POLLIN)

    def _receive(self, c, overflow=False):
        ifl, lf, cc = self.iflag, self.lflag, self.cc
        if ifl & ISTRIP:
            c &= 0x7F
        if ifl & IUCLC and lf & IEXTEN and 65 <= c <= 90:
            c += 32
        if self.lnext:
            self.lnext = False
            self._put(c, overflow)
            return
        if ifl & IXON:
            if c == cc[VSTART] and c:
                self.stopped = False
                self.sq.notify(POLLOUT)
                return
            if c == cc[VSTOP] and c:
                self.stopped = True
                return
        if lf & ISIG and c:
            sig = {cc[VINTR]: S.SIGINT, cc[VQUIT]: S.SIGQUIT, cc[VSUSP]: S.SIGTSTP}.get(c)
            if sig is not None:
                self.signal_fg(sig)
                if ifl & IXON:
                    self.stopped = False
                if lf & ECHO:
                    self._echo(c)
                return
        if self.stopped and ifl & IXON and ifl & IXANY:
            self.stopped = False
            self.sq.notify(POLLOUT)
        if c == 13:
            if ifl & IGNCR:
                return
            if ifl & ICRNL:
                c = 10
        elif c == 10 and ifl & INLCR:
            c = 13
        if self.icanon and c:
            if c in (cc[VERASE], cc[VKILL]) or (c == cc[VWERASE] and lf & IEXTEN):
                self._erase(VERASE if c == cc[VERASE] else VKILL if c == cc[VKILL] else VWERASE)
                return
            if c == cc[VLNEXT] and lf & IEXTEN:
                self.lnext = True
                if lf & ECHO and lf & ECHOCTL:
                    self.outq += b"^\b"
                return
            if c == cc[VREPRINT] and lf & ECHO and lf & IEXTEN:
                self._echo(c)
                self._echo_raw(10)
                for x in self.canon:
                    self._echo(x)
                return
            if c == 10:
                if lf & (ECHO | ECHONL):
                    self._echo_raw(10)
                self._end_line(b"\n")
                return
            if c == cc[VEOF]:
                self._end_line(b"")
                return
            if c == cc[VEOL] or (c == cc[VEOL2] and lf & IEXTEN):
                if lf & ECHO:
                    if not self.canon:
                        self.canon_col = self.col
                    self._echo(c)
                self._end_line(bytes([c]))
                return
        self._put(c, overflow)

    def _put(self, c, overflow=False):
        if self.lflag & ECHO:
            if c == 10:
                self._echo_raw(10)
            else:
                if not self.canon:
                    self.canon_col = self.col
                self._echo(c)
        if overflow:
            return
        if self.icanon:
            self.canon.append(c)
        else:
            self.inq.append(c)

    def _end_line(self, term):
        self.inq += self.canon
        self.inq += term
        self.canon.clear()
        self.marks.append(len(self.inq))

    # --- reading and writing --------------------------------------------------
    def readable(self, poll=False):
        if self.icanon:
            return bool(self.marks)
        vmin, vtime = self.cc[VMIN], self.cc[VTIME]
        need = vmin if poll and vmin and not vtime else 1
        return len(self.inq) >= need

    def take(self, n):
        """Remove up to n bytes of input (one line at most in canonical mode)."""
        if self.icanon and self.marks:
            end = self.marks[0]
            k = min(n, end)
            data = bytes(self.inq[:k])
            del self.inq[:k]
            if k == end:
                self.marks.pop(0)
            self.marks = [m - k for m in self.marks]
        else:
            data = bytes(self.inq[:n])
            del self.inq[:n]
            if self.marks:
                self.marks = [m - len(data) for m in self.marks if m > len(data)]
        self.process_input()
        self.mq.notify(POLLOUT)
        return data

    def slave_read(self, t, f, n):
        if self.hung_up:
            return b""
        self.check_change(t, S.SIGTTIN)
        nonblock = f.flags & O_NONBLOCK
        if self.icanon:
            if self.marks:
                return self.take(n)
            if nonblock:
                raise SyscallError(E.EAGAIN)
            t.block([self.sq])
        vmin, vtime = self.cc[VMIN], self.cc[VTIME]
        avail = len(self.inq)
        if vmin == 0 and vtime == 0:
            return self.take(n)
        want = min(vmin, n) if vmin else 1
        if avail >= want:
            return self.take(n)
        if nonblock:
            if avail:
                return self.take(n)
            raise SyscallError(E.EAGAIN)
        st = t.sys_state if isinstance(t.sys_state, dict) else None
        now = time.monotonic_ns()
        deadline = None
        if vtime:
            if vmin == 0:  # a read timer from the start of the call
                if st is None:
                    st = {"deadline": now + vtime * 10**8}
                deadline = st["deadline"]
            elif avail:  # an inter-byte timer from the last byte
                if st is None or st.get("seen") != avail:
                    st = {"seen": avail, "deadline": now + vtime * 10**8}
                deadline = st["deadline"]
        t.sys_state = st
        try:
            t.block([self.sq], deadline)
        except SyscallError as e:
            if e.errno == E.ETIMEDOUT:
                return self.take(n)
            raise

    def slave_write(self, t, f, data):
        done = t.sys_state or 0
        if not done and self.lflag & TOSTOP:
            self.check_change(t, S.SIGTTOU)
        total = len(data)
        while True:
            if self.hung_up or not self.master_open:
                if done:
                    return done
                raise SyscallError(E.EIO)
            room = TTYB_MEM_LIMIT - len(self.outq)
            if room > 0 and not self.stopped:
                k = min(room, total - done)
                self.opost(bytes(data[done:done + k]))
                done += k
                self.mq.notify(POLLIN)
                if done == total:
                    return done
            return t.block_partial(done, f.flags & O_NONBLOCK, [self.sq])

    def master_read(self, t, f, n):
        while True:
            if self.outq:
                if self.packet:
                    data = b"\0" + bytes(self.outq[:max(0, n - 1)])
                    del self.outq[:len(data) - 1]
                else:
                    data = bytes(self.outq[:n])
                    del self.outq[:n]
                self.sq.notify(POLLOUT)
                return data
            if self.slave_opened and self.slaves == 0:
                raise SyscallError(E.EIO)
            if f.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([self.mq])

    def master_write_task(self, t, f, data):
        done = t.sys_state or 0
        total = len(data)
        while True:
            done += self.master_write(data[done:])
            if done == total:
                return done
            return t.block_partial(done, f.flags & O_NONBLOCK, [self.mq])

    # --- ioctls shared by both ends (tty_io.c tty_ioctl, tty_ioctl.c) ---------
    def ioctl(self, t, f, req, arg, master):
        mm = t.mm
        if req in (TCGETS, TCGETS2):
            mm.write(arg, self.get_termios(req == TCGETS2))
            return 0
        if req in (TCSETS, TCSETSW, TCSETSF, TCSETS2, TCSETSW2, TCSETSF2):
            two = req in (TCSETS2, TCSETSW2, TCSETSF2)
            raw = mm.read(arg, TERMIOS2.size if two else TERMIOS.size)
            self.check_change(t, S.SIGTTOU)
            self.set_termios(raw, flush=req in (TCSETSF, TCSETSF2))
            return 0
        if req == TIOCGWINSZ:
            mm.write(arg, self.winsize)
            return 0
        if req == TIOCSWINSZ:
            self.set_winsize(mm.read(arg, WINSZ_SIZE))
            return 0
        if req == FIONREAD:
            if master:
                n = len(self.outq)
            else:
                n = (self.marks[-1] if self.marks else 0) if self.icanon else len(self.inq)
            mm.write_u32(arg, n)
            return 0
        if req == TIOCOUTQ:
            mm.write_u32(arg, 0 if not master else len(self.pend))
            return 0
        if req in (TCSBRK, TCSBRKP):
            return 0  # tcdrain: a pty has nothing in flight
        if req == TCFLSH:
            if arg not in (0, 1, 2):
                raise SyscallError(E.EINVAL)
            self.check_change(t, S.SIGTTOU)
            inq, outq = arg in (0, 2), arg in (1, 2)
            if master:
                inq, outq = outq, inq
            if inq:
                self.flush_input()
            if outq:
                self.flush_output()
            return 0
        if req == TCXONC:
            if arg not in (0, 1, 2, 3):
                raise SyscallError(E.EINVAL)
            self.check_change(t, S.SIGTTOU)
            if arg == 0:
                self.stopped = True
            elif arg == 1:
                self.stopped = False
                self.sq.notify(POLLOUT)
            return 0
        if req == TIOCGPGRP:
            if not master and not self.is_ctty(t.tg):
                raise SyscallError(E.ENOTTY)
            mm.write_u32(arg, self.pgrp or 0)
            return 0
        if req == TIOCSPGRP:
            try:
                self.check_change(t, S.SIGTTOU)
            except SyscallError as e:
                if e.errno == E.EIO:
                    raise SyscallError(E.ENOTTY)
                raise
            if not self.is_ctty(t.tg):
                raise SyscallError(E.ENOTTY)
            pgid = mm.read_u32(arg)
            if pgid & 0x80000000:
                raise SyscallError(E.EINVAL)
            members = [g for g in self.kernel.groups.values() if g.pgid == pgid and not g.zombie]
            if not members:
                raise SyscallError(E.ESRCH)
            if any(g.sid != t.tg.sid for g in members):
                raise SyscallError(E.EPERM)
            self.pgrp = pgid
            return 0
        if req == TIOCGSID:
            if not master and not self.is_ctty(t.tg):
                raise SyscallError(E.ENOTTY)
            if self.session is None or not self.session_alive():
                raise SyscallError(E.ENOTTY)
            mm.write_u32(arg, self.session)
            return 0
        if req == TIOCSCTTY:
            return self._sctty(t, f, arg)
        if req == TIOCNOTTY:
            if not self.is_ctty(t.tg):
                raise SyscallError(E.ENOTTY)
            tg = t.tg
            if tg.sid == tg.pid:  # the leader: the whole session loses it
                if self.pgrp is not None:
                    self.kernel.kill_pgrp(self.pgrp, S.SIGHUP)
                    self.kernel.kill_pgrp(self.pgrp, S.SIGCONT)
                self.session = self.pgrp = None
                self.detached.clear()
            else:
                self.detached.add(tg.pid)
            return 0
        if req == TIOCGETD:
            mm.write_u32(arg, 0)  # N_TTY
            return 0
        if req == TIOCSETD:
            if mm.read_u32(arg) != 0:
                raise SyscallError(E.EINVAL)
            return 0
        if req == TIOCEXCL:
            self.excl = True
            return 0
        if req == TIOCNXCL:
            self.excl = False
            return 0
        if req == TIOCGEXCL:
            mm.write_u32(arg, int(self.excl))
            return 0
        if req == TIOCSTI:
            if not t.tg.creds.capable(CAP_SYS_ADMIN):
                raise SyscallError(E.EPERM)
            c = mm.read(arg, 1)
            self.pend += c
            self.process_input()
            return 0
        raise SyscallError(E.ENOTTY)

    def _sctty(self, t, f, arg):
        tg = t.tg
        if tg.sid == tg.pid and self.session == tg.sid:
            return 0
        if tg.sid != tg.pid or self.devpts.ctty(tg) is not None:
            raise SyscallError(E.EPERM)
        if self.session is not None and self.session_alive():
            if arg == 1 and tg.creds.capable(CAP_SYS_ADMIN):  # steal it
                pass
            else:
                raise SyscallError(E.EPERM)
        if not f.readable and not tg.creds.capable(CAP_SYS_ADMIN):
            raise SyscallError(E.EPERM)
        self.session = tg.sid
        self.pgrp = tg.pgid
        self.detached.clear()
        return 0


# --- the two ends ---------------------------------------------------------
class PtyMaster(File):
    def __init__(self, pty, inode, flags):
        super().__init__(inode, flags)
        self.pty = pty

    def read(self, t, n):
        return self.pty.master_read(t, self, n)

    def write(self, t, data):
        return self.pty.master_write_task(t, self, data)

    def poll(self):
        p = self.pty
        ev = 0
        if p.outq:
            ev |= POLLIN
        if len(p.pend) < TTYB_MEM_LIMIT:
            ev |= POLLOUT
        if p.slave_opened and p.slaves == 0:
            ev |= POLLHUP
        return ev

    def wait_queue(self, events=POLLIN | POLLOUT):
        return self.pty.mq

    def ioctl(self, t, req, arg):
        p = self.pty
        mm = t.mm
        if req == TIOCGPTN:
            mm.write_u32(arg, p.index)
            return 0
        if req == TIOCSPTLCK:
            p.locked = bool(mm.read_u32(arg))
            return 0
        if req == TIOCGPTLCK:
            mm.write_u32(arg, int(p.locked))
            return 0
        if req == TIOCPKT:
            p.packet = bool(mm.read_u32(arg))
            return 0
        if req == TIOCGPKT:
            mm.write_u32(arg, int(p.packet))
            return 0
        if req == TIOCSIG:
            if not 0 < arg <= S.NSIG:
                raise SyscallError(E.EINVAL)
            p.signal_fg(arg)
            return 0
        if req == TIOCGPTPEER:
            if arg & ~(O_RDWR | 0o3 | O_NONBLOCK | 0o400 | 0o2000000):
                raise SyscallError(E.EINVAL)
            f = p.open_slave(arg & ~0o2000000)
            f.dentry = _pts_dentry(t.kernel, p)
            return t.files.install(f, bool(arg & 0o2000000))
        return p.ioctl(t, self, req, arg, True)

    def release(self):
        self.pty.master_released()


class PtySlave(File):
    def __init__(self, pty, inode, flags):
        super().__init__(inode, flags)
        self.pty = pty
        pty.slaves += 1
        pty.slave_opened = True
        pty.mq.notify()

    def read(self, t, n):
        return self.pty.slave_read(t, self, n)

    def write(self, t, data):
        return self.pty.slave_write(t, self, data)

    def poll(self):
        p = self.pty
        if p.hung_up:
            return POLLIN | POLLOUT | POLLERR | POLLHUP
        ev = 0
        if p.readable(poll=True):
            ev |= POLLIN
        if len(p.outq) < TTYB_MEM_LIMIT and not p.stopped:
            ev |= POLLOUT
        return ev

    def wait_queue(self, events=POLLIN | POLLOUT):
        return self.pty.sq

    def ioctl(self, t, req, arg):
        p = self.pty
        if p.hung_up:
            raise SyscallError(E.EIO)
        if req in (TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCPKT, TIOCGPTPEER, TIOCSIG):
            raise SyscallError(E.ENOTTY)
        if req == TIOCGPKT:
            raise SyscallError(E.ENOTTY)
        return p.ioctl(t, self, req, arg, False)

    def release(self):
        self.pty.slave_released()


def _pts_dentry(kernel, pty):
    from .path import Walker
    try:
        return Walker(kernel.root_dentry).walk(kernel.root_dentry, f"/dev/pts/{pty.index}", True)
    except SyscallError:
        return None


# --- bastion run -t ------------------------------------------------------------
def _reopen(fd, flags):
    """A new open file description of host fd `fd` (its own O_NONBLOCK), or a dup."""
    try:
        return os.open(f"/proc/self/fd/{fd}", flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return os.dup(fd)


class Console:
    """The caller's terminal (host fds 0 and 1) relayed to a sandbox pty master."""

    def __init__(self, kernel, in_fd=0, out_fd=1):
        self.k = kernel
        self.host_in = in_fd
        self.host_out = out_fd
        self.in_fd = _reopen(in_fd, os.O_RDONLY)
        self.out_fd = _reopen(out_fd, os.O_WRONLY)
        self.size_fd = next((fd for fd in (in_fd, out_fd) if os.isatty(fd)), None)
        fs = devpts(kernel)
        self.pty = fs.alloc(None)
        self.pty.locked = False
        self.master = PtyMaster(self.pty, fs.ptmx, O_RDWR)
        self.master.refs = 1  # held by the sentry for the sandbox's lifetime
        self.pending_in = b""
        self.in_armed = self.out_armed = False
        self.in_eof = False
        self.feeding = False
        self.closed = False
        self._in_waiter = Callback(self._on_input)
        self._out_waiter = Callback(self._on_writable)
        self.pty.mq.waiters.append(Callback(self._on_master))
        self.sync_winsize()
        self._arm_input()
        self.install_sigwinch()

    def stdio(self, tg):
        """Make tg a session leader with the slave as its controlling terminal;
        return the slave open three times-over as an fd table's 0-2."""
        from .fdtable import FdTable
        p = self.pty
        tg.sid = tg.pgid = tg.pid
        p.session, p.pgrp = tg.sid, tg.pgid
        f = p.open_slave(O_RDWR)
        f.dentry = _pts_dentry(self.k, p)
        files = FdTable()
        for fd in (0, 1, 2):
            files.install_at(fd, f)
        return files

    def install_sigwinch(self):
        hooks = getattr(self.k, "host_signal_hooks", None)
        if hooks is None or self.size_fd is None:
            return
        hooks[signal.SIGWINCH] = self.sync_winsize
        signal.signal(signal.SIGWINCH, self.k._on_host_signal)

    def sync_winsize(self):
        if self.size_fd is None:
            return
        try:
            ws = fcntl.ioctl(self.size_fd, termios.TIOCGWINSZ, bytes(WINSZ_SIZE))
        except OSError:
            return
        self.pty.set_winsize(bytes(ws))

    # --- caller -> sandbox ---------------------------------------------------
    def _arm_input(self):
        if self.in_armed or self.in_eof or self.pending_in:
            return
        self.in_armed = True
        self.k.host_fd_queue(self.in_fd, select.EPOLLIN).waiters.append(self._in_waiter)

    def _on_input(self):
        self.in_armed = False
        if self.closed:
            return
        try:
            data = os.read(self.in_fd, 4096)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data == b"":
            self.in_eof = True
            if not os.isatty(self.host_in) and self.pty.cc[VEOF]:
                # stdin was a pipe or file: its end reads as ^D, as with script(1)
                self.pending_in = bytes([self.pty.cc[VEOF]])
                self._feed()
            return
        if data:
            self.pending_in = data
            self._feed()
        self._arm_input()

    def _feed(self):
        if self.feeding:  # master_write notifies the master queue, which calls back here
            return
        self.feeding = True
        try:
            while self.pending_in and self.pty.master_open:
                data, self.pending_in = self.pending_in, b""
                n = self.pty.master_write(data)
                self.pending_in = data[n:] + self.pending_in
                if n == 0:
                    break
        finally:
            self.feeding = False

    # --- sandbox -> caller ---------------------------------------------------
    def _on_master(self):
        if self.pending_in:
            self._feed()
            self._arm_input()
        if not self.out_armed:
            self._drain()

    def _on_writable(self):
        self.out_armed = False
        self._drain()

    def _drain(self):
        q = self.pty.outq
        if self.closed:
            q.clear()
            return
        while q:
            try:
                n = os.write(self.out_fd, q[:65536])
            except BlockingIOError:
                n = 0
            except OSError:
                q.clear()  # the caller's terminal is gone: discard
                break
            if n <= 0:
                self.out_armed = True
                self.k.host_fd_queue(self.out_fd, select.EPOLLOUT).waiters.append(self._out_waiter)
                break
            del q[:n]
            self.pty.sq.notify(POLLOUT)

    def close(self):
        """Stop relaying and close the host fds (the process it served is
        gone: an `exec -t`), so the caller's terminal sees its end."""
        if self.closed:
            return
        self.flush(0.5)
        self.closed = True
        for fd in {self.in_fd, self.out_fd}:
            self.k.host_waits.pop(fd, None)
            try:
                self.k.epoll.unregister(fd)
            except (FileNotFoundError, OSError):
                pass
            os.close(fd)

    def flush(self, timeout=2.0):
        """At exit: write what is still queued for the caller's terminal."""
        q = self.pty.outq
        p = select.poll()
        p.register(self.out_fd, select.POLLOUT)
        while q and p.poll(int(timeout * 1000)):
            try:
                n = os.write(self.out_fd, q[:65536])
            except BlockingIOError:
                continue
            except OSError:
                break
            del q[:n]


def host_raw_mode(fd=0):
    """Put the caller's terminal in raw mode; return a function that restores it."""
    if not os.isatty(fd):
        return lambda: None
    import tty
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)

    def restore():
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except termios.error:
            pass
    return restore
