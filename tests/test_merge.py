"""Merging results folders of several machines: nothing lost, nothing twice, machines kept apart."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from benchmatrix.results.machines import by_machine, machine_keys
from benchmatrix.results.merge import merge_results
from benchmatrix.results.records import load_records
from benchmatrix.results.report import render_readme_tables

REAL = load_records(REPO_ROOT / "reports" / "results.jsonl")


def folder(path: Path, records) -> Path:
    path.mkdir(parents=True)
    with open(str(path / "results.jsonl"), "w") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    return path


def with_ids(records, machine="28963b9bda84daa8"):
    """Records as this harness writes them now: an id each and the machine's fingerprint."""
    made = []
    for number, record in enumerate(records, start=1):
        record = copy.deepcopy(record)
        record["record_id"] = "{}/{}".format(record["run_id"], number)
        record["meta"].setdefault("machine", {})["fingerprint"] = machine
        made.append(record)
    return made


def lines(path: Path):
    return [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines()]


def test_overlapping_folders_merge_without_loss_or_duplicates(tmp_path):
    assert len(REAL) >= 20, "reports/results.jsonl holds the real records this test merges"
    records = with_ids(REAL)
    first = folder(tmp_path / "a", records[:len(records) // 2 + 5])
    second = folder(tmp_path / "b", records[len(records) // 2 - 5:])
    report = merge_results([first, second], tmp_path / "merged")
    merged = lines(tmp_path / "merged")
    assert report.added == len(records) and report.already_there == 10
    assert sorted(r["record_id"] for r in merged) == sorted(r["record_id"] for r in records)
    assert [r["recorded_at"] for r in merged] == sorted(r["recorded_at"] for r in merged)
    again = merge_results([first, second], tmp_path / "merged")
    assert again.added == 0 and len(lines(tmp_path / "merged")) == len(records)
    # The markdown table gained one row per record.
    rows = [l for l in (tmp_path / "merged" / "results.md").read_text().splitlines() if l.startswith("| 20")]
    assert len(rows) == len(records)


def test_the_same_ids_from_another_machine_are_other_records_and_get_their_own_tables(tmp_path):
    here = with_ids(REAL[:30])
    elsewhere = with_ids(REAL[:30], machine="0123456789abcdef")
    for record in elsewhere:
        record["meta"]["machine"]["hostname"] = "runner-2"
    report = merge_results([folder(tmp_path / "here", here), folder(tmp_path / "there", elsewhere)],
                           tmp_path / "merged")
    merged = lines(tmp_path / "merged")
    assert report.added == 60 and len(report.machines) == 2 and len(merged) == 60
    groups = by_machine(merged)
    assert [len(group) for _, group in groups] == [30, 30]
    text = render_readme_tables(merged)
    assert "Records from 2 machines" in text
    assert text.count("## Machine ") == 2 and "host runner-2" in text


def test_records_from_before_fingerprints_join_the_machine_they_match():
    old = copy.deepcopy(REAL[0])
    old["meta"]["machine"].pop("fingerprint", None)
    new = with_ids([REAL[0]])[0]
    assert machine_keys([old, new]) == ["28963b9bda84daa8"] * 2
    other_cpu = copy.deepcopy(old)
    other_cpu["meta"]["machine"]["cpu_count"] = 64
    assert machine_keys([other_cpu, new])[0].startswith("unfingerprinted")


def test_a_folder_without_results_is_refused_before_anything_is_written(tmp_path):
    good = folder(tmp_path / "good", with_ids(REAL[:3]))
    with pytest.raises(ValueError, match="has no results.jsonl"):
        merge_results([good, tmp_path / "missing"], tmp_path / "merged")
    assert not (tmp_path / "merged" / "results.jsonl").exists()


def test_raw_folders_come_along_with_their_records(tmp_path):
    record = with_ids(REAL[:1])[0]
    record["raw_output"] = "raw/" + record["run_id"]
    source = folder(tmp_path / "shard", [record])
    (source / record["raw_output"]).mkdir(parents=True)
    (source / record["raw_output"] / "json.trial-1.txt").write_text("wrk output")
    report = merge_results([source], tmp_path / "merged")
    assert report.raw_folders_copied == 1
    assert (tmp_path / "merged" / record["raw_output"] / "json.trial-1.txt").read_text() == "wrk output"
