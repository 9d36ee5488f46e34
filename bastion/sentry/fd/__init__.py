"""Files that are not in any filesystem (eventfd, epoll, ...), and the poll
mask and signal-mask helpers poll, select and epoll share so they agree."""

from ...abi import errno as E
from ...abi import signals as S
from ...abi.errno import SyscallError

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP = 0x40, 0x80, 0x100, 0x200, 0x2000


def s32(x):
    """A raw int argument (an fd, a timeout) as C sees it."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def file_of(t, fd, kind):
    """The open file behind `fd` if it is a `kind` (an epoll, a timerfd, ...);
    EINVAL for any other file, as those syscalls answer."""
    f = t.files.get(s32(fd))
    if not isinstance(f, kind):
        raise SyscallError(E.EINVAL)
    return f


def ready_events(f):
    """f.poll() with the *NORM bits Linux reports alongside POLLIN/POLLOUT."""
    ev = f.poll()
    if ev & POLLIN:
        ev |= POLLRDNORM
    if ev & POLLOUT:
        ev |= POLLWRNORM
    return ev


# --- the temporary signal mask of ppoll/pselect6/epoll_pwait ---------------
def set_temp_sigmask(t, maskp, size):
    """Install *maskp for the wait (once per syscall, not on each retry)."""
    if not maskp or t.sys_state is not None:
        return
    if size != 8:
        raise SyscallError(E.EINVAL)
    m = t.mm.read_u64(maskp)
    t.sys_state = "sigmask"
    t.saved_sigmask = t.sigmask
    t.sigmask = m & ~S.UNBLOCKABLE


def restore_sigmask(t):
    if t.sys_state == "sigmask" and t.saved_sigmask is not None:
        t.sigmask = t.saved_sigmask
        t.saved_sigmask = None


def finish(t, fn, restore_unless_errno):
    """Run fn(); restore the temporary mask unless it ends with that errno
    (the signal handler then runs under it; the kernel restores it after)."""
    try:
        r = fn()
    except SyscallError as e:
        if e.errno != restore_unless_errno:
            restore_sigmask(t)
        raise
    restore_sigmask(t)
    return r
