"""One cell's page: its req/s over time with the change points marked, and each record's commit
and package versions, so a step can be read against what changed.

The change points come in as data (ChangeMark); `change_finder()` supplies them from the
change-point module (results/change_points.py) when it is installed, and nothing otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from benchmatrix.results.records import Record, rate_text, status_label
from benchmatrix.results.site.charts import Figure, change_label, history_figure
from benchmatrix.results.site.model import Cell, ChangeMark

ChangeFinder = Callable[[Sequence[Record]], List[ChangeMark]]


@dataclass(frozen=True)
class HistoryRow:
    recorded: str
    page: str
    rps: str
    commit: str
    versions: str  # the packages whose version differs from the previous record's, "" when none
    status: str
    change: str  # the change point that starts at this record, "" when none


@dataclass(frozen=True)
class CellPage:
    title: str
    machine: str
    rows: Tuple[HistoryRow, ...]  # newest first
    marks: Tuple[ChangeMark, ...]
    change_note: str  # how the change points were found, or why there are none
    figures: Tuple[Tuple[str, Figure], ...]


def _versions_changed(record: Record, previous: Optional[Record]) -> str:
    mine = record.section("packages")
    before = previous.section("packages") if previous else {}
    changed = ["{} {}".format(name, version) if name not in before else
               "{} {} → {}".format(name, before[name], version)
               for name, version in sorted(mine.items()) if before.get(name) != version]
    return ", ".join(changed)


def cell_page(cell: Cell, marks: Optional[Sequence[ChangeMark]]) -> CellPage:
    """marks None: no change-point detector is installed, which the page says."""
    records = [item.record for item in cell.records]
    found = list(marks or [])
    starts = {mark.record_id: change_label(mark) for mark in found}
    rows, previous = [], None
    for item in cell.records:
        record = item.record
        own = history_id(record)
        rows.append(HistoryRow(record.recorded_at[:16].replace("T", " "), item.page,
                               rate_text(record.rps) if record.rps and not record.is_failed else "-",
                               (record.section("git").get("sha") or "-")[:10], _versions_changed(record, previous),
                               status_label(record), starts.get(own, "")))
        previous = record
    if marks is None:
        note = "Change points are not computed: the change-point module is not installed"
    elif found:
        note = "{} change point(s), found in the req/s by Apache Otava's e-divisive test (results/change_points.py)" \
            .format(len(found))
    else:
        note = "No change point: the history holds no significant step"
    return CellPage(cell.key.title, cell.key.machine, tuple(reversed(rows)), tuple(found), note,
                    (("history", history_figure(records, found)),))


def history_id(record: Record) -> str:
    """The id a change point names its record by (results/history.py's: records older than ids by run and scenario)."""
    return record.record_id or "{}/{}".format(record.run_id, record.scenario)


def change_finder() -> Optional[ChangeFinder]:
    """Apache Otava's e-divisive change points (results/change_points.py) as ChangeMarks; None without it.

    The series is what results/history.py puts in one: the cell's closed-loop records that measured something.
    """
    try:
        from benchmatrix.results.change_points import find_change_points
        from benchmatrix.results.history import HistoryPoint, in_history, parse_when, record_commit, record_versions
    except ImportError:
        return None

    def find(records: Sequence[Record]) -> List[ChangeMark]:
        points = [HistoryPoint(when=parse_when(r.recorded_at), value=float(r.rps), record_id=history_id(r),
                               commit=record_commit(r), versions=record_versions(r))
                  for r in records if in_history(r) and r.rps is not None]
        return [ChangeMark(p.when, p.record_id, p.before, p.after, p.ratio, p.pvalue)
                for p in find_change_points(points)]

    return find
