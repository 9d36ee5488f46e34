"""--network host: the sandbox's inet sockets are host sockets the sentry
proxies (net/hostinet.py); --network none (the default) keeps the sandbox on
its own loopback.

The host side of each test is this test process: an HTTP server or a UDP
echo in a thread on the host's 127.0.0.1, or a client connecting to a server
inside. A/B sections run the inet C program natively and under
--network host: there both are the host's kernel answering."""

import http.server
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, compile_c, run_bastion, run_native

HOST = ["--network", "host"]
PY = "/usr/bin/python3"
BODY = b"hello from the host\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *a):
        pass


@pytest.fixture
def host_server():
    """An HTTP server on the host's 127.0.0.1 (a free port), in a thread."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def spawn(argv, opts=HOST):
    cmd = [sys.executable, "-m", "bastion", "run", *opts, "--", *argv]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=ROOT))


# --- host mode reaches the host, none mode does not -----------------------------
@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="no curl")
def test_curl_inside_fetches_from_host(host_server):
    r = run_bastion(["/usr/bin/curl", "-sS", f"http://127.0.0.1:{host_server}/x"], opts=HOST)
    assert (r.status, r.stdout) == (0, BODY), r


def test_none_mode_cannot_reach_host(host_server):
    code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {host_server}), timeout=5)
except OSError as e:
    print(type(e).__name__, e.errno)
"""
    r = run_bastion([PY, "-c", code])
    assert r.stdout == b"ConnectionRefusedError 111\n", r
    r = run_bastion([PY, "-c", code], opts=["--network", "none"])
    assert r.stdout == b"ConnectionRefusedError 111\n", r


