"""The slices of an interleaved comparison and when they stop: pure logic over a trial-running callable.

Slices (trials) go round in alternating order, A B | B A | A B | B A ..., so two
consecutive rounds make one ABBA pair, whose log-ratio cancels any drift linear
over the pair (results/ratio.py). After each pair every contender's ratio to the
first is estimated on the chosen metric (req/s, or CPU time per request; either
optionally divided by the speed reference timed before the slice). The pairs stop:

- at a *look* (min_pairs, then each time the pairs grow by half, and the budget's
  last pair) once every ratio differs from 1 at p <= alpha, the p-value being
  Bonferroni-adjusted for the looks the budget allows: stopping at the first look
  that shows a difference then keeps the false-difference rate at or below alpha
  (checking a 95% interval after every pair would not: over 30 looks of an A/A
  comparison about one in four would "differ");
- after any pair (min_pairs at least) once every 95% interval is within
  +-target_half_width and holds 1: how narrow the interval is says nothing of
  which side is faster, so this needs no correction (a narrow interval leaving 1
  out runs on to the next look, where the corrected test decides);
- when one more pair would overrun the load budget; the outcome then carries the
  minimum detectable effect of each ratio at the spread seen.

A ratio is reported as differing from 1 only when the comparison stopped at a look:
a stop on the target between looks says the intervals are narrow, not that a p-value
tested at an unscheduled pair counts (that would add looks the correction did not
divide alpha by).

Whatever happens, the outcome is returned as a value; nothing here records or prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from benchmatrix.checks.flags import Flag
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.results.ratio import PairedEstimate, detectable_effect, estimate_from_logs, pair_log_ratios
from benchmatrix.run.trial_runner import TrialOutcome
from benchmatrix.run.trials import Trial, cpu_ms_per_request
from benchmatrix.stack.readiness import ServiceError

DIFFERS = "differs"  # every ratio differs from 1 at a look (p <= alpha, corrected for the looks)
TARGET = "target"  # every interval within the target, after the minimum of pairs
BUDGET = "budget"  # the load budget would be overrun by one more pair
FAILED = "failed"  # the load tool gave no result

RPS = "rps"  # successful responses per second: higher is faster
CPU = "cpu"  # the stack's CPU milliseconds per request: higher costs more
METRICS = (RPS, CPU)
SPEED_REFERENCE = "speed-reference"
SPEED_REFERENCE_KEY = "speed_reference_ms"  # in each sliced trial's resources (run/speed_reference.py)
ALPHA = 0.05


def round_order(round_number: int, count: int) -> List[int]:
    """Forward on even rounds, backward on odd ones: A B | B A | A B ..., so no side always goes first."""
    order = list(range(count))
    return order if round_number % 2 == 0 else order[::-1]


@dataclass(frozen=True)
class Method:
    """What a ratio is taken of: the metric, and whether each slice's value is divided by the machine's
    speed at the time (the speed reference's loop time, timed on the server's CPUs before the slice)."""
    metric: str = RPS
    normalize: bool = False

    @property
    def name(self) -> str:
        return self.metric + ("/" + SPEED_REFERENCE if self.normalize else "")

    def value(self, trial: Trial) -> Optional[float]:
        """The slice's figure: req/s, or CPU ms per request; normalized, a figure of a machine of fixed speed.

        A machine running at half speed halves req/s and doubles both the CPU time per request and
        the reference loop's time, so req/s x loop time and CPU per request / loop time hold still.
        """
        resources = trial.context.resources if trial.context else {}
        value = trial.rps if self.metric == RPS else cpu_ms_per_request(resources.get("stack_cpu_s"), trial.requests)
        if value is None or not self.normalize:
            return value
        reference = resources.get(SPEED_REFERENCE_KEY)
        if not reference:
            return None
        return value * reference if self.metric == RPS else value / reference


ALL_METHODS = (Method(RPS), Method(CPU), Method(RPS, True), Method(CPU, True))


def pair_seconds(contenders: int, slice_s: float) -> float:
    """The load one ABBA pair takes: two rounds of one slice per contender."""
    return 2 * contenders * slice_s


def budget_problem(min_pairs: int, max_load_s: float, contenders: int, slice_s: float) -> Optional[str]:
    """Why a comparison of these settings could never look (its budget holds fewer pairs than min_pairs), or None."""
    pair_s = pair_seconds(contenders, slice_s)
    holds = int(math.floor(max_load_s / pair_s + 1e-9))
    if holds >= min_pairs:
        return None
    fewer = ", or --min-pairs {} or fewer".format(holds) if holds >= 2 else ""  # an interval needs 2 pairs
    return ("--max-load {:g} s holds {} ABBA pair(s) of {:g} s ({} cells x 2 rounds x {:g} s slices), fewer than "
            "--min-pairs {}: the comparison could never decide; give --max-load {:g} or more{}".format(
                max_load_s, holds, pair_s, contenders, slice_s, min_pairs, min_pairs * pair_s, fewer))


def look_schedule(min_pairs: int, last_pair: int) -> List[int]:
    """The pair counts at which a difference may stop the comparison: min_pairs, then 1.5 times the
    previous look, and the last pair the budget allows (few looks: the correction divides alpha by them)."""
    first = max(2, min_pairs)
    looks: List[int] = []
    pairs = first
    while pairs < last_pair:
        looks.append(pairs)
        pairs = max(pairs + 1, int(math.ceil(pairs * 1.5)))
    looks.append(max(last_pair, 2))
    return looks


@dataclass(frozen=True)
class StoppingRule:
    min_pairs: int
    target_half_width: float
    max_load_s: float
    alpha: float = ALPHA

    def last_pair(self, pair_s: float) -> int:
        """The most pairs the budget holds."""
        return max(1, int(math.floor(self.max_load_s / pair_s + 1e-9)))

    def looks(self, pair_s: float) -> List[int]:
        return look_schedule(self.min_pairs, self.last_pair(pair_s))

    def verdict(self, pairs: int, estimates: Sequence[Optional[PairedEstimate]], spent_s: float,
                pair_s: float) -> Optional[str]:
        """DIFFERS, TARGET or BUDGET when the comparison stops after `pairs` pairs, else None.

        `estimates` carry p-values already corrected for len(self.looks(pair_s)) looks.
        """
        if pairs >= self.min_pairs and all(estimates):
            differs = [e.p_value is not None and e.p_value <= self.alpha for e in estimates]
            # Narrow enough, and around 1. A narrow interval that leaves 1 out has seen a difference the
            # test corrected for the looks has not confirmed yet: stopping there would report "not told
            # apart" what the next look would likely decide (measured: 2 of 10 tries at a 10% difference
            # stopped so), so such a ratio runs on to its next look or the budget.
            settled = [e.half_width <= self.target_half_width and e.contains(1.0) for e in estimates]
            if pairs in self.looks(pair_s) and all(d or s for d, s in zip(differs, settled)):
                return DIFFERS if all(differs) else TARGET
            if all(settled):
                return TARGET
        if spent_s + pair_s > self.max_load_s + 1e-9 and (pairs >= self.min_pairs or spent_s >= self.max_load_s):
            return BUDGET
        return None

    def detectable_at(self, sd_log: float, pairs: int, pair_s: float) -> float:
        """The minimum detectable effect of `pairs` pairs spreading by sd_log, at alpha corrected for this
        rule's looks: what a live comparison states, and what the calibration states for a budget."""
        return detectable_effect(sd_log, pairs, self.alpha, looks=len(self.looks(pair_s)))

    def detectable(self, estimate: Optional[PairedEstimate], pair_s: float) -> Optional[float]:
        """The minimum detectable effect at the estimate's spread and pairs, at the corrected level."""
        if estimate is None:
            return None
        return self.detectable_at(estimate.sd_log, estimate.rounds, pair_s)


