"""The same programs built -static and -static-pie: no dynamic loader, the C library sets up
TLS and relocations itself (static-pie: relocates itself at a random base) (A/B)."""

import pytest

from core_util import ab_section

CASES = [
    ("fork_wait", "exit_codes"), ("fork_wait", "vfork_exec"),
    ("signals", "siginfo_fields"), ("signals", "segv_si_addr"), ("signals", "fpu_preserved"),
    ("threads", "mutex_count"), ("threads", "tls"), ("threads", "cancellation"),
    ("mmap", "brk_ops"), ("exec", "inherited_state"), ("proc_misc", "auxv"),
]
XFAIL = {}


def params():
    out = []
    for flags in ("-static", "-static-pie"):
        for prog, sec in CASES:
            reason = XFAIL.get((prog, sec))
            marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
            out.append(pytest.param(flags, prog, sec, marks=marks, id=f"{flags[1:]}-{prog}-{sec}"))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flags,program,section", params())
def test_static(flags, program, section):
    ab_section(program, section, flags=(flags,))
