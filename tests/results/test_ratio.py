"""The interleaved ratio: paired rounds, a 95% interval on the log scale, the permutation p-value."""

from __future__ import annotations

import math
import random

import pytest

from benchmatrix.results.ratio import paired_ratio
from benchmatrix.run.interleave_rule import round_order


def test_rounds_alternate_so_no_side_always_goes_first():
    assert [round_order(r, 2) for r in range(4)] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    assert round_order(1, 3) == [2, 1, 0]


def test_drift_shared_by_both_sides_cancels_out_of_the_ratio():
    # The machine slows down 40% over the run; B is 10% faster than A in every round.
    baseline = [1000.0 * (1 - 0.04 * r) for r in range(10)]
    candidate = [1.10 * v for v in baseline]
    estimate = paired_ratio(baseline, candidate)
    assert estimate.ratio == pytest.approx(1.10)
    assert estimate.half_width == pytest.approx(0.0, abs=1e-9)
    assert estimate.rounds == 10


def test_a_cell_against_itself_has_an_interval_around_one():
    generator = random.Random(7)
    baseline = [1000 * math.exp(generator.gauss(0, 0.07)) for _ in range(12)]
    candidate = [1000 * math.exp(generator.gauss(0, 0.07)) for _ in range(12)]
    estimate = paired_ratio(baseline, candidate)
    assert estimate.contains(1.0) and estimate.p_value > 0.05
    assert estimate.low < estimate.ratio < estimate.high


def test_five_rounds_of_a_clear_difference_are_significant():
    baseline = [1000, 1020, 990, 1010, 1005]
    candidate = [1500, 1480, 1530, 1490, 1510]
    estimate = paired_ratio(baseline, candidate)
    assert estimate.p_value <= 0.05 and not estimate.contains(1.0)
    assert "p 0.00794" in estimate.describe()  # 2 of the C(10, 5) = 252 splits


def test_fewer_than_two_rounds_give_no_interval():
    assert paired_ratio([1000.0], [1100.0]) is None
    assert paired_ratio([1000.0, 0.0], [1100.0, 1200.0]) is None
