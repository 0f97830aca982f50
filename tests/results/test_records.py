"""Records on disk: every schema version loads as a typed Record, new records keep their shape on disk,
appends are whole, and a damaged line is never fatal."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from benchmatrix.checks.flags import FLAG_KINDS, Flag
from benchmatrix.results.records import (MARKDOWN_COLUMNS, Latency, Record, TrialSpread, append_markdown_row,
                                         append_record, load_records, markdown_cells, rps_label)
from tests.record_factory import REAL_RESULTS, flags, make_record, real_records

REAL_LINES = [line for line in REAL_RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- every schema version --------------------------------------------------------------

def test_every_real_line_of_every_schema_loads_as_a_typed_record():
    records = real_records()
    assert len(records) == len(REAL_LINES) == 25
    assert sorted({r.schema for r in records}) == [1, 2, 3]
    assert {r.mode for r in records} == {"closed-loop", "fixed-rate", "slo-search"}
    assert {r.status for r in records} == {"ok", "flagged", "failed"}
    assert all(isinstance(r.latency_ms, Latency) and isinstance(r.spread, TrialSpread) for r in records)
    assert all(isinstance(flag, Flag) for r in records for flag in r.flags)


def test_a_record_written_now_is_the_same_line_after_loading():
    # Schema 3 lines were written by Record.to_json_line: loading and writing them changes no byte.
    newest = [line for line in REAL_LINES if json.loads(line)["schema"] == 3]
    assert len(newest) == 10
    assert [Record.from_json(json.loads(line)).to_json_line() for line in newest] == [line + "\n" for line in newest]


def test_older_records_keep_every_field_they_were_written_with():
    for line in REAL_LINES:
        original = json.loads(line)
        written = Record.from_json(original).to_json()
        assert {key: written[key] for key in original} == original


def test_a_schema_1_record_gets_the_fields_it_lacked_as_what_it_measured():
    old = real_records()[0]
    assert (old.schema, old.trials, old.spread.rps, old.resources) == (1, [], None, {})
    assert old.trial_count == 1 and old.trial_rates == (old.rps,)
    assert (old.connection_mode, old.record_id, old.histogram, old.planned_rate) == ("keep-alive", None, None, None)
    assert old.latency_ms.get("stdev") is not None  # schema 1's own statistic is kept
    assert old.to_json()["spread"] == {}


def test_a_schema_2_spectrum_is_said_to_be_the_median_trials():
    fixed = real_records()[4]
    assert (fixed.schema, fixed.mode, fixed.planned_rate) == (2, "fixed-rate", 2721.0)
    assert fixed.spectrum and fixed.spectrum_source == "median trial" and fixed.histogram is None
    assert fixed.spread.rps.min <= fixed.rps <= fixed.spread.rps.max


def test_keys_of_a_newer_harness_are_kept_and_written_back():
    data = json.loads(REAL_LINES[-1])
    data["energy_j"] = {"server": 12.5}
    record = Record.from_json(data)
    assert record.extra == {"energy_j": {"server": 12.5}}
    assert json.loads(record.to_json_line()) == data


def test_a_flag_without_a_hint_gets_its_kinds():
    record = make_record(status="flagged", flags=[{"code": "timeouts", "reason": "3 timeouts"}])
    assert record.flags == [Flag("timeouts", "3 timeouts", FLAG_KINDS["timeouts"].hint)]


def test_a_line_that_is_no_record_is_skipped_with_a_warning(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    append_record(path, make_record())
    with open(path, "a") as handle:
        handle.write('{"half": \n')
        handle.write('{"run_id": "x"}\n')
        handle.write('[1, 2]\n')
    append_record(path, make_record(scenario="plaintext"))
    assert [r.scenario for r in load_records(path)] == ["json", "plaintext"]
    err = capsys.readouterr().err
    assert "results.jsonl:2 is not a JSON record" in err and "results.jsonl:3" in err and "no recorded_at" in err
    assert "results.jsonl:4" in err


def test_records_round_trip_through_jsonl(tmp_path):
    path = tmp_path / "results.jsonl"
    append_record(path, make_record())
    append_record(path, make_record(scenario="plaintext"))
    loaded = load_records(path)
    assert loaded == [make_record(), make_record(scenario="plaintext")]
    assert loaded[0].latency_ms.p99 == 15.0 and loaded[0].schema == 3


def test_a_new_record_writes_exactly_the_fields_every_version_has_written():
    line = json.loads(make_record().to_json_line())
    assert sorted(line) == sorted([
        "run_id", "recorded_at", "python", "app", "server", "scenario", "mode", "connections", "threads",
        "duration_s", "workers", "rps", "rps_all", "requests", "latency_ms", "errors", "status", "flags", "meta",
        "raw_output", "spread", "trials", "resources", "planned_rate", "achieved_rate", "spectrum", "histogram",
        "spectrum_source", "in_flight", "connection_mode", "record_id", "schema"])


# --- results.md ------------------------------------------------------------------------

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
    cells = markdown_cells(make_record(status=status, rps=rps, flags=[] if status == "ok" else flags("non-2xx")))
    assert cells[MARKDOWN_COLUMNS.index("req/s (min-max)")] == shown
    assert cells[-1] == status + ("" if status == "ok" else " (non-2xx)")


def test_a_rate_shows_the_range_of_its_trials():
    spread = {"rps": {"median": 5000.0, "min": 4800.0, "max": 5300.0, "cv": 0.04}, "latency_ms": {}}
    assert rps_label(make_record(spread=spread)) == "5000 (4800-5300)"
    assert rps_label(replace(make_record(), rps=None)) == "-"


def test_the_row_shows_what_each_request_cost_the_stack_and_each_worker_held():
    costed = make_record(resources={"server_cpu_s": 4.5, "server_cpu_ms_per_request": 0.09,
                                    "stack_cpu_ms_per_request": 0.2134, "server_pss_mb_per_worker": 23.4,
                                    "server_peak_pss_mb": 93.0, "load_generator_cpu_s": 1.04})
    older = make_record(resources={"server_cpu_s": 4.85, "server_peak_pss_mb": 46.2, "load_generator_cpu_s": 1.04})
    columns = ("CPU ms/req", "stack CPU ms/req", "PSS MB/worker", "server PSS MB")
    assert [markdown_cells(costed)[MARKDOWN_COLUMNS.index(c)] for c in columns] == ["0.090", "0.213", "23.4", "93"]
    assert [markdown_cells(older)[MARKDOWN_COLUMNS.index(c)] for c in columns] == ["-", "-", "-", "46"]


def test_every_real_record_makes_a_row(tmp_path):
    path = tmp_path / "results.md"
    for record in real_records():
        append_markdown_row(path, record)
    rows = [line for line in path.read_text().splitlines() if line.startswith("| 20")]
    assert len(rows) == 25 and all(len(row.split("|")) == len(MARKDOWN_COLUMNS) + 2 for row in rows)


def test_a_table_with_other_columns_gets_a_new_header_instead_of_misaligned_rows(tmp_path):
    path = tmp_path / "results.md"
    path.write_text("# old\n\n| date | python | req/s |\n|---|---|---|\n| 2026-01-01 | 3.9 | 5 |\n")
    append_markdown_row(path, make_record())
    append_markdown_row(path, make_record(server="uwsgi"))
    lines = path.read_text().splitlines()
    assert lines[2] == "| date | python | req/s |"  # the old table is kept as it was
    assert sum(line.startswith("| date ") for line in lines) == 2
    assert len([line for line in lines if "| flask " in line]) == 2
