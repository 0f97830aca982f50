"""`sweep-<scenario>.png`: req/s and p99 against connections, one line per cell, its knee marked.

Two panels share the connection axis (log 2, as sweeps double): throughput on
top, p99 below on a log scale (queueing makes it grow by factors). Only clean
levels are drawn as points on the line; a flagged or failed level is a hollow
marker, so a dip is never mistaken for a measured slowdown. Same rendering
rules as results/charts.py: fixed size and style, no timestamp, same bytes
from the same records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from benchmatrix.results.sweep import Sweep

SIZE_IN = (10.0, 7.5)
DPI = 100


def render_sweep_chart(sweeps: Sequence[Sweep], scenario: str, path: Path) -> Optional[Path]:
    """Draw the sweeps of one scenario; None (nothing written) when there are none."""
    if not sweeps:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    with plt.style.context("default"):
        figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=SIZE_IN, dpi=DPI)
        levels = sorted({r.connections for sweep in sweeps for r in sweep.levels})
        for sweep in sweeps:
            x = [r.connections for r in sweep.levels]
            clean = [r.status == "ok" and r.rps is not None for r in sweep.levels]
            rps = [r.rps for r in sweep.levels]
            p99 = [r.latency_ms.p99 for r in sweep.levels]
            line, = top.plot([a for a, ok in zip(x, clean) if ok], [v for v, ok in zip(rps, clean) if ok],
                             marker="o", label=sweep.first.cell_label)
            bottom.plot([a for a, ok in zip(x, clean) if ok], [v for v, ok in zip(p99, clean) if ok],
                        marker="o", color=line.get_color())
            for a, ok, value in zip(x, clean, rps):
                if not ok and value is not None:
                    top.plot([a], [value], marker="o", fillstyle="none", color=line.get_color())
            knee = sweep.knee
            if knee is not None:
                top.plot([knee.connections], [knee.rps], marker="*", markersize=16, color=line.get_color())
                top.annotate("knee {}".format(knee.connections), (knee.connections, knee.rps),
                             textcoords="offset points", xytext=(8, -16), fontsize=9, color=line.get_color())
        top.set_xscale("log", base=2)
        top.set_xticks(levels)
        top.set_xticklabels([str(level) for level in levels])
        highest = max((r.rps or 0) for sweep in sweeps for r in sweep.levels)
        top.set_ylim(0, highest * 1.12 or 1)
        top.set_ylabel("successful req/s (median of trials)")
        figure.suptitle("Scenario {}: concurrency sweep (closed loop); * marks the knee, the lowest count "
                        "within 5% of the peak".format(scenario), fontsize=11)
        top.legend(fontsize=8, loc="lower right")
        bottom.set_yscale("log")
        # Plain milliseconds on the log axis (10, 20, 30), not 1e1-style labels.
        plain = FuncFormatter(lambda value, _position: "{:g}".format(value))
        bottom.yaxis.set_major_formatter(plain)
        bottom.yaxis.set_minor_formatter(plain)
        bottom.set_ylabel("p99 latency, ms (log)")
        bottom.set_xlabel("connections")
        for ax in (top, bottom):
            ax.grid(True, which="major", alpha=0.3)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        figure.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(str(path), dpi=DPI, format="png", metadata={"Software": None})
        plt.close(figure)
    return path
