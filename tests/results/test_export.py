"""Exporting records: filters, a flat CSV and a JSON array, all deterministic."""

from __future__ import annotations

import csv
import json

import pytest

from benchmatrix.results.export import (FILTER_FIELDS, export_csv, export_json, render_csv,
                                        select_records)
from benchmatrix.results.records import Record
from tests.record_factory import REAL_RESULTS, flags, real_records


def record(server="uwsgi", scenario="json", status="ok", connections=64, **extra):
    made = {"run_id": "run-1", "recorded_at": "2026-11-21T08:00:00+00:00", "python": "3.13",
            "app": "flask", "server": server, "scenario": scenario, "mode": "closed-loop",
            "connections": connections, "threads": 2, "duration_s": 10.0, "workers": 2,
            "rps": 1234.5, "rps_all": 1240.0, "requests": 12345, "status": status,
            "latency_ms": {"avg": 5.1, "p50": 5.0, "p99": 9.5, "max": 20.0},
            "errors": {"connect": 0, "read": 1, "write": 0, "timeout": 2, "non2xx": 0},
            "flags": [], "meta": {"git": {"sha": "abc"}}, "raw_output": "raw/run-1", "schema": 2,
            "trials": [{"rps": 1200.0}, {"rps": 1234.5}, {"rps": 1300.0}],
            "spread": {"rps": {"median": 1234.5, "min": 1200.0, "max": 1300.0, "cv": 0.03}},
            "resources": {"server_cpu_s": 9.5, "server_peak_rss_mb": 81.0, "load_generator_cpu_s": 4.2}}
    made.update(extra)
    return Record.from_json(made)


def records():
    return [record("uwsgi"), record("gunicorn"), record("gunicorn-gevent", status="flagged"),
            record("uwsgi", scenario="plaintext", connections=256)]


def servers(selected):
    return [(r.server, r.scenario) for r in selected]


def test_a_filter_with_alternatives_keeps_any_of_them():
    assert servers(select_records(records(), ["server=uwsgi,gunicorn"])) == [
        ("uwsgi", "json"), ("gunicorn", "json"), ("uwsgi", "plaintext")]


def test_not_equal_and_several_filters_combine():
    assert servers(select_records(records(), ["server!=gunicorn,gunicorn-gevent", "scenario=json"])) == [
        ("uwsgi", "json")]
    assert servers(select_records(records(), ["status!=ok"])) == [("gunicorn-gevent", "json")]


def test_numbers_match_their_text():
    assert servers(select_records(records(), ["connections=256"])) == [("uwsgi", "plaintext")]


def test_no_filters_keep_everything():
    assert select_records(records(), []) == records()


def test_an_unknown_field_lists_the_valid_ones():
    with pytest.raises(ValueError) as caught:
        select_records(records(), ["sever=uwsgi"])
    assert "'sever'" in str(caught.value)
    assert all(name in str(caught.value) for name in FILTER_FIELDS)


@pytest.mark.parametrize("text", ["server", "server=", "server!= ,"])
def test_malformed_filters_are_errors(text):
    with pytest.raises(ValueError):
        select_records(records(), [text])


def test_csv_header_and_a_row(tmp_path):
    flagged = record("gunicorn-gevent", status="flagged", flags=flags("timeouts", "non-2xx"))
    path = export_csv([record(), flagged], tmp_path / "out" / "results.csv")
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:6] == ["recorded_at", "run_id", "python", "app", "server", "scenario"]
    assert header.index("rps") < header.index("trials") < header.index("avg_ms") < header.index("p50_ms") \
        < header.index("p99_ms") < header.index("max_ms") < header.index("errors_connect") \
        < header.index("resources_load_generator_cpu_s") < header.index("flags")
    assert "meta" not in header and "spread" not in header and "latency_ms" not in header
    first = rows[0]
    assert first["server"] == "uwsgi" and first["connections"] == "64" and first["rps"] == "1234.5"
    assert first["p50_ms"] == "5.0" and first["errors_timeout"] == "2" and first["trials"] == "3"
    assert first["rps_min"] == "1200.0" and first["resources_server_peak_rss_mb"] == "81.0"
    assert first["flags"] == "" and rows[1]["flags"] == "timeouts;non-2xx"


def test_csv_columns_cover_every_record_and_blank_what_one_lacks():
    old = record("gunicorn", schema=1, trials=[], spread={}, resources={})
    rows = list(csv.DictReader(render_csv([old, record()]).splitlines()))
    assert rows[0]["resources_server_cpu_s"] == "" and rows[1]["resources_server_cpu_s"] == "9.5"
    assert rows[0]["trials"] == "1"  # a schema 1 record is one measured run


def test_csv_is_deterministic_and_uses_newlines_only(tmp_path):
    first = export_csv(records(), tmp_path / "a.csv").read_bytes()
    assert first == export_csv(records(), tmp_path / "b.csv").read_bytes()
    assert b"\r" not in first


def test_json_round_trip_with_sorted_keys(tmp_path):
    path = export_json(records(), tmp_path / "results.json")
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == [r.to_json() for r in records()]
    # Keys sorted; the fields the hand-made record lacked are there with their defaults.
    assert text.startswith('[\n  {\n    "achieved_rate": null,\n    "app": "flask",') and text.endswith("]\n")
    assert path.read_bytes() == export_json(records(), tmp_path / "again.json").read_bytes()


def test_every_real_record_exports_with_every_field_it_has_on_disk(tmp_path):
    records = real_records()
    rows = list(csv.DictReader(render_csv(records).splitlines()))
    assert len(rows) == 25 and {row["schema"] for row in rows} == {"1", "2", "3"}
    assert [row["flags"] for row in rows][1] == "timeouts" and rows[7]["status"] == "failed"
    exported = json.loads(export_json(records, tmp_path / "all.json").read_text(encoding="utf-8"))
    originals = [json.loads(line) for line in REAL_RESULTS.read_text(encoding="utf-8").splitlines()]
    assert all({key: item[key] for key in original} == original for item, original in zip(exported, originals))
