"""Anonymous inodes (fs/anon_inodes.c): the inode behind eventfd, epoll and
other descriptors that have no name; /proc/PID/fd shows anon_inode:[NAME]."""

from ..vfs.inode import FileSystem, Inode


class AnonFS(FileSystem):
    def __init__(self, name):
        super().__init__()
        self.name = name


_fs = {}


def anon_inode(name):
    fs = _fs.get(name) or _fs.setdefault(name, AnonFS(name))
    ino = Inode(0o600)  # Linux gives anon inodes no file type bits
    ino.fs = fs
    return ino
