"""A/B of one section of a sectioned C program (programs/common.h) for the
poll, epoll and unix socket suites."""

from conftest import compile_c, run_bastion, run_native


def ab_section(program, section, timeout=60):
    argv = [compile_c(program), section]
    n = run_native(argv, timeout=timeout)
    b = run_bastion(argv, timeout=timeout)
    assert n.stdout.startswith(f"== {section}\n".encode()), n
    assert (b.stdout, b.status) == (n.stdout, n.status), f"native={n!r}\nbastion={b!r}"


def run_py(code, timeout=60):
    """Run python3 -c CODE natively and in the sandbox; they must agree."""
    argv = ["/usr/bin/python3", "-c", code]
    n = run_native(argv, timeout=timeout)
    b = run_bastion(argv, timeout=timeout)
    assert n.status == 0, n
    assert (b.stdout, b.status) == (n.stdout, n.status), f"native={n!r}\nbastion={b!r}"
    return b
