"""CPU limits of config.json (linux.resources.cpu: quota, period, shares)
applied through the host's cgroup at linux.cgroupsPath, best effort.

Memory and pids limits are the sentry's own (sentry/limits.py); CPU time
can only be rationed by the host scheduler, so the sandbox process is put
into a cgroup before it forks anything (its gofer and stubs inherit it).
Without a writable cgroup filesystem the limit is skipped with a note in
the --log (debug), as a runtime with no cgroup manager would.
"""

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def _rel(path, cid):
    """cgroupsPath as a path below the hierarchy's root; systemd's
    "slice:prefix:name" becomes slice/prefix-name.scope."""
    if ":" in path:
        slice_, prefix, name = (path.split(":") + ["", ""])[:3]
        path = f"{slice_}/{prefix}-{name or cid}.scope"
    return path.strip("/")


def _dir(path, cid):
    rel = _rel(path, cid)
    if not rel:
        return None
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return os.path.join(CGROUP_ROOT, rel), 2
    if os.path.isdir(os.path.join(CGROUP_ROOT, "cpu")):
        return os.path.join(CGROUP_ROOT, "cpu", rel), 1
    return None


def _write(d, name, value):
    with open(os.path.join(d, name), "w") as fh:
        fh.write(str(value))


def apply(cpu, path, cid, pid):
    """Put `pid` into a cgroup with the CPU limits of `cpu`. Returns
    (cgroup directory for remove() or None, why it was skipped or None)."""
    if not path or not cpu or not any(cpu.get(k) for k in ("quota", "shares")):
        return None, None
    where = _dir(path, cid)
    if where is None:
        return None, "no cgroup filesystem"
    d, version = where
    try:
        os.makedirs(d, exist_ok=True)
        quota, period, shares = cpu.get("quota"), cpu.get("period") or 100000, cpu.get("shares")
        if version == 2:
            if quota and quota > 0:
                _write(d, "cpu.max", f"{quota} {period}")
            if shares:  # cgroup v1 shares [2, 262144] onto v2 weight [1, 10000], as runc
                _write(d, "cpu.weight", 1 + ((shares - 2) * 9999) // 262142)
        else:
            if quota and quota > 0:
                _write(d, "cpu.cfs_period_us", period)
                _write(d, "cpu.cfs_quota_us", quota)
            if shares:
                _write(d, "cpu.shares", shares)
        _write(d, "cgroup.procs", pid)
    except OSError as e:
        return None, f"{d}: {e.strerror}"
    return d, None


def remove(d):
    """Remove a cgroup apply() made (once its processes are gone)."""
    try:
        os.rmdir(d)
    except OSError:
        pass
