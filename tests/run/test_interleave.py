"""Interleaved comparisons refused before anything starts, and one sliced comparison of two real cells. The
stopping rule is proven on the fake driver (tests/run/test_interleave_on_fake_driver.py); the nox path, two
cells' virtualenvs prepared and compared, runs in tests/sessions/test_sessions.py."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_one_cell_is_not_a_comparison(harness):
    result = harness.run("interleave", "--cell", "gunicorn/flask", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "at least two cells" in result.stdout
    assert not harness.records()


def test_a_scenario_one_contender_does_not_serve_is_refused_before_anything_starts(harness):
    result = harness.run("interleave", "--cell", "gunicorn/raw", "--cell", "gunicorn/flask",
                         "--scenarios", "agents", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "does not serve" in result.stdout, result.stdout
    assert not harness.records()


def test_a_sliced_comparison_of_two_real_cells_keeps_its_slices_speed_reference_and_undecided_verdict(harness):
    # One ABBA pair of 1 s slices: raw gunicorn against the Flask app behind the extra-work wrapper (its own
    # app target). Too few pairs for an interval: the comparison must say so, print it and record it.
    result = harness.run("interleave", "--cell", "gunicorn/raw",
                         "--cell", "gunicorn/flask,app-target=tests.apps.extra_work:spin_200",
                         "--scenarios", "json", "--slice", "1", "--min-pairs", "1", "--max-load", "4",
                         "--warmup", "0", "--primer", "0", "--connections", "8", "--max-busy", "1",
                         "--machine-sample", "0", "--ceiling", "off", "--results-dir", str(harness.results_dir))
    assert result.returncode == 0, result.stdout
    first, second = harness.records()
    assert [len(first["trials"]), len(second["trials"])] == [2, 2]
    # A B | B A: the first cell's slices open rounds 1 and close round 2.
    assert [(t["round"], t["position_in_round"]) for t in first["trials"]] == [(1, 1), (2, 2)]
    assert all(t["resources"]["speed_reference_ms"] > 0 for t in first["trials"] + second["trials"])
    sliced = second["meta"]["interleaved"]
    assert (sliced["slice_s"], sliced["pairs"], sliced["method"], sliced["stopped_by"]) == (1, 1, "rps", "budget")
    assert sliced["undecided"]["statement"] == "too few pairs to say what difference could be seen"
    assert "is not told apart from gunicorn/raw" in result.stdout and "CPU/request" in result.stdout
