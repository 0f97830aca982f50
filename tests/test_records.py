"""Records on disk: appended whole, loaded back, and never lost to a damaged line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmatrix.results.records import (MARKDOWN_COLUMNS, Record, append_markdown_row, append_record, load_records,
                                       markdown_cells)


def make_record(**changes) -> Record:
    record = Record(
        run_id="r1", recorded_at="2026-11-21T08:00:00+00:00", python="3.12", app="flask",
        server="gunicorn", scenario="json", mode="closed-loop", connections=64, threads=2,
        duration_s=10.0, workers=2, rps=5000.0, rps_all=5000.0, requests=50000,
        latency_ms={"avg": 12.0, "p50": 11.0, "p90": 13.0, "p99": 15.0, "max": 20.0},
        errors={"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0},
        status="ok", flags=[], meta={"load_command": ["wrk"]}, raw_output="raw/r1/json.measure.txt")
    return replace(record, **changes)


def test_records_round_trip_through_jsonl(tmp_path):
    path = tmp_path / "results.jsonl"
    append_record(path, make_record())
    append_record(path, make_record(scenario="plaintext"))
    loaded = load_records(path)
    assert [r["scenario"] for r in loaded] == ["json", "plaintext"]
    assert loaded[0]["latency_ms"]["p99"] == 15.0 and loaded[0]["schema"] == 3


def test_a_damaged_line_is_skipped_with_a_warning(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    append_record(path, make_record())
    with open(path, "a") as handle:
        handle.write('{"half": \n')
    append_record(path, make_record(scenario="plaintext"))
    assert len(load_records(path)) == 2
    assert "results.jsonl:2 is not a JSON record" in capsys.readouterr().err


def test_the_markdown_header_is_written_once_and_rows_are_kept(tmp_path):
    path = tmp_path / "results.md"
    append_markdown_row(path, make_record())
    append_markdown_row(path, make_record(server="uwsgi"))
    lines = path.read_text().splitlines()
    assert sum(line.startswith("| date") for line in lines) == 1
    assert [line.split("|")[4].strip() for line in lines if "| flask" in line] == ["gunicorn", "uwsgi"]


def test_a_table_edited_by_hand_without_final_newline_still_gets_whole_rows(tmp_path):
    path = tmp_path / "results.md"
    append_markdown_row(path, make_record())
    path.write_text(path.read_text().rstrip("\n"))
    append_markdown_row(path, make_record(server="uwsgi"))
    assert path.read_text().splitlines()[-1].startswith("| 2026-11-21 08:00 | 3.12")


@pytest.mark.parametrize("status, rps, shown", [("ok", 5000.4, "5000"), ("flagged", 5000.0, "5000 (!)"),
                                               ("failed", 83376.0, "-")])
def test_the_row_never_shows_a_failed_number_as_throughput(status, rps, shown):
    flags = [] if status == "ok" else [{"code": "non-2xx", "reason": "", "hint": ""}]
    cells = markdown_cells(make_record(status=status, rps=rps, flags=flags).__dict__)
    assert cells[MARKDOWN_COLUMNS.index("req/s (min-max)")] == shown
    assert cells[-1] == status + ("" if status == "ok" else " (non-2xx)")


def test_a_table_with_other_columns_gets_a_new_header_instead_of_misaligned_rows(tmp_path):
    path = tmp_path / "results.md"
    path.write_text("# old\n\n| date | python | req/s |\n|---|---|---|\n| 2026-01-01 | 3.9 | 5 |\n")
    append_markdown_row(path, make_record())
    append_markdown_row(path, make_record(server="uwsgi"))
    lines = path.read_text().splitlines()
    assert lines[2] == "| date | python | req/s |"  # the old table is kept as it was
    assert sum(line.startswith("| date ") for line in lines) == 2
    assert len([line for line in lines if "| flask " in line]) == 2
