"""The latency-target search: parsing a target, judging a probe, and bisecting to the highest rate that holds.

The search's probe is a function of the rate here, so that each branch of the
search is provoked on purpose; the real fixed-rate probes run in tests/load/test_load_plans.py.
"""

from __future__ import annotations

import pytest

from benchmatrix.load.latency_target import latency_at, parse_latency_target
from benchmatrix.run import slo_search
from benchmatrix.run.slo_search import judge, search
from benchmatrix.run.trials import Trial

TARGET = parse_latency_target("p99=50ms")


@pytest.mark.parametrize("text, percentile, limit_ms, name", [
    ("p99=50ms", 99, 50, "p99"), ("p99.9=0.2s", 99.9, 200, "p99.9"), ("p50=1500us", 50, 1.5, "p50"),
    ("max=1s", 100, 1000, "max"), (" p95 = 20ms ", 95, 20, "p95")])
def test_targets_parse(text, percentile, limit_ms, name):
    target = parse_latency_target(text)
    assert (target.percentile, target.limit_ms, target.name) == (percentile, pytest.approx(limit_ms), name)


@pytest.mark.parametrize("text", ["p99", "50ms", "p99=50", "p100=1s", "p0=1s", "p99=0ms", "q99=5ms", "p99=5min"])
def test_malformed_targets_say_what_is_accepted(text):
    with pytest.raises(ValueError, match=r"e\.g\. p99=50ms|above 0"):
        parse_latency_target(text)


def trial(rate, p99, achieved=None, errors=0, spectrum=()):
    achieved = rate if achieved is None else achieved
    return Trial(kind="fixed-rate", rps=achieved, rps_all=achieved, requests=int(achieved),
                 latency_ms={"p99": p99, "max": p99 * 2}, errors={"non2xx": errors, "timeout": 0}, histogram=None,
                 planned_rate=rate, achieved_rate=achieved, spectrum=tuple(spectrum))


def test_any_percentile_comes_from_the_spectrum_never_interpolated_down():
    t = trial(100, 9.0, spectrum=[(0, 1.0), (90, 3.0), (96.875, 5.0), (99, 9.0), (100, 18.0)])
    assert latency_at(t.to_json(), 99) == 9.0  # its own figure
    assert latency_at(t.to_json(), 95) == 5.0  # the first point at or above 95%
    assert latency_at(t.to_json(), 100) == 18.0
    assert latency_at({"latency_ms": {}, "spectrum": []}, 95) is None


def test_a_probe_holds_only_within_target_at_its_rate_without_errors():
    assert judge(trial(1000, 40), 1000, TARGET).holds
    assert not judge(trial(1000, 60), 1000, TARGET).holds
    slow = judge(trial(1000, 40, achieved=940), 1000, TARGET)
    assert not slow.holds and "achieved only 940.0" in slow.why
    failing = judge(trial(1000, 40, errors=3), 1000, TARGET)
    assert not failing.holds and "3 request(s) failed" in failing.why
    assert judge(trial(1000, 40, achieved=951), 1000, TARGET).holds  # within the 5% tolerance


def server_that_holds_up_to(limit, lucky=()):
    """A probe function for a server whose p99 is within target up to `limit` req/s; `lucky` rates pass
    the first time they are probed although they are above it (noise)."""
    seen = []

    def probe(rate, confirmation):
        first_time = rate not in seen
        seen.append(rate)
        p99 = 10.0 if rate <= limit or (first_time and rate in lucky) else 200.0
        return judge(trial(rate, p99), rate, TARGET)
    return probe


def test_the_search_lands_just_below_the_highest_rate_that_holds_and_confirms_it():
    result = search(server_that_holds_up_to(1234), peak=3000, target=TARGET)
    assert result.confirmed
    assert 1234 - 3000 * slo_search.RESOLUTION <= result.rate <= 1234
    assert len(result.probes) <= slo_search.MAX_PROBES
    assert all(0 < p.rate <= 3000 for p in result.probes)
    assert [p.confirmation for p in result.probes].count(True) == 1 and result.probes[-1].rate == result.rate
    assert len(result.held_probes) == 2  # found, then repeated


