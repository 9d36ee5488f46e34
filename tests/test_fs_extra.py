"""FIFOs, O_TMPFILE, memfd, shared tmpfs mappings, /proc/self/fd reopen,
mount inside the sandbox: A/B against native where Linux is the spec."""

import os

from conftest import ROOT, ab, run_bastion

SCRIPTS = os.path.join(ROOT, "tests", "scripts")


def test_fs_extra_matches_native():
    ab(["/usr/bin/python3", os.path.join(SCRIPTS, "fs_extra.py")])


def test_mount_tmpfs_inside_sandbox():
    r = run_bastion(["/bin/sh", "-c", "mkdir -p /m && mount -t tmpfs none /m && echo x > /m/y"
                     " && cat /m/y && grep ' /m ' /proc/mounts | cut -d' ' -f3 && umount /m"
                     " && ls /m | wc -l"])
    assert r.status == 0, r
    assert r.stdout == b"x\ntmpfs\n0\n"


def test_job_control_stops_and_continues():
    ab(["/usr/bin/python3", os.path.join(SCRIPTS, "jobctl.py")])
