"""Shells and coreutils: busybox (static), bash and GNU coreutils pipelines (A/B).

Scripts that touch files work in a fresh `mktemp -d` directory, so the native run
(sharing the host's /tmp) and the sandboxed one (an empty tmpfs /tmp) see the same tree.
"""

import pytest

from core_util import SIGTERM_STATUS, ab_run, sandbox, sections

BB = "/bin/busybox"

# In a fresh scratch directory; removed at the end.
SCRATCH = 'd=$(mktemp -d) && cd "$d" && trap \'cd /; rm -rf "$d"\' EXIT; '

BUSYBOX = {
    "applets": "busybox echo a b; busybox seq 1 5 | busybox tac; busybox printf '%05d\\n' 42; "
               "busybox expr 6 \\* 7; busybox basename /a/b/c.txt .txt; busybox true && echo ok",
    "sh_loop": "i=0; s=0; while [ $i -lt 300 ]; do i=$((i+1)); s=$((s+i)); done; echo $s; "
               "for w in a b c; do echo -n $w; done; echo; "
               "case foo in f*) echo matched;; esac; f() { echo \"fn $1\"; return 3; }; f x; echo $?",
    "text": "busybox seq 1 1000 | busybox sort -r | busybox head -n 3; "
            "busybox seq 1 100 | busybox awk '{s+=$1} END {print s}'; echo hello | busybox sed s/l/L/g; "
            "echo abc | busybox tr a-c A-C; echo x:y:z | busybox cut -d: -f2; "
            "busybox seq 1 50 | busybox grep -c 5",
    "files": "d=$(busybox mktemp -d) && cd $d && busybox mkdir -p a/b && busybox touch a/b/f && "
             "echo data > a/b/g && busybox ls -R a && busybox cp -r a c && busybox find c | busybox sort && "
             "busybox mv c e && busybox cat e/b/g && busybox rm -r a e && busybox ls -a && cd / && busybox rmdir $d",
    "hashes": "busybox seq 1 10000 | busybox md5sum; busybox seq 1 10000 | busybox sha256sum; "
              "busybox seq 1 1000 | busybox gzip | busybox gunzip | busybox wc -l",
    "subshells": "x=$(busybox echo sub); echo $x; (exit 5); echo $?; { echo grouped; } | busybox cat; "
                 "busybox sh -c 'exit 9'; echo $?",
    "background": "(busybox sleep 0.2; echo late) & echo early; wait; echo done",
}


BUSYBOX_XFAIL = {}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sections(list(BUSYBOX), BUSYBOX_XFAIL))
def test_busybox(name):
    ab_run([BB, "sh", "-c", BUSYBOX[name]])


