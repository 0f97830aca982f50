"""Repeated trials of one measurement, summarised as a median with its spread.

A single run on a shared machine is an anecdote; the median of several with
their min and max (and the coefficient of variation of req/s) says how far a
number can be trusted. A Trial is typed while the run holds it and written as the dict records have
always stored (Trial.to_json); the summaries are pure functions of those dicts, as records hold them.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from benchmatrix.load.measured_latency import MEASURED, PLANNED_SEND_TIME
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


@dataclass(frozen=True)
class TrialContext:
    """What a trial cost and what was seen beside it, added once the load generator has finished."""
    resources: Dict[str, Any]  # the server's CPU and memory, the load generator's CPU and run-queue wait
    server_restarted: bool
    settle_s: float  # waited before it for the server to finish an earlier run's requests
    raw_output: str  # the tool's output, relative to the results folder
    answers_during_load: Optional[Dict[str, Any]]  # the side probe's checks; None when it was off
    # What the database and the stub counted during the trial, per kind of promised work
    # (stack/work_counters.py); None when the scenario promises none or it could not be read.
    work: Optional[Dict[str, int]] = None
    front_requests: Optional[int] = None  # requests nginx read during the trial (fronted cells), by its count


@dataclass(frozen=True)
class Trial:
    """One measured run of a load plan, as a record keeps it in its "trials" list (to_json).

    Closed-loop trials carry in_flight, bytes, elapsed_s, result_source and synthetic_samples;
    fixed-rate ones planned_rate, achieved_rate, uncorrected_latency_ms and spectrum.
    """
    kind: str  # "closed-loop" or "fixed-rate"
    rps: float  # successful responses per second: the throughput
    rps_all: float  # every response per second, errors too
    requests: int
    latency_ms: Dict[str, Optional[float]]
    errors: Dict[str, int]
    histogram: Optional[str]  # results/latency_histogram.py's encoding; None when the tool printed none
    in_flight: Optional[float] = None
    bytes: Optional[int] = None
    elapsed_s: Optional[float] = None
    result_source: Optional[str] = None
    synthetic_samples: Optional[int] = None
    latency_source: Optional[str] = None  # load/measured_latency.py: what latency_ms was computed from
    wrk_latency_ms: Optional[Dict[str, Optional[float]]] = None  # closed loop: wrk's own, with synthetic samples
    planned_rate: Optional[float] = None
    achieved_rate: Optional[float] = None
    uncorrected_latency_ms: Optional[Dict[str, Optional[float]]] = None
    spectrum: Tuple[Tuple[float, float], ...] = ()
    context: Optional[TrialContext] = None
    round_position: Optional[Tuple[int, int]] = None  # interleaved: (round, position in it), from 1
    probe: Optional[Tuple[int, bool]] = None  # latency-target search: (probe number, is a repeat)
    # A flow's trial counts whole flows (rps, requests, latency_ms, errors.non2xx = failed flows) and keeps
    # each step's latency and counts (load/results.StepLatency.to_json), in order; written only for flows.
    unit: str = "request"
    steps: Tuple[Dict[str, Any], ...] = ()

    @classmethod
    def from_result(cls, result: Union[WrkResult, FixedRateResult]) -> "Trial":
        if isinstance(result, FixedRateResult):
            return fixed_rate_trial(result)
        return closed_loop_trial(result)

    def with_context(self, context: TrialContext) -> "Trial":
        return dataclasses.replace(self, context=context)

    def in_round(self, round_number: int, position: int) -> "Trial":
        return dataclasses.replace(self, round_position=(round_number, position))

    def as_probe(self, number: int, confirmation: bool) -> "Trial":
        return dataclasses.replace(self, probe=(number, confirmation))

    def to_json(self) -> Dict[str, Any]:
        """The trial as records have always stored it."""
        data: Dict[str, Any] = {"rps": self.rps, "rps_all": self.rps_all, "requests": self.requests}
        if self.kind == "closed-loop":
            data.update(latency_ms=dict(self.latency_ms), errors=dict(self.errors), in_flight=self.in_flight,
                        bytes=self.bytes, elapsed_s=self.elapsed_s, result_source=self.result_source,
                        histogram=self.histogram, synthetic_samples=self.synthetic_samples,
                        latency_source=self.latency_source,
                        wrk_latency_ms=None if self.wrk_latency_ms is None else dict(self.wrk_latency_ms))
        else:
            data.update(planned_rate=self.planned_rate, achieved_rate=self.achieved_rate,
                        latency_ms=dict(self.latency_ms),
                        uncorrected_latency_ms=None if self.uncorrected_latency_ms is None
                        else dict(self.uncorrected_latency_ms),
                        spectrum=[list(point) for point in self.spectrum], errors=dict(self.errors),
                        histogram=self.histogram, latency_source=self.latency_source)
        if self.context is not None:
            data.update(resources=dict(self.context.resources), server_restarted=self.context.server_restarted,
                        settle_s=self.context.settle_s, raw_output=self.context.raw_output,
                        answers_during_load=self.context.answers_during_load)
            if self.context.work is not None:
                data["work"] = dict(self.context.work)
            if self.context.front_requests is not None:
                data["front_requests"] = self.context.front_requests
        if self.unit != "request":
            data.update(unit=self.unit, steps=[dict(step) for step in self.steps])
        if self.round_position is not None:
            data.update(round=self.round_position[0], position_in_round=self.round_position[1])
        if self.probe is not None:
            data["probe"] = {"number": self.probe[0], "confirmation": self.probe[1]}
        return data


def as_json(trials: Sequence[Trial]) -> List[Dict[str, Any]]:
    """Trials as the Recorder and the summaries take them (the record's on-disk shape)."""
    return [trial.to_json() for trial in trials]


def closed_loop_trial(result: WrkResult) -> Trial:
    # Little's law: requests completing per second x mean time each took = requests in flight,
    # i.e. the concurrency the server really sustained (below wrk's connections when they queued).
    in_flight = result.rps * result.latency.avg_ms / 1000.0
    return Trial(kind="closed-loop", rps=result.successful_rps, rps_all=result.rps, requests=result.requests,
                 latency_ms=dict(_latency_dict(result.latency, result.latency.p999_ms),
                                 **{"p99.99": result.latency.p9999_ms}),
                 errors=_error_dict(result), in_flight=round(in_flight, 2), bytes=result.bytes_read,
                 elapsed_s=round(result.elapsed_s, 6), result_source=result.source,
                 # What each request took, as wrk measured it (without the synthetic samples its
                 # coordinated-omission guess adds to its own percentiles; parse.measured_histogram).
                 histogram=encoded_from_counts(result.histogram_us),
                 synthetic_samples=result.synthetic_samples, latency_source=result.latency_source,
                 wrk_latency_ms=None if result.wrk_latency is None or result.latency_source != MEASURED else
                 dict(_latency_dict(result.wrk_latency, result.wrk_latency.p999_ms),
                      **{"p99.99": result.wrk_latency.p9999_ms}),
                 unit=result.unit, steps=tuple(step.to_json() for step in result.steps))


def fixed_rate_trial(result: FixedRateResult) -> Trial:
    """Latencies here are corrected: counted from each request's planned send time."""
    share_ok = result.successful_requests / result.requests if result.requests else 0.0
    return Trial(kind="fixed-rate", rps=result.achieved_rate * share_ok, rps_all=result.achieved_rate,
                 requests=result.requests, planned_rate=result.planned_rate, achieved_rate=result.achieved_rate,
                 latency_ms=_latency_dict(result.latency, result.p999_ms),
                 uncorrected_latency_ms=_latency_dict(result.uncorrected) if result.uncorrected else None,
                 spectrum=tuple(tuple(point) for point in result.spectrum), errors=_error_dict(result),
                 histogram=encoded_from_counts(result.histogram_us), latency_source=PLANNED_SEND_TIME)


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
        "latency_source": common_latency_source(trials),
        **spectrum_of(trials),
    }


