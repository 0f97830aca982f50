"""The site in a real browser: Debian's chromium, headless, with no network, loads the index, the
cells page and a record page from disk; no page logs an error or asks for anything but files, the
charts are drawn by the bundled plotly.js, and a filter narrows the visible cells.

Skipped where chromium is absent (tools/setup.sh installs it for the tests). With
BENCHMATRIX_SITE_SCREENSHOTS=docs/site it also writes index.png and record.png there, the
screenshots docs/site.md shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.results.cdp import Browser, find_chromium, is_local
from tests.record_factory import REAL_RESULTS, real_records

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`apt-get install "
                                 "chromium`; `tools/nox -s tests` installs it through tools/setup.sh --tests)")]
# The interleaved run of gunicorn-uvicorn's django against django-async: spectrum, nine trials, raw links.
RECORD_PAGE = "records/20261203T063504Z-py3.13-gunicorn-uvicorn-django-async-6389-1.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("websockets", reason="the browser test drives chromium over CDP with websockets")
    pytest.importorskip("plotly", reason="the site's charts need plotly (configs/requirements/harness.txt)")
    from benchmatrix.results.site import write_site

    site = tmp_path_factory.mktemp("results") / "site"
    write_site(real_records(), site, REAL_RESULTS.parent, find_changes=lambda records: [])
    return site


@pytest.fixture(scope="module")
def browser():
    browser = Browser(CHROMIUM)
    yield browser
    browser.close()


def checked(browser: Browser, page: Path, figures: int):
    tab = browser.open(page.as_uri())
    # Plotly draws each figure into its div; the page is ready once every one holds a plot.
    drawn = tab.evaluate("new Promise(done => { const t0 = Date.now(); (function poll() {"
                         " const n = document.querySelectorAll('.js-plotly-plot .main-svg').length;"
                         " if (n >= FIGURES || Date.now() - t0 > 4000) done(document.querySelectorAll("
                         "'.js-plotly-plot').length); else setTimeout(poll, 20); })(); })"
                         .replace("FIGURES", str(figures)))
    seen = tab.load()
    assert seen.errors == []
    assert [url for url in seen.requests if not is_local(url)] == []
    assert drawn == figures
    shots = os.environ.get("BENCHMATRIX_SITE_SCREENSHOTS")
    if shots and page.name in ("index.html", RECORD_PAGE.split("/")[1]):
        tab.screenshot(Path(shots) / ("index.png" if page.name == "index.html" else "record.png"))
    return tab


def test_the_index_and_a_record_page_load_from_disk_without_errors_or_network(site, browser):
    index = checked(browser, site / "index.html", figures=0)
    assert index.evaluate("document.querySelectorAll('table.ranking tbody tr').length") == 7  # agents 1, json 6
    assert index.evaluate("document.title") == "benchmatrix results · benchmatrix"
    record = checked(browser, site / RECORD_PAGE, figures=2)
    assert record.evaluate("document.querySelector('#reproduce code').textContent").startswith("nox -s interleave")


def test_a_filter_narrows_the_visible_cells(site, browser):
    cells = checked(browser, site / "cells.html", figures=0)
    visible = "document.querySelectorAll('table.cells tbody tr.cell:not([hidden])').length"
    total = cells.evaluate(visible)
    narrowed = cells.evaluate(
        "(() => { const s = document.querySelector('select[data-filter=scenario]'); s.value = 'agents';"
        " s.dispatchEvent(new Event('change')); return " + visible + "; })()")
    assert total == 17 and narrowed == 1
    assert cells.evaluate("document.getElementById('visible-count').textContent") == "1 of 17 cells"