def estimates_of(trials: Sequence[Sequence[Trial]], method: Method, looks: int = 1
                 ) -> List[Optional[PairedEstimate]]:
    """Each later contender's ratio to the first, from their slices round by round."""
    baseline = [method.value(t) for t in trials[0]]
    return [estimate_from_logs(pair_log_ratios(baseline, [method.value(t) for t in side]), looks=looks)
            for side in trials[1:]]


@dataclass(frozen=True)
class RoundsOutcome:
    trials: List[List[Trial]]  # per contender, in the order run
    flags: List[List[Flag]]  # per contender, each named with its trial's number
    argvs: List[Optional[List[str]]]
    rounds: int
    estimates: List[Optional[PairedEstimate]]  # each later contender's ratio to the first, on the rule's method
    stopped_by: str  # DIFFERS, TARGET, BUDGET or FAILED
    error: Optional[str] = None  # FAILED: the load tool's first line
    alpha: float = ALPHA
    detectable: Sequence[Optional[float]] = ()  # per later contender: the minimum detectable effect at the end
    by_method: Optional[Dict[str, List[Optional[PairedEstimate]]]] = None  # every method's ratios, by name
    at_look: bool = True  # stopped at one of the rule's scheduled looks (only there may a ratio "differ")
    looks: int = 1  # how many looks the p-values were corrected for

    @property
    def pairs(self) -> int:
        return self.rounds // 2

    @property
    def distinguishable(self) -> List[bool]:
        """Per later contender: it differs from the first at p <= alpha, corrected for the looks, at a look
        (a stop on the target between looks tested no p-value the correction counted)."""
        return [bool(self.at_look and e and e.p_value is not None and e.p_value <= self.alpha)
                for e in self.estimates]


