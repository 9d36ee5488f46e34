"""AF_INET/AF_INET6 on the sandbox's loopback, NETLINK_ROUTE, /proc/net, /etc/hosts.

A/B tests use port 0 and never print port numbers: native runs share the
host's loopback. Tests of what only the sandbox shows (its own hosts file,
`lo` as the only interface, ENETUNREACH) run under Bastion alone."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, compile_c, repo_mount, run_bastion
from netutil import ab_section, run_py

SECTIONS = ["tcp_basic", "tcp_errors", "nonblocking_connect", "dual_stack", "udp",
            "reset_and_epipe", "options", "epoll_readiness", "waitall"]


@pytest.mark.parametrize("section", SECTIONS)
def test_inet(section):
    ab_section("inet", section)


def test_python_tcp_echo_threads():
    run_py("""
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen()
port = srv.getsockname()[1]
def serve():
    c, a = srv.accept()
    print("accepted from", a[0])
    while d := c.recv(100):
        c.sendall(d.upper())
    c.close()
th = threading.Thread(target=serve); th.start()
cl = socket.create_connection(("127.0.0.1", port))
for w in (b"hello", b"world"):
    cl.sendall(w); print(cl.recv(100))
cl.shutdown(socket.SHUT_WR)
print(cl.recv(100))
th.join(); cl.close(); srv.close()
""")


def test_asyncio_tcp_echo():
    run_py("""
import asyncio
async def handle(r, w):
    while data := await r.read(100):
        w.write(data.upper()); await w.drain()
    w.close()
async def main():
    for host in ("127.0.0.1", "::1"):
        srv = await asyncio.start_server(handle, host, 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection(host, port)
        for word in (b"hello", b"asyncio"):
            w.write(word); await w.drain(); print(await r.read(100))
        w.write_eof(); print(await r.read(100)); w.close(); await w.wait_closed()
        srv.close(); await srv.wait_closed()
        try:
            await asyncio.open_connection(host, port)
        except ConnectionRefusedError as e:
            print("refused", e.errno)
asyncio.run(main())
""")


def test_python_udp_and_refused():
    run_py("""
import socket, errno
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.sendto(b"dgram", u.getsockname())
d, a = u.recvfrom(100); print(d, a[0], a[1] == v.getsockname()[1])
u.sendto(b"reply", a); print(v.recvfrom(100)[0])
port = u.getsockname()[1]; u.close()
v.connect(("127.0.0.1", port)); v.send(b"lost")
try:
    v.recv(10)
except ConnectionRefusedError as e: print("udp refused", e.errno)
try:
    socket.create_connection(("127.0.0.1", port))
except ConnectionRefusedError as e: print("tcp refused", e.errno)
s = socket.socket(); s.setblocking(False)
print(s.connect_ex(("127.0.0.1", port)) == errno.EINPROGRESS)
import select; select.select([], [s], [], 5)
print(errno.errorcode[s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)])
""")


def test_sandbox_names_and_interfaces():
    """The sandbox's /etc/hosts, its hostname, `lo` the only interface (netlink),
    ENETUNREACH off loopback, /proc/net listing the sandbox's own sockets."""
    r = run_bastion(["/usr/bin/python3", "-c", """
import socket, errno
print(socket.gethostname())
print(socket.gethostbyname(socket.gethostname()))
print(sorted({a[4][0] for a in socket.getaddrinfo("localhost", 80)}))
print(socket.if_nameindex())
try:
    socket.create_connection(("10.1.2.3", 80), timeout=5)
except OSError as e: print("unreach", errno.errorcode[e.errno])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
def rows(name):
    return [ln.split() for ln in open("/proc/net/" + name).read().splitlines()[1:]]
t = rows("tcp"); print(len(t), t[0][1] == "0100007F:%04X" % l.getsockname()[1], t[0][3])
print(rows("tcp6"), len(rows("udp")), rows("udp6")[0][1].startswith("00000000000000000000000001000000:"))
print(open("/proc/self/net/dev").read().split("\\n")[2].split()[0])
print(open("/etc/resolv.conf").read().count("nameserver"))
"""], timeout=60)
    assert r.status == 0, r
    assert r.stdout.decode().splitlines() == [
        "bastion", "127.0.1.1", "['127.0.0.1', '::1']", "[(1, 'lo')]", "unreach ENETUNREACH",
        "1 True 0A", "[] 0 True", "lo:", "1"], r


