"""The latency-target search run on a scripted fixed-rate driver: the exact rates it probes, in order, and the
exact answer it records, under a latency curve that is not monotonic in the rate."""

from __future__ import annotations

from benchmatrix.load.latency_target import parse_latency_target
from benchmatrix.run.slo_run import LatencyTargetSearch

from tests.fake_driver import FakeDriver, bench, fixed_rate_result

TARGET = parse_latency_target("p99=50ms")


def sync_worker_curve(low, high):
    """p99 of a sync worker behind closing connections: saturated (200 ms) above `high`; below `low`, each
    idle reconnected connection holds the worker until its next send, so p99 grows as 64 connections / rate;
    10 ms between."""
    def p99_at(rate):
        if rate > high:
            return 200.0
        if rate < low:
            return 64000.0 / rate
        return 10.0
    return p99_at


def search(tmp_path, p99_at, peak, **options):
    driver = FakeDriver("wrk-fixed-rate", lambda request: fixed_rate_result(
        request.planned_rate, p99_ms=p99_at(request.planned_rate)))
    b = bench(tmp_path, fixed_rate=driver, slo=TARGET, trials=1, **options)
    assert b.measurement.prepare(b.scenario)
    record = LatencyTargetSearch(b.measurement, b.scenario).record(peak)
    return record, [request.planned_rate for request in driver.requests], b.lines


def test_the_walk_down_from_the_peak_then_bisection_then_the_repeat(tmp_path):
    record, probed, _ = search(tmp_path, sync_worker_curve(1300, 2400), peak=2700.0)
    # 2700 and 90% of it fail (saturated); 80% holds; bisect 2160..2430 to within 2.5% of the peak; repeat.
    assert probed == [2700.0, 2430.0, 2160.0, 2295.0, 2362.0, 2396.0, 2396.0]
    slo = record.meta["slo"]
    assert (slo["rate"], slo["confirmed"], slo["exhausted"]) == (2396.0, True, False)
    assert slo["summary"] == "holds 2,396 req/s at p99 <= 50 ms (89% of the closed-loop peak)"
    assert [(p["rate"], p["holds"], p["why"]) for p in slo["probes"]] == [
        (2700.0, False, "p99 200.0 ms"), (2430.0, False, "p99 200.0 ms"), (2160.0, True, "p99 10.0 ms"),
        (2295.0, True, "p99 10.0 ms"), (2362.0, True, "p99 10.0 ms"), (2396.0, True, "p99 10.0 ms"),
        (2396.0, True, "p99 10.0 ms")]
    assert record.mode == "slo-search" and record.status == "ok"
    assert [t["probe"] for t in record.trials] == [{"number": 6, "confirmation": False},
                                                   {"number": 7, "confirmation": True}]


def test_a_narrow_band_low_on_the_curve_is_found_from_above_not_skipped(tmp_path):
    # Holds only between 1300 and 1400 req/s: above, saturation; below, idle reconnects (64 ms at 1000 req/s).
    record, probed, _ = search(tmp_path, sync_worker_curve(1300, 1400), peak=2700.0)
    assert probed == [2700.0, 2430.0, 2160.0, 1890.0, 1620.0, 1350.0, 1485.0, 1418.0, 1384.0, 1384.0]
    assert (record.meta["slo"]["rate"], record.meta["slo"]["confirmed"]) == (1384.0, True)


def test_a_curve_that_never_holds_walks_to_the_floor_and_answers_zero(tmp_path):
    record, probed, _ = search(tmp_path, lambda rate: 200.0, peak=1000.0)
    assert probed == [1000.0, 900.0, 800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0, 50.0, 25.0]
    slo = record.meta["slo"]
    assert (slo["rate"], slo["confirmed"], slo["exhausted"]) == (0.0, False, False)
    assert slo["summary"] == "no rate down to 25 req/s kept p99 <= 50 ms"
    assert record.trials == []
