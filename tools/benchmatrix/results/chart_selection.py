"""What the charts draw, chosen and labelled from records (pure: no matplotlib).

Each chart uses the newest record per (scenario, python, app, server, mode,
connections, planned_rate, connection_mode). Orders never depend on the order of
the records, so the same records always give the same picture.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

from benchmatrix.results.records import CELL_KEY_FIELDS, Record, newest_by

CHART_KEY_FIELDS = CELL_KEY_FIELDS
# One per planned rate; a fifth rate reuses the first style.
LINE_STYLES = ("-", "--", ":", "-.")


def newest_per_chart_cell(records: Sequence[Record]) -> List[Record]:
    """The newest record per (scenario, python, app, server, mode, connections, planned_rate)."""
    return newest_by(records, CHART_KEY_FIELDS)


def closed_loop_records(records: Sequence[Record], scenario: str) -> List[Record]:
    # Not "every mode but fixed-rate": a latency-target search's record holds fixed-rate probes.
    return [r for r in newest_per_chart_cell(records) if r.scenario == scenario and r.is_closed_loop]


def closed_loop_spectra(records: Sequence[Record], scenario: str) -> List[Record]:
    """Closed-loop records of the scenario with a latency spectrum, a sweep's levels left to the sweep
    chart (one curve per level would bury the comparison between cells)."""
    return [r for r in closed_loop_records(records, scenario)
            if r.spectrum and not r.is_sweep_level and not r.is_failed]


def fixed_rate_records(records: Sequence[Record], scenario: str) -> List[Record]:
    """Fixed-rate records of the scenario that carry a latency spectrum to draw."""
    return [r for r in newest_per_chart_cell(records) if r.scenario == scenario and r.is_fixed_rate and r.spectrum]


def rps_range(record: Record) -> Optional[Tuple[float, float]]:
    """Slowest and fastest trial, when there were at least two trials."""
    spread = record.spread.rps
    if spread:
        low, high = spread.min, spread.max
    else:
        values = [t["rps"] for t in record.trials if t.get("rps") is not None]
        if len(values) < 2:
            return None
        low, high = min(values), max(values)
    return (low, high) if low != high else None


def bar_order(records: Sequence[Record]) -> List[Record]:
    """Fastest first, failed cells last; labels break ties so the order never depends on input order."""
    return sorted(records, key=lambda r: (r.is_failed, -(r.rps or 0.0), bar_label(r, True)))


def bar_label(record: Record, with_connections: bool) -> str:
    label = record.cell_label
    return label + " · {} conn".format(record.connections) if with_connections else label


def value_label(record: Record) -> str:
    codes = ", ".join(record.flag_codes)
    if record.is_failed:
        return "failed" + (" ({})".format(codes) if codes else "")
    text = "{:,.0f}".format(record.rps)
    if record.status == "flagged":
        text += " (flagged: {})".format(codes) if codes else " (flagged)"
    return text


def span_text(values: Sequence[Any], unit: str) -> str:
    """"64 connections" or "8–64 connections": the range a title has to cover."""
    present = sorted({v for v in values if v is not None})
    if not present:
        return "? " + unit
    low, high = ("{:g}".format(present[0]), "{:g}".format(present[-1]))
    return "{} {}".format(low if low == high else "{}–{}".format(low, high), unit)


def rps_subtitle(records: Sequence[Record]) -> str:
    """What was measured, and (on a second line) how to read a bar."""
    modes = ", ".join(sorted({r.mode for r in records}))
    counts = [r.trial_count for r in records if not r.is_failed]
    trials = span_text(counts, "trial per cell" if set(counts) == {1} else "trials per cell")
    setup = "{}, {}, {} per trial, {}".format(
        modes, span_text([r.connections for r in records], "connections"),
        span_text([r.duration_s for r in records], "s"), trials)
    if any(rps_range(r) for r in records if not r.is_failed):
        reading = "bar: median of the trials, whisker: slowest to fastest trial"
    else:
        reading = "bar: median of the trials"
    return "{}\n{}; newest record per cell".format(setup, reading)


def percentile_x(percentile: float) -> float:
    """HdrHistogram's percentile axis: 50% -> 2, 90% -> 10, 99% -> 100, ..."""
    return 1.0 / (1.0 - percentile / 100.0)


def spectrum_points(spectrum: Sequence[Sequence[float]]) -> Tuple[List[float], List[float]]:
    """x (1/(1-p)) and latency of each spectrum row; the 100% row has no finite x and is left out."""
    rows = [(p, ms) for p, ms in spectrum if p < 100.0]
    return [percentile_x(p) for p, _ in rows], [ms for _, ms in rows]


def curve_label(record: Record) -> str:
    label = "{} @ {:,.0f} req/s".format(record.cell_label, record.planned_rate)
    achieved = record.achieved_rate
    if achieved is not None and abs(achieved - record.planned_rate) >= 0.01 * record.planned_rate:
        label += " (achieved {:,.0f})".format(achieved)  # only when it fell short: the rest is noise
    if record.status != "ok":
        label += " ({})".format(record.status)
    return label


def closed_loop_curve_label(record: Record) -> str:
    label = "{} · {} conn, {:,.0f} req/s".format(record.cell_label, record.connections, record.rps)
    return label if record.status == "ok" else label + " ({})".format(record.status)


def curve_order(records: Sequence[Record]) -> List[Record]:
    return sorted(records, key=lambda r: (r.cell_label, r.connections or 0, r.planned_rate or 0.0))


def chart_file_name(kind: str, scenario: str) -> str:
    # A scenario name becomes part of a file name; anything odd in it becomes "-".
    return "{}-{}.png".format(kind, re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario))


def curve_styles(records: Sequence[Record]) -> List[Tuple[str, str]]:
    """(colour, line style) per curve: one colour per cell, one line style per planned rate.

    So a cell reads as one colour across its rates, and a rate as one style across cells.
    """
    cells = sorted({r.cell_label for r in records})
    rates = sorted({r.planned_rate or 0.0 for r in records})
    return [("C{}".format(cells.index(r.cell_label) % 10),
             LINE_STYLES[rates.index(r.planned_rate or 0.0) % len(LINE_STYLES)]) for r in records]
