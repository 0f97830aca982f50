"""Results of several machines or CI shards in one folder, with nothing lost and nothing twice.

A record is the same record when its id and its machine's fingerprint are the same: the
id says which run and which of its records, the fingerprint which machine (two machines
could, in principle, start runs of one cell in the same second). Records written before
ids existed are keyed by their whole content. The destination's own lines are never
rewritten: new records are appended, oldest first, to results.jsonl and results.md, and
the raw folders they point to are copied beside them. A record is written back with every
field it was read with (results/record.py keeps the keys it does not know).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Set, Tuple

from benchmatrix.results.machines import fingerprint
from benchmatrix.results.records import Record, append_markdown_row, append_record, load_records

RESULTS_NAME = "results.jsonl"


def merge_key(record: Record) -> Tuple[str, str]:
    # Older records are keyed by their content as loaded (upgraded), the same on both sides of a merge.
    identity = record.record_id or "content:" + hashlib.sha256(record.to_json_line().encode("utf-8")).hexdigest()
    return identity, fingerprint(record) or "-"


@dataclass
class MergeReport:
    added: int = 0
    already_there: int = 0
    sources: int = 0
    raw_folders_copied: int = 0
    machines: Set[str] = field(default_factory=set)

    def summary(self, into: Path) -> str:
        return ("merged {} folder(s) into {}: {} record(s) added, {} already there; {} raw folder(s) copied; "
                "records from {} machine(s)").format(self.sources, into, self.added, self.already_there,
                                                     self.raw_folders_copied, len(self.machines))


def results_file(folder: Path) -> Path:
    path = Path(folder) / RESULTS_NAME
    if not path.is_file():
        raise ValueError("{} has no {}: name a results folder (a bench run's --results-dir, or a shard's "
                         "downloaded artifact)".format(folder, RESULTS_NAME))
    return path


def _copy_raw(record: Record, source: Path, into: Path) -> bool:
    """The record's raw folder (relative to its results folder), copied when the destination lacks it."""
    raw = record.raw_output
    if not raw or Path(raw).is_absolute() or ".." in Path(raw).parts:
        return False  # outside its results folder: nothing of ours to copy
    origin, target = source / raw, into / raw
    if not origin.is_dir() or target.exists():
        return False
    shutil.copytree(str(origin), str(target))
    return True


def merge_results(sources: Sequence[Path], into: Path) -> MergeReport:
    """Append every record of `sources` that `into` lacks; every folder is checked before anything is written."""
    into = Path(into)
    files = [results_file(Path(folder)) for folder in sources]  # a bad name fails before any write
    into.mkdir(parents=True, exist_ok=True)
    existing = load_records(into / RESULTS_NAME)
    seen = {merge_key(record) for record in existing}
    report = MergeReport(sources=len(files), machines={merge_key(r)[1] for r in existing})
    incoming: List[Tuple[Record, Path]] = []
    for path in files:
        for record in load_records(path):
            key = merge_key(record)
            if key in seen:
                report.already_there += 1
                continue
            seen.add(key)
            incoming.append((record, path.parent))
    for record, source in sorted(incoming, key=lambda item: item[0].recorded_at):
        if source.resolve() != into.resolve() and _copy_raw(record, source, into):
            report.raw_folders_copied += 1
        append_record(into / RESULTS_NAME, record)
        append_markdown_row(into / "results.md", record)
        report.added += 1
        report.machines.add(merge_key(record)[1])
    return report
