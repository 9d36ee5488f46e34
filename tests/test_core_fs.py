"""Files and pipes: the VFS syscalls in a scratch directory under /tmp, pipes and FIFOs (A/B)."""

import pytest

from core_util import ab_section, sections

FILES = [
    "read_write_seek", "readv_writev", "append_trunc", "dup_and_fcntl", "stat_fields",
    "chmod_access", "rename_unlink", "unlink_open_file", "getdents_listing", "symlinks",
    "hard_links", "truncate_ops", "dirs_and_cwd", "at_calls", "flock_and_locks", "special_files",
    "host_files_readonly", "long_names", "fifo_and_mknod", "cloexec_and_fd_limits",
    "statfs_struct", "rm_rf_tree", "copy_calls", "holes_and_fallocate", "statx_fields",
    "utimens_special", "o_path_fds", "proc_fd_links", "emfile_rlimit", "permissions_as_nobody",
    "sticky_tmp",
]
FILES_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(FILES, FILES_XFAIL))
def test_files(section):
    ab_section("files", section)


PIPES = [
    "basic", "pipe2_flags", "nonblocking_capacity", "setpipe_sz", "pipe_buf_atomic",
    "epipe_sigpipe", "eof_after_all_writers_close", "writer_blocks_until_read", "reader_woken",
    "dup_keeps_pipe_open", "shell_pipeline_via_exec", "readv_partial", "poll_pipe_states",
]
PIPES_XFAIL = {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(PIPES, PIPES_XFAIL))
def test_pipes(section):
    ab_section("pipes", section)


def test_pipe_buffer_keeps_bytes_in_order_with_few_copies():
    """vfs/pipe.py PipeBuffer against a bytearray model: random writes
    (empty, small ones gathered at the tail, big ones kept as written, from
    bytes, bytearray or memoryview) and reads and peeks of random sizes. A
    big chunk read whole comes back as the very object written (no copy);
    a writer's bytearray changed after its write changes nothing."""
    import random
    from bastion.sentry.vfs.pipe import SMALL, PipeBuffer
    rnd = random.Random(7)
    buf, model = PipeBuffer(), bytearray()
    for step in range(3000):
        if rnd.random() < 0.55:
            size = rnd.choice([0, 1, 3, SMALL - 1, SMALL, 4096, 65536, rnd.randrange(1, 20000)])
            data = bytes(rnd.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
            data = data[:size]
            kind = rnd.choice([bytes, bytearray, memoryview])
            arg = kind(data) if kind is not bytes else data
            buf.append(arg)
            model += data
            if kind is bytearray and size:
                arg[0] ^= 0xFF  # the writer reuses its buffer
        elif rnd.random() < 0.2:
            n = rnd.randrange(0, 70000)
            assert buf.peek(n) == bytes(model[:n])
        else:
            n = rnd.randrange(1, 140000)
            got = buf.take(n)
            assert type(got) is bytes and got == bytes(model[:n]), step
            del model[:n]
        assert len(buf) == len(model)
    big = bytes(range(256)) * 256
    buf = PipeBuffer()
    buf.append(big)
    assert buf.take(1 << 20) is big
    # small writes and reads that never empty the tail: it stays small
    buf = PipeBuffer()
    buf.append(b"x")
    for i in range(100000):
        buf.append(b"ab")
        assert len(buf.take(2)) == 2
    assert len(buf) == 1 and len(buf.chunks) == 1 and len(buf.chunks[0]) < 8192
