"""PNG charts of the results: req/s per cell, and latency by percentile at fixed rates.

* `rps-<scenario>.png`: one horizontal bar per cell, the median successful req/s
  of its closed-loop trials, fastest at the top, whiskers from the slowest to the
  fastest trial. Flagged bars are hatched and say why; failed cells keep their row
  with an empty bar marked "failed", so a missing bar is never mistaken for a slow one.
* `latency-<scenario>.png`: for fixed-rate records only, one latency-by-percentile
  curve per cell and planned rate, with the percentile axis stretched as
  HdrHistogram plots do (log of 1/(1-p)), so the tail gets the room it deserves.

Fixed-rate records stay out of the req/s chart: at a fixed rate the client, not the
server, sets the throughput, so their req/s says nothing about capacity.

Each chart uses the newest record per (scenario, python, app, server, mode,
connections, planned_rate). The output depends on the records only: fixed size,
dpi and style (the user's matplotlibrc is ignored), no timestamp and no software
version in the PNG, so regenerating a chart from the same records gives the same
bytes. matplotlib is imported inside the functions, so importing this module
stays cheap for commands that never draw. What is drawn, and its labels, is chosen in
results/chart_selection.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from benchmatrix.results.chart_selection import (bar_label, bar_order, chart_file_name, closed_loop_curve_label,
                                                 closed_loop_records, closed_loop_spectra, curve_label,
                                                 curve_order, curve_styles, fixed_rate_records,
                                                 newest_per_chart_cell, percentile_x, rps_range, rps_subtitle,
                                                 span_text, spectrum_points, value_label)
from benchmatrix.results.records import Record

__all__ = ["chart_file_name", "render_all", "render_rps_chart", "render_latency_chart", "render_percentiles_chart"]

DPI = 100
WIDTH_IN = 10.0
BAR_HEIGHT_IN = 0.42  # per cell: room for a label in the default 10 pt font
BARS_MARGIN_IN = 1.6  # titles and the x axis
LATENCY_SIZE_IN = (10.0, 5.5)  # without the legend, which adds LEGEND_ROW_IN per row
LEGEND_ROW_IN = 0.2

OK_COLOUR = "#4C72B0"
FLAGGED_FILL = "#B7C7E3"
FAILED_COLOUR = "#8C8C8C"
LABEL_OFFSET_PT = 5  # gap between a bar (or its whisker) and its value label

# Where the percentile axis puts its labels: x = 1/(1-p), as in HdrHistogram plots.
PERCENTILE_TICKS = ((50.0, "50%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"),
                    (99.99, "99.99%"), (99.999, "99.999%"), (99.9999, "99.9999%"))


def _pyplot():
    """pyplot on the Agg backend; chosen before pyplot loads so no GUI toolkit is touched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "Software" would stamp matplotlib's version into the file; no other metadata
    # (such as a creation time) is written for PNG.
    figure.savefig(str(path), dpi=DPI, format="png", metadata={"Software": None})
    return path


def _hide_top_and_right(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _titles(ax, title: str, subtitle: str) -> None:
    """A bold title over a grey subtitle, both flush with the left edge of the plot."""
    subtitle_lines = subtitle.count("\n") + 1
    # The layout engine makes room for the axes title (and its pad) but not for free
    # text, so the title is padded just enough to hold the subtitle underneath it.
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold", pad=8 + 11.5 * subtitle_lines)
    ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 5), textcoords="offset points",
                ha="left", va="bottom", fontsize=9, color="#444444", linespacing=1.3)


