"""The interleaving stopping rule, driven by scripted drivers: exactly when an interleaved comparison stops."""

from __future__ import annotations

import pytest

from benchmatrix.load.parse import WrkOutputError
from benchmatrix.run.interleave_rule import BUDGET, FAILED, TARGET, StoppingRule, alternate

from tests.fake_driver import FakeDriver, bench, wrk_result


def contenders(tmp_path, rps_a, rps_b):
    """Two measurements on fake wrk drivers scripted with each side's req/s, trial by trial; and a log of
    which side ran each trial, in order."""
    order = []

    def scripted(side, values):
        values = iter(values)

        def next_result(request):
            order.append(side)
            value = next(values)
            return value if isinstance(value, Exception) else wrk_result(value)
        return FakeDriver("wrk", next_result)

    a = bench(tmp_path / "a", closed_loop=scripted("A", rps_a)).measurement
    b = bench(tmp_path / "b", closed_loop=scripted("B", rps_b)).measurement
    return [a, b], order


def run(tmp_path, rps_a, rps_b, rule):
    measurements, order = contenders(tmp_path, rps_a, rps_b)
    scenario = measurements[0].plan.options.scenarios[0]
    loads = [m.plan.closed_loop(scenario) for m in measurements]
    outcome = alternate(lambda index, number: measurements[index].trial(scenario, loads[index], number),
                        2, rule, trial_s=1.0)
    return outcome, "".join(order)


RULE = StoppingRule(min_rounds=5, target_half_width=0.05, max_load_s=300)
A = [1000.0] * 40


def test_it_stops_at_the_first_round_whose_interval_is_within_the_target(tmp_path):
    # B is 10% faster every round but round 1's, which is 30% faster: the interval is wide until
    # enough steady rounds outweigh it.
    b = [1300.0] + [1100.0] * 39
    outcome, order = run(tmp_path, A, b, RULE)
    assert (outcome.stopped_by, outcome.rounds) == (TARGET, 9)
    assert order == "ABBA" * 4 + "AB"
    estimate = outcome.estimates[0]
    assert estimate.half_width == pytest.approx(0.043732306893069506, rel=1e-9) and estimate.rounds == 9
    assert [t.round_position for t in outcome.trials[1]][:3] == [(1, 2), (2, 1), (3, 2)]
    # One round fewer was not enough: the rule is what stopped it, not the budget.
    eight, _ = run(tmp_path / "eight", A[:8], b[:8], StoppingRule(5, 0.05, 16))
    assert (eight.stopped_by, eight.rounds) == (BUDGET, 8)
    assert eight.estimates[0].half_width == pytest.approx(0.05061690213890424, rel=1e-9)
    assert outcome.distinguishable == [True]


def test_it_never_stops_before_the_minimum_of_rounds(tmp_path):
    # The same 10% in every round: the interval is exact from round 2 on, and still five rounds run.
    outcome, order = run(tmp_path, A, [1100.0] * 40, RULE)
    assert (outcome.stopped_by, outcome.rounds) == (TARGET, 5)
    assert order == "ABBAABBAAB"
    assert outcome.estimates[0].ratio == pytest.approx(1.1, rel=1e-12)
    assert outcome.estimates[0].half_width == pytest.approx(0.0, abs=1e-12)


def test_it_stops_at_the_budget_and_says_the_cells_are_not_distinguishable(tmp_path):
    # B swings 20% either side of A: never within +-5%. A 10 s budget at 2 s a round stops after 5.
    swing = [800.0, 1250.0] * 20
    outcome, order = run(tmp_path, A, swing, StoppingRule(5, 0.05, 10))
    assert (outcome.stopped_by, outcome.rounds) == (BUDGET, 5)
    assert len(order) == 10
    assert outcome.estimates[0].contains(1.0) and outcome.distinguishable == [False]


def test_a_budget_spent_before_the_minimum_stops_there(tmp_path):
    outcome, _ = run(tmp_path, A, [800.0, 1250.0] * 20, StoppingRule(5, 0.05, 6))
    assert (outcome.stopped_by, outcome.rounds) == (BUDGET, 3)


def test_a_load_tool_failure_ends_the_rounds_with_its_first_line_and_keeps_the_trials(tmp_path):
    outcome, order = run(tmp_path, [1000.0, WrkOutputError("wrk could not connect: refused")], [1100.0] * 5, RULE)
    assert outcome.stopped_by == FAILED and outcome.error == "wrk could not connect: refused"
    assert order == "ABBA" and [len(side) for side in outcome.trials] == [1, 2]
