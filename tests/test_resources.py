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
