"""Concurrency sweeps: a cell's closed-loop records at several connection counts, read as one curve.

A sweep is the records one run made for one scenario with `meta.sweep` set (one
per level of `--connections 16,32,64,...`). The knee is the lowest connection
count whose throughput is within KNEE_SHARE of the sweep's peak: more
connections beyond it buy (almost) no throughput, only queueing, which the p99
column shows. Levels that failed or were flagged do not count towards the peak
or the knee, and the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.results.records import Record, format_number, rate_text

KNEE_SHARE = 0.05  # within 5% of the peak counts as reaching it


@dataclass(frozen=True)
class Sweep:
    levels: Tuple[Record, ...]  # the records, by connections ascending

    @property
    def first(self) -> Record:
        return self.levels[0]

    @property
    def valid(self) -> List[Record]:
        return [r for r in self.levels if r.status == "ok" and r.rps is not None]

    @property
    def peak(self) -> Optional[Record]:
        """The clean level with the most req/s; on a tie the lower connection count."""
        return max(self.valid, key=lambda r: r.rps) if self.valid else None

    @property
    def knee(self) -> Optional[Record]:
        """The lowest clean level within KNEE_SHARE of the peak."""
        peak = self.peak
        if peak is None:
            return None
        return next(r for r in self.valid if r.rps >= (1 - KNEE_SHARE) * peak.rps)

    @property
    def recorded_at(self) -> str:
        return max(r.recorded_at for r in self.levels)


def is_sweep_level(record: Record) -> bool:
    return record.is_sweep_level


def newest_sweeps(records: Sequence[Record], scenario: str) -> List[Sweep]:
    """The newest sweep of each cell (python, app, server, connection mode) for the scenario."""
    runs: Dict[Tuple[str, ...], Dict[str, List[Record]]] = {}
    for record in records:
        if record.scenario != scenario or not record.is_sweep_level:
            continue
        cell = (record.python, record.app, record.server, record.connection_mode)
        runs.setdefault(cell, {}).setdefault(record.run_id, []).append(record)
    sweeps = []
    for by_run in runs.values():
        newest_run = max(by_run.values(), key=lambda levels: max(r.recorded_at for r in levels))
        sweeps.append(Sweep(tuple(sorted(newest_run, key=lambda r: r.connections))))
    # Highest peak first; sweeps without a clean level last.
    return sorted(sweeps, key=lambda s: (s.peak is None, -(s.peak.rps if s.peak else 0), s.first.server))


SWEEP_COLUMNS = ("python", "app", "server", "connections", "req/s", "p99 ms", "peak", "knee", "date")


def level_cell(record: Record, value: str) -> str:
    return value if record.status == "ok" else "{} ({})".format(value, record.status)


def describe_knee(sweep: Sweep) -> str:
    knee, peak = sweep.knee, sweep.peak
    if knee is None:
        return "- (no clean level)"
    highest = sweep.levels[-1].connections
    if knee is peak and knee.connections == highest:
        return "not reached: throughput still rising at {}".format(highest)
    return "{} connections ({} req/s, p99 {} ms)".format(knee.connections, rate_text(knee.rps),
                                                         format_number(knee.latency_ms.p99))


def render_sweep_table(scenario: str, sweeps: Sequence[Sweep]) -> str:
    rows = []
    for sweep in sweeps:
        peak = sweep.peak
        rows.append([
            sweep.first.python, sweep.first.app, sweep.first.server,
            " · ".join(str(r.connections) for r in sweep.levels),
            " · ".join(level_cell(r, "-" if r.rps is None else rate_text(r.rps)) for r in sweep.levels),
            " · ".join(level_cell(r, format_number(r.latency_ms.p99)) for r in sweep.levels),
            "-" if peak is None else "{} req/s at {}".format(rate_text(peak.rps), peak.connections),
            describe_knee(sweep), sweep.recorded_at[:10]])
    table = tabulate(rows, headers=SWEEP_COLUMNS, tablefmt="github", disable_numparse=True)
    return ("### Scenario `{}`, concurrency sweep\n\nClosed loop at each connection count; the knee is the lowest "
            "count within {:.0%} of the peak req/s (more connections past it add queueing, not throughput).\n\n{}\n"
            ).format(scenario, KNEE_SHARE, table)
