"""How much faster is B than A, with a 95% confidence interval, from interleaved trials.

Trials run in alternating order (A B, B A, A B, ...), so each round holds one
trial of each side measured minutes apart at most. The ratio of a round's two
req/s cancels whatever the machine did over the whole run (a slow hour slows
both), which is what makes the interval narrow enough to rank cells by. The
estimate is the geometric mean of the rounds' ratios, and its interval the
t-interval of their logarithms (the ratios of two noisy rates are skewed; their
logs are not). The p-value is the exact permutation test of compare.py on the
two sides' trials, which needs no assumption about the noise's shape.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Optional, Sequence

from benchmatrix.results.compare import permutation_p_value

CONFIDENCE = 0.95


@dataclass(frozen=True)
class RatioEstimate:
    ratio: float  # candidate / baseline, geometric mean over the rounds
    low: float  # 95% confidence interval of the ratio
    high: float
    p_value: Optional[float]
    rounds: int

    @property
    def half_width(self) -> float:
        """The interval's larger distance from the ratio, as a share of it (0.05 = +-5%)."""
        return max(self.high / self.ratio - 1, 1 - self.low / self.ratio)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        return "{:.3f}x (95% CI {:.3f}-{:.3f}, +-{:.1%}; p {}; {} rounds)".format(
            self.ratio, self.low, self.high, self.half_width,
            "-" if self.p_value is None else "{:.3g}".format(self.p_value), self.rounds)


def paired_ratio(baseline: Sequence[float], candidate: Sequence[float]) -> Optional[RatioEstimate]:
    """The ratio of rounds i (candidate[i] / baseline[i]); None below 2 complete rounds."""
    pairs = [(a, b) for a, b in zip(baseline, candidate) if a and b and a > 0 and b > 0]
    if len(pairs) < 2:
        return None
    from scipy.stats import t  # the harness's environment has scipy; only the interval needs it

    logs = [math.log(b / a) for a, b in pairs]
    mean = statistics.mean(logs)
    margin = t.ppf(0.5 + CONFIDENCE / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return RatioEstimate(ratio=math.exp(mean), low=math.exp(mean - margin), high=math.exp(mean + margin),
                         p_value=permutation_p_value(list(baseline), list(candidate)), rounds=len(pairs))
