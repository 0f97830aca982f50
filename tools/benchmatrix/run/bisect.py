"""Bisect over releases: which release of a package first changed a cell's throughput?

The releases are walked in order, each compared with its predecessor in an interleaved
run (run/interleave.py: the two virtualenvs' trials alternate, so the machine's drift
cancels), and the walk stops at the first release whose ratio to its predecessor is
significant: its 95% confidence interval excludes 1 on some scenario, at p <= 0.05. Adjacent pairs
rather than asv's halving, because a cell's throughput need not move monotonically
across releases (a slowdown later undone would hide from a halving search), and each
answer is then about one upgrade a user could make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from benchmatrix.results.ratio import RatioEstimate

ALPHA = 0.05
# One comparison: (release before, release after) -> each scenario's ratio after / before (None: not measured).
Compare = Callable[[str, str], Dict[str, Optional[RatioEstimate]]]


@dataclass(frozen=True)
class Step:
    before: str
    after: str
    ratios: Dict[str, Optional[RatioEstimate]]  # per scenario

    @property
    def measured(self) -> bool:
        return bool(self.ratios) and all(r is not None for r in self.ratios.values())

    @property
    def significant(self) -> List[str]:
        """The scenarios whose ratio's 95% interval excludes 1 and whose permutation p-value is at most 0.05
        (as the report's headline asks of a winner: results/tables.py)."""
        return [scenario for scenario, ratio in self.ratios.items() if ratio is not None and not ratio.contains(1.0)
                and (ratio.p_value is None or ratio.p_value <= ALPHA)]

    def describe(self, package: str) -> str:
        ratios = "; ".join("{} {}".format(s, r.describe() if r else "not measured") for s, r in self.ratios.items())
        return "{} {} -> {}: {}".format(package, self.before, self.after, ratios or "not measured")


@dataclass(frozen=True)
class BisectOutcome:
    package: str
    releases: Sequence[str]
    steps: List[Step]  # the pairs compared, in order, up to the first that differs (or one not measured)

    @property
    def first_different(self) -> Optional[Step]:
        return next((step for step in self.steps if step.significant), None)

    @property
    def incomplete(self) -> bool:
        return any(not step.measured for step in self.steps)

    def render(self) -> str:
        lines = ["Bisect of {} over {}:".format(self.package, ", ".join(self.releases))]
        lines += ["  " + step.describe(self.package) for step in self.steps]
        found = self.first_different
        if found:
            lines.append("first release whose ratio to its predecessor is significant: {} {} ({} vs {}: {})".format(
                self.package, found.after, found.after, found.before, ", ".join(found.significant)))
        elif self.incomplete:
            lines.append("a comparison was not measured (see above): nothing can be said past it")
        else:
            lines.append("none of these releases differs from its predecessor at 95%")
        return "\n".join(lines)


def walk_releases(package: str, releases: Sequence[str], compare: Compare) -> BisectOutcome:
    """Compare each release with its predecessor, in order, until one differs significantly or one fails."""
    if len(releases) < 2:
        raise ValueError("a bisect needs at least two releases of {}".format(package))
    if len(set(releases)) != len(releases):
        raise ValueError("--releases {}: give each release once".format(",".join(releases)))
    steps: List[Step] = []
    for before, after in zip(releases, releases[1:]):
        step = Step(before, after, compare(before, after))
        steps.append(step)
        if step.significant or not step.measured:
            break
    return BisectOutcome(package, tuple(releases), steps)
