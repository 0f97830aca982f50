"""`report` and `compare` as users run them, on the real records in reports/results.jsonl."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import REPO_ROOT
from benchmatrix.results.records import load_records
from benchmatrix.results.report import END_MARKER, START_MARKER

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them


@pytest.fixture
def results(tmp_path):
    (tmp_path / "results").mkdir()
    shutil.copy(str(REPO_ROOT / "reports" / "results.jsonl"), str(tmp_path / "results" / "results.jsonl"))
    readme = tmp_path / "README.md"
    readme.write_text("# Results\n\n{}\n{}\n".format(START_MARKER, END_MARKER))
    return tmp_path


def report(harness, results, *options):
    return harness.run("report", "--results-dir", str(results / "results"), "--readme",
                       str(results / "README.md"), "--charts-dir", str(results / "charts"), *options)


def test_report_renders_tables_and_charts_and_a_second_run_changes_nothing(harness, results):
    first = report(harness, results)
    assert first.returncode == 0 and "updated" in first.stdout, first.stdout
    readme = (results / "README.md").read_text()
    chart = results / "charts" / "rps-json.png"
    assert "### Scenario `json`" in readme and "![rps json](charts/rps-json.png)" in readme
    png = chart.read_bytes()
    second = report(harness, results)
    assert "already up to date" in second.stdout
    assert (results / "README.md").read_text() == readme and chart.read_bytes() == png


def test_a_filter_narrows_tables_charts_and_exports(harness, results):
    result = report(harness, results, "--filter", "server=uwsgi", "--filter", "scenario=json",
                    "--csv", str(results / "out.csv"))
    assert result.returncode == 0, result.stdout
    readme = (results / "README.md").read_text()
    assert "| uwsgi " in readme and "| gunicorn " not in readme and "plaintext" not in readme
    assert not (results / "charts" / "rps-plaintext.png").exists()
    wanted = [r for r in load_records(results / "results" / "results.jsonl")
              if r["server"] == "uwsgi" and r["scenario"] == "json"]
    assert len((results / "out.csv").read_text().splitlines()) == 1 + len(wanted)


def test_an_unknown_filter_field_is_a_clear_error(harness, results):
    result = report(harness, results, "--filter", "colour=blue")
    assert result.returncode == 2 and "colour" in result.stdout


def test_compare_two_cells_prints_ratios(harness, results):
    result = harness.run("compare", "gunicorn/flask", "uwsgi/flask", "--results-dir", str(results / "results"))
    assert result.returncode == 0, result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| json")]
    assert rows and all(re.search(r"\| \d+\.\d\dx +\|", row) for row in rows), result.stdout
