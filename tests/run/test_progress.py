"""The plan behind "[cell 3/10, ~4m10s left]"."""

from __future__ import annotations

import pytest

from benchmatrix.run.progress import (OVERHEAD_PER_CELL_S, PLAN_WEIGHT, Progress, format_duration,
                                        parse_position, planned_cell_seconds)


def test_a_cell_plans_its_load_and_an_allowance():
    # 2 scenarios x (1 s primer + 2 s warmup + 3 trials x (closed loop + 2 rates) x 10 s)
    assert planned_cell_seconds(2, 1, 2, 3, 10, rates=2, closed_loop=True) == OVERHEAD_PER_CELL_S + 2 * 93


def test_time_left_counts_the_cells_still_to_come():
    progress = Progress(cell_index=3, cell_count=10, planned_cell_s=30.0)
    progress.start()
    assert 7 * 30.0 < progress.seconds_left() <= 8 * 30.0
    assert progress.prefix().startswith("[cell 3/10, ~")


def test_finished_cells_take_over_from_the_plan_as_they_accumulate():
    # Four cells took 80 s against a plan of 5 s each: (80 + 2 x 5) / (4 + 2) = 15 s a cell.
    progress = Progress(cell_index=5, cell_count=100, planned_cell_s=5.0, elapsed_before_s=80.0)
    progress.start()
    assert progress.per_cell_s == (80.0 + PLAN_WEIGHT * 5.0) / (4 + PLAN_WEIGHT)
    assert 95 * progress.per_cell_s < progress.seconds_left() <= 96 * progress.per_cell_s
    # Forty cells at 20 s: the plan hardly counts any more.
    later = Progress(cell_index=41, cell_count=100, planned_cell_s=5.0, elapsed_before_s=800.0)
    assert 19.0 < later.per_cell_s < 20.0


def test_one_quick_first_cell_does_not_set_the_estimate_alone():
    # Measured in smoke: the first cell 3.5 s, the average 4.5 s, the plan 4.0 s.
    after_one = Progress(cell_index=2, cell_count=65, planned_cell_s=4.0, elapsed_before_s=3.5)
    assert abs(after_one.per_cell_s - 4.5) < abs(3.5 - 4.5)


def test_the_first_cell_can_only_go_by_the_plan():
    progress = Progress(cell_index=1, cell_count=10, planned_cell_s=5.0, elapsed_before_s=0.0)
    assert progress.per_cell_s == 5.0


@pytest.mark.parametrize("seconds, text", [(42, "42s"), (250, "4m10s"), (7325, "2h02m")])
def test_durations_read_like_a_clock(seconds, text):
    assert format_duration(seconds) == text


def test_positions_are_checked():
    assert parse_position("3/10") == (3, 10, None, 0) and parse_position(None) is None
    assert parse_position("3/10@42.5") == (3, 10, 42.5, 0)
    assert parse_position("3/10@42.5:2") == (3, 10, 42.5, 2)
    with pytest.raises(ValueError, match="skipped"):
        parse_position("3/10@42.5:3")  # the cell itself is not one of those before it
    with pytest.raises(ValueError, match="CELL/CELLS"):
        parse_position("three")
    with pytest.raises(ValueError, match="between 1"):
        parse_position("11/10")


def test_skipped_cells_count_in_the_position_but_not_in_the_time_per_cell():
    progress = Progress(4, 10, planned_cell_s=100.0, elapsed_before_s=60.0, skipped_before=2)
    # One measured cell took the 60 s; the two skipped took none and do not count as cells.
    assert progress.per_cell_s == (60.0 + PLAN_WEIGHT * 100.0) / (1 + PLAN_WEIGHT)
    assert "2 skipped" in progress.prefix()
    everything_skipped = Progress(3, 10, planned_cell_s=100.0, elapsed_before_s=1.0, skipped_before=2)
    assert everything_skipped.per_cell_s == 100.0  # nothing measured yet: the plan
