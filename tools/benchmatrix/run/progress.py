"""Where a long run stands: the cell i of N and an estimate of the time left.

The estimate is the plan, not a forecast: each cell is expected to take the
load time its options ask for plus a fixed allowance for boot, checks and
teardown, so it is honest about what it knows and gets better as cells finish.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

OVERHEAD_PER_CELL_S = 3.0  # boot, verification, teardown: measured 2-3 s per cell here


@dataclass
class Progress:
    cell_index: int  # 1-based position of this cell in the matrix run
    cell_count: int
    planned_cell_s: float
    started: float = 0.0

    def start(self) -> None:
        self.started = time.monotonic()

    def seconds_left(self) -> float:
        elapsed = time.monotonic() - self.started
        this_cell = max(self.planned_cell_s - elapsed, 0.0)
        return this_cell + (self.cell_count - self.cell_index) * self.planned_cell_s

    def prefix(self) -> str:
        return "[cell {}/{}, ~{} left] ".format(self.cell_index, self.cell_count, format_duration(self.seconds_left()))


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return "{}h{:02d}m".format(seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "{}m{:02d}s".format(seconds // 60, seconds % 60)
    return "{}s".format(seconds)


def planned_cell_seconds(scenarios: int, primer_s: float, warmup_s: float, trials: int, duration_s: float,
                         rates: int, closed_loop: bool) -> float:
    """Load time one cell's options ask for, plus the per-cell allowance."""
    measured_runs = trials * ((1 if closed_loop else 0) + rates)
    per_scenario = primer_s + warmup_s + measured_runs * duration_s
    return OVERHEAD_PER_CELL_S + scenarios * per_scenario


def parse_position(text: Optional[str]):
    """"3/10" -> (3, 10); a ValueError says the form."""
    if not text:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError("--progress {!r}: give CELL/CELLS, e.g. 3/10".format(text))
    if not 1 <= index <= count:
        raise ValueError("--progress {!r}: the cell must be between 1 and the count".format(text))
    return index, count
