"""The matrix split into N groups of about equal expected time, for N CI runners.

A cell's expected time is its cold build (a fresh runner installs every cell) plus the
load its options ask for (run/progress.planned_cell_seconds, with the same per-cell
allowance). Groups are filled longest cell first, each into the group with the least
time so far (the LPT rule: within 4/3 of the best possible split), and cells keep the
matrix's order inside a group, so a shard runs like a `bench-3.X` group does. Standard
library only: the noxfile runs this under nox's own interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from benchmatrix.matrix.cells import Cell
from benchmatrix.matrix.scenarios import GROUPS
from benchmatrix.run.option_specs import default
from benchmatrix.run.progress import planned_cell_seconds

# A cold cell install from PyPI with uv, measured here: 10-25 s. Cells whose server ships
# no wheel for their Python build it once per runner (wheelhouse.py: uWSGI 19-40 s); the
# estimate charges each such cell the build, since a shard's cells rarely share a Python.
INSTALL_S = 20.0
SOURCE_BUILD_S = 35.0
BUILT_FROM_SOURCE = ("uwsgi", "meinheld")


@dataclass(frozen=True)
class LoadShape:
    """The options a shard's cells run with, as far as their expected time goes (defaults: the run's own)."""
    duration_s: float = default("--duration")
    trials: int = default("--trials")
    warmup_s: float = default("--warmup")
    primer_s: float = default("--primer")
    scenarios: int = len(GROUPS[default("--scenarios")])


@dataclass
class Shard:
    index: int  # 1-based, as a CI matrix shows it
    cells: List[Cell] = field(default_factory=list)
    expected_s: float = 0.0


def build_seconds(cell: Cell) -> float:
    source = any(spec.split("[")[0].split("<")[0].split("=")[0].strip().lower() in BUILT_FROM_SOURCE
                 for spec in cell.server.requirements)
    return INSTALL_S + (SOURCE_BUILD_S if source else 0.0)


def expected_seconds(cell: Cell, shape: LoadShape) -> float:
    return build_seconds(cell) + planned_cell_seconds(shape.scenarios, shape.primer_s, shape.warmup_s, shape.trials,
                                                      shape.duration_s, rates=0, closed_loop=True)


def split(cells: Sequence[Cell], count: int, shape: LoadShape = LoadShape()) -> List[Shard]:
    if count < 1:
        raise ValueError("--count {}: give at least 1 shard".format(count))
    shards = [Shard(index) for index in range(1, min(count, len(cells)) + 1)]
    order: Dict[int, int] = {id(cell): position for position, cell in enumerate(cells)}
    for cell in sorted(cells, key=lambda c: (-expected_seconds(c, shape), order[id(c)])):
        lightest = min(shards, key=lambda s: (s.expected_s, s.index))
        lightest.cells.append(cell)
        lightest.expected_s += expected_seconds(cell, shape)
    for shard in shards:
        shard.cells.sort(key=lambda c: order[id(c)])
    return shards
