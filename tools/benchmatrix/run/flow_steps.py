"""A flow record's per-step latency: each step's figures over the record's trials.

A flow trial keeps each step's count, failed count and latency (mean, p50, p90, p99, max, in ms;
run/trials.Trial.steps). The record keeps, per step in order, the counts summed over its trials and
the median over trials of each latency figure, as the record's own latency_ms is the median trial's.
"""
from __future__ import annotations

import statistics
from typing import Any, Dict, List, Optional, Sequence

FIGURES = ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms")


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def step_summary(trials: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """[{name, count, failed, mean_ms, p50_ms, p90_ms, p99_ms, max_ms}, ...] over the trials; [] for a
    record of single requests (no trial has steps)."""
    with_steps = [t["steps"] for t in trials if t.get("steps")]
    if not with_steps:
        return []
    summary = []
    for position, first in enumerate(with_steps[0]):
        same = [steps[position] for steps in with_steps if len(steps) > position]
        row: Dict[str, Any] = {"name": first["name"], "count": sum(s["count"] for s in same),
                               "failed": sum(s["failed"] for s in same)}
        row.update({figure: _median([s.get(figure) for s in same]) for figure in FIGURES})
        summary.append(row)
    return summary
