"""Real tools of this machine inside the sandbox: a C compiler, perl, git,
make and the sqlite3 shell, all working in the sandbox's own /tmp."""

import shutil

import pytest

from conftest import ab, run_bastion

GCC = r'''
cd /tmp && cat > hello.c <<'EOF2'
#include <stdio.h>
int main(void) { int s = 0; for (int i = 1; i <= 10; i++) s += i * i; printf("sum %d\n", s); return 3; }
EOF2
gcc -O2 -o hello hello.c && ./hello; echo "status $?"
'''

GIT = r'''
cd /tmp && rm -rf bx_repo && git init -q bx_repo && cd bx_repo &&
git config user.email t@example.com && git config user.name T &&
echo one > a && git add a && git commit -qm first &&
echo two >> a && git commit -qam second &&
git log --format=%s && git show HEAD:a && cd .. && rm -rf bx_repo
'''

MAKE = r'''
cd /tmp && rm -rf bx_make && mkdir bx_make && cd bx_make &&
printf 'all: out.txt\n\nout.txt: in.txt\n\ttr a-z A-Z < in.txt > out.txt\n' > Makefile &&
echo hello > in.txt && make -s && cat out.txt && make -s && echo again && cd .. && rm -rf bx_make
'''

SQLITE = r'''
cd /tmp && rm -f bx.db &&
printf 'create table t(a, b);\ninsert into t values (1, "x"), (2, "y");\nselect sum(a), group_concat(b) from t;\n' |
sqlite3 bx.db && echo 'select count(*) from t;' | sqlite3 bx.db && rm -f bx.db
'''


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


@pytest.mark.timeout(120)
def test_gcc_compiles_and_runs_inside():
    need("gcc")
    r = ab(["/bin/sh", "-c", GCC], timeout=120)
    assert r.stdout == b"sum 385\nstatus 3\n"


def test_perl():
    need("perl")
    ab(["perl", "-e", 'my %h = map { $_ => $_ ** 2 } 1..5; print join(",", map { $h{$_} } sort keys %h), "\\n"'])


@pytest.mark.timeout(120)
def test_git_init_add_commit_log():
    need("git")
    r = ab(["/bin/sh", "-c", GIT], timeout=120)
    assert r.stdout == b"second\nfirst\none\ntwo\n"


def test_make():
    need("make")
    r = ab(["/bin/sh", "-c", MAKE])
    assert r.stdout == b"HELLO\nagain\n"


def test_sqlite3_shell():
    need("sqlite3")
    r = ab(["/bin/sh", "-c", SQLITE])
    assert r.stdout == b"3|x,y\n2\n"


def test_tmp_is_private_to_the_sandbox(tmp_path):
    marker = tmp_path / "host-only"
    marker.write_text("x")
    r = run_bastion(["/bin/sh", "-c", f"test -e {marker} && echo visible || echo private"])
    assert r.stdout == b"private\n"


def test_tar_and_find_of_a_host_tree_are_the_native_bytes():
    """A host tree through the gofer: find lists it in the host's order, and
    tar's archive (headers, order, contents) is byte for byte the native one
    (tar reads the files in listing order: their host fds come in batches)."""
    tree = "/usr/lib/python3.11/email"
    ab(["find", tree])
    ab(["tar", "cf", "-", tree])


def test_a_directory_lists_in_host_order_after_lookups_in_it():
    """The root overlay lists a host directory in the host's order even when
    some of its names were looked up first (find's own libraries in the
    loader's directory): as Linux's overlayfs does, not looked-up names first."""
    libdir = "/usr/lib/x86_64-linux-gnu"
    ab(["find", libdir, "-maxdepth", "1"])
    ab(["sh", "-c", f"test -e {libdir}/libc.so.6 && test -e /usr/bin/env && ls -f {libdir} /usr/bin"])