def test_getifaddrs_netlink():
    exe = compile_c("getifaddrs")
    r = run_bastion([exe])
    assert r.status == 0, r
    assert r.stdout.decode().splitlines() == [
        "lo 17 - flags=0x10049", "lo 2 127.0.0.1 flags=0x10049", "lo 10 ::1 flags=0x10049"], r


def test_http_server_and_urllib():
    r = run_bastion(["/usr/bin/python3", "-c", """
import subprocess, sys, time, urllib.request, socket
p = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "48123"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/etc")
for i in range(200):
    try:
        socket.create_connection(("127.0.0.1", 48123)).close(); break
    except OSError: time.sleep(0.05)
print(urllib.request.urlopen("http://127.0.0.1:48123/hosts").read().decode().split()[:2])
print(urllib.request.urlopen("http://localhost:48123/hosts").status)
p.terminate(); print(p.wait())
"""], timeout=90)
    assert r.stdout.decode().splitlines() == ["['127.0.0.1', 'localhost']", "200", "-15"], r


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="no curl")
def test_curl_fetch():
    r = run_bastion(["/bin/sh", "-c", """
cd /etc && python3 -m http.server --bind 127.0.0.1 48124 >/dev/null 2>&1 &
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:48124/ && break; sleep 0.1; done
curl -s http://127.0.0.1:48124/hosts | head -1
kill %1
"""], timeout=90)
    assert r.stdout.decode().splitlines()[:1] == ["127.0.0.1\tlocalhost"], r


def test_many_sockets_leave_no_host_fds():
    """2,000 inet sockets opened and closed: the sentry's host fd count is unchanged
    (sockets are sentry objects, not host sockets)."""
    code = """
import os, socket, sys
def count():
    print("COUNT", flush=True); sys.stdin.readline()
def connection():
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.send(b"x"); a.recv(1)
    return [l, c, a]
for s in connection(): s.close()  # warm up: libraries and files loaded once
count()
socks = []
for i in range(1000):
    socks.append(socket.socket())
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0)); socks.append(s)
for s in socks + connection(): s.close()
count()
print("done")
"""
    cmd = [sys.executable, "-m", "bastion", "run", "--", "/usr/bin/python3", "-c", code]
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    counts = []
    try:
        for _ in range(2):
            assert p.stdout.readline().strip() == "COUNT"
            counts.append(len(os.listdir(f"/proc/{p.pid}/fd")))
            p.stdin.write("\n"); p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    assert counts[0] == counts[1], counts


def test_ten_thousand_sockets_leave_no_host_fds():
    """programs/many_sockets.c: 10,000 sockets of every kind (unix pairs, TCP, UDP,
    listener/client/accepted triples) opened and closed in batches, then as many
    as RLIMIT_NOFILE allows at once, all in one epoll set; the sentry's host fd
    count is unchanged."""
    exe = compile_c("many_sockets")
    cmd = [sys.executable, "-m", "bastion", "run", *repo_mount([exe]), "--", exe]
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    counts, out = [], []
    try:
        for what in ("before", "after"):
            while (line := p.stdout.readline()) and not line.startswith("PAUSE"):
                out.append(line)
            assert line == f"PAUSE {what}\n", (line, out)
            counts.append(len(os.listdir(f"/proc/{p.pid}/fd")))
            p.stdin.write("\n"); p.stdin.flush()
        out += p.stdout.readlines()
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    assert out == ["batches: 10000 sockets opened and closed\n", "at once: ok\n",
                   "epoll: all added\n", "epoll_wait(ep, got, 4, 0) == 0: yes\n",
                   "again == first: yes\n", "failures: 0\n"], out
    assert p.returncode == 0
    assert counts[0] == counts[1], counts
