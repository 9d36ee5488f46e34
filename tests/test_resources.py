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
