"""Charts from hand-made records: PNG files, byte-identical when drawn again, latency only at fixed rates."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("matplotlib")

from benchmatrix.results.chart_selection import (bar_order, chart_file_name, closed_loop_spectra,  # noqa: E402
                                                 newest_per_chart_cell, percentile_x, rps_range, spectrum_points,
                                                 value_label)
from benchmatrix.results.chart_selection import closed_loop_records as chart_closed_loop  # noqa: E402
from benchmatrix.results.charts import (render_all, render_latency_chart, render_percentiles_chart,  # noqa: E402
                                        render_rps_chart)
from benchmatrix.results.records import Record  # noqa: E402
from tests.record_factory import flags, real_records  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUTS = flags("timeouts")
LOAD_FAILED = flags("load-failed")


def trial(rps):
    return {"rps": rps, "rps_all": rps, "requests": int(rps * 10), "errors": {"timeout": 0},
            "latency_ms": {"avg": 5.0, "p50": 5.0, "p75": 6.0, "p90": 7.0, "p99": 9.0, "max": 20.0},
            "resources": {"server_cpu_s": 9.0, "server_peak_rss_mb": 80.0, "load_generator_cpu_s": 4.0}}


def record(server="uwsgi", app="flask", python="3.13", scenario="json", rps=1000.0, trials=(),
           status="ok", flags=(), recorded_at="2026-11-21T08:00:00+00:00", **extra):
    made = {"run_id": "run-" + server, "recorded_at": recorded_at, "python": python, "app": app,
            "server": server, "scenario": scenario, "mode": "closed-loop", "connections": 64,
            "threads": 2, "duration_s": 10.0, "workers": 2, "rps": rps, "rps_all": rps,
            "requests": 10000, "latency_ms": {"p50": 5.0, "p99": 9.0}, "errors": {}, "status": status,
            "flags": list(flags), "meta": {}, "raw_output": None, "schema": 2,
            "trials": [trial(v) for v in trials], "spread": {}, "resources": {}}
    if trials:
        made["spread"] = {"rps": {"median": rps, "min": min(trials), "max": max(trials), "cv": 0.01}}
    made.update(extra)
    return Record.from_json(made)


def spectrum(scale):
    return [[p, round(scale * (1 + p / 20.0) ** 2, 3)] for p in
            (0.0, 10.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0)]


def fixed_rate(server, planned_rate, scale, **extra):
    return record(server=server, mode="fixed-rate", rps=planned_rate * 0.99, planned_rate=planned_rate,
                  achieved_rate=planned_rate * 0.99, spectrum=spectrum(scale), connections=8, **extra)


def closed_loop_records():
    return [record("uwsgi", rps=9000.0, trials=(8800.0, 9000.0, 9300.0)),
            record("gunicorn", rps=5000.0, trials=(4900.0, 5000.0, 5200.0)),
            record("gunicorn", rps=4000.0, recorded_at="2026-11-20T08:00:00+00:00"),  # older: hidden
            record("gunicorn-gevent", rps=8000.0, status="flagged", flags=TIMEOUTS),
            record("gunicorn-eventlet", rps=None, status="failed", flags=LOAD_FAILED),
            record("uwsgi", scenario="plaintext", rps=11000.0)]


def all_records():
    return closed_loop_records() + [fixed_rate("uwsgi", 500.0, 2.0), fixed_rate("uwsgi", 2000.0, 3.0),
                                    fixed_rate("gunicorn", 500.0, 4.0)]


def test_newest_per_chart_cell_keeps_one_record_per_cell_and_rate():
    chosen = newest_per_chart_cell(all_records())
    gunicorn_json = [r for r in chosen if r.server == "gunicorn" and r.scenario == "json" and r.is_closed_loop]
    assert [r.rps for r in gunicorn_json] == [5000.0]
    rates = sorted(r.planned_rate for r in chosen if r.server == "uwsgi" and r.is_fixed_rate)
    assert rates == [500.0, 2000.0]


def test_bars_go_fastest_first_with_failed_cells_last():
    order = [r.server for r in bar_order(newest_per_chart_cell(closed_loop_records()[:5]))]
    assert order == ["uwsgi", "gunicorn-gevent", "gunicorn", "gunicorn-eventlet"]


def test_labels_say_flagged_and_failed_and_whiskers_span_the_trials():
    flagged, failed = closed_loop_records()[3], closed_loop_records()[4]
    assert value_label(flagged) == "8,000 (flagged: timeouts)"
    assert value_label(failed) == "failed (load-failed)"
    assert rps_range(closed_loop_records()[0]) == (8800.0, 9300.0)
    assert rps_range(closed_loop_records()[2]) is None  # one run: nothing to span


def test_percentile_axis_matches_hdrhistogram_and_drops_the_infinite_100_percent():
    assert percentile_x(50.0) == pytest.approx(2.0)
    assert percentile_x(99.9) == pytest.approx(1000.0)
    xs, ys = spectrum_points([[0.0, 1.0], [90.0, 2.0], [100.0, 9.0]])
    assert xs == pytest.approx([1.0, 10.0]) and ys == [1.0, 2.0]


def test_rps_chart_is_a_png_and_identical_when_drawn_again(tmp_path):
    first = render_rps_chart(all_records(), "json", tmp_path / "a" / "rps-json.png")
    second = render_rps_chart(all_records(), "json", tmp_path / "b" / "rps-json.png")
    assert first.read_bytes().startswith(PNG_SIGNATURE)
    assert first.read_bytes() == second.read_bytes()


def test_rps_chart_does_not_depend_on_the_order_of_the_records(tmp_path):
    records = all_records()
    forward = render_rps_chart(records, "json", tmp_path / "forward.png")
    backward = render_rps_chart(list(reversed(records)), "json", tmp_path / "backward.png")
    assert forward.read_bytes() == backward.read_bytes()


def test_rps_chart_without_closed_loop_records_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no closed-loop records"):
        render_rps_chart(all_records(), "no-such-scenario", tmp_path / "x.png")


def test_latency_chart_is_none_without_fixed_rate_records(tmp_path):
    path = tmp_path / "latency-json.png"
    assert render_latency_chart(closed_loop_records(), "json", path) is None
    assert not path.exists()


def test_latency_chart_is_drawn_from_fixed_rate_records(tmp_path):
    first = render_latency_chart(all_records(), "json", tmp_path / "a.png")
    second = render_latency_chart(copy.deepcopy(all_records()), "json", tmp_path / "b.png")
    assert first == tmp_path / "a.png"
    assert first.read_bytes().startswith(PNG_SIGNATURE)
    assert first.read_bytes() == second.read_bytes()


def test_render_all_names_one_chart_per_scenario_and_regenerates_identically(tmp_path):
    first = render_all(all_records(), tmp_path / "one")
    second = render_all(all_records(), tmp_path / "two")
    assert [p.name for p in first] == ["rps-json.png", "latency-json.png", "rps-plaintext.png"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_percentile_chart_draws_closed_loop_spectra_of_cells_not_sweep_levels_or_searches(tmp_path):
    records = [record("uwsgi", spectrum=spectrum(1.0)),
               record("gunicorn", spectrum=spectrum(2.0)),
               record("gunicorn", connections=16, spectrum=spectrum(1.5), meta={"sweep": {"level": 16}}),
               record("gunicorn-gevent", spectrum=[]),  # a wrk without the histogram: nothing to draw
               record("meinheld", mode="slo-search", spectrum=spectrum(3.0))]
    assert [r.server for r in chart_closed_loop(records, "json")] == ["uwsgi", "gunicorn", "gunicorn",
                                                                      "gunicorn-gevent"]
    assert sorted(r.server for r in closed_loop_spectra(records, "json")) == ["gunicorn", "uwsgi"]
    first = render_percentiles_chart(records, "json", tmp_path / "a.png")
    assert first.read_bytes().startswith(PNG_SIGNATURE)
    again = render_percentiles_chart(list(reversed(records)), "json", tmp_path / "b.png")
    assert first.read_bytes() == again.read_bytes()
    assert render_percentiles_chart(records[3:], "json", tmp_path / "c.png") is None
    names = [p.name for p in render_all(records, tmp_path / "all")]
    assert names == ["rps-json.png", "percentiles-json.png"]


def test_file_names_keep_odd_scenario_names_harmless():
    assert chart_file_name("rps", "json") == "rps-json.png"
    assert chart_file_name("rps", "a b/c") == "rps-a-b-c.png"


def test_the_real_records_of_every_schema_choose_their_charts():
    records = real_records()
    bars = [r.server for r in bar_order(chart_closed_loop(records, "json"))]
    # Flagged and failed cells keep their row; the sweep's levels are bars of their own connection counts.
    assert bars[0] == "aiohttp" and len(bars) == len(set((r.server, r.app, r.python, r.connections)
                                                         for r in chart_closed_loop(records, "json")))
    assert [value_label(r) for r in chart_closed_loop(records, "db_sleep")] == ["failed (load-failed)"]
    curves = closed_loop_spectra(records, "json")
    assert curves and all(r.schema == 3 and not r.is_sweep_level for r in curves)
