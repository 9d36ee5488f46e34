"""Filesystem features beyond plain files; prints deterministic results."""
import ctypes
import mmap
import os

os.chdir("/tmp")
d = "bx_fs_extra"
os.makedirs(d, exist_ok=True)
os.chdir(d)

# FIFO: the reader's open waits for the writer
os.mkfifo("ff")
pid = os.fork()
if pid == 0:
    fd = os.open("ff", os.O_WRONLY)
    os.write(fd, b"through fifo")
    os._exit(0)
fd = os.open("ff", os.O_RDONLY)
print("fifo", os.read(fd, 100))
os.waitpid(pid, 0)
os.close(fd)
try:
    os.open("ff", os.O_WRONLY | os.O_NONBLOCK)
except OSError as e:
    print("fifo nonblock writer", e.errno)

# O_TMPFILE, then linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd
fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"anon")
print("tmpfile listed", sorted(os.listdir(".")))
libc = ctypes.CDLL(None, use_errno=True)
print("linkat", libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, b"named", 0x400))
print("named", open("named").read(), sorted(os.listdir(".")))

# memfd
m = os.memfd_create("q")
os.write(m, b"mem")
print("memfd", os.readlink(f"/proc/self/fd/{m}"), open(f"/proc/self/fd/{m}").read())

# a MAP_SHARED tmpfs file is shared with a child and agrees with read/write
fd = os.open("shm", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 4096)
mp = mmap.mmap(fd, 4096)
pid = os.fork()
if pid == 0:
    mp[0:5] = b"child"
    os._exit(0)
os.waitpid(pid, 0)
print("shared", mp[0:5], os.pread(fd, 5, 0))
os.pwrite(fd, b"PARNT", 0)
print("shared after pwrite", mp[0:5])

# a pipe reopened through /proc/self/fd
r, w = os.pipe()
w2 = os.open(f"/proc/self/fd/{w}", os.O_WRONLY)
os.write(w2, b"via proc")
print("reopen", os.read(r, 100))

for name in ("ff", "named", "shm"):
    os.unlink(name)
os.chdir("..")
os.rmdir(d)
print("done")
