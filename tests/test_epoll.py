"""epoll and eventfd (A/B), including the eventfd EPOLLET quirk, and asyncio on top."""

import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from netutil import ab_section, run_py

SECTIONS = ["errors", "level_triggered", "edge_triggered", "oneshot", "eventfd_basics",
            "eventfd_et_quirk", "rdhup_and_hup", "closed_fd_leaves_set", "one_file_many_items", "nested", "blocking_waits",
            "pwait_sigmask", "maxevents_round_robin"]


@pytest.mark.parametrize("section", SECTIONS)
def test_epoll(section):
    ab_section("epoll", section)


def test_asyncio_sleep():
    run_py("""
import asyncio, time
async def main():
    t = time.monotonic()
    await asyncio.gather(asyncio.sleep(0.1), asyncio.sleep(0.05))
    return time.monotonic() - t >= 0.095
print(asyncio.run(main()))
""")


def test_asyncio_subprocess():
    run_py("""
import asyncio
async def main():
    p = await asyncio.create_subprocess_exec("echo", "hi", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print(out, p.returncode)
asyncio.run(main())
""")


def test_host_stdin_in_epoll_across_waits():
    """The caller's stdin (a host pipe) in an epoll set, also nested in a
    second set, beside idle sandbox pipes: every later write wakes a new
    blocking wait (host fds fire once and re-arm before each wait)."""
    code = """
import os, select
inner = select.epoll(); inner.register(0, select.EPOLLIN)
ep = select.epoll(); ep.register(inner.fileno(), select.EPOLLIN)
idle = [os.pipe() for _ in range(50)]
for r, _ in idle:
    ep.register(r, select.EPOLLIN)
while True:
    ev = ep.poll(20)
    if not ev:
        print("timeout", flush=True); break
    d = os.read(0, 100)
    print("got", d.decode().strip() or "eof", len(ev), flush=True)
    if not d:
        break
"""
    cmd = [sys.executable, "-m", "bastion", "run", "--", "/usr/bin/python3", "-c", code]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    lines = []
    try:
        for word in (b"one", b"two", b"three"):
            time.sleep(0.2)  # the sandbox is blocked in epoll_wait by now, or soon
            p.stdin.write(word + b"\n"); p.stdin.flush()
            lines.append(p.stdout.readline())
        p.stdin.close()
        lines.append(p.stdout.readline())
    finally:
        p.wait(timeout=30)
    assert lines == [b"got one 1\n", b"got two 1\n", b"got three 1\n", b"got eof 1\n"], lines
