"""epoll and eventfd (A/B), including the eventfd EPOLLET quirk, and asyncio on top."""

import pytest

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
