"""timerfd and signalfd, A/B against native."""

import os

from conftest import ROOT, ab

SCRIPTS = os.path.join(ROOT, "tests", "scripts")


def test_timerfd():
    ab(["/usr/bin/python3", os.path.join(SCRIPTS, "timerfd.py")])


def test_signalfd():
    ab(["/usr/bin/python3", os.path.join(SCRIPTS, "signalfd.py")])


def test_inotify():
    ab(["/usr/bin/python3", os.path.join(SCRIPTS, "inotify.py")])
