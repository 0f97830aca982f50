"""What an interleaved comparison says and records about each ratio once its slices stop.

Both metrics are stated for every contender (req/s and the stack's CPU time per
request, each as a paired ratio with its interval), whichever drove the stopping
rule. A ratio that ends undecided states the smallest difference the comparison
could have seen: from this run's own spread and, where `nox -s calibrate` saved
one for this machine and the first contender's cell, from the calibration's A/A
spread at the same budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run import calibrate_store
from benchmatrix.run.interleave_rule import CPU, RPS, Method, RoundsOutcome

METRIC_WORDS = {RPS: "req/s", CPU: "CPU/request"}


@dataclass(frozen=True)
class Undecided:
    """Why a ratio could not be told from 1: the smallest difference this comparison could have seen."""
    load_s: float  # load spent, all contenders together
    detectable_effect: Optional[float]  # from this run's spread (0.09 = 9%)
    calibrated_detectable_effect: Optional[float] = None  # from the saved A/A calibration, same budget
    calibrated_at: Optional[str] = None

    @property
    def statement(self) -> str:
        shown = self.calibrated_detectable_effect if self.calibrated_detectable_effect is not None \
            else self.detectable_effect
        if shown is None:
            return "too few pairs to say what difference could be seen"
        if self.calibrated_detectable_effect is None:
            source = "at this run's spread"
        else:
            source = "by the calibration of {}".format((self.calibrated_at or "")[:16]) + (
                "" if self.detectable_effect is None else "; {:.1%} at this run's own spread".format(
                    self.detectable_effect))
        return "a difference below {:.1%} cannot be seen here in {:g} s of load ({})".format(
            shown, self.load_s, source)


class Verdicts:
    """Judges each ratio of a comparison once its slices stop (judge), and says so (state): two steps, so
    what is recorded is computed without printing and what is printed is what was recorded."""

    def __init__(self, results_dir: Path, say: Callable[[str], None], fingerprint: Optional[str] = None):
        self.entries = calibrate_store.load_entries(results_dir, fingerprint)  # None: this machine's
        self.say = say

    def judge(self, cell: str, scenario: Scenario, outcome: RoundsOutcome, options, contenders: int
              ) -> List[Optional[Undecided]]:
        """Per later contender, its Undecided, or None where it differs from the first.

        `cell` is the first contender's SERVER/APP: a saved calibration is used only if it is of that cell
        (and of this scenario, slice length and method), else the run's own spread alone is stated."""
        method = options.method
        slice_s = options.base.duration_s
        saved = calibrate_store.matching(self.entries, cell, scenario.name, slice_s, method.name)
        calibrated = saved.detectable(options.max_load_s, contenders, options.min_pairs, outcome.alpha) \
            if saved else None
        own = list(outcome.detectable) or [None] * len(outcome.estimates)
        return [None if differs else Undecided(
            load_s=outcome.rounds * contenders * slice_s, detectable_effect=own[position],
            calibrated_detectable_effect=calibrated, calibrated_at=saved.measured_at if saved else None)
            for position, differs in enumerate(outcome.distinguishable)]

    def state(self, scenario: Scenario, labels: Sequence[str], outcome: RoundsOutcome, options,
              undecided: Sequence[Optional[Undecided]]) -> None:
        """Prints both metrics' ratios for each later contender and, where undecided, what it could have seen."""
        method = options.method
        by_method = outcome.by_method or {}
        for position, label in enumerate(labels[1:]):
            for metric in (RPS, CPU):
                shown = Method(metric, method.normalize)
                estimate = (by_method.get(shown.name) or [None] * len(labels))[position]
                self.say("{}: {} / {} {}{}: {}".format(
                    scenario.name, label, labels[0], METRIC_WORDS[metric],
                    " (per speed reference)" if shown.normalize else "",
                    estimate.describe() if estimate else "-"))
            verdict = undecided[position] if position < len(undecided) else None
            if verdict is not None:
                self.say("{}: {} is not told apart from {} on {} at p <= {:g} (corrected for the stopping rule's "
                         "{} look(s)): {}".format(scenario.name, label, labels[0], method.name, outcome.alpha,
                                                  outcome.looks, verdict.statement))


def outcome_meta(outcome: RoundsOutcome, options, index: int, undecided: Sequence[Optional[Undecided]]
                 ) -> Dict[str, Any]:
    """The record's interleaved section beyond the group: slices, method, every metric's ratio, the
    detectable effect where undecided (the later contenders' own; the first's is the comparison's)."""
    meta: Dict[str, Any] = {"slice_s": options.base.duration_s, "pairs": outcome.pairs,
                            "method": options.method.name, "stopped_by": outcome.stopped_by,
                            # What the p-values were corrected for: the rankings judge the run's ratios alike.
                            "looks": outcome.looks, "alpha": outcome.alpha}
    if index:
        meta["ratios_to_first"] = {name: dataclasses.asdict(estimates[index - 1]) if estimates[index - 1] else None
                                   for name, estimates in (outcome.by_method or {}).items()}
        verdict = undecided[index - 1] if index - 1 < len(undecided) else None
        if verdict is not None:
            meta["undecided"] = dict(dataclasses.asdict(verdict), statement=verdict.statement)
    return meta