def _draw_bars(ax, ordered: Sequence[Record]) -> List[Tuple[Any, float]]:
    """The bars, whiskers and value labels; returns each label with the x where it starts."""
    with_connections = len({r.connections for r in ordered}) > 1
    positions = list(range(len(ordered)))
    widest = max([rps_range(r)[1] if rps_range(r) else (r.rps or 0.0)
                  for r in ordered if not r.is_failed] or [1.0])
    labels = []
    for position, record in zip(positions, ordered):
        if record.is_failed:
            # An empty outlined slot: the cell was run, but nothing valid came back.
            ax.barh(position, widest * 0.02, height=0.6, color="none", edgecolor=FAILED_COLOUR,
                    linestyle="--")
            end = widest * 0.02
        else:
            flagged = record.status == "flagged"
            ax.barh(position, record.rps, height=0.6, color=FLAGGED_FILL if flagged else OK_COLOUR,
                    edgecolor=OK_COLOUR, hatch="///" if flagged else None, linewidth=1.0)
            end = record.rps
            low_high = rps_range(record)
            if low_high:
                below, above = record.rps - low_high[0], low_high[1] - record.rps
                ax.errorbar(record.rps, position, xerr=[[below], [above]], fmt="none",
                            ecolor="#222222", capsize=4, elinewidth=1.2)
                end = low_high[1]
        label = ax.annotate(value_label(record), xy=(end, position), xytext=(LABEL_OFFSET_PT, 0),
                            textcoords="offset points", va="center", ha="left", fontsize=9,
                            color=FAILED_COLOUR if record.is_failed else "#222222",
                            fontstyle="italic" if record.is_failed else "normal")
        labels.append((label, end))
    ax.set_yticks(positions)
    ax.set_yticklabels([bar_label(r, with_connections) for r in ordered])
    ax.invert_yaxis()  # fastest at the top, where the eye starts
    ax.set_xlim(0, widest * 1.05)
    return labels


def _make_room_for_labels(figure, ax, labels: Sequence[Tuple[Any, float]]) -> None:
    """Widen the x range until every value label ends inside the plot.

    The layout engine does not move the plot for text drawn past its right edge, and
    how wide "12,345 (flagged: timeouts, unstable-trials)" is depends on the font, so
    the labels are measured once the figure is laid out: a label of width w after a
    bar ending at x fits when x / right <= 1 - w / plot_width.
    """
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    plot_width = ax.get_window_extent(renderer).width
    padding = (LABEL_OFFSET_PT + 4) * figure.dpi / 72.0
    right = ax.get_xlim()[1]
    for label, end in labels:
        share_left_for_bar = 1.0 - (label.get_window_extent(renderer).width + padding) / plot_width
        # A label wider than most of the plot would squash every bar; let it run off instead.
        right = max(right, end / max(share_left_for_bar, 0.4))
    ax.set_xlim(0, right)


def render_rps_chart(records: Sequence[Record], scenario: str, path: Path) -> Path:
    """Bars of median successful req/s per cell for one scenario; returns the path written.

    Takes the records of any scenarios and modes: it keeps the scenario's closed-loop
    records, newest per cell. Raises ValueError when there are none.
    """
    chosen = closed_loop_records(records, scenario)
    if not chosen:
        raise ValueError("no closed-loop records for scenario {!r} to chart".format(scenario))
    plt = _pyplot()
    from matplotlib.ticker import StrMethodFormatter

    with plt.style.context("default"):
        height = BARS_MARGIN_IN + BAR_HEIGHT_IN * len(chosen)
        figure = plt.figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        try:
            ax = figure.add_subplot()
            labels = _draw_bars(ax, bar_order(chosen))
            _titles(ax, "{}: successful requests per second".format(scenario), rps_subtitle(chosen))
            ax.set_xlabel("successful requests per second")
            ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            ax.grid(axis="x", color="#DDDDDD")
            ax.set_axisbelow(True)
            _hide_top_and_right(ax)
            _make_room_for_labels(figure, ax, labels)
            return _save(figure, path)
        finally:
            plt.close(figure)  # pyplot keeps every open figure alive otherwise


def _percentile_axis(ax, largest_x: float) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = [(percentile_x(p), label) for p, label in PERCENTILE_TICKS]
    # Show at least up to 99.99%, and one tick past the deepest percentile measured.
    shown = [(x, label) for x, label in ticks if x <= max(largest_x, percentile_x(99.99)) * 1.0001]
    if shown[-1][0] < largest_x and len(shown) < len(ticks):
        shown.append(ticks[len(shown)])
    ax.set_xscale("log")
    ax.set_xlim(1.0, shown[-1][0])
    ax.xaxis.set_major_locator(FixedLocator([x for x, _ in shown]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([label for _, label in shown])


def _latency_scale(ax, latencies: Sequence[float]) -> None:
    """Linear unless the curves span more than two decades, where a log scale keeps the fast ones visible."""
    positive = [v for v in latencies if v > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)


def _legend_below(ax, count: int) -> None:
    # Below the plot, where it can never hide a curve; two columns once it gets long.
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.1), ncol=1 if count <= 3 else 2,
              fontsize=8, frameon=False, handlelength=3.0)


