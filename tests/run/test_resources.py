"""What a trial's process-tree sample calls a restart, and what a tree's CPU over a window is
(memory is checked on real cells in test_end_to_end).

The CPU accounting is a pure function of scripted snapshots, so each case is exact: pid -> its
times at each sample (own CPU, reaped children's CPU, parent pid). Pid 1 stands for a master
whose parent (pid 0) is outside the tree.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from benchmatrix.run.resources import ProcessTimes, ServerTreeSampler, TreeUsage, window_cpu_s


def times(cpu_s, children_cpu_s=0.0, parent=1):
    return ProcessTimes(cpu_s, children_cpu_s, parent)


MASTER = 0  # the root's parent: outside the tree


def test_a_process_that_died_is_a_restart_whether_or_not_it_was_replaced():
    assert TreeUsage(pids_before={1, 2, 3}, pids_after={1, 2, 4}).restarted
    assert TreeUsage(pids_before={1, 2, 3}, pids_after={1, 2}).restarted


def test_a_worker_that_only_appeared_is_boot_not_a_restart():
    assert not TreeUsage(pids_before={1, 2}, pids_after={1, 2, 3}).restarted
    assert not TreeUsage(pids_before={1, 2}, pids_after={1, 2}).restarted


def test_a_steady_tree_costs_what_each_process_used_since_the_first_sample():
    snapshots = [{1: times(1.0, parent=MASTER), 2: times(5.0)},
                 {1: times(1.25, parent=MASTER), 2: times(6.0)},
                 {1: times(1.5, parent=MASTER), 2: times(7.5)}]
    assert window_cpu_s(snapshots) == pytest.approx(0.5 + 2.5)


def test_a_process_born_and_ended_between_two_samples_counts_through_its_parent():
    # A PostgreSQL backend per connection: never sampled, its 0.3 s reach the postmaster's reaped-children
    # times once it is waited for, and the 2.0 s the postmaster had reaped before the window stay out.
    snapshots = [{1: times(4.0, 2.0, parent=MASTER)},
                 {1: times(4.125, 2.0, parent=MASTER)},
                 {1: times(4.25, 2.3, parent=MASTER)}]
    assert window_cpu_s(snapshots) == pytest.approx(0.25 + 0.3)


def test_a_process_there_at_the_start_that_ended_counts_its_window_share_once():
    # Worker 2 had used 10 s before the window, was seen at 11 s, and ended at 12 s: the master's
    # reaped-children times gain its whole 12 s; its 10 s base comes off, and the 1 s seen in its own
    # samples is not counted again: 2 s, not 3.
    snapshots = [{1: times(1.0, parent=MASTER), 2: times(10.0)},
                 {1: times(1.0, parent=MASTER), 2: times(11.0)},
                 {1: times(1.0, 12.0, parent=MASTER)}]
    assert window_cpu_s(snapshots) == pytest.approx(2.0)


def test_a_restarted_worker_counts_the_old_ones_share_and_the_new_ones_life():
    # gunicorn's max_requests: worker 2 (base 10 s, 12 s at its end) is replaced by worker 3, first seen
    # with 0.4 s already used (born inside the window, so its base is 0) and at 1.0 s at the end.
    snapshots = [{1: times(1.0, parent=MASTER), 2: times(10.0)},
                 {1: times(1.1, 12.0, parent=MASTER), 3: times(0.4)},
                 {1: times(1.2, 12.0, parent=MASTER), 3: times(1.0)}]
    assert window_cpu_s(snapshots) == pytest.approx(0.2 + 2.0 + 1.0)


def test_a_process_born_inside_the_window_brings_its_own_reaped_children_whole():
    # Process 3 appeared (base 0) having already waited for a child of 0.2 s: all of it is inside the window.
    snapshots = [{1: times(1.0, parent=MASTER)},
                 {1: times(1.0, parent=MASTER), 3: times(0.1, 0.2)},
                 {1: times(1.0, parent=MASTER), 3: times(0.3, 0.5)}]
    assert window_cpu_s(snapshots) == pytest.approx(0.3 + 0.5)


def test_a_process_whose_parent_also_ended_counts_through_the_nearest_ancestor_left():
    # 3's parent 2 waited for it (0.5 s lifetime, 0.25 s before the window), then ended itself (1.0 s, 0.5 s
    # before the window); the master gains 2's own 1.0 s and its reaped 0.5 s.
    snapshots = [{1: times(0.0, parent=MASTER), 2: times(0.5), 3: times(0.25, parent=2)},
                 {1: times(0.0, parent=MASTER), 2: times(0.75, 0.5)},
                 {1: times(0.0, 1.5, parent=MASTER)}]
    assert window_cpu_s(snapshots) == pytest.approx((1.0 - 0.5) + (0.5 - 0.25))


def test_when_the_root_itself_ends_what_was_seen_is_kept_and_nothing_goes_negative():
    # Nothing in the tree waits for the root, and its orphans leave the tree with it.
    snapshots = [{1: times(5.0, parent=MASTER), 2: times(10.0)},
                 {1: times(5.5, parent=MASTER), 2: times(10.25)},
                 {}]
    assert window_cpu_s(snapshots) == pytest.approx(0.5 + 0.25)


def test_a_reused_pid_is_another_process():
    # Keys are (pid, start time): backend 7 ended (reaped: 1.0 s) and a new 7 was born and is running.
    snapshots = [{(1, 0.0): times(0.0, parent=MASTER), (7, 100.0): times(0.5)},
                 {(1, 0.0): times(0.0, 1.0, parent=MASTER), (7, 200.0): times(0.25)}]
    assert window_cpu_s(snapshots) == pytest.approx(0.5 + 0.25)


def test_one_snapshot_is_an_empty_window():
    assert window_cpu_s([{1: times(3.0, 1.0, parent=MASTER)}]) == 0.0
    assert window_cpu_s([]) == 0.0


def test_resources_add_the_support_trees_and_the_whole_stack():
    usage = TreeUsage(cpu_s=1.0, peak_pss_bytes=2 ** 20 * 30, pids_before={1, 2, 3}, pids_after={1, 2, 3},
                      support_cpu_s={"nginx": 0.25, "postgres": 0.5004})
    resources = usage.as_resources()
    assert resources["support_cpu_s"] == {"nginx": 0.25, "postgres": 0.5}
    assert resources["stack_cpu_s"] == 1.75 and resources["server_cpu_s"] == 1.0
    assert resources["server_processes"] == 3 and resources["server_peak_pss_mb"] == 30.0


def test_with_no_support_trees_the_stack_is_the_server():
    resources = TreeUsage(cpu_s=0.5).as_resources()
    assert resources["stack_cpu_s"] == resources["server_cpu_s"] == 0.5
    assert resources["support_cpu_s"] == {} and "server_processes" not in resources  # never sampled


FORKING_PARENT = textwrap.dedent("""
    import os, sys, time
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(3):
        child = os.fork()
        if child == 0:  # burns 0.2 s of CPU and ends, unseen by a sampler every 0.5 s
            end = time.process_time() + 0.2
            while time.process_time() < end:
                pass
            os._exit(0)
        os.waitpid(child, 0)
    reaped = os.times()
    print(reaped.children_user + reaped.children_system, flush=True)
    sys.stdin.readline()
""")


def test_children_that_live_shorter_than_the_sampling_interval_are_counted():
    parent = subprocess.Popen([sys.executable, "-c", FORKING_PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        with ServerTreeSampler(parent.pid, support_roots={"same tree": parent.pid}, interval_s=0.5) as sampler:
            parent.stdin.write("go\n")
            parent.stdin.flush()
            children_cpu_s = float(parent.stdout.readline())
        parent.stdin.write("end\n")
        parent.stdin.flush()
        parent.wait(timeout=10)
    finally:
        parent.kill()
        parent.wait()
    assert children_cpu_s >= 0.5
    # At least the children's CPU (give or take the clock ticks psutil reads), and not much more: the
    # parent's own forks and waits are milliseconds.
    assert 0.7 * children_cpu_s <= sampler.usage.cpu_s <= children_cpu_s + 0.1
    assert 0.7 * children_cpu_s <= sampler.usage.support_cpu_s["same tree"] <= children_cpu_s + 0.1
    assert sampler.usage.server_processes == 1
