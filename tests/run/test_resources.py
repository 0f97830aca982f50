"""What a trial's process-tree sample calls a restart (memory is checked on real cells in test_end_to_end)."""

from __future__ import annotations

from benchmatrix.run.resources import TreeUsage


def test_a_process_that_died_is_a_restart_whether_or_not_it_was_replaced():
    assert TreeUsage(pids_before={1, 2, 3}, pids_after={1, 2, 4}).restarted
    assert TreeUsage(pids_before={1, 2, 3}, pids_after={1, 2}).restarted


def test_a_worker_that_only_appeared_is_boot_not_a_restart():
    assert not TreeUsage(pids_before={1, 2}, pids_after={1, 2, 3}).restarted
    assert not TreeUsage(pids_before={1, 2}, pids_after={1, 2}).restarted