def common_latency_source(trials: Sequence[Dict[str, Any]]) -> Optional[str]:
    """The trials' one latency basis; "mixed" when they differ (their medians then blend unlike figures)."""
    sources = {t.get("latency_source") for t in trials}
    if not trials:
        return None
    return sources.pop() if len(sources) == 1 else "mixed"


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


def _spread_limit(expected: float, samples: int) -> float:
    """The spread above which `samples` values whose true variation is `expected` are less likely than
    UNSTABLE_P: a one-sided chi-square bound on their variance."""
    from scipy.stats import chi2  # the harness's environment has it; the statistics need it only here

    return expected * math.sqrt(chi2.ppf(1 - UNSTABLE_P, samples - 1) / (samples - 1))


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
    expected = expected_cv(machine_cv)
    limit = _spread_limit(expected, len(values))
    if cv <= limit:
        return None
    known = "this machine's load generator ceiling varied {:.1%}; ".format(machine_cv) if machine_cv else ""
    return ("req/s varied {:.1%} between {} trials {}; expected about {:.0%} ({}a healthy cell's trials vary "
            "~{:.0%} here), and above {:.0%} is less likely than {:g} from that noise alone".format(
                cv, len(values), span, expected, known, TYPICAL_CV, limit, UNSTABLE_P))


