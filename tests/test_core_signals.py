"""Signals: sigaction flags, masks, queues, sigsuspend, altstack, faults, timers (A/B)."""

import pytest

from core_util import ab_section, sections

SIGNALS = [
    "siginfo_fields", "sigaction_query", "mask_and_pending", "rt_queue", "suspend",
    "ignore_and_default", "resethand_nodefer", "segv_si_addr", "segv_in_handler_context",
    "altstack", "stack_overflow_on_altstack", "restart_semantics", "alarm_and_itimer",
    "alarm_kills_by_default", "timedwait", "kill_errors", "handler_mask_from_sa_mask",
    "nested_signals", "fpu_preserved", "bad_fp_frame", "sync_faults_skip_insn", "ucontext_registers",
    "sync_signal_kills", "fork_and_signals", "itimer_virtual_prof", "posix_timers",
    "posix_timers_more",
    "signalfd_read", "kill_process_group_and_broadcast", "sigcont_handler_and_stop_ignored",
    "orphaned_pgrp",
]
SIGNALS_XFAIL = {
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("section", sections(SIGNALS, SIGNALS_XFAIL))
def test_signals(section):
    ab_section("signals", section)
