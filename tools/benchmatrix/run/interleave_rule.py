"""The rounds of an interleaved comparison and when they stop: pure logic over a trial-running callable.

Trials go round in alternating order (A B, B A, ...). After each round every
contender's paired ratio to the first is estimated (results/ratio.py); the rounds
stop once every ratio's 95% interval is within +-target_half_width and at least
min_rounds have run, or when the next round would overrun the load budget (at
least min_rounds by then, or the budget already spent). Whatever happens, the
outcome is returned as a value; nothing here records or prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from benchmatrix.checks.flags import Flag
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.results.ratio import RatioEstimate, paired_ratio
from benchmatrix.run.trial_runner import TrialOutcome
from benchmatrix.run.trials import Trial
from benchmatrix.stack.readiness import ServiceError

TARGET = "target"  # every interval within the target, after the minimum of rounds
BUDGET = "budget"  # the load budget would be overrun by one more round
FAILED = "failed"  # the load tool gave no result


def round_order(round_number: int, count: int) -> List[int]:
    """Forward on even rounds, backward on odd ones: A B | B A | A B ..., so no side always goes first."""
    order = list(range(count))
    return order if round_number % 2 == 0 else order[::-1]


@dataclass(frozen=True)
class StoppingRule:
    min_rounds: int
    target_half_width: float
    max_load_s: float

    def verdict(self, rounds: int, estimates: Sequence[Optional[RatioEstimate]], spent_s: float,
                round_s: float) -> Optional[str]:
        """TARGET or BUDGET when the comparison stops after `rounds` rounds, else None."""
        if rounds >= self.min_rounds and all(e and e.half_width <= self.target_half_width for e in estimates):
            return TARGET
        if spent_s + round_s > self.max_load_s and (rounds >= self.min_rounds or spent_s >= self.max_load_s):
            return BUDGET
        return None


@dataclass(frozen=True)
class RoundsOutcome:
    trials: List[List[Trial]]  # per contender, in the order run
    flags: List[List[Flag]]  # per contender, each named with its trial's number
    argvs: List[Optional[List[str]]]
    rounds: int
    estimates: List[Optional[RatioEstimate]]  # each later contender's ratio to the first
    stopped_by: str  # TARGET, BUDGET or FAILED
    error: Optional[str] = None  # FAILED: the load tool's first line

    @property
    def distinguishable(self) -> List[bool]:
        """Per later contender: its ratio's interval excludes 1 (it differs from the first, at 95%)."""
        return [bool(e and not e.contains(1.0)) for e in self.estimates]


def estimates_of(trials: Sequence[Sequence[Trial]]) -> List[Optional[RatioEstimate]]:
    baseline = [t.rps for t in trials[0]]
    return [paired_ratio(baseline, [t.rps for t in side]) for side in trials[1:]]


def alternate(run_trial: Callable[[int, int], TrialOutcome], contenders: int, rule: StoppingRule,
              trial_s: float, on_round: Callable[[int, List[Optional[RatioEstimate]]], None] = lambda r, e: None
              ) -> RoundsOutcome:
    """Rounds of run_trial(contender index, trial number) until the rule stops them."""
    trials: List[List[Trial]] = [[] for _ in range(contenders)]
    flags: List[List[Flag]] = [[] for _ in range(contenders)]
    argvs: List[Optional[List[str]]] = [None] * contenders
    estimates: List[Optional[RatioEstimate]] = []
    rounds = 0
    while True:
        try:
            for position, index in enumerate(round_order(rounds, contenders)):
                number = len(trials[index]) + 1
                outcome = run_trial(index, number)
                argvs[index] = outcome.argv
                trials[index].append(outcome.trial.in_round(rounds + 1, position + 1))
                flags[index] += [f.prefixed("trial {}".format(number)) for f in outcome.flags]
        except (WrkOutputError, ServiceError) as error:
            return RoundsOutcome(trials, flags, argvs, rounds, estimates, FAILED, str(error).splitlines()[0])
        rounds += 1
        estimates = estimates_of(trials)
        on_round(rounds, estimates)
        stop = rule.verdict(rounds, estimates, rounds * contenders * trial_s, contenders * trial_s)
        if stop:
            return RoundsOutcome(trials, flags, argvs, rounds, estimates, stop)
