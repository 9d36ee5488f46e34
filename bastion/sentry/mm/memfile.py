"""The memory file: one sparse memfd that holds every page of app memory.

The sentry maps the whole file once; app memory is reached as slices of that
mapping (no host syscall per copy). Stubs map ranges of it at app addresses.
Ranges are handed out in whole pages; freed ranges are punched out so the
host gets the memory back.
"""

import bisect
import ctypes
import mmap
import os

from ... import hostsys

PAGE = 4096
# Address space of the file (sparse: costs nothing until pages are touched).
FILE_SIZE = 1 << 40
# Freed ranges are punched out together at the next alloc, or at once when
# this much waits (the host gets big frees back without waiting for one).
UNPUNCHED_MAX = 16 << 20


class MemoryFile:
    def __init__(self, size=FILE_SIZE):
        self.fd = os.memfd_create("bastion-memory", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.size = size
        self.map = mmap.mmap(self.fd, size)
        self.view = memoryview(self.map)
        # where the sentry maps it: host syscalls that fill app memory
        # (getdents64) write there directly
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self._bump = PAGE  # offset 0 stays unused so 0 means "none"
        self._free_starts = []  # sorted free extents below _bump
        self._free = {}  # start -> length
        self._unpunched = []  # freed ranges whose pages the host still holds (see free)
        self._unpunched_bytes = 0

    def alloc(self, length):
        """Reserve `length` bytes (page multiple) of file offsets: all zero."""
        if self._unpunched:
            self.punch()
        for i, start in enumerate(self._free_starts):
            flen = self._free[start]
            if flen >= length:
                del self._free_starts[i]
                del self._free[start]
                if flen > length:
                    self._insert_free(start + length, flen - length)
                return start
        start = self._bump
        if start + length > self.size:
            raise MemoryError("memory file exhausted")
        self._bump += length
        return start

    def fill(self, off, fd, pos, size):
        """Copy `size` bytes of host file `fd` from `pos` to `off`, host
        kernel to host kernel (sendfile): no page of the sentry's mapping is
        faulted in, twice as fast as a read into it. Returns the bytes copied
        (less at the file's end)."""
        os.lseek(self.fd, off, os.SEEK_SET)
        end = pos + size
        while pos < end:
            n = os.sendfile(self.fd, fd, pos, end - pos)
            if n <= 0:
                break
            pos += n
        return size - (end - pos)

    def blocks_used(self):
        """Bytes of host memory the file holds (its allocated blocks)."""
        if self._unpunched:
            self.punch()
        return os.fstat(self.fd).st_blocks * 512

    def _insert_free(self, start, length):
        bisect.insort(self._free_starts, start)
        self._free[start] = length

    def free(self, start, length):
        """Make the offsets reusable; their pages are dropped at the next
        alloc (or punch()), together with the ranges freed next to them: a
        process's exit frees ~30 ranges, often side by side, and each punch
        is a host syscall. A freed range joins the free ranges next to it
        (and the top of the file goes down when it can), so the free list
        stays short: alloc scans it."""
        self._unpunched.append((start, length))
        self._unpunched_bytes += length
        if self._unpunched_bytes >= UNPUNCHED_MAX:
            self.punch()
        starts, free = self._free_starts, self._free
        i = bisect.bisect_left(starts, start)
        if i < len(starts) and starts[i] == start + length:  # the next range joins
            length += free.pop(starts.pop(i))
        if i > 0 and starts[i - 1] + free[starts[i - 1]] == start:  # so does the previous
            i -= 1
            start = starts.pop(i)
            length += free.pop(start)
        if start + length == self._bump:
            self._bump = start
            return
        starts.insert(i, start)
        free[start] = length

    def punch(self):
        """Give the host back the pages of the ranges freed since the last
        punch, adjacent ranges in one call."""
        ranges, self._unpunched = sorted(self._unpunched), []
        self._unpunched_bytes = 0
        start, end = ranges[0][0], ranges[0][0] + ranges[0][1]
        for s, n in ranges[1:]:
            if s != end:
                hostsys.punch_hole(self.fd, start, end - start)
                start = s
            end = s + n
        hostsys.punch_hole(self.fd, start, end - start)

    def populated(self, start, length):
        """Yield (offset, length) of the pages in [start, start+length) that hold data."""
        end = start + length
        off = start
        while off < end:
            try:
                data = os.lseek(self.fd, off, os.SEEK_DATA)
            except OSError:
                return
            if data >= end:
                return
            hole = min(os.lseek(self.fd, data, os.SEEK_HOLE), end)
            yield data, hole - data
            off = hole

    def copy(self, dst, src, length):
        """Copy the populated pages of one range into another (fork, mremap,
        a private copy of page-cache pages): copy_file_range, in the host
        kernel, ~1.7x as fast as a copy between two slices of the mapping."""
        for off, n in self.populated(src, length):
            self._copy(dst + (off - src), off, n)

    def _copy(self, dst, src, n):
        fd = self.fd
        try:
            while n > 0:
                k = os.copy_file_range(fd, fd, n, src, dst)
                if k <= 0:
                    break
                src, dst, n = src + k, dst + k, n - k
        except OSError:  # a host kernel without it for memfds
            pass
        if n > 0:
            v = self.view
            v[dst:dst + n] = v[src:src + n]

    def zero(self, start, length):
        hostsys.punch_hole(self.fd, start, length)