def test_server_inside_reachable_from_host():
    port = free_port()
    p = spawn([PY, "-m", "http.server", "--bind", "127.0.0.1", str(port), "--directory", "/etc"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert p.poll() is None, p.stderr.read()
                assert time.monotonic() < deadline, "server inside never listened"
                time.sleep(0.1)
        c.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        c.close()
        with open("/etc/hostname", "rb") as f:
            expect = f.read()
        assert data.startswith(b"HTTP/1.0 200"), data
        assert data.endswith(b"\r\n\r\n" + expect), data
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_udp_both_ways():
    host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host.bind(("127.0.0.1", 0))
    host.settimeout(20)

    def echo():
        try:
            d, a = host.recvfrom(100)
            host.sendto(d.upper(), a)
        except OSError:
            pass
    th = threading.Thread(target=echo, daemon=True)
    th.start()
    inner = free_port(socket.SOCK_DGRAM)
    code = f"""
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(20)
u.sendto(b"to the host", ("127.0.0.1", {host.getsockname()[1]}))
d, a = u.recvfrom(100); print(d.decode(), a[1] == {host.getsockname()[1]}, flush=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(20)
s.bind(("127.0.0.1", {inner})); print("READY", flush=True)
d, a = s.recvfrom(100); s.sendto(d[::-1], a); print("inside got", d.decode())
"""
    p = spawn([PY, "-c", code])
    try:
        assert p.stdout.readline() == b"TO THE HOST True\n"
        assert p.stdout.readline() == b"READY\n"
        host.sendto(b"from the host", ("127.0.0.1", inner))
        assert host.recvfrom(100)[0] == b"tsoh eht morf"
        out, err = p.communicate(timeout=30)
        assert (out, p.returncode) == (b"inside got from the host\n", 0), err
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        host.close()


# --- non-blocking sockets, readiness ---------------------------------------------
def _ab_py(code, timeout=60):
    argv = [PY, "-c", code]
    n = run_native(argv, timeout=timeout)
    b = run_bastion(argv, timeout=timeout, opts=HOST)
    assert n.status == 0, n
    assert (b.stdout, b.status) == (n.stdout, n.status), f"native={n!r}\nbastion={b!r}"
    return b


def test_nonblocking_connect_and_so_error(host_server):
    _ab_py(f"""
import errno, select, socket
closed = socket.socket(); closed.bind(("127.0.0.1", 0)); port = closed.getsockname()[1]; closed.close()
for p in ({host_server}, port):
    s = socket.socket(); s.setblocking(False)
    r = s.connect_ex(("127.0.0.1", p))
    print(r in (0, errno.EINPROGRESS))
    print(select.select([], [s], [], 10)[1] == [s])
    print(errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
    print(s.connect_ex(("127.0.0.1", p)) in (0, errno.EISCONN, errno.ECONNABORTED))
    s.close()
""")


def test_selectors_and_asyncio_clients(host_server):
    _ab_py(f"""
import asyncio, selectors, socket
for cls in (selectors.EpollSelector, selectors.PollSelector, selectors.SelectSelector):
    sel = cls()
    s = socket.socket(); s.setblocking(False); s.connect_ex(("127.0.0.1", {host_server}))
    sel.register(s, selectors.EVENT_WRITE)
    assert sel.select(10)
    s.send(b"GET / HTTP/1.0\\r\\n\\r\\n")
    sel.modify(s, selectors.EVENT_READ)
    data = b""
    while True:
        assert sel.select(10)
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(cls.__name__, data.split(b"\\r\\n")[0].decode(), data.endswith({BODY!r}))
    sel.close(); s.close()

async def main():
    r, w = await asyncio.open_connection("127.0.0.1", {host_server})
    w.write(b"GET / HTTP/1.0\\r\\n\\r\\n"); await w.drain()
    data = await r.read()
    print("asyncio", data.split(b"\\r\\n")[0].decode(), data.endswith({BODY!r}))
    w.close(); await w.wait_closed()
asyncio.run(main())
""")


def test_edge_triggered_epoll_waits():
    """EPOLLET over a connected, writable host socket reports EPOLLOUT once,
    then waits: an app's edge-triggered loop does not spin."""
    _ab_py("""
import select, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
ep = select.epoll()
ep.register(c, select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
print(ep.poll(1))
print(ep.poll(0.2))
a.send(b"x")
ev = ep.poll(5)
print(len(ev), ev[0][1] & select.EPOLLIN != 0)
print(ep.poll(0.2))
""".replace("print(ep.poll(1))", "print([e for _, e in ep.poll(1)])"))


# --- interfaces ------------------------------------------------------------------
def test_getifaddrs_shows_host_interfaces():
    exe = compile_c("getifaddrs")
    n = run_native([exe])
    b = run_bastion([exe], opts=HOST)
    assert n.status == 0 and (b.stdout, b.status) == (n.stdout, n.status), (n, b)
    names = {ln.split()[0] for ln in n.stdout.decode().splitlines()}
    r = run_bastion([exe])
    assert r.stdout.decode().splitlines() == [
        "lo 17 - flags=0x10049", "lo 2 127.0.0.1 flags=0x10049", "lo 10 ::1 flags=0x10049"], r
    code = "import socket; print(sorted(n for _, n in socket.if_nameindex()))\n" \
           "print(sorted(ln.split(':')[0].strip() for ln in open('/proc/net/dev').readlines()[2:]))"
    b = run_bastion([PY, "-c", code], opts=HOST)
    assert b.stdout.decode().splitlines() == [str(sorted(names))] * 2, b


def test_proc_net_lists_the_sandbox_sockets_only(host_server):
    r = run_bastion([PY, "-c", """
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
def rows(name):
    return [ln.split() for ln in open("/proc/net/" + name).read().splitlines()[1:]]
t = rows("tcp")
print(len(t), t[0][1] == "0100007F:%04X" % l.getsockname()[1], t[0][3], t[0][9] != "0")
print(len(rows("udp")), len(rows("tcp6")), rows("udp6")[0][1].endswith(":%04X" % u.getsockname()[1]))
"""], opts=HOST)
    assert r.stdout.decode().splitlines() == ["1 True 0A True", "0 0 True"], r


# --- bad input -------------------------------------------------------------------
def test_bad_arguments_get_errors_not_a_crash():
    r = run_bastion([PY, "-c", r"""
import ctypes, errno, random, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return errno.errorcode.get(ctypes.get_errno(), "?") if r == -1 else r
SETSOCKOPT, GETSOCKOPT, BIND, SENDTO, RECVFROM, IOCTL, CONNECT = 54, 55, 49, 44, 45, 16, 42
s = socket.socket(); u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
buf = ctypes.create_string_buffer(256); ln = ctypes.c_int(4)
a = ctypes.addressof(buf); la = ctypes.addressof(ln)
print(call(SETSOCKOPT, s.fileno(), 1, 36, a, 4))        # SO_MARK: not passed through
print(call(SETSOCKOPT, s.fileno(), 0, 8, a, 4))         # IP_PKTINFO
print(call(SETSOCKOPT, s.fileno(), 1, 33, a, 4))        # SO_RCVBUFFORCE
print(call(SETSOCKOPT, s.fileno(), 1, 8, a, 2))         # SO_RCVBUF, short
print(call(SETSOCKOPT, s.fileno(), 1, 8, a, -1))
print(call(SETSOCKOPT, s.fileno(), 1, 3, a, 4))         # SO_TYPE is read-only
struct.pack_into("<qq", buf, 0, 1, 2000000)
print(call(SETSOCKOPT, s.fileno(), 1, 20, a, 16))       # SO_RCVTIMEO, usec out of range
buf.value = b"bbr9"
print(call(SETSOCKOPT, s.fileno(), 6, 13, a, 5))        # TCP_CONGESTION
ln.value = -1
print(call(GETSOCKOPT, s.fileno(), 1, 8, a, la))
ln.value = 4
print(call(GETSOCKOPT, s.fileno(), 1, 36, a, la))
print(call(BIND, s.fileno(), a, 3))
struct.pack_into("<H", buf, 0, socket.AF_INET6)
print(call(BIND, s.fileno(), a, 16))                    # an AF_INET6 name on AF_INET
print(call(BIND, u.fileno(), a, 20))                    # short sockaddr_in6
print(call(BIND, s.fileno(), a, 1000))
print(call(CONNECT, s.fileno(), 12345, 16))             # EFAULT
print(call(RECVFROM, u.fileno(), a, 10, 0x2000 | 0x40, 0, 0))  # MSG_ERRQUEUE
print(call(IOCTL, s.fileno(), 0x8914, a))               # SIOCSIFFLAGS: no
rnd = random.Random(7)
socks = [s, u, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()]
for x in socks:
    x.setblocking(False)  # nothing waits: the calls below never block
socks = [x.fileno() for x in socks]
for i in range(3000):
    fd = rnd.choice(socks)
    for j in range(0, 64, 8):
        struct.pack_into("<Q", buf, j, rnd.getrandbits(64))
    if rnd.random() < 0.5:
        struct.pack_into("<HH4s", buf, 0, rnd.choice((0, 2, 10, 1, 16, 99)), rnd.getrandbits(16),
                         bytes([127, 0, 0, 1]))
    nr = rnd.choice((SETSOCKOPT, GETSOCKOPT, BIND, SENDTO, RECVFROM, IOCTL, CONNECT, 48, 50, 51, 52, 288))
    ln.value = rnd.choice((0, 1, 4, 8, 16, 28, 200, -5))
    args = [fd] + [rnd.choice((a, la, 0, rnd.getrandbits(32), rnd.randrange(-2, 300), 0x40 | rnd.getrandbits(16)))
                   for _ in range(5)]
    call(nr, *args)
print("alive", socket.socket().fileno() > 0)
"""], opts=HOST + ["--debug-log", "/dev/stderr"], timeout=120)
    assert r.stdout.decode().split() == [
        "ENOPROTOOPT", "ENOPROTOOPT", "ENOPROTOOPT", "EINVAL", "EINVAL", "ENOPROTOOPT", "EDOM",
        "ENOENT", "EINVAL", "ENOPROTOOPT", "EINVAL", "EAFNOSUPPORT", "EINVAL", "EINVAL", "EFAULT",
        "EAGAIN", "ENOTTY", "alive", "True"], r
    assert b"kernel error" not in r.stderr, r


def test_host_sockets_are_closed_with_the_sandbox_socket():
    """500 host-backed sockets opened and closed: the sentry's host fd count is back."""
    code = """
import socket, sys
def count():
    print("COUNT", flush=True); sys.stdin.readline()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); a, _ = l.accept(); a.close(); c.close()
count()
socks = [socket.socket() for i in range(250)] + [socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) for i in range(250)]
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
for s in socks + [a, c]: s.close()
count()
print("done")
"""
    cmd = [sys.executable, "-m", "bastion", "run", *HOST, "--", PY, "-c", code]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    counts = []
    try:
        for _ in range(2):
            assert p.stdout.readline().strip() == "COUNT"
            counts.append(len(os.listdir(f"/proc/{p.pid}/fd")))
            p.stdin.write("\n")
            p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    assert counts[0] == counts[1], counts


# --- A/B: the inet suite's C sections against the host's kernel --------------------
SECTIONS = ["tcp_basic", "tcp_errors", "nonblocking_connect", "dual_stack", "udp",
            "reset_and_epipe", "options", "epoll_readiness", "waitall"]


@pytest.mark.parametrize("section", SECTIONS)
def test_inet_sections_ab(section):
    argv = [compile_c("inet"), section]
    n = run_native(argv)
    b = run_bastion(argv, opts=HOST)
    assert n.stdout.startswith(f"== {section}\n".encode()), n
    assert (b.stdout, b.status) == (n.stdout, n.status), f"native={n!r}\nbastion={b!r}"


def test_cli_rejects_a_bad_network_mode():
    r = subprocess.run([sys.executable, "-m", "bastion", "run", "--network", "bridge", "--", "/bin/true"],
                       capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert r.returncode == 2 and r.stderr.count(b"\n") == 1, r
    assert b"--network" in r.stderr and b"Traceback" not in r.stderr, r


def test_python_api_network_modes(host_server):
    from bastion import Sandbox
    code = f"""
import urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:{host_server}/", timeout=10).read().decode(), end="")
except OSError as e:
    print("refused", getattr(e, "reason", e))
"""
    with Sandbox(network="host") as sb:
        r = sb.run([PY, "-c", code], timeout=30)
        assert (r.returncode, r.stdout) == (0, BODY), r
    with Sandbox() as sb:
        r = sb.run([PY, "-c", code], timeout=30)
        assert r.stdout.startswith(b"refused"), r
