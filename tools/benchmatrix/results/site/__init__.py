"""The static results site `nox -s report` writes beside the README tables (docs/site.md).

Every page is computed from the records alone and opens from the file system: its
scripts and styles are files of this package (assets/) and plotly's own bundled
plotly.min.js, written once into the site; nothing is fetched from a network.

  model.py       which cell a record belongs to, the page each record and cell gets
  charts.py      the plotly figures (latency spectrum, trials, history), as data
  index_page.py  the ranking per scenario of the newest interleaved runs
  cells_page.py  every cell, with what the client-side filter selects on
  record_page.py one record: conditions, flags, spectrum, trials, resources, machine, reproduce
  cell_page.py   one cell's history, change points marked
  writer.py      renders the templates and writes the files
"""

from __future__ import annotations

from benchmatrix.results.site.writer import SiteWritten, write_site

__all__ = ["SiteWritten", "write_site"]
