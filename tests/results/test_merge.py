"""Merging results folders of several machines: nothing lost, nothing twice, machines kept apart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmatrix.results.machines import by_machine, machine_keys
from benchmatrix.results.merge import merge_results
from benchmatrix.results.records import Record, load_records
from benchmatrix.results.tables import render_all_tables
from tests.record_factory import REAL_RESULTS, real_records

REAL = real_records()


def folder(path: Path, records) -> Path:
    path.mkdir(parents=True)
    with open(str(path / "results.jsonl"), "w") as out:
        for record in records:
            out.write(record.to_json_line())
    return path


def with_machine(record: Record, machine: str, **facts) -> Record:
    return replace(record, meta=dict(record.meta, machine=dict(record.section("machine"), fingerprint=machine,
                                                                 **facts)))


def with_ids(records, machine="28963b9bda84daa8"):
    """Records as this harness writes them now: an id each and the machine's fingerprint."""
    return [replace(with_machine(record, machine), record_id="{}/{}".format(record.run_id, number))
            for number, record in enumerate(records, start=1)]


def lines(path: Path):
    return [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines()]


def test_overlapping_folders_merge_without_loss_or_duplicates(tmp_path):
    records = with_ids(REAL)
    first = folder(tmp_path / "a", records[:17])
    second = folder(tmp_path / "b", records[7:])
    report = merge_results([first, second], tmp_path / "merged")
    merged = lines(tmp_path / "merged")
    assert report.added == len(records) == 25 and report.already_there == 10
    assert sorted(r["record_id"] for r in merged) == sorted(r.record_id for r in records)
    assert [r["recorded_at"] for r in merged] == sorted(r["recorded_at"] for r in merged)
    again = merge_results([first, second], tmp_path / "merged")
    assert again.added == 0 and len(lines(tmp_path / "merged")) == len(records)
    # The markdown table gained one row per record.
    rows = [row for row in (tmp_path / "merged" / "results.md").read_text().splitlines() if row.startswith("| 20")]
    assert len(rows) == len(records)


def test_every_field_of_every_real_record_is_merged_as_it_was_read(tmp_path):
    source = tmp_path / "shard"
    source.mkdir()
    original = [json.loads(line) for line in REAL_RESULTS.read_text().splitlines()]
    original[-1]["energy_j"] = 3.5  # a field of a newer harness
    (source / "results.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in original))
    report = merge_results([source], tmp_path / "merged")
    assert report.added == 25
    merged = {r["record_id"] or r["run_id"] + r["recorded_at"]: r for r in lines(tmp_path / "merged")}
    for record in original:
        written = merged[record.get("record_id") or record["run_id"] + record["recorded_at"]]
        assert {key: written[key] for key in record} == record
    # Records without ids are keyed by content: merging the merged folder adds nothing.
    assert merge_results([source, tmp_path / "merged"], tmp_path / "merged").added == 0
    assert load_records(tmp_path / "merged" / "results.jsonl") == load_records(source / "results.jsonl")


def test_the_same_ids_from_another_machine_are_other_records_and_get_their_own_tables(tmp_path):
    here = with_ids(REAL[:12])
    elsewhere = [with_machine(record, "0123456789abcdef", hostname="runner-2") for record in with_ids(REAL[:12])]
    report = merge_results([folder(tmp_path / "here", here), folder(tmp_path / "there", elsewhere)],
                           tmp_path / "merged")
    merged = load_records(tmp_path / "merged" / "results.jsonl")
    assert report.added == 24 and len(report.machines) == 2 and len(merged) == 24
    groups = by_machine(merged)
    assert [len(group) for _, group in groups] == [12, 12]
    text = render_all_tables(merged)
    assert "Records from 2 machines" in text
    assert text.count("## Machine ") == 2 and "host runner-2" in text


def test_records_from_before_fingerprints_join_the_machine_they_match():
    old = REAL[0]
    assert "fingerprint" not in old.section("machine")
    new = with_ids([REAL[0]])[0]
    assert machine_keys([old, new]) == ["28963b9bda84daa8"] * 2
    other_cpu = replace(old, meta=dict(old.meta, machine=dict(old.section("machine"), cpu_count=64)))
    assert machine_keys([other_cpu, new])[0].startswith("unfingerprinted")


def test_a_folder_without_results_is_refused_before_anything_is_written(tmp_path):
    good = folder(tmp_path / "good", with_ids(REAL[:3]))
    with pytest.raises(ValueError, match="has no results.jsonl"):
        merge_results([good, tmp_path / "missing"], tmp_path / "merged")
    assert not (tmp_path / "merged" / "results.jsonl").exists()


def test_raw_folders_come_along_with_their_records(tmp_path):
    record = with_ids(REAL[:1])[0]
    record = replace(record, raw_output="raw/" + record.run_id)
    source = folder(tmp_path / "shard", [record])
    (source / record.raw_output).mkdir(parents=True)
    (source / record.raw_output / "json.trial-1.txt").write_text("wrk output")
    report = merge_results([source], tmp_path / "merged")
    assert report.raw_folders_copied == 1
    assert (tmp_path / "merged" / record.raw_output / "json.trial-1.txt").read_text() == "wrk output"
