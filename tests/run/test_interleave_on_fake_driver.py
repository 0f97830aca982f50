"""The sliced interleaving and its stopping rule, driven by scripted drivers and scripted noise: exactly which
slices run in which order, how they pair, and when a comparison stops."""

from __future__ import annotations

import math
import statistics

import pytest

from benchmatrix.load.parse import WrkOutputError
from benchmatrix.results.ratio import PairedEstimate, detectable_effect, paired_ratio
from benchmatrix.run.interleave_rule import (BUDGET, DIFFERS, FAILED, TARGET, StoppingRule, alternate,
                                             look_schedule)
from benchmatrix.run.trial_runner import TrialOutcome
from benchmatrix.run.trials import Trial

from tests.fake_driver import FakeDriver, bench, wrk_result


def contenders(tmp_path, rps_a, rps_b):
    """Two measurements on fake wrk drivers scripted with each side's req/s, slice by slice; and a log of
    which side ran each slice, in order."""
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


RULE = StoppingRule(min_pairs=5, target_half_width=0.05, max_load_s=300)
A = [1000.0] * 80
# B 10% faster, with +-7% of scripted noise slice to slice.
NOISE = [1.06, 0.95, 0.97, 1.04, 1.05, 0.93, 0.99, 1.02, 1.07, 0.94, 0.96, 1.03] * 10


def drifting(slices, step=1.01):
    """Both sides alike on a machine whose speed drifts by `step` per slice: each side's values in its own
    order, as ABBA slices would meet them (slice k of the whole run at 1000 * step**k)."""
    sides = ([], [])
    for k in range(slices):
        round_index, position = divmod(k, 2)
        side = position if round_index % 2 == 0 else 1 - position
        sides[side].append(1000.0 * step ** k)
    return sides


def test_slices_run_abba_and_a_linear_drift_cancels_within_each_pair(tmp_path):
    a, b = drifting(40)
    outcome, order = run(tmp_path, a, b, RULE)
    assert order == "ABBA" * 5 and outcome.pairs == 5 and outcome.stopped_by == TARGET
    estimate = outcome.estimates[0]
    assert estimate.ratio == pytest.approx(1.0, abs=1e-12) and estimate.half_width == pytest.approx(0.0, abs=1e-12)
    assert [t.round_position for t in outcome.trials[1]][:4] == [(1, 2), (2, 1), (3, 2), (4, 1)]
    # Round by round, the same slices carry the drift: each ratio 1% off, alternately up and down.
    assert paired_ratio(a[:10], b[:10]).half_width > 0.007
    assert outcome.distinguishable == [False]


def test_a_difference_stops_at_the_first_look(tmp_path):
    outcome, order = run(tmp_path, A, [1100.0 * n for n in NOISE], RULE)
    assert (outcome.stopped_by, outcome.pairs, order) == (DIFFERS, 5, "ABBA" * 5)
    estimate = outcome.estimates[0]
    assert estimate.ratio == pytest.approx(1.1008244427661082, rel=1e-9)
    assert estimate.p_raw == pytest.approx(7.140922157217282e-06, rel=1e-6)
    # Eight looks in a 300 s budget of 4 s pairs (5, 8, 12, 18, 27, 41, 62, 75): the p-value is corrected by them.
    assert estimate.p_value == pytest.approx(8 * estimate.p_raw, rel=1e-12)
    assert outcome.distinguishable == [True]


def test_the_looks_thin_out_as_the_pairs_grow():
    assert look_schedule(5, 37) == [5, 8, 12, 18, 27, 37]
    assert look_schedule(5, 15) == [5, 8, 12, 15]
    assert look_schedule(5, 3) == [3]
    assert RULE.looks(pair_s=8.0) == [5, 8, 12, 18, 27, 37]


def estimate(p_value, half_width, pairs, ratio=1.1):
    return PairedEstimate(ratio=ratio, low=ratio * (1 - half_width), high=ratio * (1 + half_width),
                          p_value=p_value, rounds=pairs, sd_log=0.1, p_raw=p_value)


def test_a_difference_seen_between_looks_waits_for_the_next_look_but_a_narrow_interval_does_not():
    rule = StoppingRule(5, 0.05, 300)  # looks at 5, 8, 12, ... pairs of 8 s
    wide_but_different = [estimate(0.01, 0.2, 6)]
    assert rule.verdict(6, wide_but_different, 48, 8) is None
    assert rule.verdict(8, wide_but_different, 64, 8) == DIFFERS
    narrow_and_same = [estimate(0.9, 0.04, 6, ratio=1.0)]
    assert rule.verdict(6, narrow_and_same, 48, 8) == TARGET
    assert rule.verdict(4, narrow_and_same, 32, 8) is None  # before the minimum of pairs
    # Narrow but leaving 1 out, not yet confirmed by the corrected test: on to the next look, at a look too.
    narrow_but_apart = [estimate(0.2, 0.04, 6)]
    assert rule.verdict(6, narrow_but_apart, 48, 8) is None
    assert rule.verdict(5, narrow_but_apart, 40, 8) is None
    # At a look, one ratio decided and one narrow around 1: stop, but not every ratio differs.
    assert rule.verdict(5, [estimate(0.01, 0.2, 5), estimate(0.9, 0.01, 5, ratio=1.0)], 40, 8) == TARGET


