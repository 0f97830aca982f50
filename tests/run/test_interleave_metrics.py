"""The figures a sliced comparison takes ratios of: req/s or CPU per request, each optionally per speed
reference; the speed reference kept in each slice; what an undecided comparison states and records."""

from __future__ import annotations

import pytest

from benchmatrix.run.interleave import with_speed
from benchmatrix.run.interleave_report import Undecided, outcome_meta
from benchmatrix.run.interleave_rule import (CPU, DIFFERS, RPS, Method, RoundsOutcome, StoppingRule, alternate,
                                             estimates_of)
from benchmatrix.run.trial_runner import TrialOutcome
from benchmatrix.run.trials import Trial, TrialContext


def slice_trial(rps, requests=2000, cpu_s=1.0, speed_ms=None):
    resources = {"stack_cpu_s": cpu_s}
    if speed_ms is not None:
        resources["speed_reference_ms"] = speed_ms
    return Trial(kind="closed-loop", rps=rps, rps_all=rps, requests=requests, latency_ms={}, errors={},
                 histogram=None, context=TrialContext(resources=resources, server_restarted=False, settle_s=0.0,
                                                      raw_output="x", answers_during_load=None))



class TwoSecondSlices:
    """The interleave options Verdicts reads: 2 s slices on req/s, 120 s of load, 5 pairs at least."""
    class base:
        duration_s = 2
    method = Method(RPS)
    max_load_s = 120
    min_pairs = 5

def test_each_method_reads_its_figure_of_a_slice():
    trial = slice_trial(1000.0, requests=2000, cpu_s=1.0, speed_ms=40.0)
    assert Method(RPS).value(trial) == 1000.0
    assert Method(CPU).value(trial) == pytest.approx(0.5)  # ms of the stack's CPU per request
    assert Method(RPS, True).value(trial) == pytest.approx(40000.0)
    assert Method(CPU, True).value(trial) == pytest.approx(0.5 / 40.0)
    assert Method(RPS, True).value(slice_trial(1000.0)) is None  # no reference timed: no normalized figure
    assert Method(CPU, True).name == "cpu/speed-reference"


def test_the_speed_reference_takes_out_a_change_of_machine_speed_between_two_slices_of_a_round():
    # B is 10% faster; in round 1 B's slice (the second) ran on a machine at half speed: reference loop twice
    # as long, req/s halved, CPU per request doubled. Every other slice ran at full speed.
    a = [slice_trial(1000.0, cpu_s=1.0, speed_ms=40.0) for _ in range(4)]
    b = [slice_trial(550.0, cpu_s=2.0 / 1.1, speed_ms=80.0)] + [
        slice_trial(1100.0, cpu_s=1.0 / 1.1, speed_ms=40.0) for _ in range(3)]
    raw, = estimates_of([a, b], Method(RPS))
    normalized, = estimates_of([a, b], Method(RPS, True))
    cpu_normalized, = estimates_of([a, b], Method(CPU, True))
    assert raw.ratio == pytest.approx(1.1 * 0.5 ** 0.25, rel=1e-12) and raw.half_width > 1
    assert normalized.ratio == pytest.approx(1.1, rel=1e-12) and normalized.half_width == pytest.approx(0, abs=1e-9)
    assert cpu_normalized.ratio == pytest.approx(1 / 1.1, rel=1e-12)


def test_cpu_per_request_can_drive_the_stopping_rule():
    # B spends 10% more CPU per request in every slice; its req/s is the same as A's.
    def run_trial(index, number):
        return TrialOutcome(["wrk"], slice_trial(1000.0, cpu_s=1.0 if index == 0 else 1.1), [])

    outcome = alternate(run_trial, 2, StoppingRule(5, 0.05, 300), trial_s=2.0, method=Method(CPU))
    assert (outcome.stopped_by, outcome.pairs) == (DIFFERS, 5)
    assert outcome.estimates[0].ratio == pytest.approx(1.1, rel=1e-12)
    assert outcome.by_method["rps"][0].ratio == pytest.approx(1.0, rel=1e-12)


def test_the_speed_reference_is_kept_in_the_slice_s_resources():
    ran = with_speed(TrialOutcome(["wrk"], slice_trial(1000.0), []), 41.5)
    assert ran.trial.to_json()["resources"] == {"stack_cpu_s": 1.0, "speed_reference_ms": 41.5}
    assert with_speed(TrialOutcome(["wrk"], slice_trial(1000.0), []), None).trial.to_json()["resources"] == {
        "stack_cpu_s": 1.0}



