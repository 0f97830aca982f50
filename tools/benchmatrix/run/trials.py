"""Repeated trials of one measurement, summarised as a median with its spread.

A single run on a shared machine is an anecdote; the median of several with
their min and max (and the coefficient of variation of req/s) says how far a
number can be trusted. Pure functions: trial dicts in, summary dicts out.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Dict, Optional, Sequence, Union

from benchmatrix.load.parse import FixedRateResult, Latency, WrkResult
from benchmatrix.results.latency_histogram import encoded_from_counts, record_spectrum

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
            "latency_ms": dict(_latency_dict(result.latency, result.latency.p999_ms),
                               **{"p99.99": result.latency.p9999_ms}),
            "errors": _error_dict(result), "in_flight": round(in_flight, 2), "bytes": result.bytes_read,
            "elapsed_s": round(result.elapsed_s, 6), "result_source": result.source,
            # What each request took, as wrk measured it (without the synthetic samples its
            # coordinated-omission guess adds to its own percentiles; parse.measured_histogram).
            "histogram": encoded_from_counts(result.histogram_us),
            "synthetic_samples": result.synthetic_samples}


def fixed_rate_trial(result: FixedRateResult) -> Dict[str, Any]:
    """Latencies here are corrected: counted from each request's planned send time."""
    share_ok = result.successful_requests / result.requests if result.requests else 0.0
    return {"rps": result.achieved_rate * share_ok, "rps_all": result.achieved_rate,
            "requests": result.requests, "planned_rate": result.planned_rate,
            "achieved_rate": result.achieved_rate,
            "latency_ms": _latency_dict(result.latency, result.p999_ms),
            "uncorrected_latency_ms": _latency_dict(result.uncorrected) if result.uncorrected else None,
            "spectrum": [list(point) for point in result.spectrum], "errors": _error_dict(result),
            "histogram": encoded_from_counts(result.histogram_us)}


def spread(values: Sequence[Optional[float]]) -> Optional[Dict[str, float]]:
    """median, min, max and coefficient of variation; None when nothing was measured."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    median = statistics.median(present)
    cv = statistics.pstdev(present) / statistics.mean(present) if len(present) > 1 and statistics.mean(present) else 0.0
    return {"median": median, "min": min(present), "max": max(present), "cv": cv}


def spectrum_of(trials: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The record's latency spectrum: from every trial's requests merged where each kept its histogram
    (percentiles of the whole record, not a median of percentiles), else the median trial's own curve."""
    merged = record_spectrum([t.get("histogram") for t in trials])
    if merged is not None:
        return {"spectrum": merged["spectrum"], "histogram": merged["histogram"],
                "spectrum_source": "{} trial{} merged ({} latencies)".format(
                    len(trials), "" if len(trials) == 1 else "s", merged["samples"])}
    # The curve of the trial whose p99 is the median one: a real curve, not a blend.
    curve = median_trial(trials).get("spectrum") or []
    return {"spectrum": curve, "histogram": None, "spectrum_source": "median trial" if curve else None}


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
        **spectrum_of(trials),
    }


def median_trial(trials: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    ranked = sorted(trials, key=lambda t: t["latency_ms"].get("p99") or 0.0)
    return ranked[(len(ranked) - 1) // 2] if ranked else {}


# What trial-to-trial variation of a healthy cell looks like where nothing better is known:
# measured on a shared 2-core VM, 5 s trials of gunicorn+flask json vary 7-8% (CV),
# pinned or not. The machine's own figure (the ceiling run's spread) raises it, never lowers it.
TYPICAL_CV = 0.08
UNSTABLE_P = 0.001  # how unlikely the spread must be under the expected noise to flag it


def expected_cv(machine_cv: Optional[float]) -> float:
    return max(TYPICAL_CV, machine_cv or 0.0)


def unstable(trial_rps: Sequence[float], machine_cv: Optional[float] = None,
             max_cv: Optional[float] = None) -> Optional[str]:
    """A reason when the trials' req/s spread more than this machine's noise explains, else None.

    With max_cv given (--max-cv), a plain limit on the coefficient of variation. Otherwise a
    one-sided chi-square test of the trials' variance against the expected variation
    (expected_cv): a fixed 10% limit on 3 trials fires on healthy runs, because the spread
    of 3 samples with a true 8% variation exceeds 10% about one time in ten.
    """
    values = [v for v in trial_rps if v is not None]
    if len(values) < 2 or not statistics.mean(values):
        return None
    cv = statistics.stdev(values) / statistics.mean(values)
    span = "(min {:.0f}, max {:.0f})".format(min(values), max(values))
    if max_cv is not None:
        if cv > max_cv:
            return "req/s varied {:.1%} between trials {}; limit {:.0%}".format(cv, span, max_cv)
        return None
    from scipy.stats import chi2  # the harness's environment has it; the statistics need it only here

    expected = expected_cv(machine_cv)
    limit = expected * math.sqrt(chi2.ppf(1 - UNSTABLE_P, len(values) - 1) / (len(values) - 1))
    if cv <= limit:
        return None
    known = "this machine's load generator ceiling varied {:.1%}; ".format(machine_cv) if machine_cv else ""
    return ("req/s varied {:.1%} between {} trials {}; expected about {:.0%} ({}a healthy cell's trials vary "
            "~{:.0%} here), and above {:.0%} is less likely than {:g} from that noise alone".format(
                cv, len(values), span, expected, known, TYPICAL_CV, limit, UNSTABLE_P))


def resource_summary(trials: Sequence[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """Median CPU per trial, and the highest memory any trial reached (USS, PSS and summed RSS)."""
    usages = [t["resources"] for t in trials]
    if not usages:
        return {}
    load_cpu = [u["load_generator_cpu_s"] for u in usages if u.get("load_generator_cpu_s") is not None]
    summary = {"server_cpu_s": statistics.median(u["server_cpu_s"] for u in usages),
               # None where the load ran on another host (hosts/ssh.py): not measured, not zero.
               "load_generator_cpu_s": statistics.median(load_cpu) if load_cpu else None}
    for memory in ("server_peak_uss_mb", "server_peak_pss_mb", "server_peak_rss_mb"):
        values = [u[memory] for u in usages if u.get(memory) is not None]
        if values:  # older records have the summed RSS only
            summary[memory] = max(values)
    return summary
