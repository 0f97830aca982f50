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
from typing import List, Optional, Sequence

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


# ---- ABBA pairs: the sliced comparison's estimate (run/interleave.py) ----
#
# Slices run A B | B A | A B | B A ...; two consecutive rounds make one ABBA pair. Under a drift
# that is linear over the pair, round 1's log-ratio is off by +d and round 2's by -d, so the pair's
# mean of the two cancels it, where a single round's would not. Each pair gives one log-ratio; the
# estimate is their mean, its interval the t-interval, its p-value the paired t-test on the same
# numbers (not the unpaired permutation test above, which ignores the pairing and cannot enumerate
# 60 slices a side). The interval is that of one look: uncorrected, "it excludes 1" is "p_raw <= 0.05".
# A sequential comparison's p-value is corrected for its looks (`looks`), and the decision is that
# corrected p-value's alone: an interval that leaves out 1 with a corrected p above 0.05 is no difference.

POWER = 0.80  # the minimum detectable effect is the difference found in 80% of comparisons


def pair_log_ratios(baseline: Sequence[Optional[float]], candidate: Sequence[Optional[float]]) -> List[float]:
    """One log(candidate / baseline) per complete ABBA pair: rounds (1, 2), (3, 4), ... averaged.

    A round with a missing or non-positive value drops its pair (no half pair is used: a lone
    round carries the drift the pairing is there to cancel); an odd last round is not a pair yet.
    """
    logs = []
    for first in range(0, min(len(baseline), len(candidate)) - 1, 2):
        rounds = [(baseline[first + k], candidate[first + k]) for k in (0, 1)]
        if all(a and b and a > 0 and b > 0 for a, b in rounds):
            logs.append(sum(math.log(b / a) for a, b in rounds) / 2)
    return logs


@dataclass(frozen=True)
class PairedEstimate(RatioEstimate):
    """A RatioEstimate from ABBA pair log-ratios, with their spread (what the detectable effect needs)."""
    sd_log: float = 0.0  # standard deviation of the pairs' log-ratios
    p_raw: Optional[float] = None  # the paired t-test's p before any correction for repeated looks

    def describe(self) -> str:
        return "{:.3f}x (95% CI {:.3f}-{:.3f}, +-{:.1%}; p {}; {} ABBA pairs)".format(
            self.ratio, self.low, self.high, self.half_width,
            "-" if self.p_value is None else "{:.3g}".format(self.p_value), self.rounds)


def estimate_from_logs(logs: Sequence[float], confidence: float = CONFIDENCE, looks: int = 1
                       ) -> Optional[PairedEstimate]:
    """The mean pair log-ratio as a ratio with its `confidence` interval; None below 2 pairs.

    `looks` is how many times a sequential comparison may stop on this test: the p-value is
    Bonferroni-adjusted by it (min(1, looks * p)), so stopping at the first look that reaches
    p <= 0.05 keeps the chance of a false difference at or below 0.05 overall.
    """
    if len(logs) < 2:
        return None
    from scipy.stats import t

    n = len(logs)
    mean = statistics.mean(logs)
    sd = statistics.stdev(logs)
    margin = t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    if sd > 0:
        p_raw = float(2 * t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
    else:
        p_raw = 1.0 if mean == 0 else 0.0
    return PairedEstimate(ratio=math.exp(mean), low=math.exp(mean - margin), high=math.exp(mean + margin),
                          p_value=min(1.0, p_raw * looks), rounds=n, sd_log=sd, p_raw=p_raw)


def detectable_effect(sd_log: float, pairs: int, alpha: float = 1 - CONFIDENCE, power: float = POWER,
                      looks: int = 1) -> float:
    """The smallest ratio difference (0.05 = 5%) a paired comparison of `pairs` pairs finds with
    probability `power` at two-sided level `alpha` / `looks` (Bonferroni, as estimate_from_logs corrects
    its p-value), when its pairs' log-ratios spread by sd_log:

        MDE = exp((t_{1-alpha/2k, n-1} + t_{power, n-1}) * sd_log / sqrt(n)) - 1

    (the normal-theory formula (z_{1-a/2} + z_power) * sd / sqrt(n), with t quantiles for few pairs).
    """
    if pairs < 2:
        return math.inf
    from scipy.stats import t

    alpha = alpha / looks
    return math.exp((t.ppf(1 - alpha / 2, pairs - 1) + t.ppf(power, pairs - 1)) * sd_log / math.sqrt(pairs)) - 1
