"""wrk's exact figures from the done() report of load/wrk_report.lua, and its histogram without
the synthetic samples wrk adds."""
from __future__ import annotations

import json
from typing import Dict, Sequence, Tuple

from benchmatrix.load.measured_latency import MEASURED, WITH_SYNTHETIC, latency_from_histogram
from benchmatrix.load.results import Latency, SocketErrors, WrkOutputError, WrkResult, _find
from benchmatrix.load.wrk_summary import parse_wrk

REPORT_MARKER = "BENCHMATRIX_WRK_JSON "  # the line tools/benchmatrix/load/wrk_report.lua prints


def parse_wrk_report(text: str) -> WrkResult:
    """wrk's exact figures from its done() report when the run printed one, else its summary text.

    The summary still names the URL, threads and connections (done() does not see them);
    every count, size and time comes from the report, unrounded.
    """
    lines = [line for line in text.splitlines() if line.startswith(REPORT_MARKER)]
    if not lines:
        return parse_wrk(text)
    if len(lines) > 1:
        raise WrkOutputError("wrk output holds %d reports; parse one run at a time" % len(lines))

    try:
        report = json.loads(lines[0][len(REPORT_MARKER):])
    except ValueError as error:
        raise WrkOutputError("wrk's done() report is not JSON ({}): {}".format(error, lines[0][:200]))
    url = _find(r"Running \S+ test @ (\S+)", text, "'Running ... test @ URL'").group(1)
    setup = _find(r"(\d+) threads and (\d+) connections", text, "'N threads and N connections'")
    errors, latency = report["errors"], report["latency_us"]
    percentiles = {key: value / 1000.0 for key, value in latency["percentiles"].items()}
    seconds = report["duration_us"] / 1e6
    connections = int(setup.group(2))
    histogram: Tuple[Tuple[int, int], ...] = ()
    synthetic = 0
    wrk_latency = Latency(avg_ms=latency["mean"] / 1000.0, stdev_ms=latency["stdev"] / 1000.0,
                          max_ms=latency["max"] / 1000.0, p50_ms=percentiles.get("50"),
                          p75_ms=percentiles.get("75"), p90_ms=percentiles.get("90"),
                          p99_ms=percentiles.get("99"), p999_ms=percentiles.get("99.9"),
                          p9999_ms=percentiles.get("99.99"))
    measured = None
    if report.get("histogram_us") is not None:
        held = tuple((int(value), int(count)) for value, count in report["histogram_us"])
        histogram = measured_histogram(held, wrk_correction_interval_us(
            int(report["duration_us"]), int(report["requests"]), connections))
        synthetic = sum(c for _, c in held) - sum(c for _, c in histogram)
        measured = latency_from_histogram(histogram)
    return WrkResult(
        url=url, threads=int(setup.group(1)), connections=int(setup.group(2)),
        requests=int(report["requests"]), elapsed_s=seconds, bytes_read=int(report["bytes"]),
        rps=report["requests"] / seconds if seconds else 0.0,
        # A closed loop's figures come from the requests wrk timed; its own (with synthetic samples)
        # are kept beside them for comparison, and are all there is when it printed no histogram.
        latency=measured or wrk_latency, wrk_latency=wrk_latency,
        latency_source=MEASURED if measured else WITH_SYNTHETIC,
        non2xx=int(errors["status"]),
        socket_errors=SocketErrors(connect=int(errors["connect"]), read=int(errors["read"]),
                                   write=int(errors["write"]), timeout=int(errors["timeout"])),
        source="done() JSON", histogram_us=histogram, synthetic_samples=synthetic)


def wrk_correction_interval_us(duration_us: int, requests: int, connections: int) -> int:
    """The interval wrk 4.x's stats_correct used, as wrk.c computes it (integer divisions);
    0 when it made no correction (fewer requests than connections)."""
    per_connection = requests // connections
    return duration_us // per_connection if per_connection > 0 else 0


def measured_histogram(held: Sequence[Tuple[int, int]], interval_us: int) -> Tuple[Tuple[int, int], ...]:
    """wrk's latency histogram without the synthetic samples its stats_correct added.

    Before printing (and before done()), wrk 4.x adds, for every latency n of at least
    2 * interval, one synthetic sample at each n - k * interval above the interval: its
    guess at the requests a closed loop never sent. They are no requests, and a run's
    histogram should count what it measured. Undone from the top down: the samples wrk
    added at m came from the measured ones at m + interval, m + 2 * interval, ..., so a
    running "owed" count per position is enough, and every position that owes has an
    entry (it got those samples), so the walk stays over the entries held.
    """
    if interval_us <= 0:
        return tuple(sorted(held))
    counts = dict(held)
    owed: Dict[int, int] = {}
    measured = []
    for value in sorted(counts, reverse=True):
        chain = owed.pop(value, 0)  # measured samples at value + k * interval, k >= 1
        own = counts[value] - chain
        if own < 0:
            raise WrkOutputError(
                "wrk's histogram has %d samples at %d us where its own correction alone "
                "would add %d; the report does not come from wrk 4.x" % (counts[value], value, chain))
        if own:
            measured.append((value, own))
        if value - interval_us > interval_us:
            owed[value - interval_us] = owed.get(value - interval_us, 0) + own + chain
    if any(owed.values()):
        raise WrkOutputError("wrk's histogram lacks the synthetic samples its correction adds "
                             "(at %d us); the report does not come from wrk 4.x" % min(owed))
    return tuple(reversed(measured))