def alternate(run_trial: Callable[[int, int], TrialOutcome], contenders: int, rule: StoppingRule,
              trial_s: float, on_round: Callable[[int, List[Optional[PairedEstimate]]], None] = lambda r, e: None,
              method: Method = Method()) -> RoundsOutcome:
    """Rounds of run_trial(contender index, trial number), checked after each ABBA pair, until the rule stops."""
    trials: List[List[Trial]] = [[] for _ in range(contenders)]
    flags: List[List[Flag]] = [[] for _ in range(contenders)]
    argvs: List[Optional[List[str]]] = [None] * contenders
    estimates: List[Optional[PairedEstimate]] = []
    pair_s = pair_seconds(contenders, trial_s)
    schedule = rule.looks(pair_s)
    looks = len(schedule)
    rounds = 0

    def outcome(stopped_by: str, error: Optional[str] = None) -> RoundsOutcome:
        return RoundsOutcome(trials, flags, argvs, rounds, estimates, stopped_by, error, rule.alpha,
                             [rule.detectable(e, pair_s) for e in estimates],
                             {m.name: estimates_of(trials, m, looks) for m in ALL_METHODS},
                             at_look=stopped_by != FAILED and rounds // 2 in schedule, looks=looks)

    while True:
        try:
            for position, index in enumerate(round_order(rounds, contenders)):
                number = len(trials[index]) + 1
                ran = run_trial(index, number)
                argvs[index] = ran.argv
                trials[index].append(ran.trial.in_round(rounds + 1, position + 1))
                flags[index] += [f.prefixed("trial {}".format(number)) for f in ran.flags]
        except (WrkOutputError, ServiceError) as error:
            return outcome(FAILED, str(error).splitlines()[0])
        rounds += 1
        if rounds % 2:
            continue  # half a pair: nothing to judge until its second round
        estimates = estimates_of(trials, method, looks)
        on_round(rounds, estimates)
        stop = rule.verdict(rounds // 2, estimates, rounds * contenders * trial_s, pair_s)
        if stop:
            return outcome(stop)


def replay(values: Sequence[Sequence[Optional[float]]], rule: StoppingRule, trial_s: float) -> RoundsOutcome:
    """What the rule would have decided on slices already measured (one value per round and contender,
    taken by a Method): the calibration judges its A/A runs by the same rule as a live comparison."""
    def trial(value: Optional[float]) -> Trial:
        return Trial(kind="closed-loop", rps=value or 0.0, rps_all=value or 0.0, requests=1, latency_ms={},
                     errors={}, histogram=None)

    rounds = min(len(side) for side in values)
    return alternate(lambda index, number: TrialOutcome([], trial(values[index][number - 1]), [])
                     if number <= rounds else _raise(), len(values), rule, trial_s)


def _raise():
    raise WrkOutputError("no more recorded slices")