BASH = {
    "sort_head_wc": "seq 1 5000 | sort -rn | head -5; seq 1 5000 | wc -l; seq 1 100000 | sha256sum",
    "tar_through_pipe": SCRATCH + "mkdir -p src/d && for i in 1 2 3; do echo file$i > src/d/f$i; done && "
                        "tar -C src -cf - . | tar -xf - -O ./d/f2 && tar -C src -cf - d | tar -tf - | sort && "
                        "mkdir dst && tar -C src -czf - d | tar -C dst -xzf - && cat dst/d/f3",
    "find_xargs": SCRATCH + "mkdir -p t/x t/y && touch t/x/1 t/x/2 t/y/3 && "
                  "find t -type f | sort | xargs -n 1 basename | xargs echo; find t -name '[12]' | wc -l; "
                  "find t -type d | sort",
    "heredoc": "cat <<EOF\nline one\n$((2+3)) five\nEOF\ncat <<'EOF'\n$HOME literal\nEOF\n"
               "tr a-z A-Z <<< 'here string'",
    "command_substitution": "x=$(echo inner $(echo nested)); echo \"[$x]\"; y=`seq 3 | tr '\\n' ,`; echo $y; "
                            "echo $(( $(seq 10 | wc -l) * 2 ))",
    "background_wait": "{ (sleep 0.1; echo one) & (sleep 0.05; echo two) & wait; } | sort; echo done; "
                       "(exit 7) & wait $!; echo status $?",
    "trap_exit": "trap 'echo cleanup' EXIT; echo body; exit 3",
    "trap_signal": "trap 'echo got USR1' USR1; kill -USR1 $$; echo after",
    "pipefail": "set -o pipefail; false | true; echo $?; true | (exit 4); echo $?; "
                "true | false | true; echo ${PIPESTATUS[@]}",
    "read_loop": "printf 'a 1\\nb 2\\nc 3\\n' | while read k v; do echo \"$v=$k\"; done",
    "redirects": SCRATCH + "echo out > f; echo err 2>>f >&2; echo more >> f; cat f; exec 3<f; read -u 3 l; "
                 "echo first=$l; exec 3<&-; cat < f | wc -l; ls nope 2>/dev/null || echo missing",
    "coreutils_misc": "printf '%s\\n' c a b b | sort | uniq -c; echo hello | rev; "
                      "seq 5 | paste -sd+; echo 'a,b' | cut -d, -f2; expr length abcdef; "
                      "yes | head -3; seq 3 | tac; echo '3 1 2' | tr ' ' '\\n' | sort -n | tr '\\n' ' '; echo",
    "exit_codes": "sh -c 'exit 42'; echo $?; /no/such/cmd 2>/dev/null; echo $?; sh -c 'kill -9 $$'; echo $?; "
                  "sh -c 'kill -TERM $$'; echo $?",
    "segfault_is_139": "bash -c 'kill -SEGV $$'; echo status $?; "
                       "/usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'; echo python $?",
    "dd_and_devices": "dd if=/dev/zero bs=1k count=256 2>/dev/null | wc -c; head -c 100000 /dev/urandom | wc -c; "
                      "echo x > /dev/null; echo $?",
    "date_fixed": "TZ=UTC date -d @86400 '+%F %T'; date +%Y >/dev/null && echo ok",
    "process_substitution": "diff <(seq 1 3) <(seq 1 3) && echo same; comm -12 <(printf 'a\\nb\\n') <(printf 'b\\nc\\n')",
    "arith_and_arrays": "a=(x y z); echo ${#a[@]} ${a[1]}; declare -A m=([k]=v); echo ${m[k]}; "
                        "for ((i=0;i<3;i++)); do printf '%d' $i; done; echo; echo $((7**3 % 100))",
    "many_processes": "for i in $(seq 1 30); do /bin/true; done; echo 30 done; "
                      "seq 1 20 | xargs -P 4 -n 1 sh -c 'echo $0' | sort -n | tail -1",
    "coreutils_timeout": "timeout 0.2 sleep 5; echo status $?; timeout -s KILL 0.1 sleep 5; echo status $?; "
                         "timeout 5 true; echo status $?",
    "read_with_timeout": "read -t 0.2 x < <(sleep 1); echo status $?; echo hi | { read -t 1 y; echo $y; }",
    "wait_n_and_kill_job": "sleep 5 & a=$!; (sleep 0.1; exit 3) & wait -n; echo first $?; kill $a; wait $a; "
                           "echo killed $?",
    "trap_int_and_term": "trap 'echo INT caught' INT; trap 'echo TERM caught' TERM; kill -INT $$; "
                         "kill -TERM $$; echo still here",
    "coproc": "coproc cat; echo ping >&${COPROC[1]}; read -u ${COPROC[0]} r; echo got $r; "
              "exec {COPROC[1]}>&-; wait",
    "ulimit": "ulimit -n 64; ulimit -n; (ulimit -n 32; ulimit -n); ulimit -n; ulimit -c",
    "sort_large": "seq 1 200000 | shuf --random-source=<(yes) | sort -n | sha256sum; "
                  "seq 1 50000 | sort -r -S 64K -T \"${TMPDIR:-/tmp}\" | head -2",
    "gzip_roundtrip": "seq 1 100000 | gzip -9 | gzip -d | tail -1; seq 1 50000 | xz -T1 2>/dev/null | xz -d | wc -l",
    "gcc_compile_and_run": SCRATCH + "printf '#include <stdio.h>\\nint main(){puts(\"built inside\");return 4;}' > h.c "
                           "&& gcc -O2 -o h h.c && ./h; echo $?",
    "make_parallel": SCRATCH + "printf 'all: a b\\na:\\n\\t@echo A\\nb: a\\n\\t@echo B\\n' > Makefile && make -s -j2",
    "git_commit": SCRATCH + "git init -q . && git config user.email a@b && git config user.name n && echo hi > f && "
                  "git add f && git commit -qm msg && git log --format=%s && git status --short | wc -l && "
                  "git cat-file -p HEAD:f",
    "perl": "perl -e 'my %h=(a=>1,b=>2); print join(\",\", map {\"$_=$h{$_}\"} sort keys %h), \"\\n\"; "
            "print scalar(localtime(0)) =~ /19(69|70)/ ? \"ok\\n\" : \"bad\\n\"'",
    "sqlite_cli": SCRATCH + "sqlite3 x.db 'create table t(a); insert into t values(1),(2); select sum(a) from t;'",
    "arg_limits": "x=$(head -c 200000 /dev/zero | tr '\\0' a); /bin/true \"$x\" 2>/dev/null; echo $?; "
                  "y=$(head -c 100000 /dev/zero | tr '\\0' a); /bin/echo \"$y\" | wc -c; /bin/echo $(seq 1 30000) | wc -c",
    "pipe_chain": "seq 1 100000 | cat | cat | cat | cat | cat | cat | cat | cat | wc -l",
    "strace_inside": "strace -f -qq -o /dev/null -e trace=write sh -c 'echo traced'; echo status $?",
    "stat_and_ls": SCRATCH + "touch -d @1000000000 f; ln -s f l; mkdir d; chmod 751 d; echo 12345 > d/g; "
                   "ls -ld --time-style=+%s f | awk '{print $1, $6, $7}'; ls -ld l d | awk '{print $1, $9, $10, $11}'; "
                   "stat -c '%s %a %F %h' f d/g l; ls -a d; du -s --apparent-size -b f",
}


BASH_XFAIL = {}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sections(list(BASH), BASH_XFAIL))
def test_bash(name):
    ab_run(["/bin/bash", "-c", BASH[name]])


@pytest.mark.timeout(30)
def test_shell_kills_itself_with_sigterm_143():
    """The sandbox exits 128+N when signal N kills its first process (native: killed by 15)."""
    n, b = ab_run(["/bin/sh", "-c", "echo before; kill -TERM $$; echo not reached"])
    assert b.status == SIGTERM_STATUS and b.stdout == b"before\n"


@pytest.mark.timeout(30)
def test_segfaulting_program_gives_139():
    n, b = ab_run(["/usr/bin/python3", "-c", "import ctypes; ctypes.string_at(0)"])
    assert b.status == 139


@pytest.mark.timeout(30)
def test_stdin_is_passed_through():
    n, b = ab_run(["/bin/sh", "-c", "wc -l; tr a-z A-Z < /dev/null"], input=b"x\ny\nz\n")
    assert b.stdout == b"3\n"


@pytest.mark.timeout(30)
def test_first_process_pid_is_1():
    r = sandbox(["/bin/sh", "-c", "echo $$; sh -c 'echo $PPID'"])
    assert (r.status, r.stdout) == (0, b"1\n1\n"), r