def unstable_pairs(pair_logs: Sequence[float], machine_cv: Optional[float] = None,
                   max_cv: Optional[float] = None) -> Optional[str]:
    """A sliced record's `unstable` (run/interleave.py): judged on the spread of its ABBA pairs' req/s
    log-ratios to the first contender, not on its slices' req/s.

    Over 60 slices the machine's speed drifts far more than a healthy cell varies (measured: 752-3,417
    req/s within one run), and the ABBA pairs cancel that drift; the slices' own spread would flag a
    healthy comparison. What the drift does not explain is the pairs' spread: one pair's log-ratio is the
    mean of two rounds' differences of two slices' logs, so with each slice varying by a CV of c its
    standard deviation is about c. It is held to the same bound as a record's trials.
    """
    if len(pair_logs) < 2:
        return None
    sd = statistics.stdev(pair_logs)
    if max_cv is not None:
        if sd > max_cv:
            return "req/s pair ratios to the first cell varied {:.1%} over {} ABBA pairs; limit {:.0%}".format(
                sd, len(pair_logs), max_cv)
        return None
    expected = expected_cv(machine_cv)
    limit = _spread_limit(expected, len(pair_logs))
    if sd <= limit:
        return None
    return ("req/s ratios to the first cell varied {:.1%} (sd of log-ratio) over {} ABBA pairs; expected about "
            "{:.0%}, and above {:.0%} is less likely than {:g} from that noise alone (the machine's drift, which "
            "the pairs cancel, is not counted)".format(sd, len(pair_logs), expected, limit, UNSTABLE_P))


def cpu_ms_per_request(cpu_s: Optional[float], requests: Optional[int]) -> Optional[float]:
    """CPU milliseconds per request of one trial (None when the CPU is unknown or no request was made): the
    one place this figure is computed, for records (resource_summary), sliced ratios (interleave_rule.Method)
    and rankings. A ratio drops a zero figure as it drops a missing one (results/ratio.pair_log_ratios)."""
    if cpu_s is None or not requests:
        return None
    return cpu_s * 1000.0 / requests


def resource_summary(trials: Sequence[Dict[str, Any]], workers: Optional[int] = None) -> Dict[str, Any]:
    """Median CPU per trial, and the highest memory any trial reached (USS, PSS and summed RSS).

    workers: how many worker processes the server was launched with (the record's `workers`),
    for the memory per worker; unknown, the server's processes at the trial's end minus its master.
    """
    usages = [t["resources"] for t in trials]
    if not usages:
        return {}
    load_cpu = [u["load_generator_cpu_s"] for u in usages if u.get("load_generator_cpu_s") is not None]
    summary: Dict[str, Any] = {
        "server_cpu_s": statistics.median(u["server_cpu_s"] for u in usages),
        # None where the load ran on another host (hosts/ssh.py): not measured, not zero.
        "load_generator_cpu_s": statistics.median(load_cpu) if load_cpu else None}
    # What each answer cost the server's process tree, trial by trial (its CPU over the trial's requests,
    # the side probe's few among them): at one planned rate across cells, the efficiency comparison.
    # The stack's figure adds the trees the run started beside the server (nginx, PostgreSQL, the upstream
    # stub); trials recorded before those were sampled have none, and no stack figure is made up for them.
    for cpu, key in (("server_cpu_s", "server_cpu_ms_per_request"), ("stack_cpu_s", "stack_cpu_ms_per_request")):
        per_request = _cpu_ms_per_request(trials, cpu)
        if per_request is not None:
            summary[key] = per_request
    support = _support_cpu_s(usages)
    if support:
        summary["support_cpu_s"] = support
    for memory in ("server_peak_uss_mb", "server_peak_pss_mb", "server_peak_rss_mb"):
        values = [u[memory] for u in usages if u.get(memory) is not None]
        if values:  # older records have the summed RSS only
            summary[memory] = max(values)
    per_worker = _pss_mb_per_worker(usages, workers)
    if per_worker is not None:
        summary["server_pss_mb_per_worker"] = per_worker
    return summary


def _cpu_ms_per_request(trials: Sequence[Dict[str, Any]], cpu: str) -> Optional[float]:
    """The median over trials of one CPU figure over that trial's own requests, in ms; None when no trial has both."""
    per_request = [value for value in (cpu_ms_per_request(t["resources"].get(cpu), t.get("requests"))
                                       for t in trials) if value is not None]
    return round(statistics.median(per_request), 4) if per_request else None


def _support_cpu_s(usages: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    """Each support tree's median CPU seconds over the trials that sampled it."""
    by_role: Dict[str, List[float]] = {}
    for usage in usages:
        for role, cpu_s in (usage.get("support_cpu_s") or {}).items():
            by_role.setdefault(role, []).append(cpu_s)
    return {role: round(statistics.median(values), 3) for role, values in by_role.items()}


def _pss_mb_per_worker(usages: Sequence[Dict[str, Any]], workers: Optional[int]) -> Optional[float]:
    """The highest peak PSS of the server's tree over its worker processes.

    The tree's PSS includes the master's (a pre-fork server's arbiter holds the same
    interpreter, and often the app), so this is a worker's share of what the server holds,
    master included, not what one worker alone holds. Without a known worker count, the processes
    the tree had at the end of the trial that peaked, less one for the master; a lone
    process (no master) is then left out, as nothing says it is a worker.
    """
    peaks = [u for u in usages if u.get("server_peak_pss_mb") is not None]
    if not peaks:
        return None
    highest = max(peaks, key=lambda u: u["server_peak_pss_mb"])
    if not workers:
        workers = (highest.get("server_processes") or 0) - 1
    if workers <= 0:
        return None
    return round(highest["server_peak_pss_mb"] / workers, 1)
