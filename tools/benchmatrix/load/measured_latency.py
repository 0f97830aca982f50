"""A closed loop's latency figures from the samples wrk really measured.

wrk 4 adds synthetic samples to its latency histogram after a run (its guess at the
requests a closed loop never sent, load/wrk_report_parse.measured_histogram undoes
them), and its summary, percentiles, mean and stdev include them. For a closed loop
they are latencies no request saw: on gunicorn's gevent worker they turned a mean of
~1 ms into 54.9 ms, i.e. 207 requests "in flight" on 64 connections. Here the same
statistics are computed the way wrk computes them (stats.c), over the measured
samples alone, so the figures a record shows can all be true at once.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

from benchmatrix.load.results import MEASURED, PLANNED_SEND_TIME, WITH_SYNTHETIC, Latency

__all__ = ["MEASURED", "PLANNED_SEND_TIME", "WITH_SYNTHETIC", "latency_from_histogram", "percentile_us"]


def percentile_us(histogram_us: Sequence[Tuple[int, int]], total: int, percent: float) -> int:
    """wrk's stats_percentile: the first value whose running count reaches round(p% x count + 0.5)."""
    rank = math.floor(percent / 100.0 * total + 0.5 + 0.5)  # C's round() of a positive number, as wrk does
    running = 0
    for value, count in histogram_us:
        running += count
        if running >= rank:
            return value
    return histogram_us[-1][0]


def latency_from_histogram(histogram_us: Sequence[Tuple[int, int]]) -> Optional[Latency]:
    """Mean, sample stdev, max and percentiles in ms of (us, count) pairs, ascending; None when empty."""
    total = sum(count for _, count in histogram_us)
    if total == 0:
        return None
    mean_us = sum(value * count for value, count in histogram_us) / total
    variance = (sum((value - mean_us) ** 2 * count for value, count in histogram_us) / (total - 1)
                if total > 1 else 0.0)

    def ms(percent: float) -> float:
        return percentile_us(histogram_us, total, percent) / 1000.0

    return Latency(avg_ms=mean_us / 1000.0, stdev_ms=math.sqrt(variance) / 1000.0,
                   max_ms=histogram_us[-1][0] / 1000.0, p50_ms=ms(50), p75_ms=ms(75), p90_ms=ms(90),
                   p99_ms=ms(99), p999_ms=ms(99.9), p9999_ms=ms(99.99))
