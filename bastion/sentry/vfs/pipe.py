"""Pipes: a bounded byte buffer between reader and writer ends (fs/pipe.c)."""

import collections

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import WaitQueue
from .inode import O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFIFO, File, FileSystem, Inode

PIPE_BUF = 4096          # include/uapi/linux/limits.h
PIPE_DEF_SIZE = 65536    # 16 pages, fs/pipe.c PIPE_DEF_BUFFERS
POLLIN, POLLOUT, POLLERR, POLLHUP = 0x1, 0x4, 0x8, 0x10


SMALL = 512  # writes below this are gathered into one chunk


class PipeBuffer:
    """The bytes a pipe holds, as the chunks written: a big write's bytes
    object is kept as it is and a read that takes a whole chunk gets that
    object back, so 64 KiB going through a pipe is copied twice (from the
    writer's memory, into the reader's) instead of five times. Small writes
    are gathered into a bytearray at the tail (a chunk per 1-byte write
    would cost ~50 bytes of sentry memory per byte held)."""

    __slots__ = ("chunks", "head", "size", "tail")

    def __init__(self):
        self.chunks = collections.deque()  # bytes, or the bytearray `tail` (last)
        self.head = 0  # bytes of chunks[0] already read
        self.size = 0  # bytes held
        self.tail = None

    def __len__(self):
        return self.size

    def append(self, data):
        n = len(data)
        if n == 0:
            return
        self.size += n
        if n < SMALL:
            if self.tail is None:
                self.tail = bytearray()
                self.chunks.append(self.tail)
            self.tail += data
            return
        self.tail = None
        self.chunks.append(data if type(data) is bytes else bytes(data))

    def take(self, n):
        """Up to n bytes from the front (bytes), removed."""
        parts = []
        chunks = self.chunks
        left = n
        while left and chunks:
            c = chunks[0]
            h = self.head
            avail = len(c) - h
            if avail > left:
                parts.append(c[h:h + left])
                h += left
                if h >= 4096 and c is self.tail:
                    # a tail that writers keep extending may never be read
                    # to its end: drop what was read (at the front: O(1))
                    del c[:h]
                    h = 0
                self.head = h
                break
            chunks.popleft()
            self.head = 0
            if c is self.tail:
                self.tail = None
            parts.append(c if h == 0 and type(c) is bytes else c[h:])
            left -= avail
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if type(data) is not bytes:  # a piece of the tail
            data = bytes(data)
        self.size -= len(data)
        return data

    def peek(self, n):
        """Up to n bytes from the front, left in place (tee)."""
        out = bytearray()
        h = self.head
        for c in self.chunks:
            if len(out) >= n:
                break
            out += c[h:h + n - len(out)]
            h = 0
        return bytes(out)


class PipeFS(FileSystem):
    name = "pipefs"


_pipefs = PipeFS()


class Pipe(Inode):
    def __init__(self, uid=0, gid=0):
        super().__init__(S_IFIFO | 0o600, uid, gid)
        self.fs = _pipefs
        self.buf = PipeBuffer()
        self.capacity = PIPE_DEF_SIZE
        self.readers = 0
        self.writers = 0
        self.queue = WaitQueue()

    @property
    def size(self):
        return 0

    def open(self, flags, t=None):
        """Reopening through /proc/self/fd gives a new end of the same pipe."""
        f = PipeFile(self, flags)
        self.queue.notify()
        return f

    def ends(self, flags=0):
        r = PipeFile(self, O_RDONLY | (flags & O_NONBLOCK))
        w = PipeFile(self, O_WRONLY | (flags & O_NONBLOCK))
        return r, w


class PipeFile(File):
    def __init__(self, pipe, flags, dentry=None):
        super().__init__(pipe, flags, dentry)
        self.pipe = pipe
        if self.readable:
            pipe.readers += 1
        if self.writable:
            pipe.writers += 1

    def read(self, t, n):
        p = self.pipe
        while not p.buf:
            if p.writers == 0:
                return b""
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            t.block([p.queue])
        data = p.buf.take(n)
        p.queue.notify(POLLOUT)
        return data

    def write(self, t, data):
        p = self.pipe
        done = t.sys_state or 0
        total = len(data)
        while True:
            if p.readers == 0:
                t.kernel.send_sigpipe(t)
                if done:
                    return done
                raise SyscallError(E.EPIPE)
            space = p.capacity - len(p.buf)
            rest = total - done
            if space > 0 and (total > PIPE_BUF or space >= rest):
                k = min(space, rest)
                p.buf.append(data[done:done + k])
                done += k
                p.queue.notify(POLLIN)
                if done == total:
                    return done
            return t.block_partial(done, self.flags & O_NONBLOCK, [p.queue])

    def poll(self):
        p = self.pipe
        ev = 0
        if self.readable:
            if p.buf:
                ev |= POLLIN
            if p.writers == 0:
                ev |= POLLHUP
        if self.writable:
            if len(p.buf) < p.capacity:
                ev |= POLLOUT
            if p.readers == 0:
                ev |= POLLERR
        return ev

    def wait_queue(self, events=POLLIN | POLLOUT):
        return self.pipe.queue

    def ioctl(self, t, req, arg):
        if req == 0x541B:  # FIONREAD
            t.mm.write_u32(arg, len(self.pipe.buf))
            return 0
        raise SyscallError(E.ENOTTY)

    def release(self):
        p = self.pipe
        if self.readable:
            p.readers -= 1
        if self.writable:
            p.writers -= 1
        p.queue.notify(POLLIN | POLLOUT | POLLERR | POLLHUP)
