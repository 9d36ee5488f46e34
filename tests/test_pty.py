"""Pseudo-terminals (vfs/pty.py): /dev/ptmx and /dev/pts A/B against native
Linux, Python's pty module in the sandbox, and `bastion run -t` driven like a
user at a terminal with pexpect."""

import os
import sys
import time

import pytest

from conftest import ROOT
from netutil import ab_section, run_py

SECTIONS = ["pty_open", "pty_termios_defaults", "pty_echo_canon", "pty_raw", "pty_poll",
            "pty_isig", "pty_winsize", "pty_ctty", "pty_jobctl", "pty_hangup", "pty_open_ctty"]


@pytest.mark.parametrize("section", SECTIONS)
def test_pty(section):
    ab_section("pty", section)


def test_python_pty_fork():
    run_py("""
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    print("child", os.isatty(0), os.ttyname(0).startswith("/dev/pts/"),
          os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpid())
    print("line:", input())
    os._exit(7)
out = b""
while b"\\r\\n" not in out:  # the child's first line, then type
    out += os.read(fd, 1024)
os.write(fd, b"typed\\n")
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
print(out, os.waitpid(pid, 0)[1] >> 8)
""")


# --- bastion run -t ------------------------------------------------------------
pexpect = pytest.importorskip("pexpect")


def _spawn(argv, rows=24, cols=80):
    env = dict(os.environ, PYTHONPATH=ROOT, PS1="PROMPT$ ", TERM="dumb")
    return pexpect.spawn(sys.executable, ["-m", "bastion", "run", "-t", "--", *argv], env=env,
                         timeout=30, dimensions=(rows, cols), cwd="/")


def test_tty_bash_interactive():
    c = _spawn(["/bin/bash", "--norc", "--noprofile"])
    try:
        c.expect_exact("PROMPT$ ")
        c.sendline("echo hi")
        c.expect_exact(b"hi\r\n")
        c.expect_exact("PROMPT$ ")
        c.sendline("tty; stty size; [ -t 0 ] && echo interactive-$-")
        c.expect(rb"/dev/pts/\d+\r\n24 80\r\ninteractive-\w*i\w*\r\n")
        c.expect_exact("PROMPT$ ")
        # ^C interrupts the foreground job, not Bastion or the shell
        c.sendline("sleep 100")
        time.sleep(1)
        c.sendcontrol("c")
        c.expect_exact("PROMPT$ ")
        c.sendline("echo status=$?")
        c.expect_exact(b"status=130")
        c.expect_exact("PROMPT$ ")
        # line editing by the shell (readline): DEL erases
        c.send("echo abx\x7fc\r")
        c.expect_exact(b"abc\r\n")
        c.expect_exact("PROMPT$ ")
        c.sendline("exit 3")
        c.expect(pexpect.EOF)
    finally:
        c.close()
    assert c.exitstatus == 3, (c.exitstatus, c.signalstatus)


def test_tty_window_size_follows_caller():
    c = _spawn(["/bin/bash", "--norc", "--noprofile"], rows=30, cols=100)
    try:
        c.expect_exact("PROMPT$ ")
        c.sendline("stty size")
        c.expect_exact(b"30 100")
        c.expect_exact("PROMPT$ ")
        c.sendline("trap 'echo WINCH' WINCH; stty size")
        c.expect_exact("PROMPT$ ")
        c.setwinsize(40, 120)  # SIGWINCH to Bastion: the sandbox pty follows
        c.expect_exact(b"WINCH")
        c.sendline("stty size")
        c.expect_exact(b"40 120")
        c.sendline("exit")
        c.expect(pexpect.EOF)
    finally:
        c.close()
    assert c.exitstatus == 0


def test_tty_canonical_mode_and_eof():
    """cat on the sandbox pty: the line discipline echoes and edits, ^D ends it."""
    c = _spawn(["/bin/cat"])
    try:
        c.send("ab\x7fc\r")
        c.expect_exact(b"ab\x08 \x08c\r\n")  # the echo, with the erase drawn
        c.expect_exact(b"ac\r\n")            # what cat read
        c.sendcontrol("d")
        c.expect(pexpect.EOF)
    finally:
        c.close()
    assert c.exitstatus == 0


def test_tty_restores_caller_terminal():
    """The caller's terminal is raw while the sandbox runs and restored after."""
    import termios
    c = _spawn(["/bin/sh", "-c", "read x; exit 5"])
    try:
        time.sleep(1.5)
        during = termios.tcgetattr(c.child_fd)
        c.sendline("")
        c.expect(pexpect.EOF)
        c.wait()
        after = termios.tcgetattr(c.child_fd)
    finally:
        c.close()
    assert c.exitstatus == 5
    assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
    assert after[3] & termios.ICANON and after[3] & termios.ECHO
