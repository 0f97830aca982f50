"""Which cell a record belongs to and where each page of the site lives.

A cell here is everything that makes two records comparable over time, the CellKey of
results/cell_key.py: the machine, the stack, what was measured and how, and any package
version the run overrode (`--with PKG==VER`). It is the key `nox -s regressions` follows
a history by (results/history.py), so the change points of a cell page are the ones it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

from benchmatrix.results.cell_key import CellKey, cell_key, safe_name
from benchmatrix.results.machines import by_machine
from benchmatrix.results.records import Record

FILTER_FIELDS = ("python", "server", "app", "topology", "scenario", "status", "machine")


def record_page_name(record: Record, index: int) -> str:
    """records/<id>.html; records written before record_id by run id and position in the file."""
    own = record.record_id or "{}-{}".format(record.run_id, index)
    return "records/{}.html".format(safe_name(own.replace("/", "-")))


@dataclass(frozen=True)
class SiteRecord:
    record: Record
    machine: str
    cell: CellKey
    page: str  # relative to the site's root


@dataclass(frozen=True)
class Cell:
    key: CellKey
    records: Tuple[SiteRecord, ...]  # oldest first

    @property
    def page(self) -> str:
        return "cells/{}.html".format(self.key.slug)

    @property
    def newest(self) -> SiteRecord:
        return self.records[-1]


@dataclass(frozen=True)
class ChangeMark:
    """A change point as the cell page draws it (the fields of results/change_points.ChangePoint)."""

    when: datetime
    record_id: str
    before: float
    after: float
    ratio: float
    pvalue: float


def site_records(records: Sequence[Record]) -> List[SiteRecord]:
    machine_of: Dict[int, str] = {}
    for description, group in by_machine(records):
        for record in group:
            machine_of[id(record)] = description
    placed, used = [], set()
    for index, record in enumerate(records):
        page = record_page_name(record, index)
        if page in used:  # the same record merged twice: both stay reachable
            page = page[:-len(".html")] + "-{}.html".format(index)
        used.add(page)
        machine = machine_of[id(record)]
        placed.append(SiteRecord(record, machine, cell_key(record, machine), page))
    return placed


def cells_of(placed: Sequence[SiteRecord]) -> List[Cell]:
    """Every cell with its records oldest first; cells sorted by machine, scenario and stack."""
    groups: Dict[CellKey, List[SiteRecord]] = {}
    for item in placed:
        groups.setdefault(item.cell, []).append(item)
    cells = [Cell(key, tuple(sorted(items, key=lambda i: i.record.recorded_at))) for key, items in groups.items()]
    return sorted(cells, key=lambda c: c.key.order)


def find_cell(cells: Sequence[Cell], record: SiteRecord) -> Optional[Cell]:
    return next((cell for cell in cells if cell.key == record.cell), None)
