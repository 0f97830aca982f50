"""Where a long run stands: the cell i of N and an estimate of the time left.

Before any cell has finished, each cell is expected to take the load time its
options ask for plus a fixed allowance for boot, checks and teardown. Once cells
have finished (the nox layer passes the matrix's elapsed time as `i/N@SECONDS`),
the estimate is what they took on average, with the plan counted as PLAN_WEIGHT
cells more: it corrects itself as cells finish and counts what the plan cannot
know (slow boots, nox's own time), while one first cell does not set it alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Tuple

OVERHEAD_PER_CELL_S = 3.0  # boot, verification, teardown: measured 2-3 s per cell here
# The plan weighs as much as this many finished cells. Measured: smoke's first cell (gunicorn
# and Flask, a quick boot and stop) took 3.5 s where the 65 averaged 4.5 s, so the average of
# it alone put the estimate 22% short.
PLAN_WEIGHT = 2


@dataclass
class Progress:
    cell_index: int  # 1-based position of this cell in the matrix run
    cell_count: int
    planned_cell_s: float
    elapsed_before_s: Optional[float] = None  # matrix time spent before this cell began
    skipped_before: int = 0  # cells before this one skipped as already measured (they took no time)
    started: float = 0.0

    def start(self) -> None:
        self.started = time.monotonic()

    @property
    def per_cell_s(self) -> float:
        """What one cell takes: the finished cells' average, the plan counted as PLAN_WEIGHT more cells."""
        finished = self.cell_index - 1 - self.skipped_before
        if self.elapsed_before_s is not None and finished > 0:
            return (self.elapsed_before_s + PLAN_WEIGHT * self.planned_cell_s) / (finished + PLAN_WEIGHT)
        return self.planned_cell_s

    def seconds_left(self) -> float:
        elapsed = time.monotonic() - self.started
        this_cell = max(self.per_cell_s - elapsed, 0.0)
        return this_cell + (self.cell_count - self.cell_index) * self.per_cell_s

    def prefix(self) -> str:
        skipped = ", {} skipped as measured".format(self.skipped_before) if self.skipped_before else ""
        return "[cell {}/{}{}, ~{} left] ".format(self.cell_index, self.cell_count, skipped,
                                                 format_duration(self.seconds_left()))


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return "{}h{:02d}m".format(seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "{}m{:02d}s".format(seconds // 60, seconds % 60)
    return "{}s".format(seconds)


def planned_cell_seconds(scenarios: int, primer_s: float, warmup_s: float, trials: int, duration_s: float,
                         rates: float, closed_loop: bool, closed_loop_plans: int = 1) -> float:
    """Load time one cell's options ask for, plus the per-cell allowance.

    rates counts fixed-rate plans of `trials` trials each; closed_loop_plans the closed-loop
    records per scenario (the levels of a concurrency sweep).
    """
    measured_runs = trials * ((closed_loop_plans if closed_loop else 0) + rates)
    per_scenario = primer_s + warmup_s + measured_runs * duration_s
    return OVERHEAD_PER_CELL_S + scenarios * per_scenario


def parse_position(text: Optional[str]) -> Optional[Tuple[int, int, Optional[float], int]]:
    """"3/10" -> (3, 10, None, 0); "3/10@42.5" -> (3, 10, 42.5 s of the matrix already spent, 0);
    "3/10@42.5:1" -> the same with 1 of the cells before skipped as already measured."""
    if not text:
        return None
    place, _, spent = text.partition("@")
    elapsed, _, skipped = spent.partition(":")
    try:
        index, count = (int(part) for part in place.split("/"))
        elapsed_s = float(elapsed) if elapsed else None
        skipped_before = int(skipped) if skipped else 0
    except ValueError:
        raise ValueError("--progress {!r}: give CELL/CELLS, e.g. 3/10, or CELL/CELLS@SECONDS_SPENT[:SKIPPED]"
                         .format(text))
    if not 1 <= index <= count:
        raise ValueError("--progress {!r}: the cell must be between 1 and the count".format(text))
    if not 0 <= skipped_before < index:
        raise ValueError("--progress {!r}: the skipped cells are some of those before this one".format(text))
    return index, count, elapsed_s, skipped_before
