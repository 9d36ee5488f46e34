"""--strace output: strace(1)-style decoding of arguments and results."""

import os
import re
import subprocess
import types

import pytest

from conftest import ROOT, run_bastion
from bastion.abi.sysno import NAMES
from bastion.sentry import strace as st

NR = {v: k for k, v in NAMES.items()}

DEMO = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int s) { (void)s; }

int main(int argc, char **argv) {
    const char *tmp = argv[1];
    char buf[64];
    syscall(SYS_openat, AT_FDCWD, "/nonexistent/strace-probe", O_RDONLY);
    syscall(SYS_openat, AT_FDCWD, (char *)1, O_RDONLY);
    syscall(SYS_write, 1, "hello from the strace demo program, long line\n", 46);
    syscall(SYS_write, 1, "tab\there\n", 9);
    int fd = syscall(SYS_openat, AT_FDCWD, tmp, O_RDWR | O_CREAT | O_TRUNC, 0640);
    syscall(SYS_write, fd, "payload-bytes", 13);
    syscall(SYS_lseek, fd, 0, SEEK_SET);
    syscall(SYS_read, fd, buf, sizeof buf);
    syscall(SYS_fcntl, fd, F_GETFL);
    syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
    syscall(SYS_close, fd);
    syscall(SYS_access, "/", R_OK | X_OK);
    syscall(SYS_access, "/nonexistent", F_OK);
    struct winsize ws;
    syscall(SYS_ioctl, 1, TIOCGWINSZ, &ws);
    int p[2], n;
    pipe2(p, O_CLOEXEC);
    syscall(SYS_ioctl, p[0], FIONREAD, &n);
    void *m = (void *)syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_munmap, m, 4096);
    signal(SIGUSR1, on_usr1);
    kill(getpid(), SIGUSR1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, 0);
    syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    pid_t c = fork();
    if (c == 0) {
        char *av[] = {"true", "first-arg", 0};
        execv("/bin/true", av);
        _exit(1);
    }
    int status;
    syscall(SYS_wait4, c, &status, 0, 0);
    syscall(SYS_wait4, -1, &status, WNOHANG | __WALL, 0);  /* no children: ECHILD */
    c = fork();
    if (c == 0)
        _exit(7);
    waitpid(c, &status, 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("strace")
    build = os.path.join(ROOT, "tests", ".build")  # the sandbox sees the repo, not the host /tmp
    os.makedirs(build, exist_ok=True)
    src, exe = d / "demo.c", os.path.join(build, "strace_demo")
    src.write_text(DEMO)
    subprocess.run(["gcc", "-O1", "-o", exe, str(src)], check=True)
    log = d / "trace.log"
    r = run_bastion([exe, "/tmp/strace-data.txt"], opts=("--strace-log", str(log)))
    assert r.status == 0, r
    return log.read_text()


def lines(log, name):
    return [ln for ln in log.splitlines() if re.match(rf"\[\d+\] {name}\(", ln)]


def test_every_line_is_well_formed(demo_log):
    for ln in demo_log.splitlines():
        assert re.match(r"\[\d+\] \w+\(.*\) = ", ln), ln
    assert any(ln.startswith("[1] ") for ln in demo_log.splitlines())


def test_open_errors_and_flags(demo_log):
    assert ('[1] openat(AT_FDCWD, "/nonexistent/strace-probe", O_RDONLY) = '
            '-1 ENOENT (No such file or directory)') in demo_log
    # an unreadable path prints as the bare pointer
    assert "[1] openat(AT_FDCWD, 0x1, O_RDONLY) = -1 EFAULT (Bad address)" in demo_log
    assert re.search(r'openat\(AT_FDCWD, "[^"]*data.txt", O_RDWR\|O_CREAT\|O_TRUNC, 0640\) = 3',
                     demo_log)
    assert "openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3" in demo_log


def test_strings_are_quoted_and_truncated(demo_log):
    assert '[1] write(1, "hello from the strace demo progr"..., 46) = 46' in demo_log
    assert '[1] write(1, "tab\\there\\n", 9) = 9' in demo_log
    assert '[1] write(3, "payload-bytes", 13) = 13' in demo_log


def test_read_shows_the_data_read(demo_log):
    assert '[1] read(3, "payload-bytes", 64) = 13' in demo_log
    # binary data: octal escapes, as strace prints an ELF header
    assert re.search(r'read\(3, "\\177ELF\\2\\1\\1', demo_log)


def test_symbolic_constants(demo_log):
    assert "[1] lseek(3, 0, SEEK_SET) = 0" in demo_log
    assert re.search(r"\[1\] fcntl\(3, F_GETFL\) = 0x[0-9a-f]+ \(flags O_RDWR", demo_log)
    assert "[1] fcntl(3, F_SETFD, FD_CLOEXEC) = 0" in demo_log
    assert "[1] access(\"/\", R_OK|X_OK) = 0" in demo_log
    assert "[1] access(\"/nonexistent\", F_OK) = -1 ENOENT" in demo_log
    assert re.search(r"\[1\] ioctl\(1, TIOCGWINSZ, 0x[0-9a-f]+\) = ", demo_log)
    assert re.search(r"\[1\] ioctl\(\d+, FIONREAD, \[0\]\) = 0", demo_log)
    assert re.search(r"\[1\] pipe2\(\[\d+, \d+\], O_CLOEXEC\) = 0", demo_log)
    assert re.search(r"\[1\] mmap\(NULL, 4096, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, "
                     r"-1, 0\) = 0x[0-9a-f]+", demo_log)
    assert re.search(r"\[1\] munmap\(0x[0-9a-f]+, 4096\) = 0", demo_log)
    assert re.search(r"\[1\] socket\(AF_UNIX, SOCK_STREAM\|SOCK_CLOEXEC, 0\) = \d+", demo_log)


def test_signals(demo_log):
    assert re.search(r"\[1\] rt_sigaction\(SIGUSR1, \{sa_handler=0x[0-9a-f]+, sa_mask=\[USR1\], "
                     r"sa_flags=SA_RESTORER\|SA_RESTART, sa_restorer=0x[0-9a-f]+\}, "
                     r"\{sa_handler=SIG_DFL, sa_mask=\[\], sa_flags=0\}, 8\) = 0", demo_log)
    assert "[1] kill(1, SIGUSR1) = 0" in demo_log
    assert re.search(r"\[1\] rt_sigreturn\(\{mask=\[\]\}\) = 0", demo_log)
    assert "[1] rt_sigprocmask(SIG_BLOCK, [USR2], NULL, 8) = 0" in demo_log


def test_processes(demo_log):
    assert re.search(r"\[1\] clone\(child_stack=NULL, flags=CLONE_CHILD_CLEARTID\|"
                     r"CLONE_CHILD_SETTID\|SIGCHLD, child_tidptr=0x[0-9a-f]+\) = 2", demo_log)
    assert re.search(r'\[2\] execve\("/bin/true", \["true", "first-arg"\], 0x[0-9a-f]+ '
                     r'/\* \d+ vars \*/\) = 0', demo_log)
    assert "[1] wait4(2, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 2" in demo_log
    assert re.search(r"\[1\] wait4\(-1, 0x[0-9a-f]+, WNOHANG\|__WALL, NULL\) = "
                     r"-1 ECHILD \(No child processes\)", demo_log)
    assert re.search(r"\[1\] wait4\(3, \[\{WIFEXITED\(s\) && WEXITSTATUS\(s\) == 7\}\], 0, "
                     r"NULL\) = 3", demo_log)
    assert "[3] exit_group(7) = ?" in demo_log
    assert demo_log.rstrip().endswith("[1] exit_group(0) = ?")


def test_ls_matches_host_strace_shape(tmp_path):
    log = tmp_path / "ls.log"
    r = run_bastion(["/bin/ls", "/nonexistent-dir"], opts=("--strace-log", str(log)))
    assert r.status == 2
    text = log.read_text()
    assert re.search(r'\[1\] (statx|newfstatat|lstat|stat)\(.*"/nonexistent-dir".*\) = '
                     r'-1 ENOENT \(No such file or directory\)', text)
    assert "[1] write(2, \"cannot access '/nonexistent-dir'\", 32) = 32" in text
    assert re.search(r"newfstatat\(3, \"\", \{st_mode=S_IFREG\|0\d+, st_size=\d+, \.\.\.\}, "
                     r"AT_EMPTY_PATH\) = 0", text)
    assert "[1] exit_group(2) = ?" in text


def test_strace_to_stderr():
    r = run_bastion(["/bin/sh", "-c", "exec /bin/echo hi there"], opts=("--strace",))
    assert r.status == 0 and r.stdout == b"hi there\n"
    err = r.stderr.decode()
    assert re.search(r'\[1\] execve\("/bin/echo", \["/bin/echo", "hi", "there"\], 0x[0-9a-f]+ '
                     r'/\* \d+ vars \*/\) = 0', err)
    assert '[1] write(1, "hi there\\n", 9) = 9' in err


# --- the decoder alone, against fake memory: it never raises -----------------

class FakeMM:
    """One mapped page at `base` holding `data`; everything else faults."""

    def __init__(self, base=0x10000, data=b""):
        self.base, self.data = base, data.ljust(4096, b"\xaa")

    def read(self, addr, n):
        off = addr - self.base
        if off < 0 or off + n > len(self.data):
            raise OSError("EFAULT")
        return self.data[off:off + n]


class Regs:
    def __init__(self, nr, *args, rsp=0):
        self.orig_rax, self.rsp = nr, rsp
        args = list(args) + [0] * (6 - len(args))
        self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9 = args


class Sink:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def trace(name, *args, ret=0, data=b"", rsp=0, no_exit=False):
    s = st.Strace.__new__(st.Strace)
    s.out, s.pending = Sink(), {}
    t = types.SimpleNamespace(tid=5, mm=FakeMM(data=data))
    regs = Regs(NR[name], *args, rsp=rsp)
    s.enter(t, regs.orig_rax, regs)
    if not no_exit:
        s.exit(t, regs.orig_rax, regs, ret)
    return s.out.text


def test_decoder_quoting():
    assert st.quote(b"a\0" + b"1") == '"a\\0001"'
    assert st.quote(b"\x00x\xff\n\"\\") == '"\\0x\\377\\n\\"\\\\"'
    long = b"x" * 40 + b"\0"
    assert trace("unlink", 0x10000, data=long) == f'[5] unlink("{"x" * 40}") = 0\n'
    assert trace("memfd_create", 0x10000, 1, data=long) == \
        f'[5] memfd_create("{"x" * 32}"..., 0x1) = 0\n'


def test_decoder_bad_pointers_fall_back():
    assert trace("openat", (1 << 64) - 100, 0xdead, 0o100 | 1, 0o644, ret=-2) == \
        "[5] openat(AT_FDCWD, 0xdead, O_WRONLY|O_CREAT, 0644) = -1 ENOENT (No such file or directory)\n"
    assert trace("read", 3, 0xdead, 10, ret=10) == "[5] read(3, 0xdead, 10) = 10\n"
    assert trace("execve", 0xdead, 0xbeef, 0x1234, ret=-14) == \
        "[5] execve(0xdead, 0xbeef, 0x1234) = -1 EFAULT (Bad address)\n"
    assert trace("rt_sigreturn", rsp=0xdead) == "[5] rt_sigreturn(0xdead) = 0\n"
    # garbage everywhere, every syscall: never raises, always one line
    for nr in NAMES:
        s = st.Strace.__new__(st.Strace)
        s.out, s.pending = Sink(), {}
        t = types.SimpleNamespace(tid=1, mm=FakeMM(data=b"\xff" * 64))
        regs = Regs(nr, 0x10000, 0x10008, 0x10010, 0xffffffffffffffff, 0x10000, 7)
        s.enter(t, nr, regs)
        s.exit(t, nr, regs, 5)
        want = 2 if NAMES[nr] in st.NORETURN else 1  # exit's own line, then the fake return
        assert s.out.text.count("\n") == want, (NAMES[nr], s.out.text)


def test_decoder_open_mode_only_with_creat():
    assert trace("open", 0, 0o2000001, 0o777, ret=-14) == \
        "[5] open(NULL, O_WRONLY|O_CLOEXEC) = -1 EFAULT (Bad address)\n"
    assert trace("open", 0, 0o20200002, 0o600, ret=3) == "[5] open(NULL, O_RDWR|O_TMPFILE, 0600) = 3\n"
    assert trace("openat", 7, 0, 0o200000, 0, ret=3) == "[5] openat(7, NULL, O_RDONLY|O_DIRECTORY) = 3\n"


def test_decoder_results():
    assert trace("rt_sigsuspend", 0, 8, ret=-514) == \
        "[5] rt_sigsuspend(NULL, 8) = ? ERESTARTNOHAND (To be restarted if no handler)\n"
    assert trace("brk", 0, ret=0x5000) == "[5] brk(NULL) = 0x5000\n"
    assert trace("exit_group", 3, no_exit=True) == "[5] exit_group(3) = ?\n"
    assert trace("kill", 12, 9) == "[5] kill(12, SIGKILL) = 0\n"
    assert trace("clone", 0x3d0f00, 0x7000, 0x8000, 0x9000, 0xa000, ret=9) == (
        "[5] clone(child_stack=0x7000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
        "CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
        "parent_tid=0x8000, child_tidptr=0x9000, tls=0xa000) = 9\n")
    assert trace("futex", 0x1000, 0x80, 2, 0) == \
        "[5] futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL) = 0\n"
