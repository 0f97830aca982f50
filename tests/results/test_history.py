"""A cell's history: series never mix cells, overrides or machines; Otava finds the 15% step at its day."""

from __future__ import annotations

from datetime import datetime, timezone

from benchmatrix.results.change_points import find_change_points
from benchmatrix.results.history import HistoryPoint, SeriesKey, cell_history
from tests.record_factory import make_record
from tests.results.history_series import DROP_DAY, START, daily_records


def test_a_series_per_cell_override_and_machine_in_time_order():
    records = daily_records(days=3, machine="m1") + daily_records(days=2, machine="m2")
    with_older = make_record(recorded_at="2026-10-02T09:00:00+00:00", server="uvicorn", app="raw", python="3.13",
                             rps=4000.0, record_id="older", meta={"machine": {"fingerprint": "m1"},
                                                                  "overrides": {"uvicorn": "0.30.6"}})
    history = cell_history(list(reversed(records)) + [with_older], "json")
    keys = sorted(history, key=lambda k: (k.machine, k.override_label))
    assert [(k.machine, k.override_label, len(history[k])) for k in keys] == [
        ("m1", "", 3), ("m1", "uvicorn==0.30.6", 1), ("m2", "", 2)]
    pinned = history[keys[0]]
    assert [p.record_id for p in pinned] == ["uvicorn-raw-00", "uvicorn-raw-01", "uvicorn-raw-02"]
    assert pinned[0] == HistoryPoint(when=START, value=pinned[0].value, record_id="uvicorn-raw-00",
                                     commit="c" + "0" * 39, versions={"uvicorn": "0.40.0"})
    assert keys[1].label == "uvicorn · raw · py3.13 · uvicorn==0.30.6 · json, 64 conn"


def test_failed_fixed_rate_and_other_scenarios_stay_out():
    records = [make_record(record_id="ok"), make_record(record_id="failed", status="failed", rps=None),
               make_record(record_id="fixed", mode="fixed-rate"), make_record(record_id="db", scenario="db")]
    history = cell_history(records, "json")
    assert [p.record_id for points in history.values() for p in points] == ["ok"]
    key = next(iter(history))
    assert isinstance(key, SeriesKey) and key.machine.startswith("unfingerprinted")


def test_latency_history_follows_the_percentile():
    history = cell_history(daily_records(days=2), "json", metric="p99")
    assert [p.value for p in next(iter(history.values()))] == [
        r.latency_ms.get("p99") for r in daily_records(days=2)]


def test_a_15_percent_drop_is_one_change_point_at_its_day():
    points = next(iter(cell_history(daily_records(drop=0.15), "json").values()))
    changes = find_change_points(points)
    assert len(changes) == 1
    change = changes[0]
    assert change.when == points[DROP_DAY].when == datetime(2026, 10, 13, 8, 0, tzinfo=timezone.utc)
    assert change.record_id == "uvicorn-raw-12"
    assert 0.83 < change.ratio < 0.87 and change.pvalue < 1e-9
    assert change.after / change.before == change.ratio


def test_noise_alone_has_no_change_point():
    for seed in range(5):
        points = next(iter(cell_history(daily_records(seed=seed), "json").values()))
        assert find_change_points(points) == []


def test_too_short_a_history_has_none():
    points = next(iter(cell_history(daily_records(days=3, drop=0.5), "json").values()))
    assert find_change_points(points) == []


def test_hosts_side_probe_and_sliced_trials_are_series_of_their_own():
    # Each differs from the cell's usual records in what it measures; a step between them is not a change.
    usual = daily_records(days=4)
    def beside(record_id: str, **meta):
        return make_record(record_id=record_id, server="uvicorn", app="raw", python="3.13",
                           meta=dict(meta, machine={"fingerprint": "m1"}))

    apart = [beside("netns", hosts={"label": "netns 1gbit"}), beside("no-probe", side_probe="off"),
             beside("sliced", interleaved={"group": "g", "slice_s": 1.0})]
    history = cell_history(usual + apart, "json")
    labels = sorted((k.label, [p.record_id for p in points]) for k, points in history.items())
    assert labels == [
        ("uvicorn · raw · py3.13 · json, 64 conn", ["uvicorn-raw-0{}".format(day) for day in range(4)]),
        ("uvicorn · raw · py3.13 · json, 64 conn, ABBA slices", ["sliced"]),
        ("uvicorn · raw · py3.13 · json, 64 conn, netns 1gbit", ["netns"]),
        ("uvicorn · raw · py3.13 · json, 64 conn, side probe off", ["no-probe"])]


def test_an_app_target_is_a_series_of_its_own():
    # --app-target records name the target as their app (run/cell_run.py), so the key tells them apart.
    records = daily_records(days=2) + daily_records(days=2, app="shop:create_app()")
    assert sorted(k.app for k in cell_history(records, "json")) == ["raw", "shop:create_app()"]
