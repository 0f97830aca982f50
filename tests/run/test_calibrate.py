"""The calibration's aggregation of A/A comparisons, on scripted runs: half-widths at given load times, the
stopping rule's false positives, the pooled spread and the minimum detectable effect; and its saved form."""

from __future__ import annotations

import math

import pytest
from scipy.stats import t

from benchmatrix.results.ratio import detectable_effect
from benchmatrix.run import calibrate, calibrate_store
from benchmatrix.run.interleave_rule import ALL_METHODS


def aa_run(pair_logs, slice_s=1):
    """An A/A run whose every ABBA pair has this log-ratio (both rounds of a pair alike), for every method."""
    a = [1000.0] * (2 * len(pair_logs))
    b = [1000.0 * math.exp(log) for log in pair_logs for _ in range(2)]
    return calibrate.AaRun(slice_s, {m.name: (list(a), list(b)) for m in ALL_METHODS}, noise={})


QUIET = aa_run([0.02, -0.02, 0.02, -0.02])  # the machine's spread, centred on 1
SHIFTED = aa_run([0.06, 0.04, 0.06, 0.04])  # an A/A run that happened to land 5% off


def test_calibration_rows_from_scripted_a_a_runs():
    rows = calibrate.aggregate([QUIET, SHIFTED], budget_s=16, load_points=(8, 16, 40), min_pairs=2,
                               target_half_width=0.01)
    assert [(r.slice_s, r.method) for r in rows] == [(1, m.name) for m in ALL_METHODS]
    row = rows[0]
    assert (row.runs, row.pairs) == (2, 8)
    # Spread within runs, pooled: (4 x 0.02^2 + 4 x 0.01^2) over 3 + 3 degrees of freedom.
    assert row.sd_log == pytest.approx(math.sqrt(0.002 / 6), rel=1e-12)
    # After 8 s of 4 s pairs each run has 2 pairs: the t-interval with 1 degree of freedom.
    quiet = math.exp(t.ppf(0.975, 1) * 0.02 * math.sqrt(2) / math.sqrt(2)) - 1
    shifted = math.exp(t.ppf(0.975, 1) * 0.01 * math.sqrt(2) / math.sqrt(2)) - 1
    assert row.half_widths[8] == pytest.approx(((quiet + shifted) / 2, quiet), rel=1e-9)
    assert 16 in row.half_widths and 40 not in row.half_widths  # no run lasted 40 s
    # The rule's looks in 16 s are at 2, 3 and 4 pairs; the shifted run differs at 3 (p 0.0153 x 3 looks).
    assert (row.false_positives, row.false_positive_rate) == (1, 0.5)
    assert row.misses == 1  # the shifted run's 95% interval after 4 pairs leaves out 1 too
    assert row.detectable == pytest.approx(detectable_effect(math.sqrt(0.002 / 6), 4, 0.05 / 3), rel=1e-12)


def test_the_table_has_a_line_per_configuration():
    rows = calibrate.aggregate([QUIET, SHIFTED], 16, (8, 16), 2, 0.01)
    table = calibrate.render(rows, (8, 16))
    assert table.splitlines()[0] == ("| slice | method | A/A runs | +-95% CI at 8 s | +-95% CI at 16 s | "
                                     "false positives | 95% CI at the end misses 1 | MDE in 16 s |")
    assert len(table.splitlines()) == 2 + 4 and "| 1 s | cpu/speed-reference | 2 |" in table
    assert "| 1/2 | 1/2 |" in table


def test_the_calibration_is_saved_per_machine_and_stated_for_any_budget(tmp_path):
    entry = calibrate_store.CalibrationEntry(
        measured_at="2026-12-07T01:00:00+00:00", cell="gunicorn/flask", scenario="json", slice_s=2, method="cpu",
        sd_log=0.03, pairs=150, runs=10, false_positives=0, budget_s=120)
    calibrate_store.save_entries(tmp_path, [entry], fingerprint="machine-a")
    assert calibrate_store.load_entries(tmp_path, "machine-a") == [entry]
    assert calibrate_store.load_entries(tmp_path, "machine-b") == []
    newer = entry.__class__(**dict(entry.__dict__, measured_at="2026-12-08T01:00:00+00:00", sd_log=0.02))
    calibrate_store.save_entries(tmp_path, [newer], fingerprint="machine-a")  # replaces the same configuration
    assert calibrate_store.load_entries(tmp_path, "machine-a") == [newer]
    found = calibrate_store.matching([newer], "gunicorn/flask", "json", 2, "cpu")
    assert found == newer and calibrate_store.matching([newer], "gunicorn/flask", "json", 1, "cpu") is None
    (tmp_path / "calibration.json").write_text("{not json", encoding="utf-8")
    assert calibrate_store.load_entries(tmp_path, "machine-a") == []
    calibrate_store.save_entries(tmp_path, [newer], fingerprint="machine-a")
    assert (tmp_path / "calibration.json.damaged").read_text(encoding="utf-8") == "{not json"
    assert calibrate_store.load_entries(tmp_path, "machine-a") == [newer]
    # Two cells in 120 s at 2 s slices: 15 pairs of 8 s, looks at 5, 8, 12, 15.
    assert found.detectable(120, 2, 5) == pytest.approx(detectable_effect(0.02, 15, 0.05 / 4), rel=1e-12)


