"""Concurrency sweeps on the results side: grouping a run's levels, the knee exactly, the table and the chart."""

from __future__ import annotations

from benchmatrix.results.sweep import KNEE_SHARE, describe_knee, is_sweep_level, newest_sweeps, render_sweep_table
from benchmatrix.results.sweep_chart import render_sweep_chart
from tests.record_factory import flags, make_record, real_records

LEVELS = (1, 2, 4, 8, 16, 32, 64, 128)


def level(connections, rps, p99=10.0, status="ok", run_id="run-a", recorded_at="2026-12-02T10:00:00+00:00",
          server="gunicorn"):
    return make_record(run_id=run_id, recorded_at=recorded_at, python="3.13", server=server,
                       connections=connections, rps=rps, status=status,
                       flags=[] if status == "ok" else flags("timeouts" if status == "flagged" else "load-failed"),
                       latency_ms={"p99": p99}, meta={"sweep": {"levels": list(LEVELS), "level": connections}})


def sweep_of(rates, **changes):
    """One sweep of a scripted curve: rates[i] req/s at LEVELS[i] connections."""
    (sweep,) = newest_sweeps([level(c, rps, **changes) for c, rps in zip(LEVELS, rates)], "json")
    return sweep


# --- the knee, exactly -------------------------------------------------------------------

def test_the_knee_of_a_scripted_curve_is_the_first_level_within_five_percent_of_the_peak():
    # Rises, flattens at 8 (9500 >= 0.95 * 10000), peaks at 32, then sags under queueing.
    sweep = sweep_of([1000.0, 2000.0, 4000.0, 9500.0, 9800.0, 10000.0, 9900.0, 9000.0])
    assert (sweep.peak.connections, sweep.peak.rps) == (32, 10000.0)
    assert (sweep.knee.connections, sweep.knee.rps) == (8, 9500.0)
    assert describe_knee(sweep) == "8 connections (9500 req/s, p99 10.00 ms)"


def test_the_share_is_inclusive_at_exactly_five_percent_below_the_peak():
    assert KNEE_SHARE == 0.05
    just_in = sweep_of([1000.0, 2000.0, 4000.0, 9499.0, 9500.0, 10000.0, 10000.0, 10000.0])
    assert just_in.knee.connections == 16  # 9500 = 0.95 * 10000 counts; 9499 does not
    assert just_in.peak.connections == 32  # equal peaks: the first (fewest connections) is the peak


def test_a_flat_curve_has_its_knee_at_the_first_level():
    sweep = sweep_of([5000.0] * len(LEVELS))
    assert sweep.knee is sweep.levels[0] and sweep.peak is sweep.levels[0]
    assert describe_knee(sweep) == "1 connections (5000 req/s, p99 10.00 ms)"


def test_a_curve_still_rising_at_its_last_level_has_no_knee():
    sweep = sweep_of([100.0 * 2 ** i for i in range(len(LEVELS))])
    assert sweep.knee is sweep.peak is sweep.levels[-1]
    assert describe_knee(sweep) == "not reached: throughput still rising at 128"


def test_flagged_and_failed_levels_count_towards_neither_peak_nor_knee():
    records = [level(1, 1000.0), level(2, 1900.0), level(4, 50000.0, status="flagged"),
               level(8, 2000.0), level(16, 99999.0, status="failed"), level(32, 1950.0)]
    (sweep,) = newest_sweeps(records, "json")
    assert [r.connections for r in sweep.valid] == [1, 2, 8, 32]
    assert sweep.peak.connections == 8 and sweep.knee.connections == 2  # 1900 >= 0.95 * 2000
    table = render_sweep_table("json", [sweep])
    assert "50000 (flagged)" in table and "99999 (failed)" in table and "2 connections (1900 req/s" in table


def test_a_sweep_without_a_clean_level_has_neither():
    (sweep,) = newest_sweeps([level(1, 10.0, status="failed"), level(2, 20.0, status="flagged")], "json")
    assert sweep.peak is None and sweep.knee is None and describe_knee(sweep) == "- (no clean level)"


# --- which records make a sweep ------------------------------------------------------------

def test_only_the_newest_sweep_of_a_cell_and_no_plain_records():
    old = [level(c, 100, 1, run_id="old", recorded_at="2026-12-01T10:00:00+00:00") for c in (16, 32)]
    new = [level(c, 200, 1, run_id="new") for c in (16, 32, 64)]
    plain = make_record(run_id="plain", connections=64, rps=999.0)
    sweeps = newest_sweeps(old + new + [plain], "json")
    assert [[r.run_id for r in s.levels] for s in sweeps] == [["new", "new", "new"]]
    assert not is_sweep_level(plain)
    assert newest_sweeps(new, "plaintext") == []


def test_the_real_sweep_reads_as_one_curve():
    (sweep,) = newest_sweeps(real_records(), "json")
    assert [r.connections for r in sweep.levels] == [16, 32, 64] and {r.schema for r in sweep.levels} == {3}
    assert sweep.knee is not None and sweep.peak.rps >= sweep.knee.rps >= (1 - KNEE_SHARE) * sweep.peak.rps


def test_the_chart_is_drawn_per_scenario_and_deterministic(tmp_path):
    sweeps = newest_sweeps([level(16, 2000, 8), level(32, 2900, 14), level(64, 3000, 30),
                            level(16, 1500, 9, server="uwsgi", run_id="b"),
                            level(32, 1600, 20, server="uwsgi", run_id="b")], "json")
    first = render_sweep_chart(sweeps, "json", tmp_path / "a" / "sweep-json.png")
    second = render_sweep_chart(sweeps, "json", tmp_path / "b" / "sweep-json.png")
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes()
    assert render_sweep_chart([], "json", tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
