"""The static site's pages, generated from made records into tmp_path (never reports/).

plotly's script is passed in as a stand-in text, so these tests need only jinja2; the
browser test (test_site_browser.py) loads a site with the real plotly.min.js."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import List

import pytest

pytest.importorskip("jinja2", reason="the site's templates need jinja2 (configs/requirements/harness.txt)")

from benchmatrix.results.site import write_site  # noqa: E402
from benchmatrix.results.site.index_page import machine_rankings  # noqa: E402
from benchmatrix.results.site.model import ChangeMark, cells_of, site_records as place  # noqa: E402
from benchmatrix.results.site.reproduce import reproduce_command  # noqa: E402
from tests.record_factory import make_record  # noqa: E402
from tests.results.site_records import interleaved, site_records  # noqa: E402

PLOTLY = "/* plotly stand-in */"


def written(site: Path) -> List[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())


def figures(html: str) -> List[dict]:
    return [json.loads(text) for text in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)]


def test_every_record_and_every_cell_gets_a_page_and_the_assets_come_once(tmp_path):
    result = write_site(site_records(), tmp_path / "site", find_changes=lambda records: [], plotly_source=PLOTLY)
    pages = written(tmp_path / "site")
    assert [p for p in pages if not p.startswith("cells/")] == [
        "assets/plotly.min.js", "assets/site.css", "assets/site.js", "cells.html", "index.html",
        "records/run1-1.html", "records/run1-2.html", "records/run2-1.html", "records/run3-1.html",
        "records/run4-1.html"]
    # Five cells: machine B's uvicorn is not machine A's, though its stack and scenario are the same.
    cell_pages = [p for p in pages if p.startswith("cells/")]
    assert len(cell_pages) == 5 and sum(p.startswith("cells/uvicorn-flask-py3.12-json-") for p in cell_pages) == 2
    assert (result.records, result.cells, result.change_points) == (5, 5, 0)
    assert (tmp_path / "site" / "assets" / "plotly.min.js").read_text() == PLOTLY
    html = (tmp_path / "site" / "records" / "run1-1.html").read_text()
    assert '<script src="../assets/plotly.min.js"></script>' in html and "http://" not in html
    assert "https://" not in html and "cdn" not in html.lower()


def test_the_index_ranks_the_interleaved_run_and_sets_the_row_measured_apart_aside(tmp_path):
    blocks = machine_rankings(place(site_records()))
    assert [b.machine for b in blocks] == ["bbbb (Intel Xeon, 8 CPUs, host big)", "aaaa (AMD EPYC, 2 CPUs, host vm)"]
    json_a = next(s for s in blocks[1].scenarios if s.scenario == "json")
    assert [(r.rank, r.cell, r.rps, r.ratio, r.interval, r.p_value, r.cpu_ratio, r.smallest_visible, r.trials,
             r.status) for r in json_a.rows] == [
        (1, "uvicorn · flask · py3.12", "1005", "fastest", "-", "-", "-", "-", 5, "ok"),
        (2, "gunicorn · flask · py3.12", "502", "0.50x", "0.50-0.50", "0.00794", "-", "-", 5, "ok")]
    assert json_a.heading == "one interleaved run, 2026-12-01 10:01 UTC, 10 s trials, 64 connections"
    assert [(r.cell, r.rps, r.page) for r in json_a.apart] == [("uwsgi · flask · py3.12", "700", "records/run2-1.html")]
    assert json_a.apart_note == "the only row: nothing to rank it against"
    db_sleep = next(s for s in blocks[1].scenarios if s.scenario == "db_sleep")
    assert db_sleep.rows == () and [r.status for r in db_sleep.apart] == ["failed (load-failed)"]
    # Machine B's row is never ranked with machine A's.
    assert [(s.scenario, s.rows, [r.cell for r in s.apart]) for s in blocks[0].scenarios] == [
        ("json", (), ["uvicorn · flask · py3.12"])]
    write_site(site_records(), tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    index = (tmp_path / "index.html").read_text()
    assert index.count('<table class="ranking">') == 1 and "<td class=\"num\">0.50-0.50</td>" in index
    assert '<a href="records/run1-2.html">gunicorn · flask · py3.12</a>' in index
    assert "Measured apart, not ranked: the only row" in index


def test_a_sliced_ranking_shows_the_markdown_rankings_figures_and_sets_a_with_run_apart(tmp_path):
    from benchmatrix.results.ranking import render_ranking
    from tests.results.test_ranking_sliced import sliced

    base = sliced("uwsgi", [1000.0] * 6, [0.5] * 6)
    wide = sliced("gunicorn", [900.0, 1000.0, 1100.0, 1100.0, 1000.0, 1000.0], [0.5] * 6)
    older = make_record(server="uwsgi", rps=800.0, record_id="w/1", meta={"overrides": {"uwsgi": "2.0.20"}})
    placed = place([base, wide, older])
    json_ranking = machine_rankings(placed)[0].scenarios[0]
    assert json_ranking.heading.endswith(", 10 s ABBA slices, 64 connections")
    markdown = render_ranking("json", [base, wide])
    gunicorn = json_ranking.rows[1]
    assert (gunicorn.cpu_ratio, gunicorn.smallest_visible) == ("1.00x (1.00-1.00)", "below 26.1% unseen")
    [markdown_row] = [line for line in markdown.splitlines() if "gunicorn · flask" in line]
    assert [cell.strip() for cell in markdown_row.split("|")][6:8] == [gunicorn.cpu_ratio, gunicorn.smallest_visible]
    # The cell run on another uwsgi release is not the ranked uwsgi: its row stays among those measured apart.
    assert [r.cell for r in json_ranking.apart] == ["uwsgi · flask · py3.12 · uwsgi==2.0.20"]
    write_site([base, wide, older], tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    index = (tmp_path / "index.html").read_text()
    assert "<th>CPU/request vs fastest</th><th>smallest visible difference</th>" in index
    assert "<td>below 26.1% unseen</td>" in index


def test_the_cells_page_carries_every_filter_value_and_offers_each_choice(tmp_path):
    write_site(site_records(), tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    html = (tmp_path / "cells.html").read_text()
    rows = re.findall(r'<tr class="cell"([^>]*)>', html)
    assert len(rows) == 5
    assert rows[0] == (' data-python="3.12" data-server="gunicorn" data-app="flask" data-topology="direct"'
                       ' data-scenario="db_sleep" data-status="failed" data-machine="aaaa (AMD EPYC, 2 CPUs, host vm)"')
    for name in ("python", "server", "app", "topology", "scenario", "status", "machine"):
        assert '<select data-filter="{}">'.format(name) in html
    assert '<option value="failed">failed</option>' in html and "5 of 5 cells" in html
    assert html.count('">history</a></td></tr>') == 5


def test_everything_from_a_record_is_escaped_in_html_and_in_the_embedded_figures(tmp_path):
    hostile = make_record(app="<script>alert(1)</script>", record_id="x/1",
                          flags=[{"code": "odd", "reason": "<b>bold</b> & more", "hint": "\"quote\""}],
                          meta={"load_command": ["wrk", "</script><script>alert(2)"],
                                "packages": {"evil": "</script><img src=x>"}},
                          trials=[{"round": 1, "rps": 1.0}, {"round": 2, "rps": 2.0}],
                          spectrum=[[50.0, 1.0], [100.0, 2.0]])
    write_site([hostile], tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    assert written(tmp_path)[-1] == "records/x-1.html"
    record_html = (tmp_path / "records" / "x-1.html").read_text()
    assert "<script>alert" not in record_html and "<b>bold" not in record_html and "<img" not in record_html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in record_html and "&#34;quote&#34;" in record_html
    cell_page = next((tmp_path / "cells").glob("*.html"))
    assert cell_page.name.startswith("gunicorn-_script_alert_1_script_-py3.12-json-")
    cell_html = cell_page.read_text()
    assert "</script><img" not in cell_html and "<img" not in cell_html
    # The embedded JSON keeps the text (the browser shows it as text) while no "<" closes the script.
    assert figures(cell_html)[0]["data"][0]["text"] == ["no commit recorded · evil </script><img src=x>"]


def test_a_cell_page_draws_its_history_and_marks_the_change_points_it_is_given(tmp_path):
    records = [make_record(run_id="h{}".format(day), record_id="h{}/1".format(day), rps=rps,
                           recorded_at="2026-11-{:02d}T08:00:00+00:00".format(day),
                           meta={"git": {"sha": "c{}".format(day)}, "packages": {"uvicorn": version}})
               for day, rps, version in ((1, 1000.0, "0.30"), (2, 1010.0, "0.30"), (3, 850.0, "0.31"),
                                         (4, 845.0, "0.31"))]
    mark = ChangeMark(datetime(2026, 11, 3, 8, tzinfo=timezone.utc), "h3/1", 1005.0, 847.5, 0.843, 0.001)
    result = write_site(records, tmp_path, find_changes=lambda given: [mark] if len(given) == 4 else [],
                        plotly_source=PLOTLY)
    assert result.change_points == 1
    html = next((tmp_path / "cells").glob("*.html")).read_text()
    figure = figures(html)[0]
    assert figure["data"][0]["y"] == [1000.0, 1010.0, 850.0, 845.0]
    assert [(s["x0"], s["x1"]) for s in figure["layout"]["shapes"]] == [("2026-11-03T08:00:00+00:00",) * 2]
    assert figure["layout"]["annotations"][0]["text"] == "-15.7% (p=0.001)"
    assert "1 change point(s)" in html and '<tr class="change">' in html and "uvicorn 0.30 → 0.31" in html
    assert html.index("2026-11-04 08:00") < html.index("2026-11-01 08:00")  # newest first
    assert '<a href="../records/h3-1.html">2026-11-03 08:00</a>' in html


def test_without_a_change_point_detector_the_cell_page_says_so(tmp_path):
    from benchmatrix.results.site import cell_page as module

    page = module.cell_page(cells_of(place(site_records()))[0], None)
    assert page.change_note == "Change points are not computed: the change-point module is not installed"
    assert page.marks == () and page.figures[0][1]["layout"]["shapes"] == []


def test_a_record_page_links_only_the_raw_files_that_exist_and_says_how_to_measure_it_again(tmp_path):
    results = tmp_path / "results"
    (results / "raw" / "run1").mkdir(parents=True)
    (results / "raw" / "run1" / "json.trial2.txt").write_text("wrk output")
    write_site(site_records(), results / "site", results, find_changes=lambda records: [], plotly_source=PLOTLY)
    html = (results / "site" / "records" / "run1-2.html").read_text()
    assert '<a href="../../raw/run1">raw/run1</a>' in html
    assert '<a href="../../raw/run1/json.trial2.txt">output</a>' in html
    assert "raw/run1/json.trial1.txt (not on this disk)" in html
    assert ("nox -s interleave -- uvicorn/flask gunicorn/flask -- --scenarios json --duration 10s --min-trials 5 "
            "--connections 64 --threads 2 --workers 2") in html
    assert "load is &lt;high&gt;: wait &amp; retry" in html
    assert [f["layout"]["title"]["text"] for f in figures(html)] == ["Latency spectrum (5 trials merged)", "Trials"]
    spectrum = figures(html)[0]["data"][0]
    assert spectrum["x"] == pytest.approx([1.0, 2.0, 10.0, 100.0, 1000.0]) and spectrum["text"][-1] == "max"


def test_the_reproduce_command_of_a_single_run_names_its_session_and_options():
    record = make_record(python="3.13", server="gunicorn+nginx", mode="fixed-rate", planned_rate=2000.0,
                         connection_mode="close", trials=[{"rps": 1.0}] * 3, meta={"overrides": {"uvicorn": "0.30.6"}})
    assert reproduce_command(record) == (
        "nox -s 'bench-3.13(server='\"'\"'gunicorn+nginx'\"'\"', app='\"'\"'flask'\"'\"')' -- --scenarios json "
        "--duration 10s --trials 3 --connections 64 --threads 2 --workers 2 --rate 2000 --connection-mode close "
        "--with uvicorn==0.30.6")


def test_a_second_write_changes_nothing_and_pages_of_records_gone_are_removed(tmp_path):
    write_site(site_records(), tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    write_site(site_records(), tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    write_site([interleaved("uvicorn", 1.0, 1)], tmp_path, find_changes=lambda records: [], plotly_source=PLOTLY)
    assert [p for p in written(tmp_path) if p.startswith("records/")] == ["records/run1-1.html"]
    assert len(list((tmp_path / "cells").glob("*.html"))) == 1


@pytest.fixture
def checkout(tmp_path) -> Path:
    from benchmatrix.results.report import RANKING_END, RANKING_START
    from tests.record_factory import REAL_RESULTS

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.jsonl").write_text(REAL_RESULTS.read_text())
    (tmp_path / "README.md").write_text("# R\n\n{}\n{}\n".format(RANKING_START, RANKING_END))
    return tmp_path


def report(checkout: Path, *more: str) -> int:
    from benchmatrix.__main__ import main

    return main(["report", "--results-dir", str(checkout / "reports"), "--readme", str(checkout / "README.md"),
                 "--no-charts", *more])


def test_the_report_command_writes_the_site_beside_the_tables(checkout, capsys):
    pytest.importorskip("plotly", reason="the site's charts need plotly (configs/requirements/harness.txt)")
    assert report(checkout) == 0
    out = capsys.readouterr().out
    # The change points' count is left out: it depends on whether the detector is installed.
    assert out.splitlines()[-1].startswith("benchmatrix: site written to {} (25 record pages, 17 cell pages, "
                                           .format(checkout / "reports" / "site" / "index.html"))
    assert (checkout / "reports" / "site" / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert "from results.jsonl" in (checkout / "reports" / "site" / "index.html").read_text()
    assert report(checkout, "--site-dir", str(checkout / "elsewhere")) == 0
    assert (checkout / "elsewhere" / "cells.html").is_file()


def test_without_plotly_the_report_says_what_to_do_before_writing_anything(checkout, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly.offline", None)  # import fails as if plotly were absent
    before = (checkout / "README.md").read_text()
    assert report(checkout) == 2
    assert capsys.readouterr().err == (
        "benchmatrix: error: the site needs the plotly package in the harness environment "
        "(configs/requirements/harness.txt); install it, or pass --no-site\n")
    assert (checkout / "README.md").read_text() == before and not (checkout / "reports" / "site").exists()
    assert report(checkout, "--no-site") == 0 and not (checkout / "reports" / "site").exists()
