"""One key for a comparable series: the tables' newest rows, `regressions`' histories and the site's cell pages."""

from __future__ import annotations

from dataclasses import fields

from benchmatrix.results.cell_key import CellKey
from benchmatrix.results.history import cell_history
from benchmatrix.results.records import CELL_KEY_FIELDS
from benchmatrix.results.site.model import cells_of, site_records
from tests.record_factory import make_record
from tests.results.history_series import daily_records


def test_the_key_is_the_machine_and_every_cell_key_field():
    assert tuple(f.name for f in fields(CellKey)) == ("machine",) + CELL_KEY_FIELDS


def test_the_site_groups_a_history_exactly_as_regressions_does():
    def beside(record_id: str, **changes):
        meta = dict(changes.pop("meta", {}), machine={"fingerprint": "m1"})
        return make_record(record_id=record_id, **dict(dict(server="uvicorn", app="raw", python="3.13"), **changes),
                           meta=meta)

    records = daily_records(days=5) + daily_records(days=2, machine="m2") + [
        beside("netns", meta={"hosts": {"label": "netns 1gbit"}}), beside("no-probe", meta={"side_probe": "off"}),
        beside("sliced", meta={"interleaved": {"group": "g", "slice_s": 1.0}}),
        beside("older", meta={"overrides": {"uvicorn": "0.30.6"}}), beside("close", connection_mode="close"),
        beside("target", app="shop:app")]
    series = {tuple(p.record_id for p in points) for points in cell_history(records, "json").values()}
    pages = {tuple(item.record.record_id for item in cell.records) for cell in cells_of(site_records(records))}
    assert series == pages and len(series) == 8


def test_a_run_without_the_side_probe_says_so_in_its_records(tmp_path):
    from tests.fake_driver import FakeDriver, bench, wrk_result

    def record(side_probe: bool):
        b = bench(tmp_path, closed_loop=FakeDriver("wrk", [wrk_result(1000.0)] * 3), side_probe=side_probe)
        assert b.measurement.prepare(b.scenario)
        return b.measurement._trials(b.scenario, b.measurement.plan.closed_loop(b.scenario))

    off, on = record(False), record(True)
    assert off.meta["side_probe"] == "off" and off.side_probe_off
    assert "side_probe" not in on.meta and not on.side_probe_off