def test_an_undecided_ratio_states_and_records_its_detectable_effect():
    own = Undecided(load_s=120.0, detectable_effect=0.0912)
    assert own.statement == "a difference below 9.1% cannot be seen here in 120 s of load (at this run's spread)"
    calibrated = Undecided(load_s=120.0, detectable_effect=0.0912, calibrated_detectable_effect=0.0645,
                           calibrated_at="2026-12-07T01:00:00+00:00")
    assert calibrated.statement == ("a difference below 6.5% cannot be seen here in 120 s of load (by the "
                                    "calibration of 2026-12-07T01:00; 9.1% at this run's own spread)")
    too_few_pairs = Undecided(load_s=8.0, detectable_effect=None, calibrated_detectable_effect=0.2,
                              calibrated_at="2026-12-07T01:00:00+00:00")
    assert too_few_pairs.statement == ("a difference below 20.0% cannot be seen here in 8 s of load (by the "
                                       "calibration of 2026-12-07T01:00)")
    outcome = RoundsOutcome(trials=[[], []], flags=[[], []], argvs=[None, None], rounds=30, estimates=[None],
                            stopped_by="budget", by_method={"rps": [None]})
    meta = outcome_meta(outcome, TwoSecondSlices, 1, [own])
    assert meta["undecided"]["statement"] == own.statement and meta["undecided"]["detectable_effect"] == 0.0912
    assert (meta["slice_s"], meta["pairs"], meta["method"], meta["stopped_by"]) == (2, 15, "rps", "budget")
    assert "undecided" not in outcome_meta(outcome, TwoSecondSlices, 0, [own])


def test_an_undecided_comparison_states_the_calibrated_effect_for_its_budget(tmp_path):
    from benchmatrix.matrix.scenarios import SCENARIOS
    from benchmatrix.results.ratio import detectable_effect, estimate_from_logs
    from benchmatrix.run import calibrate_store
    from benchmatrix.run.interleave_report import Verdicts

    calibrate_store.save_entries(tmp_path, [calibrate_store.CalibrationEntry(
        measured_at="2026-12-07T01:00:00+00:00", cell="gunicorn/flask", scenario="json", slice_s=2, method="rps",
        sd_log=0.02, pairs=150, runs=10, false_positives=0, budget_s=120)], fingerprint="test-machine")
    lines = []
    verdicts = Verdicts(tmp_path, lines.append, fingerprint="test-machine")
    estimate = estimate_from_logs([0.01, -0.01, 0.02, -0.02, 0.0])
    outcome = RoundsOutcome(trials=[[], []], flags=[[], []], argvs=[None, None], rounds=10, estimates=[estimate],
                            stopped_by="budget", detectable=[0.05], by_method={"rps": [estimate], "cpu": [None]})


    undecided, = verdicts.judge("gunicorn/flask", SCENARIOS["json"], outcome, TwoSecondSlices, 2)
    assert lines == []  # judging prints nothing
    verdicts.state(SCENARIOS["json"], ["A", "B"], outcome, TwoSecondSlices, [undecided])
    # 120 s of 8 s pairs: 15 pairs, looks at 5, 8, 12, 15.
    assert undecided.calibrated_detectable_effect == pytest.approx(detectable_effect(0.02, 15, 0.05 / 4))
    assert lines[-1] == ("json: B is not told apart from A on rps at p <= 0.05 (corrected for the stopping rule's "
                         "1 look(s)): " + undecided.statement)
    assert lines[0].startswith("json: B / A req/s: 1.000x") and lines[1] == "json: B / A CPU/request: -"


def test_a_calibration_of_another_cell_is_not_stated(tmp_path):
    from benchmatrix.matrix.scenarios import SCENARIOS
    from benchmatrix.results.ratio import estimate_from_logs
    from benchmatrix.run import calibrate_store
    from benchmatrix.run.interleave_report import Verdicts

    calibrate_store.save_entries(tmp_path, [calibrate_store.CalibrationEntry(
        measured_at="2026-12-07T01:00:00+00:00", cell="uvicorn/raw", scenario="json", slice_s=2, method="rps",
        sd_log=0.005, pairs=150, runs=10, false_positives=0, budget_s=120)], fingerprint="test-machine")
    estimate = estimate_from_logs([0.01, -0.01, 0.02, -0.02, 0.0])
    outcome = RoundsOutcome(trials=[[], []], flags=[[], []], argvs=[None, None], rounds=10, estimates=[estimate],
                            stopped_by="budget", detectable=[0.05], by_method={"rps": [estimate]})


    verdicts = Verdicts(tmp_path, lambda line: None, fingerprint="test-machine")
    own, = verdicts.judge("gunicorn/flask", SCENARIOS["json"], outcome, TwoSecondSlices, 2)
    assert own == Undecided(load_s=40, detectable_effect=0.05)
    assert own.statement == "a difference below 5.0% cannot be seen here in 40 s of load (at this run's spread)"
    calibrated, = verdicts.judge("uvicorn/raw", SCENARIOS["json"], outcome, TwoSecondSlices, 2)
    assert calibrated.calibrated_at == "2026-12-07T01:00:00+00:00"
