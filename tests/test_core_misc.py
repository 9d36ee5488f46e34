"""Time and clocks; bad user pointers (EFAULT) and unknown syscalls (ENOSYS) (A/B)."""

import pytest

from core_util import ab_section, sections

TIME = [
    "nanosleep_duration", "clock_nanosleep_modes", "monotonic_increases", "realtime_agrees",
    "resolution", "cpu_clocks", "sleep_and_usleep", "many_short_sleeps", "settime_denied_or_ok",
    "timerfd_ops", "clock_nanosleep_interrupted",
]
TIME_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(TIME, TIME_XFAIL))
def test_time(section):
    ab_section("time", section)


BADPTR = ["read_write", "paths", "structs", "partial_buffer", "unknown_syscalls", "bad_fds"]
BADPTR_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(BADPTR, BADPTR_XFAIL))
def test_badptr(section):
    ab_section("badptr", section)
