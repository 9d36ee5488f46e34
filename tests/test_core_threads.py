"""Threads: pthreads over clone/futex, thread exit, signals to threads (A/B)."""

import pytest

from core_util import ab_section, sections

THREADS = [
    "mutex_count", "atomics", "condvar_queue", "barrier", "tls", "ids", "thread_directed_signal",
    "process_signal_to_unblocked_thread", "fork_from_thread", "detached", "many_threads", "rwlock",
    "cond_timeout", "futex_ops", "futex_shared_across_fork", "robust_mutex", "pi_mutex",
    "cancellation", "thread_names", "thread_stack_overflow", "affinity_and_yield",
    "main_thread_exits_group", "exit_from_thread", "pthread_exit_main",
]
THREADS_XFAIL = {
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(THREADS, THREADS_XFAIL))
def test_threads(section):
    ab_section("threads", section)
