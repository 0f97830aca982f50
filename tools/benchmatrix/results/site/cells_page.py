"""The cells page: one row per cell (its newest record's figures), with the values the
client-side filter (assets/site.js) selects on as data attributes of the row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from benchmatrix.results.records import rate_text
from benchmatrix.results.site.model import FILTER_FIELDS, Cell


@dataclass(frozen=True)
class CellRow:
    page: str
    newest_page: str
    filters: Tuple[Tuple[str, str], ...]  # (field, value) for each of FILTER_FIELDS, in that order
    mode: str
    connections: int
    overrides: str
    rps: str
    records: int
    recorded: str

    def value(self, name: str) -> str:
        return dict(self.filters)[name]


@dataclass(frozen=True)
class Filter:
    name: str
    choices: Tuple[str, ...]


def cell_row(cell: Cell) -> CellRow:
    key, newest = cell.key, cell.newest.record
    values = {"python": key.python, "server": key.server, "app": key.app, "topology": key.topology,
              "scenario": key.scenario, "status": newest.status, "machine": key.machine}
    return CellRow(cell.page, cell.newest.page, tuple((name, values[name]) for name in FILTER_FIELDS),
                   key.mode_label + key.conditions, key.connections, key.override_label,
                   rate_text(newest.rps) if newest.rps and not newest.is_failed else "-",
                   len(cell.records), newest.recorded_at[:16].replace("T", " "))


def cell_rows(cells: Sequence[Cell]) -> List[CellRow]:
    return [cell_row(cell) for cell in cells]


def filters(rows: Sequence[CellRow]) -> List[Filter]:
    """One drop-down per field, its choices the values present, sorted."""
    seen: Dict[str, set] = {name: set() for name in FILTER_FIELDS}
    for row in rows:
        for name, value in row.filters:
            seen[name].add(value)
    return [Filter(name, tuple(sorted(seen[name]))) for name in FILTER_FIELDS]
