"""Latency histograms: wrk's synthetic samples undone, trials merged exactly, spectra as HdrHistogram reports them."""

from __future__ import annotations


import pytest

from benchmatrix.load.parse import WrkOutputError, measured_histogram, parse_wrk2, wrk_correction_interval_us
from benchmatrix.results import latency_histogram as lh
from benchmatrix.run.trials import spectrum_of, summarize
from tests.conftest import FIXTURES

WRK2_OUTPUTS = FIXTURES / "wrk2"


def wrk_corrected(measured, interval):
    """What wrk 4.x's stats_correct does to a histogram (stats.c), written from its definition:
    for every measured latency n >= 2 * interval, one sample at each n - k * interval above it."""
    counts = dict(measured)
    for n, count in sorted(measured):
        m = n - interval
        while m > interval:
            counts[m] = counts.get(m, 0) + count
            m -= interval
    return sorted(counts.items())


def test_wrks_synthetic_samples_are_undone_exactly():
    measured = [(100, 50), (250, 3), (900, 1), (1000, 2), (1210, 1)]
    held = wrk_corrected(measured, 200)
    assert sum(c for _, c in held) > sum(c for _, c in measured)  # the correction added samples
    assert list(measured_histogram(held, 200)) == measured


def test_a_histogram_without_a_correction_is_kept_as_it_is():
    held = [(5, 1), (9, 4)]
    assert list(measured_histogram(held, 0)) == held
    assert list(measured_histogram(held, 100)) == held  # nothing reaches twice the interval


def test_a_histogram_wrk_could_not_have_made_is_refused():
    with pytest.raises(WrkOutputError, match="wrk 4.x"):
        measured_histogram([(300, 1)], 100)  # 300 >= 2 x 100, but no synthetic sample at 200


def test_the_correction_interval_is_wrks_integer_arithmetic():
    assert wrk_correction_interval_us(10_000_000, 64_000, 64) == 10_000
    assert wrk_correction_interval_us(10_000_000, 63, 64) == 0  # fewer requests than connections: none


def test_merged_trials_count_every_request_and_keep_the_extremes():
    first = lh.encoded_from_counts([(1000, 90), (5000, 10)])
    second = lh.encoded_from_counts([(2000, 99), (80000, 1)])
    merged = lh.record_spectrum([first, second])
    assert merged["samples"] == 200
    spectrum = dict((p, ms) for p, ms in merged["spectrum"])
    assert spectrum[0.0] == pytest.approx(1.0, rel=0.001)
    assert spectrum[100.0] == pytest.approx(80.0, rel=0.001)
    assert spectrum[50.0] == pytest.approx(2.0, rel=0.001)  # 90 at 1 ms, 99 at 2 ms: the 100th is 2 ms
    assert lh.decode(merged["histogram"]).get_total_count() == 200


def test_no_merge_unless_every_trial_kept_its_histogram():
    assert lh.record_spectrum([lh.encoded_from_counts([(1000, 5)]), None]) is None
    assert lh.record_spectrum([]) is None
    assert lh.encoded_from_counts([]) is None


def test_percentile_levels_are_wrk2s():
    # wrk2 prints 0, 10, ..., 50, 55, ..., 75, 77.5, ... 5 per halving of the distance to 100.
    ticks = lh.percentile_ticks(100000)
    assert ticks[:8] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 55.0, 60.0]
    assert 99.0 < ticks[-1] < 100.0 and (100.0 - ticks[-1]) / 100.0 * 100000 >= 1


def test_a_wrk2_spectrum_gives_a_histogram_of_every_request():
    # Real output of `wrk2 -t2 -c10 -d10s -R 200 --latency URL`, the server stopped for 1 s mid-run.
    text = (WRK2_OUTPUTS / "wrk2_R200_stall_1s.txt").read_text()
    result = parse_wrk2(text, 200)
    # wrk2 records latencies after its calibration: its last spectrum row counts 2000 of the 2002 requests.
    assert sum(count for _, count in result.histogram_us) == 2000 <= result.requests
    merged = lh.record_spectrum([lh.encoded_from_counts(result.histogram_us)] * 2)
    assert merged["samples"] == 4000
    # Each step's samples sit at the top of the step, so the merged tail is wrk2's own at its rows.
    assert dict(map(tuple, merged["spectrum"]))[100.0] == pytest.approx(result.latency.max_ms, rel=0.002)


def trial(p99, histogram):
    return {"rps": 100.0, "rps_all": 100.0, "requests": 10, "errors": {"timeout": 0},
            "latency_ms": {"p99": p99}, "spectrum": [[0.0, p99], [100.0, p99]], "histogram": histogram}


def test_a_record_spectrum_is_merged_from_its_trials_or_is_the_median_trials():
    merged = spectrum_of([trial(1.0, lh.encoded_from_counts([(1000, 10)])),
                          trial(3.0, lh.encoded_from_counts([(3000, 10)]))])
    assert merged["spectrum_source"] == "2 trials merged (20 latencies)"
    assert merged["spectrum"][-1] == [100.0, pytest.approx(3.0, rel=0.001)]
    fallback = summarize([trial(1.0, None), trial(2.0, None), trial(3.0, lh.encoded_from_counts([(3000, 10)]))])
    assert fallback["spectrum_source"] == "median trial" and fallback["histogram"] is None
    assert fallback["spectrum"] == [[0.0, 2.0], [100.0, 2.0]]
