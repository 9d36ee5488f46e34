"""poll, ppoll, select, pselect6 (A/B), and the Python stdlib paths that use them."""

import pytest

from netutil import ab_section, run_py

SECTIONS = ["poll_basic", "poll_files", "poll_timeout_and_wakeup", "poll_eintr", "poll_errors",
            "ppoll_sigmask", "select_basic", "select_timeout", "select_eintr", "pselect_sigmask"]


@pytest.mark.parametrize("section", SECTIONS)
def test_poll(section):
    ab_section("poll", section)


def test_subprocess_capture_output():
    r = run_py('import subprocess; print(subprocess.run(["echo", "x"], capture_output=True))')
    assert b"stdout=b'x\\n'" in r.stdout


def test_selectors_over_pipes():
    run_py("""
import os, selectors, time
r, w = os.pipe()
s = selectors.DefaultSelector()
s.register(r, selectors.EVENT_READ, "pipe")
t = time.monotonic()
print(s.select(0.05), time.monotonic() - t >= 0.045)
if os.fork() == 0:
    time.sleep(0.05); os.write(w, b"x"); os._exit(0)
print([(k.data, ev) for k, ev in s.select()], os.read(r, 1))
os.wait()
for cls in ("SelectSelector", "PollSelector", "EpollSelector"):
    sel = getattr(selectors, cls)()
    sel.register(w, selectors.EVENT_WRITE)
    sel.register(r, selectors.EVENT_READ)
    print(cls, sorted(ev for _, ev in sel.select(0)))
""")