@pytest.mark.parametrize("words, says", [
    (["--cell", "gunicorn/raw", "--detect", "0.1"], "gunicorn/raw is not benchmatrix's flask app"),
    (["--cell", "gunicorn/flask,app-target=apps.flask.app:app", "--detect", "0.1"], "app-target="),
    (["--cell", "gunicorn/flask", "--budget", "20", "--slices", "2"], "--budget 20 s holds 2 ABBA pair(s)"),
    (["--cell", "gunicorn/flask", "--detect", "0.1", "--detect-budget", "30", "--slices", "2"],
     "--detect-budget 30 s holds 3"),
    (["--cell", "gunicorn/flask", "--runs", "1"], "at least 2 A/A comparisons"),
    (["--cell", "gunicorn/flask", "--runs", "0"], "give --detect SHARE"),
])
def test_calibrate_refuses_what_it_cannot_do_before_anything_starts(tmp_path, capsys, words, says):
    from benchmatrix.cli.main import main

    assert main(["calibrate", *words, "--results-dir", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert says in captured.out + captured.err and not (tmp_path / "r").exists()


def test_the_cell_s_cpu_per_request_is_the_median_over_every_slice():
    run = calibrate.AaRun(1, {m.name: ([0.5, 0.6], [0.7, None]) for m in ALL_METHODS}, noise={})
    assert calibrate.cpu_ms_per_request([run]) == pytest.approx(0.6)
    assert calibrate.cpu_ms_per_request([]) is None


def test_the_detection_test_needs_benchmatrix_s_flask_in_benchmatrix_s_checkout(tmp_path):
    from benchmatrix.paths import REPO_ROOT
    from benchmatrix.run.calibrate_run import detection_problem
    from benchmatrix.run.interleave import Contender

    flask = Contender("gunicorn", "flask", None)
    assert detection_problem(flask, REPO_ROOT) is None
    assert "benchmatrix's checkout ({}) has no tests/apps/extra_work.py".format(tmp_path) in detection_problem(
        flask, tmp_path)
    said = detection_problem(Contender("gunicorn", "django", None), REPO_ROOT)
    assert said.startswith("--detect: the slower copy is benchmatrix's own Flask app") and said.endswith(
        "gunicorn/django is not benchmatrix's flask app. Calibrate a SERVER/flask cell from benchmatrix's checkout "
        "(e.g. --cell gunicorn/flask) for the detection test, or leave --detect out to calibrate this cell's A/A "
        "spread alone")


def test_an_interrupted_a_a_run_ends_the_whole_calibration(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from benchmatrix.matrix.scenarios import SCENARIOS
    from benchmatrix.run.calibrate_run import CalibrateOptions, Calibration
    from benchmatrix.run.interleave import Contender

    started = []

    def interrupted(self, slice_s, contenders, **settings):
        started.append(slice_s)
        raise KeyboardInterrupt

    monkeypatch.setattr(Calibration, "_interleave", interrupted)
    base = SimpleNamespace(scenarios=[SCENARIOS["json"]], results_dir=tmp_path)
    calibration = Calibration(CalibrateOptions(base, Contender("gunicorn", "flask", None), runs=3, slices=(1, 2)))
    with pytest.raises(KeyboardInterrupt):
        calibration.execute()
    assert started == [1]  # no next run, no next slice length
    assert not (tmp_path / "calibration.json").exists()


def test_sigint_stops_a_command_started_with_sigint_ignored():
    # A command started in the background of a non-interactive shell inherits SIGINT ignored; Python then
    # installs no KeyboardInterrupt handler, and `kill -INT` did nothing while a calibration went on.
    import os
    import signal
    import time

    from benchmatrix.cli.guard import guarded

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.getsignal(signal.SIGTERM)
    reached = []

    def run():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        reached.append("after the signal")
        return 0

    try:
        started = time.monotonic()
        assert guarded(run) == 130
        assert reached == [] and time.monotonic() - started < 2
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
