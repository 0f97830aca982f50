"""Interleaved comparisons refused before anything starts. The stopping rule is proven on the fake driver
(tests/run/test_interleave_on_fake_driver.py); the real path, two cells' virtualenvs prepared and compared in
ABBA slices with the speed reference, runs through nox in tests/sessions/test_sessions.py."""

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