def test_an_undecided_comparison_stops_at_the_budget_and_says_what_it_could_have_seen(tmp_path):
    # B swings 20% either side of A pair by pair: never decided. 40 s at 4 s a pair: 10 pairs, looks 5, 8, 10.
    swing = [800.0, 800.0, 1250.0, 1250.0] * 20
    rule = StoppingRule(5, 0.05, 40)
    outcome, order = run(tmp_path, A, swing, rule)
    assert (outcome.stopped_by, outcome.pairs, len(order)) == (BUDGET, 10, 40)
    assert outcome.estimates[0].contains(1.0) and outcome.distinguishable == [False]
    sd = statistics.stdev([math.log(0.8), math.log(1.25)] * 5)
    assert outcome.estimates[0].sd_log == pytest.approx(sd, rel=1e-12)
    assert outcome.detectable[0] == pytest.approx(detectable_effect(sd, 10, 0.05 / 3), rel=1e-12)
    assert outcome.detectable[0] == pytest.approx(0.32829045454339845, rel=1e-9)


def test_a_budget_spent_before_the_minimum_stops_there(tmp_path):
    outcome, _ = run(tmp_path, A, [800.0, 1250.0] * 20, StoppingRule(5, 0.05, 12))
    assert (outcome.stopped_by, outcome.pairs, outcome.rounds) == (BUDGET, 3, 6)


def test_a_load_tool_failure_ends_the_slices_with_its_first_line_and_keeps_the_trials(tmp_path):
    outcome, order = run(tmp_path, [1000.0, WrkOutputError("wrk could not connect: refused")], [1100.0] * 5, RULE)
    assert outcome.stopped_by == FAILED and outcome.error == "wrk could not connect: refused"
    assert order == "ABBA" and [len(side) for side in outcome.trials] == [1, 2]


def test_every_method_s_ratio_is_in_the_outcome(tmp_path):
    outcome, _ = run(tmp_path, A, [1100.0] * 40, RULE)
    assert sorted(outcome.by_method) == ["cpu", "cpu/speed-reference", "rps", "rps/speed-reference"]
    # The fake server used 1 s of CPU for each slice's 1000 requests, on both sides: a ratio of exactly 1.
    assert outcome.by_method["cpu"][0].ratio == pytest.approx(1.0, abs=1e-12)
    assert outcome.by_method["rps/speed-reference"] == [None]  # no speed reference was timed


def finished(measurements, outcome, pair_logs):
    """Each contender's record as the interleaved run saves it, judged on its pair log-ratios."""
    records = []
    for index, measurement in enumerate(measurements):
        scenario = measurement.plan.options.scenarios[0]
        measurement.prepare(scenario)
        records.append(measurement.finish(scenario, measurement.plan.closed_loop(scenario), outcome.trials[index],
                                          outcome.flags[index], outcome.argvs[index], pair_logs=pair_logs[index]))
    return records


def test_a_healthy_comparison_on_a_drifting_machine_is_not_flagged_unstable_but_a_spread_of_pairs_is(tmp_path):
    from benchmatrix.run.interleave import pair_rps_logs
    from benchmatrix.run.trials import unstable

    # 30 pairs (120 slices of 1 s); the machine speeds up 1% a slice, 3.3-fold over the run, and B's slices
    # carry +-7% of noise: the slices' req/s vary far beyond a healthy cell's 8%, their ABBA pairs do not.
    a, b = drifting(120)
    b = [value * NOISE[k % len(NOISE)] for k, value in enumerate(b)]
    rule = StoppingRule(min_pairs=30, target_half_width=0.0, max_load_s=120)
    measurements, _ = contenders(tmp_path / "healthy", a, b)
    scenario = measurements[0].plan.options.scenarios[0]
    loads = [m.plan.closed_loop(scenario) for m in measurements]
    outcome = alternate(lambda index, number: measurements[index].trial(scenario, loads[index], number), 2, rule, 1.0)
    assert (outcome.stopped_by, outcome.pairs) == (BUDGET, 30)
    assert unstable([t.rps for t in outcome.trials[0]]) is not None  # what judging the slices would have said
    logs = pair_rps_logs(outcome)
    # The drift cancels exactly within each pair: what is left is B's noise, averaged over the pair's two slices.
    noise = [(math.log(NOISE[2 * i % 12]) + math.log(NOISE[(2 * i + 1) % 12])) / 2 for i in range(30)]
    assert logs[0] == [] and logs[1] == pytest.approx(noise, abs=1e-12)
    assert all("unstable-trials" not in r.flag_codes for r in finished(measurements, outcome, logs))

    # B swinging 30% either way pair by pair on a steady machine: its pairs spread beyond noise.
    swing = [1300.0, 1300.0, 700.0, 700.0] * 5
    measurements, _ = contenders(tmp_path / "swinging", [1000.0] * 20, swing)
    outcome = alternate(lambda index, number: measurements[index].trial(scenario, loads[index], number), 2,
                        StoppingRule(5, 0.0, 40), 1.0)
    first, second = finished(measurements, outcome, pair_rps_logs(outcome))
    assert "unstable-trials" not in first.flag_codes and "unstable-trials" in second.flag_codes
    reason, = [f.reason for f in second.flags if f.code == "unstable-trials"]
    # 10 pairs, log 1.3 and log 0.7 by turns: sd 32.6%; a healthy 8% spread exceeds 14% over 10 pairs at p < 0.001.
    assert reason == ("req/s ratios to the first cell varied 32.6% (sd of log-ratio) over 10 ABBA pairs; expected "
                      "about 8%, and above 14% is less likely than 0.001 from that noise alone (the machine's drift, "
                      "which the pairs cancel, is not counted)")


