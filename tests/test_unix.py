"""AF_UNIX sockets (A/B), fd passing, and asyncio/socket module use of them."""

import pytest

from netutil import ab_section, run_py

SECTIONS = ["socketpair_stream", "stream_pieces", "socketpair_dgram_seqpacket", "scm_rights", "credentials",
            "options", "socket_errors", "path_names", "abstract_names", "epipe_and_reset",
            "nonblocking_and_waitall"]


@pytest.mark.parametrize("section", SECTIONS)
def test_unix(section):
    ab_section("unix", section)


def test_asyncio_unix_echo_over_socketpair():
    run_py("""
import asyncio, socket
async def main():
    a, b = socket.socketpair()
    r1, w1 = await asyncio.open_unix_connection(sock=a)
    r2, w2 = await asyncio.open_unix_connection(sock=b)
    async def echo():
        while data := await r2.read(100):
            w2.write(data.upper()); await w2.drain()
        w2.close()
    task = asyncio.create_task(echo())
    for word in (b"hello", b"world"):
        w1.write(word); await w1.drain()
        print(await r1.read(100))
    w1.write_eof()
    await task
    print(await r1.read(100))
    w1.close()
asyncio.run(main())
""")


def test_python_fd_passing():
    run_py("""
import os, socket
a, b = socket.socketpair()
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [w])
os.close(w)
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
print(msg, len(fds), flags)
os.write(fds[0], b"through the passed fd")
os.close(fds[0])
print(os.read(r, 100), os.read(r, 100))
""")


def test_unix_server_in_python(tmp_path):
    run_py("""
import os, socket, tempfile
d = tempfile.mkdtemp()
path = os.path.join(d, "s")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); srv.listen()
if os.fork() == 0:
    c = socket.socket(socket.AF_UNIX); c.connect(path); c.sendall(b"x" * 300000); c.close(); os._exit(0)
conn, _ = srv.accept()
n = 0
while data := conn.recv(65536):
    n += len(data)
print(n, os.wait()[1])
os.unlink(path); os.rmdir(d)
""")
