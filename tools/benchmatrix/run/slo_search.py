"""The highest request rate a cell holds within a latency target: a search by fixed-rate probes.

The closed-loop peak bounds it from above (no fixed rate can be held beyond what
the server completes flat out). The search first tries the peak itself, then
halves the interval [highest rate that held, lowest that did not] until it is
narrower than RESOLUTION of the peak. A rate "holds" when the probe's percentile
is within the target, the achieved rate is within RATE_TOLERANCE of the plan,
and no request failed. The answer is probed once more before it is reported:
noise can make one probe pass by luck, and a repeat that fails sends the search
below it. Pure logic: `probe` is the caller's real fixed-rate run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from tools.benchmatrix.load.latency_target import LatencyTarget, latency_at

RESOLUTION = 0.025  # stop when the bracket is narrower than this share of the peak
RATE_TOLERANCE = 0.05  # the achieved rate may fall this far below the plan and still hold
# Bisection to 2.5% takes ~6 probes and the repeat one; a lucky pass refuted by its repeat costs about as
# many again. A hard bound on the search's load time either way.
MAX_PROBES = 16


@dataclass(frozen=True)
class Probe:
    rate: float  # planned req/s
    trial: Dict[str, Any]  # the fixed-rate trial as measured (run/trials.fixed_rate_trial)
    latency_ms: Optional[float]  # the target's percentile in this trial
    holds: bool
    why: str  # what decided it, for the console and the record
    confirmation: bool = False


@dataclass
class SearchResult:
    target: LatencyTarget
    peak: float  # the closed-loop req/s the search was bounded by
    rate: float  # the highest rate that held twice (0: none held down to the resolution)
    confirmed: bool  # the reported rate held on its repeat too
    probes: List[Probe] = field(default_factory=list)

    @property
    def held_probes(self) -> List[Probe]:
        return [p for p in self.probes if p.rate == self.rate and p.holds]


def judge(trial: Dict[str, Any], rate: float, target: LatencyTarget) -> Probe:
    """Whether one fixed-rate trial at `rate` kept the target, with the reason."""
    latency = latency_at(trial, target.percentile)
    achieved = trial.get("achieved_rate") or 0.0
    failed = sum((trial.get("errors") or {}).values())
    if failed:
        return Probe(rate, trial, latency, False, "{} request(s) failed".format(failed))
    if achieved < (1 - RATE_TOLERANCE) * rate:
        return Probe(rate, trial, latency, False, "achieved only {:.1f} req/s".format(achieved))
    if latency is None:
        return Probe(rate, trial, latency, False, "the run did not measure {}".format(target.name))
    if latency > target.limit_ms:
        return Probe(rate, trial, latency, False, "{} {:.1f} ms".format(target.name, latency))
    return Probe(rate, trial, latency, True, "{} {:.1f} ms".format(target.name, latency))


def round_rate(rate: float) -> float:
    """Whole req/s, or three significant figures below 100: probe files and tables stay readable, and the
    rounding stays below any noise."""
    if rate <= 0:
        return 0.0
    digits = max(0, 2 - int(f"{rate:e}".split("e")[1]))
    return round(rate, digits)


def search(probe: Callable[[float, bool], Probe], peak: float, target: LatencyTarget,
           resolution: float = RESOLUTION, max_probes: int = MAX_PROBES) -> SearchResult:
    """Bisect [0, peak] with `probe(rate, confirmation)` for the highest rate that holds twice."""
    result = SearchResult(target=target, peak=peak, rate=0.0, confirmed=False)
    step = peak * resolution
    held: List[float] = []  # rates that held once, not yet refuted by a failed repeat

    def run(rate: float, confirmation: bool = False) -> Probe:
        outcome = dataclasses.replace(probe(rate, confirmation), confirmation=confirmation)
        result.probes.append(outcome)
        return outcome

    low, high = 0.0, peak
    first = run(round_rate(peak))
    if first.holds:
        low = first.rate
        held.append(low)
    else:
        high = first.rate
    while len(result.probes) < max_probes:
        if high - low > step and low < peak:
            outcome = run(round_rate((low + high) / 2))
            if outcome.holds:
                low = outcome.rate
                held.append(low)
            else:
                high = outcome.rate
            continue
        if low == 0:
            break  # nothing held down to the resolution: the answer is 0
        repeat = run(low, confirmation=True)
        if repeat.holds:
            result.rate, result.confirmed = low, True
            return result
        # The repeat failed: that rate held by luck. Search below it, from the best rate still standing.
        held = [rate for rate in held if rate < low]
        high, low = low, (max(held) if held else 0.0)
    # Out of probes (or nothing held): report what held last, unconfirmed, and say so.
    result.rate = low
    return result
