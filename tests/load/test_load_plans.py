"""Load plans on real cells: a concurrency sweep and its refusals. The latency-target search and the
fixed-rate plans are proven on the fake driver (tests/run/test_slo_walk_on_fake_driver.py, test_flags_on_fake_driver.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them


def test_a_sweep_gives_one_record_per_connection_count_and_the_report_names_the_knee(harness, tmp_path):
    # No ceiling: one per load is proven without a cell (tests/run/test_conditions.py).
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--connections", "4,8", "--ceiling", "off")
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [r["connections"] for r in records] == [4, 8]
    assert {r["mode"] for r in records} == {"closed-loop"}
    assert all(r["meta"]["sweep"] == {"levels": [4, 8], "level": r["connections"]} for r in records)
    assert len({t["raw_output"] for r in records for t in r["trials"]}) == 2  # each level keeps its own raw files
    readme = tmp_path / "README.md"
    readme.write_text("<!-- benchmatrix:ranking:start -->\n<!-- benchmatrix:ranking:end -->\n")
    report = harness.run("report", "--results-dir", str(harness.results_dir), "--readme", str(readme),
                         "--charts-dir", str(tmp_path / "charts"))
    assert report.returncode == 0, report.stdout
    text = (tmp_path / "reports" / "tables.md").read_text()  # the generated page of every table
    assert "concurrency sweep" in text and "| 4 · 8 " in text
    assert "connections (" in text or "not reached" in text  # the knee, or why there is none
    assert (tmp_path / "charts" / "sweep-json.png").is_file() and "](../charts/sweep-json.png)" in text


def test_a_sweep_refuses_rates_and_interleave_refuses_sweeps(harness):
    result = harness.bench("gunicorn", "flask", "--connections", "4,8", "--rate", "100")
    assert result.returncode == 2 and "runs closed loop only" in result.stdout
    result = harness.run("interleave", "--cell", "gunicorn/flask", "--cell", "gunicorn-gthread/flask",
                         "--connections", "4,8", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "one connection count" in result.stdout
    assert harness.records() == []
