"""Bisect over releases: which release of a package first changed a cell's throughput?

The releases are walked in order, each compared with its predecessor in an interleaved
run (run/interleave.py: the two virtualenvs' slices alternate, so the machine's drift
cancels), and the walk stops at the first release whose ratio to its predecessor is
significant on some scenario. Adjacent pairs rather than asv's halving, because a cell's
throughput need not move monotonically across releases (a slowdown later undone would
hide from a halving search), and each answer is then about one upgrade a user could make.

Every step and scenario is a test, and the walk names a release if any one of them
differs: tested each at 0.05, five steps of one scenario would name a release where none
differs about one time in four (1 - 0.95^5). So each test is held to alpha / (steps x
scenarios) (Bonferroni), which keeps that chance, the family-wise rate, at or below
alpha = 0.05 however many are tested. A sliced run's p-value is the paired t-test on its
ABBA pairs' log-ratios, already corrected for the run's own looks (results/ratio.py);
the interleaved runs stop on that same per-test level (InterleaveOptions.alpha).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from benchmatrix.results.ratio import RatioEstimate

ALPHA = 0.05  # the family-wise rate: the chance of naming a release when none differs
# One comparison: (release before, release after) -> each scenario's ratio after / before (None: not measured).
Compare = Callable[[str, str], Dict[str, Optional[RatioEstimate]]]


def per_test_alpha(releases: int, scenarios: int, family_alpha: float = ALPHA) -> float:
    """The level each step x scenario is tested at: Bonferroni over the (releases - 1) x scenarios tests."""
    return family_alpha / (max(1, releases - 1) * max(1, scenarios))


@dataclass(frozen=True)
class Step:
    before: str
    after: str
    ratios: Dict[str, Optional[RatioEstimate]]  # per scenario
    alpha: float = ALPHA  # the level each of its scenarios is tested at (per_test_alpha)

    @property
    def measured(self) -> bool:
        return bool(self.ratios) and all(r is not None for r in self.ratios.values())

    @property
    def significant(self) -> List[str]:
        """The scenarios whose p-value (a sliced run's: the paired t-test, corrected for its looks) is at most
        the step's per-test alpha."""
        return [scenario for scenario, ratio in self.ratios.items()
                if ratio is not None and ratio.p_value is not None and ratio.p_value <= self.alpha]

    def describe(self, package: str) -> str:
        ratios = "; ".join("{} {}".format(s, r.describe() if r else "not measured") for s, r in self.ratios.items())
        return "{} {} -> {}: {}".format(package, self.before, self.after, ratios or "not measured")


@dataclass(frozen=True)
class BisectOutcome:
    package: str
    releases: Sequence[str]
    steps: List[Step]  # the pairs compared, in order, up to the first that differs (or one not measured)
    scenarios: int = 1
    family_alpha: float = ALPHA

    @property
    def alpha(self) -> float:
        return per_test_alpha(len(self.releases), self.scenarios, self.family_alpha)

    @property
    def first_different(self) -> Optional[Step]:
        return next((step for step in self.steps if step.significant), None)

    @property
    def incomplete(self) -> bool:
        return any(not step.measured for step in self.steps)

    def render(self) -> str:
        tests = (len(self.releases) - 1) * self.scenarios
        lines = ["Bisect of {} over {}:".format(self.package, ", ".join(self.releases))]
        lines += ["  " + step.describe(self.package) for step in self.steps]
        lines.append("each of the {} step(s) x {} scenario(s) is tested at p <= {:.2g} ({:g} / {}, Bonferroni): "
                     "the chance of naming a release when none differs is at most {:.0%}".format(
                         len(self.releases) - 1, self.scenarios, self.alpha, self.family_alpha, tests,
                         self.family_alpha))
        found = self.first_different
        if found:
            lines.append("first release whose ratio to its predecessor is significant: {} {} ({} vs {}: {})".format(
                self.package, found.after, found.after, found.before, ", ".join(found.significant)))
        elif self.incomplete:
            lines.append("a comparison was not measured (see above): nothing can be said past it")
        else:
            lines.append("none of these releases differs from its predecessor at p <= {:.2g}".format(self.alpha))
        return "\n".join(lines)


def walk_releases(package: str, releases: Sequence[str], compare: Compare, scenarios: int = 1,
                  family_alpha: float = ALPHA) -> BisectOutcome:
    """Compare each release with its predecessor, in order, until one differs significantly or one fails.

    `scenarios`: how many each comparison measures (the tests are steps x scenarios); the comparisons
    should stop on per_test_alpha(len(releases), scenarios), as the command's do."""
    if len(releases) < 2:
        raise ValueError("a bisect needs at least two releases of {}".format(package))
    if len(set(releases)) != len(releases):
        raise ValueError("--releases {}: give each release once".format(",".join(releases)))
    alpha = per_test_alpha(len(releases), scenarios, family_alpha)
    steps: List[Step] = []
    for before, after in zip(releases, releases[1:]):
        step = Step(before, after, compare(before, after), alpha)
        steps.append(step)
        if step.significant or not step.measured:
            break
    return BisectOutcome(package, tuple(releases), steps, scenarios, family_alpha)
