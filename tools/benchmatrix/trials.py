"""Repeated trials of one measurement, summarised as a median with its spread.

A single run on a shared machine is an anecdote; the median of several with
their min and max (and the coefficient of variation of req/s) says how far a
number can be trusted. Pure functions: trial dicts in, summary dicts out.
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, Optional, Sequence

PERCENTILES = ("avg", "p50", "p75", "p90", "p99", "max")


def spread(values: Sequence[Optional[float]]) -> Optional[Dict[str, float]]:
    """median, min, max and coefficient of variation; None when nothing was measured."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    median = statistics.median(present)
    cv = statistics.pstdev(present) / statistics.mean(present) if len(present) > 1 and statistics.mean(present) else 0.0
    return {"median": median, "min": min(present), "max": max(present), "cv": cv}


def summarize(trials: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The record-level view of a list of trials: medians up front, spreads beside them."""
    rps = spread([t["rps"] for t in trials])
    latency_spread = {p: spread([t["latency_ms"].get(p) for t in trials]) for p in PERCENTILES}
    errors: Dict[str, int] = {}
    for trial in trials:
        for kind, count in trial["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "rps": rps["median"] if rps else None,
        "rps_all": spread([t["rps_all"] for t in trials])["median"] if trials else None,
        "requests": sum(t["requests"] for t in trials),
        "latency_ms": {p: (s["median"] if s else None) for p, s in latency_spread.items()},
        "errors": errors,
        "spread": {"rps": rps, "latency_ms": {p: s for p, s in latency_spread.items() if s}},
    }


def unstable(summary: Dict[str, Any], max_cv: float) -> Optional[str]:
    """A reason when req/s varied more than max_cv between trials, else None."""
    rps = summary["spread"]["rps"]
    if rps and rps["cv"] > max_cv:
        return "req/s varied {:.1%} between trials (min {:.0f}, max {:.0f}); limit {:.0%}".format(
            rps["cv"], rps["min"], rps["max"], max_cv)
    return None


def resource_summary(trials: Sequence[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """Median CPU per trial, and the highest memory any trial reached."""
    usages = [t["resources"] for t in trials]
    if not usages:
        return {}
    return {"server_cpu_s": statistics.median(u["server_cpu_s"] for u in usages),
            "server_peak_rss_mb": max(u["server_peak_rss_mb"] for u in usages),
            "load_generator_cpu_s": statistics.median(u["load_generator_cpu_s"] for u in usages)}
