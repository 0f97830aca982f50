"""What an interleaved comparison says and records about each ratio once its slices stop.

Both metrics are stated for every contender (req/s and the stack's CPU time per
request, each as a paired ratio with its interval), whichever drove the stopping
rule. A ratio that ends undecided states the smallest difference the comparison
could have seen: from this run's own spread and, where `nox -s calibrate` saved
one for this machine, from the calibration's A/A spread at the same budget.
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
    def __init__(self, results_dir: Path, say: Callable[[str], None], fingerprint: Optional[str] = None):
        self.entries = calibrate_store.load_entries(results_dir, fingerprint)  # None: this machine's
        self.say = say

    def state(self, scenario: Scenario, labels: Sequence[str], outcome: RoundsOutcome, options,
              contenders: int) -> List[Optional[Undecided]]:
        """Prints both metrics' ratios for each later contender; per contender, its Undecided or None."""
        method = options.method
        slice_s = options.base.duration_s
        load_s = outcome.rounds * contenders * slice_s
        undecided: List[Optional[Undecided]] = []
        by_method = outcome.by_method or {}
        for position, label in enumerate(labels[1:]):
            for metric in (RPS, CPU):
                shown = Method(metric, method.normalize)
                estimate = (by_method.get(shown.name) or [None] * len(labels))[position]
                self.say("{}: {} / {} {}{}: {}".format(
                    scenario.name, label, labels[0], METRIC_WORDS[metric],
                    " (per speed reference)" if shown.normalize else "",
                    estimate.describe() if estimate else "-"))
            if outcome.distinguishable[position]:
                undecided.append(None)
                continue
            saved = calibrate_store.matching(self.entries, scenario.name, slice_s, method.name)
            verdict = Undecided(
                load_s=load_s, detectable_effect=(list(outcome.detectable) or [None] * len(labels))[position],
                calibrated_detectable_effect=saved.detectable(options.max_load_s, contenders, options.min_pairs)
                if saved else None, calibrated_at=saved.measured_at if saved else None)
            self.say("{}: {} is not told apart from {} on {} at p <= 0.05 (corrected for the stopping rule's "
                     "looks): {}".format(scenario.name, label, labels[0], method.name, verdict.statement))
            undecided.append(verdict)
        return undecided


def outcome_meta(outcome: RoundsOutcome, options, index: int, undecided: Sequence[Optional[Undecided]]
                 ) -> Dict[str, Any]:
    """The record's interleaved section beyond the group: slices, method, every metric's ratio, the
    detectable effect where undecided (the later contenders' own; the first's is the comparison's)."""
    meta: Dict[str, Any] = {"slice_s": options.base.duration_s, "pairs": outcome.pairs,
                            "method": options.method.name, "stopped_by": outcome.stopped_by}
    if index:
        meta["ratios_to_first"] = {name: dataclasses.asdict(estimates[index - 1]) if estimates[index - 1] else None
                                   for name, estimates in (outcome.by_method or {}).items()}
        verdict = undecided[index - 1] if index - 1 < len(undecided) else None
        if verdict is not None:
            meta["undecided"] = dict(dataclasses.asdict(verdict), statement=verdict.statement)
    return meta
