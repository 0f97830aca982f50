"""Latency histograms across trials: build, merge, store and read as a percentile spectrum.

A trial's percentiles cannot be averaged into a record's (the median of three p99s is
no p99 of the three runs), but histograms add up: the merged histogram of a record's
trials holds every request they measured, so its spectrum is the record's own. The
load drivers hand over (value in us, count) pairs (tools/benchmatrix/load/parse.py,
fixed_rate.py); HdrHistogram (the `hdrhistogram` package) keeps them at 3 significant
digits, as wrk2 does, and stores them in its compressed base64 form ("HISTF..."),
which any HdrHistogram implementation reads.

hdrh is imported inside the functions, so importing this module stays cheap for the
commands that never touch a histogram.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

LOWEST_US = 1
# An hour: far past any timeout the harness runs with, and what HdrHistogram's own
# example tracks. The range costs nothing stored: the encoding skips empty buckets.
HIGHEST_US = 3600 * 1000 * 1000
SIGNIFICANT_FIGURES = 3  # values kept within 0.1 %, exact in us below 2.048 ms
TICKS_PER_HALF_DISTANCE = 5  # as wrk2 prints and fixed_rate.lua's spectrum_json steps


def empty() -> "HdrHistogram":
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def from_counts(pairs: Iterable[Tuple[float, int]]) -> "HdrHistogram":
    """A histogram of (latency us, count) pairs; values are rounded to whole us."""
    histogram = empty()
    for value, count in pairs:
        if count <= 0:
            continue
        us = int(round(value))
        if not 0 <= us <= HIGHEST_US or not histogram.record_value(us, int(count)):
            raise ValueError("latency {!r} us is outside the histogram's 0..{} us".format(value, HIGHEST_US))
    return histogram


def merged(histograms: Iterable["HdrHistogram"]) -> "HdrHistogram":
    """One histogram holding every sample of the given ones (which are left as they were)."""
    total = empty()
    for histogram in histograms:
        total.add(histogram)
    return total


def encode(histogram: "HdrHistogram") -> str:
    """HdrHistogram's compressed, base64 form (V2 encoding, zlib), as text for JSON."""
    return histogram.encode().decode("ascii")


def decode(text: str) -> "HdrHistogram":
    from hdrh.histogram import HdrHistogram

    return HdrHistogram.decode(text.encode("ascii"))


def merged_encoded(texts: Sequence[str]) -> "HdrHistogram":
    return merged(decode(text) for text in texts)


def percentile_ticks(total_count: int) -> List[float]:
    """HdrHistogram's percentile levels for `total_count` samples, 100 excluded.

    5 ticks per half distance: steps of 10 up to 50, 5 up to 75, 2.5 up to 87.5, and so
    on, while at least one sample lies above the level (the rule of HdrHistogram's
    Java PercentileIterator and of fixed_rate.lua's spectrum_json). hdrh's own iterator
    takes the log of the remaining distance without rounding it down, so its levels
    (0, 10, 19, ...) differ; the levels here are binary fractions of 100, exact in floats.
    """
    ticks: List[float] = []
    percentile = 0.0
    while (100.0 - percentile) / 100.0 * total_count >= 1:
        ticks.append(percentile)
        level = 1
        while (100.0 - percentile) * 2 ** level <= 100.0:
            level += 1
        percentile += 100.0 / (TICKS_PER_HALF_DISTANCE * 2 ** level)
    return ticks


def spectrum_ms(histogram: "HdrHistogram") -> List[List[float]]:
    """[[percentile, latency ms], ...] ascending, ending at [100, max]; [] when empty.

    Each value is the top of the HdrHistogram bucket holding that percentile's sample
    (the lowest sample at 0), as HdrHistogram reports percentiles.
    """
    total = histogram.get_total_count()
    if not total:
        return []
    ticks = percentile_ticks(total)
    values = histogram.get_percentile_to_value_dict(ticks)  # one pass over the counts
    rows = [[float("{:.10g}".format(p)), round(values[p] / 1000.0, 3)] for p in ticks]
    rows.append([100.0, round(histogram.get_max_value() / 1000.0, 3)])
    return rows


def encoded_from_counts(pairs: Sequence[Tuple[float, int]]) -> Optional[str]:
    """A trial's (us, count) pairs as stored text; None when the driver printed none."""
    return encode(from_counts(pairs)) if pairs else None


def record_spectrum(encoded: Sequence[Optional[str]]) -> Optional[Dict[str, Any]]:
    """The merged histogram of a record's trials with its spectrum, or None unless every
    trial kept one (a merge of some trials would pass for all of them)."""
    if not encoded or any(text is None for text in encoded):
        return None
    histogram = merged_encoded([text for text in encoded if text is not None])
    return {"histogram": encode(histogram), "spectrum": spectrum_ms(histogram),
            "samples": histogram.get_total_count()}
