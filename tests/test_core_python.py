"""The system Python (/usr/bin/python3, dynamic, many shared libraries) under Bastion (A/B)."""

import pytest

from core_util import WATCHDOG_SECS, ab_run, sections

PY = "/usr/bin/python3"

# Every script starts with a watchdog: a hang ends in SIGALRM (status 142), not a test timeout.
PRELUDE = f"import signal as _s; _s.alarm({WATCHDOG_SECS})\n"

SCRIPTS = {
    "compute": "import math\nprint(sum(i*i for i in range(200000)), math.factorial(50) % 1000007, 2**200)\n"
               "print(sorted({'b': 2, 'a': 1}.items()), [x for x in range(30) if x % 7 == 0])",
    "imports": "import json, sqlite3, hashlib, ctypes, decimal, re, collections, itertools, zlib, base64\n"
               "print(json.dumps({'a': [1, 2]}, sort_keys=True), hashlib.sha256(b'x').hexdigest()[:16],\n"
               "      zlib.crc32(b'abc'), base64.b64encode(b'hi').decode(), decimal.Decimal('1.1') * 3)",
    "ssl": "import ssl\nctx = ssl.create_default_context()\n"
           "print(ssl.OPENSSL_VERSION.split()[0], ctx.verify_mode == ssl.CERT_REQUIRED)",
    "ctypes_libc": "import ctypes, ctypes.util\nlibc = ctypes.CDLL(ctypes.util.find_library('c'))\n"
                   "print(libc.strlen(b'hello'), libc.abs(-5), libc.getpid() == __import__('os').getpid())",
    "asyncio": "import asyncio\n"
               "async def f(i):\n    await asyncio.sleep(0.01 * i)\n    return i * i\n"
               "async def main():\n    print(await asyncio.gather(*(f(i) for i in range(5))))\n"
               "asyncio.run(main())",
    "threads_lock": "import threading\nn = 0\nlock = threading.Lock()\n"
                    "def w():\n    global n\n    for _ in range(3000):\n        with lock:\n            n += 1\n"
                    "ts = [threading.Thread(target=w) for _ in range(8)]\n"
                    "[t.start() for t in ts]\n[t.join() for t in ts]\nprint(n)",
    "multiprocessing_pool": "import multiprocessing as mp\n"
                            "def sq(x):\n    return x * x\n"
                            "with mp.Pool(4) as p:\n    print(p.map(sq, range(20)))",
    "subprocess_run_capture": "import subprocess\n"
                              "r = subprocess.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], capture_output=True)\n"
                              "print(r.returncode, r.stdout, r.stderr)",
    "subprocess_check_output": "import subprocess\nprint(subprocess.check_output(['seq', '3']))\n"
                               "print(subprocess.call(['sh', '-c', 'exit 4']))\n"
                               "p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
                               "p.stdin.write(b'piped'); p.stdin.close(); print(p.stdout.read(), p.wait())",
    "fork_waitpid": "import os\npid = os.fork()\nif pid == 0:\n    os._exit(9)\n"
                    "wpid, st = os.waitpid(pid, 0)\nprint(wpid == pid, os.WIFEXITED(st), os.WEXITSTATUS(st))\n"
                    "r, w = os.pipe()\nif os.fork() == 0:\n    os.write(w, b'from child'); os._exit(0)\n"
                    "os.close(w); print(os.read(r, 100)); os.wait()",
    "setitimer": "import signal, time\nn = [0]\n"
                 "def h(s, f):\n    n[0] += 1\n"
                 "signal.signal(signal.SIGALRM, h)\nsignal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)\n"
                 "while n[0] < 5:\n    time.sleep(0.005)\n"
                 "signal.setitimer(signal.ITIMER_REAL, 0)\nprint('ticks', n[0])",
    "signal_handler_kill": "import os, signal\ngot = []\n"
                           "signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))\n"
                           "os.kill(os.getpid(), signal.SIGUSR1)\nprint(got == [signal.SIGUSR1])",
    "tmp_files": "import os, tempfile, shutil\nd = tempfile.mkdtemp()\n"
                 "open(os.path.join(d, 'a'), 'w').write('hello')\n"
                 "os.rename(os.path.join(d, 'a'), os.path.join(d, 'b'))\nos.mkdir(os.path.join(d, 'sub'))\n"
                 "print(sorted(os.listdir(d)), open(os.path.join(d, 'b')).read())\n"
                 "print([(e.name, e.is_dir()) for e in sorted(os.scandir(d), key=lambda e: e.name)])\n"
                 "shutil.rmtree(d)\nprint(os.path.exists(d))",
    "mmap_file": "import mmap, os, tempfile\nfd, p = tempfile.mkstemp()\nos.write(fd, b'0123456789' * 500)\n"
                 "m = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)\nprint(len(m), m[10:15], m.find(b'789', 100))\n"
                 "m.close()\nos.close(fd)\nos.unlink(p)",
    "mmap_shared_write": "import mmap, os, tempfile\nfd, p = tempfile.mkstemp()\nos.write(fd, b'.' * 4096)\n"
                         "m = mmap.mmap(fd, 4096)\nm[0:5] = b'hello'\nm.flush()\nprint(os.pread(fd, 5, 0))\n"
                         "os.unlink(p)",
    "sqlite_file": "import sqlite3, tempfile, os, shutil\nd = tempfile.mkdtemp()\np = os.path.join(d, 'x.db')\n"
                   "c = sqlite3.connect(p)\nc.execute('create table t (k integer primary key, v text)')\n"
                   "c.executemany('insert into t (v) values (?)', [(str(i),) for i in range(1000)])\n"
                   "c.commit()\nc.close()\nc = sqlite3.connect(p)\n"
                   "print(c.execute('select count(*), sum(k) from t').fetchone())\nc.close()\nshutil.rmtree(d)",
    "sqlite_wal": "import sqlite3, tempfile, os, shutil\nd = tempfile.mkdtemp()\np = os.path.join(d, 'w.db')\n"
                  "c = sqlite3.connect(p)\nprint(c.execute('pragma journal_mode=wal').fetchone())\n"
                  "c.execute('create table t(x)')\nc.execute('insert into t values (1)')\nc.commit()\n"
                  "c2 = sqlite3.connect(p)\nprint(c2.execute('select * from t').fetchall())\n"
                  "c.close()\nc2.close()\nshutil.rmtree(d)",
    "exit_code": "import sys\nprint('bye')\nsys.exit(5)",
    "select_pipe": "import select, os\nr, w = os.pipe()\nos.write(w, b'x')\n"
                   "print(select.select([r], [], [], 1.0)[0] == [r])",
    "socketpair": "import socket\na, b = socket.socketpair()\na.sendall(b'ping')\nprint(b.recv(4))",
    "process_pool_executor": "import concurrent.futures as cf\n"
                             "with cf.ProcessPoolExecutor(3) as ex:\n    print(list(ex.map(abs, range(-5, 5))))",
    "thread_pool_executor": "import concurrent.futures as cf, threading\n"
                            "with cf.ThreadPoolExecutor(6) as ex:\n"
                            "    print(sum(ex.map(lambda x: x * x, range(1000))))",
    "pty": "import os, pty\npid, fd = pty.fork()\nif pid == 0:\n    print('in child', os.isatty(0))\n"
           "    os._exit(3)\nout = b''\nwhile True:\n    try:\n        d = os.read(fd, 100)\n"
           "    except OSError:\n        break\n    if not d:\n        break\n    out += d\n"
           "print(out.replace(b'\\r', b''), os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))",
    "tcp_loopback": "import socket, threading\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n"
                    "def srv():\n    c, _ = s.accept()\n    c.sendall(c.recv(100).upper())\n    c.close()\n"
                    "t = threading.Thread(target=srv)\nt.start()\n"
                    "c = socket.create_connection(s.getsockname())\nc.sendall(b'hello')\nprint(c.recv(100))\nt.join()",
    "tempfile_and_flock": "import tempfile, fcntl, os\nwith tempfile.TemporaryFile() as f:\n"
                          "    f.write(b'abc'); f.seek(0); print(f.read())\n"
                          "    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('locked')\n"
                          "print(os.statvfs('/tmp').f_bsize > 0)",
    "misc_os": "import os, resource, time, pwd, getpass\n"
               "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 0, len(os.sched_getaffinity(0)) > 0)\n"
               "t = time.process_time()\nsum(range(3000000))\nprint(time.process_time() > t)\n"
               "print(pwd.getpwuid(0).pw_name, getpass.getuser() == pwd.getpwuid(os.getuid()).pw_name)",
    "compileall_and_zip": "import compileall, tempfile, os, zipfile, io, tarfile\nd = tempfile.mkdtemp()\n"
                          "open(os.path.join(d, 'm.py'), 'w').write('x = 1\\n')\n"
                          "print(compileall.compile_dir(d, quiet=1))\n"
                          "b = io.BytesIO()\nwith zipfile.ZipFile(b, 'w') as z:\n    z.writestr('a', 'A' * 1000)\n"
                          "print(len(zipfile.ZipFile(b).read('a')))\n"
                          "with tarfile.open(os.path.join(d, 't.tgz'), 'w:gz') as t:\n    t.add(os.path.join(d, 'm.py'), 'm.py')\n"
                          "print(tarfile.open(os.path.join(d, 't.tgz')).getnames())",
}

PY_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sections(list(SCRIPTS), PY_XFAIL))
def test_python(name):
    ab_run([PY, "-c", PRELUDE + SCRIPTS[name]])