def _draw_curves(ax, chosen: Sequence[Record], label=curve_label) -> None:
    from matplotlib.ticker import FuncFormatter

    largest_x = 1.0
    latencies: List[float] = []
    for record, (colour, style) in zip(chosen, curve_styles(chosen)):
        xs, ys = spectrum_points(record.spectrum)
        if not xs:
            continue
        ax.plot(xs, ys, label=label(record), linewidth=1.6, color=colour, linestyle=style)
        largest_x, latencies = max(largest_x, xs[-1]), latencies + ys
    _percentile_axis(ax, largest_x)
    _latency_scale(ax, latencies)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: "{:g}".format(value)))


def render_latency_chart(records: Sequence[Record], scenario: str, path: Path) -> Optional[Path]:
    """Latency by percentile, one curve per cell and planned rate, from fixed-rate records.

    Returns None, writing nothing, when the scenario has no fixed-rate record with a spectrum.
    """
    chosen = curve_order(fixed_rate_records(records, scenario))
    if not chosen:
        return None
    return _spectrum_chart(chosen, path, curve_label, "{}: latency by percentile at a fixed request rate".format(
        scenario), "latency counted from each request's planned send time (corrected for coordinated omission)")


def render_percentiles_chart(records: Sequence[Record], scenario: str, path: Path) -> Optional[Path]:
    """Latency by percentile of the closed-loop records, one curve per cell: every trial's requests
    merged, so the tail is the record's own and not one trial's.

    Returns None, writing nothing, when no closed-loop record of the scenario has a spectrum.
    """
    chosen = curve_order(closed_loop_spectra(records, scenario))
    if not chosen:
        return None
    # Closed-loop latency is the time each request took once sent; wrk sends the next only after
    # an answer, so a stall delays requests it never counts (coordinated omission). Said on the chart.
    return _spectrum_chart(chosen, path, closed_loop_curve_label,
                           "{}: latency by percentile at full load (closed loop)".format(scenario),
                           "latency from each request's actual send; a closed loop hides the waits it never "
                           "sent (fixed-rate runs count them)")


def _spectrum_chart(chosen: Sequence[Record], path: Path, label, title: str, reading: str) -> Path:
    plt = _pyplot()
    with plt.style.context("default"):
        legend_rows = len(chosen) if len(chosen) <= 3 else (len(chosen) + 1) // 2
        size = (LATENCY_SIZE_IN[0], LATENCY_SIZE_IN[1] + LEGEND_ROW_IN * legend_rows)
        figure = plt.figure(figsize=size, dpi=DPI, layout="constrained")
        try:
            ax = figure.add_subplot()
            _draw_curves(ax, chosen, label)
            _titles(ax, title, "{}, {} per trial; newest record per cell{}\n{}".format(
                span_text([r.connections for r in chosen], "connections"),
                span_text([r.duration_s for r in chosen], "s"),
                " and rate" if any(r.planned_rate is not None for r in chosen) else "", reading))
            ax.set_xlabel("percentile")
            ax.set_ylabel("latency (ms)")
            ax.grid(which="major", color="#DDDDDD")
            _legend_below(ax, len(chosen))
            _hide_top_and_right(ax)
            return _save(figure, path)
        finally:
            plt.close(figure)


def render_all(records: Sequence[Record], out_dir: Path) -> List[Path]:
    """Every chart the records allow, in scenario order; returns the paths written.

    rps-<scenario>.png for each scenario with closed-loop records, percentiles-<scenario>.png
    for those of them with latency spectra, latency-<scenario>.png for each scenario with
    fixed-rate records.
    """
    out_dir = Path(out_dir)
    latest = newest_per_chart_cell(records)
    written: List[Path] = []
    for scenario in sorted({r.scenario for r in latest}):
        if closed_loop_records(latest, scenario):
            written.append(render_rps_chart(latest, scenario, out_dir / chart_file_name("rps", scenario)))
        percentiles = render_percentiles_chart(latest, scenario, out_dir / chart_file_name("percentiles", scenario))
        if percentiles is not None:
            written.append(percentiles)
        latency = render_latency_chart(latest, scenario, out_dir / chart_file_name("latency", scenario))
        if latency is not None:
            written.append(latency)
    return written
