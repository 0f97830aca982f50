"""The highest request rate a cell holds within a latency target: a search by fixed-rate probes.

The closed-loop peak bounds it from above (no fixed rate can be held beyond what
the server completes flat out). The search tries the peak itself, then walks down
from it (90%, 80%, ... 10% of the peak, then halving) until a rate holds, and
bisects between that rate and the one above it until the bracket is narrower than
RESOLUTION of the peak. Walking down rather than bisecting [0, peak] is what makes
the answer the *highest* rate that holds even where latency does not fall with the
rate: measured here, gunicorn's sync worker (one per CPU, closing every connection)
held p99 <= 50 ms at 1341 and 2388 req/s but not at 681 or 42.5 req/s, because the
driver reconnects at once and the worker then waits on that idle connection until
its next send (p99 about connections / rate). A bisection from the middle landed on
either side of 1341 and the same command answered 2388 once and 0 the next time.
A rate "holds" when the probe's percentile is within the target, the achieved rate
is within RATE_TOLERANCE of the plan, and no request failed. The answer is probed
once more before it is reported: noise can make one probe pass by luck, and a
repeat that fails sends the walk on below it. Pure logic: `probe` is the caller's
real fixed-rate run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from benchmatrix.load.latency_target import LatencyTarget, latency_at
from benchmatrix.run.trials import Trial

RESOLUTION = 0.025  # stop when the bracket is narrower than this share of the peak
RATE_TOLERANCE = 0.05  # the achieved rate may fall this far below the plan and still hold
SCAN_STEP = 0.1  # the walk down from the peak, as shares of it, down to SCAN_STEP itself
LOWEST_SHARE = 1 / 64.0  # below 10% the walk halves; under this share of the peak it reports 0
# The walk to 10% takes up to 9 probes, the bisection of a 10% bracket to 2.5% two more, and the
# repeat one: 13 in the worst case that finds a rate. A hard bound on the search's load time either way.
MAX_PROBES = 16


@dataclass(frozen=True)
class Probe:
    rate: float  # planned req/s
    trial: Trial  # the fixed-rate trial as measured
    latency_ms: Optional[float]  # the target's percentile in this trial
    holds: bool
    why: str  # what decided it, for the console and the record
    confirmation: bool = False

    @property
    def number(self) -> int:
        """Which probe of the search this was, counting from 1 (the trial's mark)."""
        return self.trial.probe[0] if self.trial.probe else 0


@dataclass
class SearchResult:
    target: LatencyTarget
    peak: float  # the closed-loop req/s the search was bounded by
    rate: float  # the highest rate that held twice (0: none held down to the resolution)
    confirmed: bool  # the reported rate held on its repeat too
    probes: List[Probe] = field(default_factory=list)
    exhausted: bool = False  # the search used every probe before it could answer

    @property
    def held_probes(self) -> List[Probe]:
        return [p for p in self.probes if p.rate == self.rate and p.holds]


def judge(trial: Trial, rate: float, target: LatencyTarget) -> Probe:
    """Whether one fixed-rate trial at `rate` kept the target, with the reason."""
    latency = latency_at(trial.to_json(), target.percentile)
    achieved = trial.achieved_rate or 0.0
    failed = sum(trial.errors.values())
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


def walk_down(peak: float, below: float) -> List[float]:
    """The rates the walk still has to try under `below`: steps of SCAN_STEP of the peak, then halving."""
    shares = [1 - k * SCAN_STEP for k in range(1, int(round(1 / SCAN_STEP)))]  # 0.9 ... 0.1
    share = SCAN_STEP / 2
    while share >= LOWEST_SHARE:
        shares.append(share)
        share /= 2
    return [round_rate(peak * share) for share in shares if round_rate(peak * share) < below]


def search(probe: Callable[[float, bool], Probe], peak: float, target: LatencyTarget,
           resolution: float = RESOLUTION, max_probes: int = MAX_PROBES) -> SearchResult:
    """The highest rate in [0, peak] that holds twice, by `probe(rate, confirmation)`: see the module."""
    result = SearchResult(target=target, peak=peak, rate=0.0, confirmed=False)
    step = peak * resolution

    def run(rate: float, confirmation: bool = False) -> Probe:
        outcome = dataclasses.replace(probe(rate, confirmation), confirmation=confirmation)
        result.probes.append(outcome)
        return outcome

    def out_of_probes() -> bool:
        return len(result.probes) >= max_probes

    failed_above = round_rate(peak) * (1 + RATE_TOLERANCE) + step  # nothing above the peak is tried
    candidates = [round_rate(peak)] + walk_down(peak, round_rate(peak))
    while candidates and not out_of_probes():
        rate = candidates.pop(0)
        if rate >= failed_above:
            continue
        if not run(rate).holds:
            failed_above = rate
            continue
        low, high = rate, failed_above  # holds at low, failed at high (or high is past the peak)
        while high - low > step and high <= peak and not out_of_probes():
            middle = run(round_rate((low + high) / 2))
            low, high = (middle.rate, high) if middle.holds else (low, middle.rate)
        if out_of_probes():
            result.rate, result.exhausted = low, True  # found once, no probe left for its repeat: unconfirmed
            return result
        if run(low, confirmation=True).holds:
            result.rate, result.confirmed = low, True
            return result
        # The repeat failed: that rate held by luck. The walk goes on below it.
        failed_above = low
        candidates = walk_down(peak, low)
    result.exhausted = out_of_probes()
    return result
