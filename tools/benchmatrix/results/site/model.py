"""Which cell a record belongs to and where each page of the site lives.

A cell here is everything that makes two records comparable over time: the machine
(records of different machines are never one series), the stack (Python, server,
app, topology), what was measured (scenario, mode, connections, connection mode,
planned rate) and any package version the run overrode (`--with PKG==VER`), so a
cell on another uvicorn release is a series of its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

from benchmatrix.results.machines import by_machine
from benchmatrix.results.records import Record, mode_label
from benchmatrix.results.tables import topology

FILTER_FIELDS = ("python", "server", "app", "topology", "scenario", "status", "machine")


def version_overrides(record: Record) -> Tuple[str, ...]:
    """The "PKG==VER" a run measured instead of its constraints' versions; () for an ordinary run.

    `--with PKG==VER` writes them into the record's conditions as meta.overrides, {package: version}.
    """
    chosen = record.meta.get("overrides") or {}
    return tuple("{}=={}".format(name, version) for name, version in sorted(chosen.items()))


@dataclass(frozen=True)
class CellKey:
    machine: str  # the machine's description (results/machines.py)
    python: str
    server: str
    app: str
    topology: str
    scenario: str
    mode: str  # the mode, with its planned rate for fixed-rate runs ("fixed-rate 2000/s")
    connections: int
    connection_mode: str
    overrides: Tuple[str, ...] = ()

    @property
    def title(self) -> str:
        extra = " with " + ", ".join(self.overrides) if self.overrides else ""
        return "{} · {} · py{} · {} · {}{}".format(self.server, self.app, self.python, self.scenario, self.mode, extra)

    @property
    def slug(self) -> str:
        """A file name that is readable and still unique: the stack, then a hash of the whole key."""
        digest = hashlib.sha1(repr(self).encode("utf-8")).hexdigest()[:10]
        return "{}-{}".format(safe_name("{}-{}-py{}-{}".format(self.server, self.app, self.python, self.scenario)),
                              digest)


def safe_name(text: str) -> str:
    """Letters, digits, dots, dashes and underscores only: no path separator, nothing to escape in a URL."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def cell_key(record: Record, machine: str) -> CellKey:
    return CellKey(machine, str(record.python), str(record.server), str(record.app), topology(record),
                   str(record.scenario), mode_label(record), int(record.connections), record.connection_mode,
                   version_overrides(record))


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
    return sorted(cells, key=lambda c: (c.key.machine, c.key.scenario, c.key.server, c.key.app, c.key.python,
                                        c.key.mode, c.key.connections, c.key.overrides))


def find_cell(cells: Sequence[Cell], record: SiteRecord) -> Optional[Cell]:
    return next((cell for cell in cells if cell.key == record.cell), None)
