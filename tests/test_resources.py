"""The sentry's own host resources stay bounded whatever the app does."""

import os
import subprocess
import sys
import time

from conftest import ROOT


def test_reading_many_files_does_not_grow_the_sentrys_fds():
    env = dict(os.environ, PYTHONPATH=ROOT)
    script = ('find /usr/lib/python3.11 -name "*.py" | head -600 | xargs cat > /dev/null;'
              ' echo done; sleep 3')
    p = subprocess.Popen([sys.executable, "-m", "bastion", "run", "--", "/bin/sh", "-c", script],
                         stdout=subprocess.PIPE, env=env, cwd="/tmp")
    try:
        assert p.stdout.readline() == b"done\n"
        time.sleep(0.3)
        nfds = len(os.listdir(f"/proc/{p.pid}/fd"))
    finally:
        p.kill()
        p.wait()
    assert nfds < 200, nfds


def test_data_through_a_pipe_does_not_churn_the_sentrys_heap():
    """250 MB through a pipe in 64 KiB writes: the sentry keeps its heap
    (hostsys.malloc_keep) instead of giving its top back and faulting it in
    again at every buffer (glibc's default did, with a brk each time: ~8,000
    brk calls, half the throughput)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's sentry: its heap as theirs is
    r = subprocess.run(["strace", "-qq", "-e", "trace=brk", "-c", "-o", "/dev/stderr", "--",
                        sys.executable, "-m", "bastion", "run", "--", "/bin/sh", "-c",
                        "dd if=/dev/zero bs=64k count=4000 2>/dev/null | dd of=/dev/null bs=64k"],
                       capture_output=True, env=env, cwd="/tmp", timeout=120)
    assert b"4000+0 records out" in r.stderr, r.stderr
    calls = [int(line.split()[3]) for line in r.stderr.decode().splitlines()
             if line.split()[-1:] == ["brk"]]
    assert calls and calls[0] < 400, r.stderr


def test_a_child_whose_parent_died_before_its_prctl_dies_too():
    """hostsys.die_with, as stubs and the gofer start: PR_SET_PDEATHSIG never
    fires for a parent already dead, so the child must look, or it outlives
    the sandbox (stubs left behind with ppid 1)."""
    code = (
        "import os, time\n"
        "from bastion import hostsys\n"
        "r, w = os.pipe()\n"
        "if os.fork() == 0:\n"          # A, the parent to be
        "    me = os.getpid()\n"
        "    if os.fork() == 0:\n"      # B: starts its life after A's end
        "        os.close(r)\n"
        "        time.sleep(0.3)\n"
        "        hostsys.die_with(me)\n"
        "        os.write(w, b'outlived')\n"
        "        os._exit(0)\n"
        "    os._exit(0)\n"
        "os.close(w)\n"
        "os.wait()\n"
        "print(os.read(r, 100).decode() or 'died')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=30)
    assert out.stdout == "died\n", out
