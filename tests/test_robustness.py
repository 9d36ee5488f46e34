"""Bad input from the app is normal input: random arguments to most syscalls
must neither crash the sentry nor raise inside a handler."""

import pytest

from conftest import compile_c, run_bastion


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_random_syscalls_do_not_hurt_the_sentry(tmp_path, seed):
    prog = compile_c("fuzz_syscalls")
    log = tmp_path / "debug.log"
    r = run_bastion([prog, str(seed), "5000"], opts=["--debug-log", str(log)], timeout=120)
    assert r.status == 0, r
    assert r.stdout == b"survived 1 calls\n"
    text = log.read_text() if log.exists() else ""
    assert "kernel error" not in text, text[:3000]