def test_a_stack_that_holds_its_peak_is_reported_at_the_peak():
    result = search(server_that_holds_up_to(10_000), peak=3000, target=TARGET)
    assert result.rate == 3000 and result.confirmed and len(result.probes) == 2


def test_nothing_holding_gives_zero_after_bisecting_to_the_resolution():
    result = search(server_that_holds_up_to(0), peak=3000, target=TARGET)
    assert result.rate == 0 and not result.confirmed
    assert min(p.rate for p in result.probes) <= 3000 * slo_search.RESOLUTION * 2


def test_a_lucky_pass_refuted_by_its_repeat_sends_the_search_below_it():
    # 1500 passes once by luck (the search's second probe); the truth is 1000. Its repeat fails.
    probe = server_that_holds_up_to(1000, lucky={1500.0})
    result = search(probe, peak=3000, target=TARGET)
    assert result.confirmed and 1000 - 3000 * slo_search.RESOLUTION <= result.rate <= 1000
    assert any(p.rate == 1500 and p.holds for p in result.probes)
    assert any(p.rate == 1500 and p.confirmation and not p.holds for p in result.probes)


def test_running_out_of_probes_reports_an_unconfirmed_rate():
    # Down from 3000 in steps of 300, 1200 holds at the 7th probe; the 8th bisects, none is left to repeat.
    result = search(server_that_holds_up_to(1234), peak=3000, target=TARGET, max_probes=8)
    assert len(result.probes) == 8 and not result.confirmed and 0 < result.rate <= 1234 and result.exhausted


def sync_worker_holding_between(low, high):
    """p99 within target only between `low` and `high` req/s: above, the server saturates; below, each
    idle connection the driver reconnected holds the one sync worker until its next send (p99 ~ c / rate)."""
    def probe(rate, confirmation):
        return judge(trial(rate, 10.0 if low <= rate <= high else 200.0), rate, TARGET)
    return probe


def test_the_highest_rate_is_found_where_latency_also_rises_at_low_rates():
    result = search(sync_worker_holding_between(1300, 2400), peak=2700, target=TARGET)
    assert result.confirmed and 2400 - 2700 * slo_search.RESOLUTION <= result.rate <= 2400
    # Never below the region that holds: a bisection of [0, 2700] would have tried 1350, then 675.
    assert min(p.rate for p in result.probes) >= 1300


def test_the_walk_down_halves_below_a_tenth_of_the_peak_and_stops_at_the_floor():
    rates = slo_search.walk_down(1000.0, below=1000.0)
    assert rates[:9] == [900, 800, 700, 600, 500, 400, 300, 200, 100]
    assert rates[9:] == [50, 25]  # 12.5 is under 1/64 of the peak: below 25 the answer is 0
    assert slo_search.walk_down(1000.0, below=450.0)[0] == 400


def test_noise_that_refutes_every_repeat_exhausts_the_search_and_says_so():
    # Every rate holds the first time and fails its repeat: no answer is confirmed, and the result says
    # the probes ran out (at most a rate that held once, never repeated), not that nothing held.
    def probe(rate, confirmation):
        return judge(trial(rate, 200.0 if confirmation else 10.0), rate, TARGET)
    result = search(probe, peak=3000, target=TARGET)
    assert not result.confirmed and result.exhausted
    assert result.rate == 0 or not any(p.confirmation and p.rate == result.rate for p in result.probes)
    assert len(result.probes) == slo_search.MAX_PROBES


def test_the_search_goes_below_a_rate_that_held_only_after_a_failure_at_or_below_it():
    # Noise: rates pass once by luck around the truth (1000); every held rate above the answer must
    # have been left for a failed probe at or below it, never skipped over.
    for lucky in ({2700.0}, {1500.0, 1350.0}, {1200.0, 1125.0}):
        result = search(server_that_holds_up_to(1000, lucky=lucky), peak=3000, target=TARGET)
        assert result.confirmed and result.rate <= 1000
        for index, probe in enumerate(result.probes):
            if probe.holds and probe.rate > result.rate:
                assert any(not later.holds and later.rate <= probe.rate for later in result.probes[index + 1:])
