"""Pipes: a bounded byte buffer between reader and writer ends (fs/pipe.c)."""

from ...abi import errno as E
from ...abi.errno import SyscallError
from ..sched import WaitQueue
from .inode import O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFIFO, File, FileSystem, Inode

PIPE_BUF = 4096          # include/uapi/linux/limits.h
PIPE_DEF_SIZE = 65536    # 16 pages, fs/pipe.c PIPE_DEF_BUFFERS
POLLIN, POLLOUT, POLLERR, POLLHUP = 0x1, 0x4, 0x8, 0x10


class PipeFS(FileSystem):
    name = "pipefs"


_pipefs = PipeFS()


class Pipe(Inode):
    def __init__(self, uid=0, gid=0):
        super().__init__(S_IFIFO | 0o600, uid, gid)
        self.fs = _pipefs
        self.buf = bytearray()
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
        data = bytes(p.buf[:n])
        del p.buf[:n]
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
                p.buf += data[done:done + k]
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