def test_a_narrow_interval_leaving_one_out_between_looks_runs_on_to_the_next_look():
    # B 10% faster; pairs 1-5 spread so that pair 5 (a look) is neither narrow nor different at p x 8 looks;
    # pair 6 (no look) is narrow, with p x 8 below 0.05, but only the looks' p-values count in the correction:
    # the interval leaves 1 out, so the comparison neither stops on the target there (it would report "not
    # told apart") nor calls it a difference; it runs on to the look at pair 8, which decides.
    deviations = [0.045, -0.045, 0.045, -0.045, 0.0, 0.0, 0.0, 0.0]
    b = [1000.0 * math.exp(math.log(1.1) + d) for d in deviations for _ in range(2)]

    def run_trial(index, number):
        return TrialOutcome(["wrk"], Trial(kind="closed-loop", rps=1000.0 if index == 0 else b[number - 1],
                                           rps_all=1.0, requests=1000, latency_ms={}, errors={}, histogram=None), [])

    outcome = alternate(run_trial, 2, RULE, trial_s=1.0)
    assert (outcome.stopped_by, outcome.pairs, outcome.looks, outcome.at_look) == (DIFFERS, 8, 8, True)
    assert outcome.estimates[0].half_width < 0.05 and outcome.estimates[0].p_value < 0.05
    assert outcome.distinguishable == [True]
    # With a look at pair 6 the same p-value decides there.
    at_look = alternate(run_trial, 2, StoppingRule(6, 0.05, 300), trial_s=1.0)
    assert (at_look.stopped_by, at_look.pairs, at_look.at_look, at_look.distinguishable) == (DIFFERS, 6, True, [True])


def test_a_budget_that_holds_fewer_pairs_than_the_minimum_is_refused():
    from benchmatrix.run.interleave_rule import budget_problem

    assert budget_problem(5, 40, 2, 2) is None  # 5 pairs of 8 s: enough
    assert budget_problem(5, 39, 2, 2) == (
        "--max-load 39 s holds 4 ABBA pair(s) of 8 s (2 cells x 2 rounds x 2 s slices), fewer than --min-pairs 5: "
        "the comparison could never decide; give --max-load 40 or more, or --min-pairs 4 or fewer")
    assert budget_problem(5, 50, 3, 2) == (
        "--max-load 50 s holds 4 ABBA pair(s) of 12 s (3 cells x 2 rounds x 2 s slices), fewer than --min-pairs 5: "
        "the comparison could never decide; give --max-load 60 or more, or --min-pairs 4 or fewer")
    assert budget_problem(5, 10, 2, 2) == (  # one pair: no interval at all, so only a larger budget helps
        "--max-load 10 s holds 1 ABBA pair(s) of 8 s (2 cells x 2 rounds x 2 s slices), fewer than --min-pairs 5: "
        "the comparison could never decide; give --max-load 40 or more")


def test_the_speed_reference_is_timed_after_the_settle_right_before_the_load(tmp_path):
    events = []
    measurements, _ = contenders(tmp_path, [1000.0], [1000.0])
    measurement = measurements[0]
    scenario = measurement.plan.options.scenarios[0]
    measurement.runner.settle = lambda s: events.append("settle") or 0.0
    driver = measurement.runner.drivers.closed_loop
    original = driver._next
    driver._next = lambda request: events.append("load") or original(request)
    measurement.trial(scenario, measurement.plan.closed_loop(scenario), 1,
                      after_settle=lambda: events.append("speed reference"))
    assert events == ["settle", "speed reference", "load"]


def test_a_speed_reference_that_fails_ends_the_slices_as_a_failed_load(tmp_path):
    from benchmatrix.stack.readiness import ServiceError

    def run_trial(index, number):
        if number == 2:
            raise ServiceError("the speed reference loop (python -I -S) did not answer within 10 s\nmore")
        return TrialOutcome(["wrk"], Trial(kind="closed-loop", rps=1000.0, rps_all=1000.0, requests=1000,
                                           latency_ms={}, errors={}, histogram=None), [])

    outcome = alternate(run_trial, 2, RULE, trial_s=1.0)
    assert outcome.stopped_by == FAILED and outcome.at_look is False
    assert outcome.error == "the speed reference loop (python -I -S) did not answer within 10 s"
