"""Each cell's results over time: one series per cell, scenario conditions, package overrides and machine.

A series holds only measurements that can be compared with each other, the records of
one CellKey (results/cell_key.py): the same cell (Python, server, app or its target),
the same hosts, the same closed-loop conditions (connections, connection mode), the same
package overrides (a cell run `--with uvicorn==0.30.6` is its own series, never a point
of the pinned cell's), the side probe on or off, whole trials or ABBA slices, and the
same machine (records of two machines are never mixed: their difference would be the
machines'). The site's cell pages group by the same key. Each point
keeps the commit and the package versions it was measured with, so a change point
can be read against what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence

from benchmatrix.results.cell_key import CellKey, cell_key
from benchmatrix.results.machines import machine_keys
from benchmatrix.results.records import Record

# What a history can follow, and which way is better: req/s up, latency down.
HIGHER_IS_BETTER = {"rps": True, "p50": False, "p90": False, "p99": False, "avg": False, "max": False}
METRICS = tuple(HIGHER_IS_BETTER)


# One series is one cell of the site and one newest row of the tables: results/cell_key.py.
SeriesKey = CellKey


@dataclass(frozen=True)
class HistoryPoint:
    when: datetime  # when the record was written, UTC
    value: float  # the metric: req/s, or a latency in ms
    record_id: str  # the record's id (its run_id and scenario for records older than ids)
    commit: str  # the checkout's git sha, "+dirty" when it had changes; "" when unknown
    versions: Dict[str, str]  # the measured packages' versions (the record's freeze of the cell's packages)


def parse_when(recorded_at: str) -> datetime:
    """A record's recorded_at as an aware UTC datetime (old records may lack the offset: they were UTC)."""
    when = datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def metric_value(record: Record, metric: str) -> Optional[float]:
    if metric not in HIGHER_IS_BETTER:
        raise ValueError("unknown metric {!r}; one of {}".format(metric, ", ".join(METRICS)))
    return record.rps if metric == "rps" else record.latency_ms.get(metric)


def record_commit(record: Record) -> str:
    git = record.section("git")
    sha = git.get("sha") or ""
    return sha + "+dirty" if sha and git.get("dirty") else sha


def record_versions(record: Record) -> Dict[str, str]:
    packages = record.meta.get("packages") or {}
    return {name: str(version) for name, version in sorted(packages.items()) if version}


def in_history(record: Record) -> bool:
    """Closed-loop measurements at one connection count that produced a number; sweeps and fixed rates are
    other questions (a sweep level is not the cell's usual load; a fixed rate's req/s is what was asked)."""
    return record.is_closed_loop and not record.is_sweep_level and not record.is_failed


def series_key(record: Record, machine: str) -> SeriesKey:
    return cell_key(record, machine)


def cell_history(records: Sequence[Record], scenario: str, metric: str = "rps") -> Dict[SeriesKey, List[HistoryPoint]]:
    """Every series of `scenario` among the records, each in time order."""
    history: Dict[SeriesKey, List[HistoryPoint]] = {}
    for record, machine in zip(records, machine_keys(records)):
        if record.scenario != scenario or not in_history(record):
            continue
        value = metric_value(record, metric)
        if value is None:
            continue
        history.setdefault(series_key(record, machine), []).append(HistoryPoint(
            when=parse_when(record.recorded_at), value=float(value),
            record_id=record.record_id or "{}/{}".format(record.run_id, record.scenario),
            commit=record_commit(record), versions=record_versions(record)))
    return {key: sorted(points, key=lambda p: p.when) for key, points in history.items()}


def scenarios_of(records: Sequence[Record]) -> List[str]:
    """The scenarios that have a history, in first-seen order."""
    return list(dict.fromkeys(r.scenario for r in records if in_history(r)))
