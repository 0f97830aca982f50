"""The site's charts as plotly figures: plain {data, layout} dicts the page embeds as JSON and
assets/site.js hands to Plotly.newPlot. Built as data, so a test reads exactly what is drawn."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from benchmatrix.results.records import Record
from benchmatrix.results.site.model import ChangeMark

Figure = Dict[str, Any]

# The latency spectrum's x axis is HdrHistogram's: 1 / (1 - percentile), on a log scale, so each
# further "nine" of the tail gets as much room as the first 90% of requests.
NINES = ((1.0, "0%"), (10.0, "90%"), (100.0, "99%"), (1000.0, "99.9%"), (10000.0, "99.99%"),
         (100000.0, "99.999%"))


def _layout(title: str, **more: Any) -> Dict[str, Any]:
    layout: Dict[str, Any] = {"title": {"text": title}, "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
                              "height": 360, "hovermode": "closest"}
    layout.update(more)
    return layout


def spectrum_figure(record: Record) -> Figure:
    """Latency by percentile, from the record's merged spectrum; the 100th percentile (the maximum)
    sits one decade past the highest finite point, since 1 / (1 - 1) has no place on the axis."""
    points = [(p, ms) for p, ms in record.spectrum if p < 100.0]
    x = [100.0 / (100.0 - p) for p, _ in points]
    y = [ms for _, ms in points]
    text = ["p{:g}".format(p) for p, _ in points]
    # Ticks only up to the highest measured percentile: the maximum's place is a convention, not a nine.
    shown = [value for value, _ in NINES if not x or value <= max(x) * 1.01]
    top = [ms for p, ms in record.spectrum if p >= 100.0]
    if top and x:
        x.append(max(x) * 10)
        y.append(top[0])
        text.append("max")
    axis = {"type": "log", "title": {"text": "percentile"}, "tickvals": shown,
            "ticktext": [label for value, label in NINES if value in shown]}
    return {"data": [{"type": "scatter", "mode": "lines+markers", "x": x, "y": y, "text": text,
                      "hovertemplate": "%{text}: %{y:.3f} ms<extra></extra>", "name": "latency"}],
            "layout": _layout("Latency spectrum ({})".format(record.spectrum_source or "no source recorded"),
                              xaxis=axis, yaxis={"title": {"text": "ms"}, "rangemode": "tozero"})}


def trials_figure(record: Record) -> Figure:
    """Each trial's req/s in the order measured, and the record's median across them."""
    rates = [t.get("rps") for t in record.trials]
    numbers = [n for n, rate in enumerate(rates, start=1) if rate is not None]
    values = [rate for rate in rates if rate is not None]
    data: List[Dict[str, Any]] = [{"type": "scatter", "mode": "markers", "x": numbers, "y": values,
                                   "name": "trial", "hovertemplate": "trial %{x}: %{y:,.0f} req/s<extra></extra>"}]
    if record.rps is not None and numbers:
        data.append({"type": "scatter", "mode": "lines", "x": [numbers[0], numbers[-1]],
                     "y": [record.rps, record.rps], "name": "median", "line": {"dash": "dash"}})
    return {"data": data, "layout": _layout("Trials", xaxis={"title": {"text": "trial"}, "dtick": 1},
                                            yaxis={"title": {"text": "req/s"}, "rangemode": "tozero"})}


def history_figure(records: Sequence[Record], marks: Sequence[ChangeMark]) -> Figure:
    """req/s over time, each point's commit and package versions in its hover text; a change
    point is a vertical line at its date with the step's size and p-value."""
    measured = [r for r in records if r.rps is not None and not r.is_failed]
    text = [hover_text(r) for r in measured]
    data = [{"type": "scatter", "mode": "lines+markers", "x": [r.recorded_at for r in measured],
             "y": [r.rps for r in measured], "text": text, "name": "req/s",
             "hovertemplate": "%{x}<br>%{y:,.0f} req/s<br>%{text}<extra></extra>"}]
    shapes, notes = [], []
    for mark in marks:
        when = mark.when.isoformat()
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": when, "x1": when, "y0": 0, "y1": 1,
                       "line": {"color": "#c0392b", "dash": "dot", "width": 2}})
        notes.append({"x": when, "xref": "x", "y": 1, "yref": "paper", "showarrow": False, "yanchor": "bottom",
                      "text": change_label(mark), "font": {"color": "#c0392b"}})
    return {"data": data, "layout": _layout("req/s over time", shapes=shapes, annotations=notes,
                                            yaxis={"title": {"text": "req/s"}, "rangemode": "tozero"})}


def change_label(mark: ChangeMark) -> str:
    return "{:+.1%} (p={:.2g})".format(mark.ratio - 1.0, mark.pvalue)


def hover_text(record: Record) -> str:
    commit = (record.section("git").get("sha") or "")[:10] or "no commit recorded"
    versions = ", ".join("{} {}".format(name, version) for name, version in sorted(record.section("packages").items()))
    return "{}{}".format(commit, " · " + versions if versions else "")
