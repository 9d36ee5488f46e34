"""inotify: events for changes made inside the sandbox, as Linux reports them."""
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
d = "/tmp/bx_inotify"
os.makedirs(d, exist_ok=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
wd = libc.inotify_add_watch(fd, d.encode(), 0xFFF)
print("wd", wd)
names = {1: "ACCESS", 2: "MODIFY", 4: "ATTRIB", 8: "CLOSE_WRITE", 0x10: "CLOSE_NOWRITE", 0x20: "OPEN",
         0x40: "MOVED_FROM", 0x80: "MOVED_TO", 0x100: "CREATE", 0x200: "DELETE", 0x400: "DELETE_SELF",
         0x800: "MOVE_SELF", 0x8000: "IGNORED", 0x40000000: "ISDIR"}
def drain():
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        return
    cookies = {}
    i = 0
    while i < len(buf):
        w, mask, cookie, ln = struct.unpack_from("<iIII", buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
        flags = "|".join(v for k, v in names.items() if mask & k)
        c = cookies.setdefault(cookie, len(cookies)) if cookie else ""
        print(" ", w, flags, name, c)
        i += 16 + ln
with open(d + "/a", "w") as f:
    f.write("hello")
drain()
os.chmod(d + "/a", 0o600)
os.rename(d + "/a", d + "/b")
os.mkdir(d + "/sub")
drain()
os.unlink(d + "/b")
os.rmdir(d + "/sub")
drain()
os.rmdir(d)
drain()
