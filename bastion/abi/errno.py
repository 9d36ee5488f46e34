"""Linux errno values as typed errors, plus the kernel-internal restart codes.

Handlers raise SyscallError(E.EBADF); the loop turns it into -errno in rax.
The ERESTART* codes drive syscall restart after signals and never reach the
app (include/linux/errno.h).
"""

import errno as _errno

# Every errno the host knows, under its Linux name (EPERM, ENOENT, ...).
globals().update({name: code for code, name in _errno.errorcode.items()})
NAMES = dict(_errno.errorcode)
# aliases errorcode keeps only one name for (95 is ENOTSUP there)
EOPNOTSUPP, EWOULDBLOCK, EDEADLOCK = _errno.EOPNOTSUPP, _errno.EWOULDBLOCK, _errno.EDEADLOCK
EDEADLK = _errno.EDEADLK

ERESTARTSYS = 512
ERESTARTNOINTR = 513
ERESTARTNOHAND = 514
ERESTART_RESTARTBLOCK = 516
NAMES.update({512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
              516: "ERESTART_RESTARTBLOCK"})


class SyscallError(Exception):
    """A syscall's failure; `errno` is the positive Linux error number."""

    __slots__ = ("errno",)

    def __init__(self, errno):
        self.errno = errno

    def __repr__(self):
        return f"SyscallError({NAMES.get(self.errno, self.errno)})"
