"""Writes the site: the index (rankings), the cells page, a page per record and per cell, the
hand-written assets and plotly's bundled plotly.min.js, all linked by relative paths so the
folder opens from the file system, moved or zipped, with no server and no network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from benchmatrix.results.records import Record
from benchmatrix.results.site.cell_page import ChangeFinder, cell_page, change_finder
from benchmatrix.results.site.cells_page import cell_rows, filters
from benchmatrix.results.site.index_page import machine_rankings
from benchmatrix.results.site.model import cells_of, site_records
from benchmatrix.results.site.record_page import record_pages

HERE = Path(__file__).resolve().parent
ASSETS = ("site.js", "site.css")
PAGE_FOLDERS = ("records", "cells")  # the writer owns every .html in them: stale pages are removed


@dataclass(frozen=True)
class SiteWritten:
    index: Path
    records: int
    cells: int
    change_points: int

    def summary(self) -> str:
        return "site written to {} ({} record pages, {} cell pages, {} change point(s))".format(
            self.index, self.records, self.cells, self.change_points)


MISSING = ("the site needs the {} package in the harness environment (configs/requirements/harness.txt); "
           "install it, or pass --no-site")


def environment():
    try:
        import jinja2
    except ImportError as error:
        raise ValueError(MISSING.format("jinja2")) from error
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def plotly_js() -> str:
    """plotly's own copy of plotly.js, as the installed package bundles it (no CDN)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as error:
        raise ValueError(MISSING.format("plotly")) from error
    return get_plotlyjs()


def site_script() -> str:
    """plotly.js, once jinja2 is known to be there too: what a report checks before it writes anything."""
    environment()
    return plotly_js()


def _write(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return  # unchanged pages keep their mtime, so a sync of the site copies only what changed
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class Renderer:
    def __init__(self, site_dir: Path, source: str):
        self.site_dir, self.source, self.env = site_dir, source, environment()
        self.written: List[Path] = []

    def page(self, name: str, template: str, title: str, **values: Any) -> None:
        root = "../" * name.count("/")
        values.setdefault("figures", ())
        html = self.env.get_template(template).render(title=title, root=root, source=self.source, **values)
        _write(self.site_dir / name, html)
        self.written.append(self.site_dir / name)


def _remove_stale(site_dir: Path, written: Sequence[Path]) -> None:
    keep = set(written)
    for folder in PAGE_FOLDERS:
        for old in (site_dir / folder).glob("*.html"):
            if old not in keep:
                old.unlink()


def write_site(records: Sequence[Record], site_dir: Path, results_dir: Optional[Path] = None,
               find_changes: Optional[ChangeFinder] = None, source: str = "results.jsonl",
               plotly_source: Optional[str] = None) -> SiteWritten:
    """Every page of the site into site_dir. results_dir is where the records' raw files are (links
    only to those that exist); find_changes, the change-point detector (default: change_finder());
    plotly_source, plotly.js's text (default: the installed plotly package's)."""
    site_dir = Path(site_dir)
    script = plotly_source if plotly_source is not None else plotly_js()
    finder = find_changes if find_changes is not None else change_finder()
    placed = site_records(records)
    cells = cells_of(placed)
    renderer = Renderer(site_dir, source)
    renderer.page("index.html", "index.html", "benchmatrix results", machines=machine_rankings(placed))
    rows = cell_rows(cells)
    renderer.page("cells.html", "cells.html", "Every cell", rows=rows, filters=filters(rows))
    cell_pages: Dict[int, str] = {}
    changes = 0
    for cell in cells:
        marks = finder([item.record for item in cell.records]) if finder else None
        changes += len(marks or [])
        page = cell_page(cell, marks)
        renderer.page(cell.page, "cell.html", page.title, cell=page, figures=page.figures)
        cell_pages.update({id(item.record): cell.page for item in cell.records})
    for name, page in record_pages(placed, cell_pages, results_dir, site_dir):
        renderer.page(name, "record.html", page.title, record=page, figures=page.figures)
    _write(site_dir / "assets" / "plotly.min.js", script)
    for asset in ASSETS:
        _write(site_dir / "assets" / asset, (HERE / "assets" / asset).read_text(encoding="utf-8"))
    _remove_stale(site_dir, renderer.written)
    return SiteWritten(site_dir / "index.html", len(placed), len(cells), changes)
