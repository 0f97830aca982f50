"""Concurrency sweeps on the results side: grouping a run's levels, the knee, the table and the chart."""

from __future__ import annotations

from benchmatrix.results.sweep import is_sweep_level, newest_sweeps, render_sweep_table
from benchmatrix.results.sweep_chart import render_sweep_chart


def level(connections, rps, p99, status="ok", run_id="run-a", recorded_at="2026-12-02T10:00:00+00:00",
          server="gunicorn"):
    return {"run_id": run_id, "recorded_at": recorded_at, "python": "3.13", "app": "flask", "server": server,
            "scenario": "json", "mode": "closed-loop", "connections": connections, "rps": rps, "status": status,
            "latency_ms": {"p99": p99}, "meta": {"sweep": {"levels": [16, 32, 64], "level": connections}}}


def test_the_knee_is_the_lowest_level_within_five_percent_of_the_peak():
    (sweep,) = newest_sweeps([level(16, 2000, 8), level(32, 2900, 14), level(64, 3000, 30)], "json")
    assert sweep.peak["connections"] == 64
    assert sweep.knee["connections"] == 32  # 2900 >= 0.95 * 3000


def test_flagged_and_failed_levels_count_towards_neither_peak_nor_knee():
    (sweep,) = newest_sweeps([level(16, 2000, 8), level(32, 4000, 14, status="flagged"),
                              level(64, 2100, 30)], "json")
    assert sweep.peak["connections"] == 64 and sweep.knee["connections"] == 16
    table = render_sweep_table("json", [sweep])
    assert "4000 (flagged)" in table and "16 connections (2000 req/s" in table


def test_a_sweep_still_rising_says_the_knee_was_not_reached():
    (sweep,) = newest_sweeps([level(16, 1000, 8), level(32, 2000, 14), level(64, 3000, 30)], "json")
    assert "not reached: throughput still rising at 64" in render_sweep_table("json", [sweep])


def test_only_the_newest_sweep_of_a_cell_and_no_plain_records():
    old = [level(c, 100, 1, run_id="old", recorded_at="2026-12-01T10:00:00+00:00") for c in (16, 32)]
    new = [level(c, 200, 1, run_id="new") for c in (16, 32, 64)]
    plain = dict(level(64, 999, 1, run_id="plain"), meta={})
    sweeps = newest_sweeps(old + new + [plain], "json")
    assert [[r["run_id"] for r in s.levels] for s in sweeps] == [["new", "new", "new"]]
    assert not is_sweep_level(plain)
    assert newest_sweeps(new, "plaintext") == []


def test_the_chart_is_drawn_per_scenario_and_deterministic(tmp_path):
    sweeps = newest_sweeps([level(16, 2000, 8), level(32, 2900, 14), level(64, 3000, 30),
                            level(16, 1500, 9, server="uwsgi", run_id="b"), level(32, 1600, 20, server="uwsgi",
                                                                                  run_id="b")], "json")
    first = render_sweep_chart(sweeps, "json", tmp_path / "a" / "sweep-json.png")
    second = render_sweep_chart(sweeps, "json", tmp_path / "b" / "sweep-json.png")
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes()
    assert render_sweep_chart([], "json", tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
