"""Interleaved comparisons: real cells booted side by side, trials in alternating order."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_two_real_cells_alternate_and_each_record_carries_the_groups_shared_facts(harness):
    # The stopping rule is proven on the fake driver (tests/run/test_interleave_on_fake_driver.py); this
    # is the real path: two stacks booted side by side, trials alternating, one record each.
    result = harness.run("interleave", "--cell", "gunicorn/flask", "--cell", "gunicorn/flask",
                         "--scenarios", "json", "--duration", "1s", "--warmup", "0", "--primer", "1s",
                         "--connections", "8", "--min-trials", "2", "--target-ci", "0.5", "--max-load", "4s",
                         "--max-busy", "1", "--ceiling", "off", "--machine-sample", "0", "--results-dir", str(harness.results_dir), timeout=300)
    assert result.returncode == 0, result.stdout
    first, second = harness.records()
    assert first["rps"] > 0 and second["rps"] > 0
    assert first["meta"]["interleaved"]["group"] == second["meta"]["interleaved"]["group"]
    assert first["meta"]["interleaved"]["contenders"][0].endswith("[A]")
    assert [t["position_in_round"] for t in first["trials"]] == [1, 2]
    assert [t["position_in_round"] for t in second["trials"]] == [2, 1]
    # The machine and its lock are the group's, carried by each record, not copied into the other run.
    assert second["meta"]["machine"] == first["meta"]["machine"]
    assert second["meta"]["machine_lock"] == first["meta"]["machine_lock"]
    assert "95% CI" in result.stdout


def test_one_cell_is_not_a_comparison(harness):
    result = harness.run("interleave", "--cell", "gunicorn/flask", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "at least two cells" in result.stdout
    assert not harness.records()


def test_a_scenario_one_contender_does_not_serve_is_refused_before_anything_starts(harness):
    result = harness.run("interleave", "--cell", "gunicorn/raw", "--cell", "gunicorn/flask",
                         "--scenarios", "agents", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "does not serve" in result.stdout, result.stdout
    assert not harness.records()
