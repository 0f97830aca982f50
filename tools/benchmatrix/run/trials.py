"""Repeated trials of one measurement, summarised as a median with its spread.

A single run on a shared machine is an anecdote; the median of several with
their min and max (and the coefficient of variation of req/s) says how far a
number can be trusted. Pure functions: trial dicts in, summary dicts out.
"""

from __future__ import annotations

import statistics
from typing import Any, Dict, Optional, Sequence, Union

from tools.benchmatrix.load.parse import FixedRateResult, Latency, WrkResult

PERCENTILES = ("avg", "p50", "p75", "p90", "p99", "p99.9", "max")


def _latency_dict(latency: Latency, p999: Optional[float] = None) -> Dict[str, Optional[float]]:
    return {"avg": latency.avg_ms, "stdev": latency.stdev_ms, "p50": latency.p50_ms,
            "p75": latency.p75_ms, "p90": latency.p90_ms, "p99": latency.p99_ms, "p99.9": p999,
            "max": latency.max_ms}


def _error_dict(result: Union[WrkResult, FixedRateResult]) -> Dict[str, int]:
    sock = result.socket_errors
    return {"non2xx": result.non2xx, "connect": sock.connect, "read": sock.read,
            "write": sock.write, "timeout": sock.timeout}


def closed_loop_trial(result: WrkResult) -> Dict[str, Any]:
    # Little's law: requests completing per second x mean time each took = requests in flight,
    # i.e. the concurrency the server really sustained (below wrk's connections when they queued).
    in_flight = result.rps * result.latency.avg_ms / 1000.0
    return {"rps": result.successful_rps, "rps_all": result.rps, "requests": result.requests,
            "latency_ms": _latency_dict(result.latency), "errors": _error_dict(result),
            "in_flight": round(in_flight, 2)}


def fixed_rate_trial(result: FixedRateResult) -> Dict[str, Any]:
    """Latencies here are corrected: counted from each request's planned send time."""
    share_ok = result.successful_requests / result.requests if result.requests else 0.0
    return {"rps": result.achieved_rate * share_ok, "rps_all": result.achieved_rate,
            "requests": result.requests, "planned_rate": result.planned_rate,
            "achieved_rate": result.achieved_rate,
            "latency_ms": _latency_dict(result.latency, result.p999_ms),
            "uncorrected_latency_ms": _latency_dict(result.uncorrected) if result.uncorrected else None,
            "spectrum": [list(point) for point in result.spectrum], "errors": _error_dict(result)}


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
        "achieved_rate": (spread([t.get("achieved_rate") for t in trials]) or {}).get("median"),
        "in_flight": (spread([t.get("in_flight") for t in trials]) or {}).get("median"),
        # The curve of the trial whose p99 is the median one: a real curve, not a blend.
        "spectrum": median_trial(trials).get("spectrum") or [],
    }


def median_trial(trials: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    ranked = sorted(trials, key=lambda t: t["latency_ms"].get("p99") or 0.0)
    return ranked[(len(ranked) - 1) // 2] if ranked else {}


def unstable(summary: Dict[str, Any], max_cv: float) -> Optional[str]:
    """A reason when req/s varied more than max_cv between trials, else None."""
    rps = summary["spread"]["rps"]
    if rps and rps["cv"] > max_cv:
        return "req/s varied {:.1%} between trials (min {:.0f}, max {:.0f}); limit {:.0%}".format(
            rps["cv"], rps["min"], rps["max"], max_cv)
    return None


def resource_summary(trials: Sequence[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """Median CPU per trial, and the highest memory any trial reached (USS, PSS and summed RSS)."""
    usages = [t["resources"] for t in trials]
    if not usages:
        return {}
    summary = {"server_cpu_s": statistics.median(u["server_cpu_s"] for u in usages),
               "load_generator_cpu_s": statistics.median(u["load_generator_cpu_s"] for u in usages)}
    for memory in ("server_peak_uss_mb", "server_peak_pss_mb", "server_peak_rss_mb"):
        values = [u[memory] for u in usages if u.get(memory) is not None]
        if values:  # older records have the summed RSS only
            summary[memory] = max(values)
    return summary
