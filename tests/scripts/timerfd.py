"""timerfd: arming, intervals counted as expirations, poll, disarm, short reads."""
import os, select, struct, time, ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.timerfd_create(1, 0)
its = struct.pack("<qqqq", 0, 20_000_000, 0, 30_000_000)  # interval 20ms, first 30ms
print("settime", libc.timerfd_settime(fd, 0, its, None))
buf = ctypes.create_string_buffer(32)
libc.timerfd_gettime(fd, buf)
i_s, i_ns, v_s, v_ns = struct.unpack("<qqqq", buf.raw)
print("interval", i_s, i_ns, "armed", v_ns > 0)
t0 = time.monotonic()
n = struct.unpack("<Q", os.read(fd, 8))[0]
print("first read", n, round(time.monotonic() - t0, 2) >= 0.02)
p = select.poll(); p.register(fd, select.POLLIN)
print("poll", p.poll(1000))
time.sleep(0.1)
n = struct.unpack("<Q", os.read(fd, 8))[0]
print("expirations after sleep >= 4:", n >= 4)
libc.timerfd_settime(fd, 0, bytes(32), None)
os.set_blocking(fd, False)
try:
    os.read(fd, 8)
except BlockingIOError:
    print("disarmed EAGAIN")
try:
    os.read(fd, 4)
except OSError as e:
    print("short read", e.errno)
