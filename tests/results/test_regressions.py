"""`benchmatrix regressions`: a 15% req/s drop is a change point at its day and exit 1; noise alone, none and 0."""

from __future__ import annotations

from pathlib import Path
from typing import List

from benchmatrix.cli.main import main
from benchmatrix.results.records import append_record
from benchmatrix.results.regressions import Baseline, find_regressions, parse_since
from tests.results.history_series import daily_records


def write_results(folder: Path, records: List) -> Path:
    for record in records:
        append_record(folder / "results.jsonl", record)
    return folder


def test_a_15_percent_drop_is_a_slowdown_at_its_day_and_exits_1(tmp_path, capsys):
    # Another cell's noise-only history beside it changes nothing.
    results = write_results(tmp_path, daily_records(drop=0.15) + daily_records(server="granian", seed=3))
    assert main(["regressions", "--results-dir", str(results), "--metric", "rps"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Change points over the whole history in 2 series (Apache Otava, e-divisive means + t-test):"
    assert out[1].startswith("  SLOWDOWN uvicorn · raw · py3.13 · json, 64 conn · m1: req/s ")
    assert "from 2026-10-13 08:00 (record uvicorn-raw-12, commit c000000000)" in out[1]
    assert out[2:] == ["1 significant slowdown"]


def test_the_same_cell_with_noise_only_has_none_and_exits_0(tmp_path, capsys):
    results = write_results(tmp_path, daily_records())
    assert main(["regressions", "--results-dir", str(results)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Change points over the whole history in 2 series (Apache Otava, e-divisive means + t-test):", "  none",
        "no significant slowdown"]


def test_latency_rise_is_a_slowdown_too():
    found = find_regressions(daily_records(drop=0.15), metrics=["p99"]).found
    assert [(f.metric, f.slowdown, f.change.record_id) for f in found] == [("p99", True, "uvicorn-raw-12")]
    assert found[0].change.ratio > 1.15


def test_a_speedup_is_reported_but_does_not_fail(tmp_path, capsys):
    results = write_results(tmp_path, daily_records(drop=-0.15))
    assert main(["regressions", "--results-dir", str(results), "--metric", "rps"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("  faster   uvicorn · raw")


def test_since_and_baseline_keep_only_later_change_points():
    records = daily_records(drop=0.15)
    assert len(find_regressions(records, Baseline(since=parse_since("2026-10-13")), ["rps"]).found) == 1
    assert find_regressions(records, Baseline(since=parse_since("2026-10-14")), ["rps"]).found == []
    assert len(find_regressions(records, Baseline(commit="c" + "0" * 37 + "11"), ["rps"]).found) == 1
    assert find_regressions(records, Baseline(commit="c" + "0" * 37 + "13"), ["rps"]).found == []


def test_a_baseline_commit_is_not_reported_as_its_own_change_point():
    # The change point is at the first slower record, commit ...12: measured from there on, nothing changed since.
    records = daily_records(drop=0.15)
    assert [f.change.record_id for f in find_regressions(records, metrics=["rps"]).found] == ["uvicorn-raw-12"]
    assert find_regressions(records, Baseline(commit="c" + "0" * 37 + "12"), ["rps"]).found == []
    # A date is inclusive: --since the change point's own moment reports it.
    assert len(find_regressions(records, Baseline(since=parse_since("2026-10-13T08:00")), ["rps"]).found) == 1


def test_bad_input_is_exit_2_with_what_to_do(tmp_path, capsys):
    results = write_results(tmp_path, daily_records(days=4))
    assert main(["regressions", "--results-dir", str(results), "--since", "last week"]) == 2
    assert "give a date as YYYY-MM-DD" in capsys.readouterr().err
    assert main(["regressions", "--results-dir", str(results), "--baseline", "deadbeef"]) == 2
    assert "no record was measured at commit 'deadbeef'" in capsys.readouterr().err
    assert main(["regressions", "--results-dir", str(results), "--metric", "speed"]) == 2
    assert "--metric 'speed'" in capsys.readouterr().err
    assert main(["regressions", "--results-dir", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
