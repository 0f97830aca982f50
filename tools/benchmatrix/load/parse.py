"""Read the summary that stock wrk 4.x prints and turn it into numbers.

The harness runs the distribution's wrk with a done() report
(tools/benchmatrix/load/wrk_report.lua) for exact figures; the human summary,
parsed here too, serves outputs without one (the fixtures, wrk2, older runs). wrk pads its columns with printf widths
that change with each number's magnitude, so every field is found by regex,
never by position. Units follow wrk's units.c: times step us -> ms -> s by 1000
and s -> m -> h by 60; counts step by 1000 (k, M, G, T); sizes by 1024.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

_MS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
_COUNT_SCALE = {"": 1, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4}
_BYTE_SCALE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}

_NUM = r"(\d+(?:\.\d+)?)"
_TIME = _NUM + r"(us|ms|s|m|h)\b"


class WrkOutputError(ValueError):
    """The text is not a usable wrk result; the message says what wrk reported."""


@dataclass(frozen=True)
class Latency:
    """Milliseconds; a percentile is None when wrk ran without --latency."""

    avg_ms: float
    stdev_ms: float
    max_ms: float
    p50_ms: Optional[float] = None
    p75_ms: Optional[float] = None
    p90_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    p999_ms: Optional[float] = None  # from wrk's done() report only: the human summary stops at 99%
    p9999_ms: Optional[float] = None


@dataclass(frozen=True)
class SocketErrors:
    connect: int = 0
    read: int = 0
    write: int = 0
    timeout: int = 0


@dataclass(frozen=True)
class WrkResult:
    url: str
    threads: int
    connections: int
    requests: int
    elapsed_s: float
    bytes_read: int
    rps: float  # counts error responses too: a server failing fast looks fast
    latency: Latency
    non2xx: int
    socket_errors: SocketErrors
    source: str = "summary text"  # or "done() JSON": exact counts from wrk_report.lua
    # (latency us, count) of every latency wrk measured, ascending, its synthetic samples
    # removed (see measured_histogram); () without a done() report or a histogram in it.
    histogram_us: Tuple[Tuple[int, int], ...] = ()
    synthetic_samples: int = 0  # the entries wrk had added to its histogram (and percentiles)

    @property
    def successful_requests(self) -> int:
        return max(self.requests - self.non2xx, 0)

    @property
    def successful_rps(self) -> float:
        # Scales wrk's own rate, which uses its exact clock; elapsed_s is rounded
        # to 10 ms in the print-out and would drift from rps even with no errors.
        return self.rps * self.successful_requests / self.requests if self.requests else 0.0


def latency_ms(value: str, unit: str) -> float:
    if unit not in _MS_PER_UNIT:
        raise ValueError("unknown wrk time unit %r; expected one of us, ms, s, m, h" % unit)
    return float(value) * _MS_PER_UNIT[unit]


def scaled_count(text: str) -> float:
    m = re.fullmatch(r"\s*" + _NUM + r"([kMGT]?)\s*", text)
    if m is None:
        raise ValueError("not a wrk count: %r (expected e.g. 833.16, 42.99k, 2.1M)" % text)
    return float(m.group(1)) * _COUNT_SCALE[m.group(2)]


def size_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*" + _NUM + r"([KMGTP]?B)\s*", text)
    if m is None:
        raise ValueError("not a wrk size: %r (expected e.g. 12B, 703.06KB, 28.39MB)" % text)
    return int(float(m.group(1)) * _BYTE_SCALE[m.group(2)])


def parse_duration_s(text: str) -> float:
    m = re.fullmatch(r"\s*" + _NUM + r"\s*(ms|s|m|h)?\s*", text)
    if m is None:
        raise ValueError(
            "invalid duration %r: give seconds as a plain number or a number "
            "with unit ms, s, m or h, e.g. 90, 2.5s, 500ms, 1m" % text
        )
    return latency_ms(m.group(1), m.group(2) or "s") / 1000.0


def first_lines(text: str, n: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:n]) if lines else "(nothing at all)"


def _find(pattern: str, text: str, what: str):
    m = re.search(pattern, text, re.M)
    if m is None:
        raise WrkOutputError(
            "wrk output has a result but no %s line; it may be cut short or "
            "reshaped by a Lua script; first lines: %s" % (what, first_lines(text))
        )
    return m


def _percentile(text: str, pct: int) -> Optional[float]:
    # "50%" in wrk, "50.000%" in wrk2; wrk2 -U prints a second, uncorrected
    # block after the corrected one, so the first match is the one to keep.
    m = re.search(r"^\s*%d(?:\.0+)?%%\s+%s" % (pct, _TIME), text, re.M)
    return latency_ms(m.group(1), m.group(2)) if m else None


def parse_wrk(text: str) -> WrkResult:
    rps = re.findall(r"^\s*Requests/sec:\s*" + _NUM, text, re.M)
    if not rps:
        # wrk exits before any run when its probe connection fails.
        refused = re.search(r"^.*unable to connect to .*$", text, re.M)
        if refused:
            raise WrkOutputError("wrk could not connect: " + refused.group(0).strip())
        raise WrkOutputError(
            "wrk printed no result (no 'Requests/sec' line); first lines: " + first_lines(text)
        )
    if len(rps) > 1:
        # Mixing fields from different runs would give plausible nonsense.
        raise WrkOutputError("wrk output holds %d results; parse one run at a time" % len(rps))

    url = _find(r"Running \S+ test @ (\S+)", text, "'Running ... test @ URL'").group(1)
    setup = _find(r"(\d+) threads and (\d+) connections", text, "'N threads and N connections'")
    lat = _find(r"^\s*Latency\s+%s\s+%s\s+%s" % (_TIME, _TIME, _TIME), text, "'Latency avg stdev max'")
    totals = _find(r"(\d+) requests in %s, %s([KMGTP]?B) read" % (_TIME, _NUM), text,
                   "'N requests in T, S read'")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)

    return WrkResult(
        url=url,
        threads=int(setup.group(1)),
        connections=int(setup.group(2)),
        requests=int(totals.group(1)),
        elapsed_s=latency_ms(totals.group(2), totals.group(3)) / 1000.0,
        bytes_read=size_bytes(totals.group(4) + totals.group(5)),
        rps=float(rps[0]),
        latency=Latency(
            avg_ms=latency_ms(lat.group(1), lat.group(2)),
            stdev_ms=latency_ms(lat.group(3), lat.group(4)),
            max_ms=latency_ms(lat.group(5), lat.group(6)),
            p50_ms=_percentile(text, 50),
            p75_ms=_percentile(text, 75),
            p90_ms=_percentile(text, 90),
            p99_ms=_percentile(text, 99),
        ),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=SocketErrors(*(int(g) for g in sock.groups())) if sock else SocketErrors(),
    )


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
    import json

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
    if report.get("histogram_us") is not None:
        held = tuple((int(value), int(count)) for value, count in report["histogram_us"])
        histogram = measured_histogram(held, wrk_correction_interval_us(
            int(report["duration_us"]), int(report["requests"]), connections))
        synthetic = sum(c for _, c in held) - sum(c for _, c in histogram)
    return WrkResult(
        url=url, threads=int(setup.group(1)), connections=int(setup.group(2)),
        requests=int(report["requests"]), elapsed_s=seconds, bytes_read=int(report["bytes"]),
        rps=report["requests"] / seconds if seconds else 0.0,
        latency=Latency(avg_ms=latency["mean"] / 1000.0, stdev_ms=latency["stdev"] / 1000.0,
                        max_ms=latency["max"] / 1000.0, p50_ms=percentiles.get("50"),
                        p75_ms=percentiles.get("75"), p90_ms=percentiles.get("90"),
                        p99_ms=percentiles.get("99"), p999_ms=percentiles.get("99.9"),
                        p9999_ms=percentiles.get("99.99")),
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


@dataclass(frozen=True)
class FixedRateResult:
    """An open-loop run at a planned request rate, from wrk2 or the built-in Lua driver.

    Latencies are measured from each request's planned send time, so a stall
    shows up in full instead of being hidden by the requests never sent during it.
    """

    driver: str  # "wrk2" or "wrk-fixed-rate" (tools/benchmatrix/load/fixed_rate.lua on Debian's wrk)
    planned_rate: float  # requests per second asked for
    achieved_rate: float  # completed requests per second over the measured window
    requests: int  # completed requests in the measured window
    duration_s: float  # the run's window; wrk2's latencies (only) skip its first 10 s on longer runs
    latency: Latency  # corrected: from the planned send time
    non2xx: int
    socket_errors: SocketErrors
    p999_ms: Optional[float] = None
    spectrum: Tuple[Tuple[float, float], ...] = ()  # (percentile 0..100, latency ms), ascending
    uncorrected: Optional[Latency] = None  # wrk2 -U: from the actual send time
    # (latency us, count) of the corrected latencies, ascending, for merging trials:
    # fixed_rate.lua's histogram buckets (exact counts, values within 0.8 %), or wrk2's
    # spectrum rows (approximate; see _wrk2_histogram). () when the run printed none.
    histogram_us: Tuple[Tuple[float, int], ...] = ()

    @property
    def successful_requests(self) -> int:
        return max(self.requests - self.non2xx, 0)


# --- wrk2 (giltene/wrk2), the open-loop fork -----------------------------------
#
# wrk2 prints wrk's summary plus, with --latency (-L), an HdrHistogram block:
# eight percentile lines (50.000% .. 100.000%), a "Detailed Percentile spectrum"
# table with values in ms, three "#[...]" footer lines and a line of dashes. -U
# implies -L and adds a second block for the uncorrected histogram after the first.
#
# What the numbers cover, from the calibration fixture (-d13s -R1000) and wrk2's
# wrk.c: a thread's calibrate() runs 10 s (+5 ms per connection) into the run and
# resets only that thread's latency histograms and Req/Sec sampling. The totals are
# never reset: "12994 requests in 13.00s" is the whole run, calibration included
# (12994 / 13.00 = 999.5 at -R1000, while the histogram's "Total count" is 2974,
# the last ~3 s), and so are the Non-2xx and socket-error counts. wrk2's
# Requests/sec is that total over its exact run time: requests / printed time
# agrees with it to the rounding of the printed time on every fixture (999.54 vs
# 999.53, 1997.4 vs 1997.10, 1996.8 vs 1996.46, 200.2 vs 200.17, 500.0 vs 499.80)
# and on the 5-minute runs in seeds 003/004 (1197819 / 300 s = 3992.7 vs 3992.68).
# So requests, duration_s and achieved_rate all describe the whole run, while the
# latencies (thread-stats line, percentiles, spectrum) describe only the part after
# calibration on runs longer than about 10 s.

_WRK2_BLOCK = r"^[ \t]*Latency Distribution \(HdrHistogram - %s.*$"
_WRK2_CORRECTED = "Recorded Latency"
_WRK2_UNCORRECTED = "Uncorrected Latency"
# "       0.722     0.500000         4991         2.00": Value (ms), Percentile
# (0..1), TotalCount, 1/(1-Percentile); the last row says "inf". The "#[Mean ...]",
# "#[Max ...]" and "#[Buckets ...]" footer lines start with "#" and never match.
_WRK2_SPECTRUM_ROW = r"^[ \t]*(\d+\.\d+)[ \t]+(\d+\.\d+)[ \t]+(\d+)[ \t]+(?:\d+\.\d+|inf)[ \t]*$"
_WRK2_FOOTER_MEAN = r"^[ \t]*#\[Mean\s*=\s*%s,\s*StdDeviation\s*=\s*%s\]" % (_NUM, _NUM)
_WRK2_FOOTER_MAX = r"^[ \t]*#\[Max\s*=\s*%s," % _NUM


def _wrk2_block(text: str, title: str) -> Optional[str]:
    """The lines of one HdrHistogram block, after its title and before its dashes."""
    start = re.search(_WRK2_BLOCK % re.escape(title), text, re.M)
    if start is None:
        return None
    end = re.compile(r"^-{10,}[ \t]*$", re.M).search(text, start.end())
    if end is None:
        raise WrkOutputError(
            "wrk2's %r latency block has no closing line of dashes; the output "
            "seems cut short; first lines: %s" % (title, first_lines(text))
        )
    return text[start.end():end.start()]


def _wrk2_find(pattern: str, block: str, title: str, what: str):
    m = re.search(pattern, block, re.M)
    if m is None:
        raise WrkOutputError(
            "wrk2's %r latency block has no %s; the output seems cut short or "
            "edited" % (title, what)
        )
    return m


def _wrk2_percentile(block: str, title: str, pct: str) -> float:
    # Always printed with three decimals: " 50.000%", " 99.900%", "100.000%".
    m = _wrk2_find(r"^\s*%s%%\s+%s" % (re.escape(pct), _TIME), block, title, "%s%% line" % pct)
    return latency_ms(m.group(1), m.group(2))


def _wrk2_latency(block: str, title: str, avg_ms: float, stdev_ms: float, max_ms: float) -> Latency:
    return Latency(
        avg_ms=avg_ms,
        stdev_ms=stdev_ms,
        max_ms=max_ms,
        p50_ms=_wrk2_percentile(block, title, "50.000"),
        p75_ms=_wrk2_percentile(block, title, "75.000"),
        p90_ms=_wrk2_percentile(block, title, "90.000"),
        p99_ms=_wrk2_percentile(block, title, "99.000"),
    )


def _wrk2_spectrum(block: str, title: str) -> Tuple[Tuple[float, float], ...]:
    rows = tuple(
        (round(float(pct) * 100.0, 4), float(value))
        for value, pct, _ in re.findall(_WRK2_SPECTRUM_ROW, block, re.M)
    )
    if not rows:
        raise WrkOutputError(
            "wrk2's %r latency block has no 'Detailed Percentile spectrum' rows; "
            "the output seems cut short or edited" % title
        )
    for (p1, v1), (p2, v2) in zip(rows, rows[1:]):
        if p2 <= p1 or v2 < v1:
            raise WrkOutputError(
                "wrk2's %r percentile spectrum is not ascending at %.4f%%; the "
                "output seems to mix several runs" % (title, p2)
            )
    return rows


def _wrk2_histogram(block: str) -> Tuple[Tuple[float, int], ...]:
    """(us, count) from the spectrum's TotalCount column: the samples counted between
    two rows, all at the later row's value.

    Approximate, unlike fixed_rate.lua's buckets: wrk2 prints about 5 rows per halving
    of the tail, so a step's samples, which lie anywhere above the previous row's value,
    are put at the top of the step (never lower than measured). Merged wrk2 trials are
    thus exact at the printed rows and pessimistic between them. Rows where the count
    does not grow add nothing.
    """
    rows, counted = [], 0
    for value, _, total in re.findall(_WRK2_SPECTRUM_ROW, block, re.M):
        step = int(total) - counted
        if step > 0:
            rows.append((round(float(value) * 1000.0, 3), step))
            counted = int(total)
    return tuple(rows)


def parse_wrk2(text: str, planned_rate: float) -> FixedRateResult:
    """Parse the summary of `wrk2 -R RATE [--latency [-U]] URL` (giltene/wrk2).

    planned_rate is the -R value the run was given; wrk2 does not print it.
    requests, duration_s and achieved_rate cover the whole run; on runs longer than
    about 10 s the latencies cover only the part after wrk2's calibration (see the
    comment above). Raises WrkOutputError when the text is not one wrk2 result.
    """
    if not 0 < planned_rate < float("inf"):
        raise ValueError("planned_rate must be the positive -R value wrk2 ran with, not %r"
                         % (planned_rate,))
    rps = re.findall(r"^\s*Requests/sec:\s*" + _NUM, text, re.M)
    if not rps:
        refused = re.search(r"^.*unable to connect to .*$", text, re.M)
        if refused:
            raise WrkOutputError("wrk2 could not connect: " + refused.group(0).strip())
        if is_wrk2_usage(text) or re.search(r"--rate or -R option", text):
            raise WrkOutputError(
                "wrk2 printed its usage instead of a result: check its arguments "
                "(it needs -R RATE and a URL); first lines: " + first_lines(text)
            )
        raise WrkOutputError(
            "wrk2 printed no result (no 'Requests/sec' line); first lines: " + first_lines(text)
        )
    if len(rps) > 1:
        raise WrkOutputError("wrk2 output holds %d results; parse one run at a time" % len(rps))
    if re.search(r"^\s*Latency Distribution[ \t]*$", text, re.M):
        # Stock wrk's --latency block: four percentiles from its own sampling,
        # closed-loop and without HdrHistogram; not a fixed-rate measurement.
        raise WrkOutputError(
            "this is stock wrk's output (its 'Latency Distribution' has no HdrHistogram "
            "block), not wrk2's; parse it with parse_wrk, or run giltene's wrk2 with -R"
        )

    totals = _find(r"(\d+) requests in %s, %s([KMGTP]?B) read" % (_TIME, _NUM), text,
                   "'N requests in T, S read'")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = SocketErrors(*(int(g) for g in sock.groups())) if sock else SocketErrors()
    requests = int(totals.group(1))
    if requests == 0:
        # Its latency lines then print zeros, which would read as a perfect server.
        raise WrkOutputError(
            "wrk2 completed no requests in %s%s (socket errors: connect %d, read %d, "
            "write %d, timeout %d); check that the server is up and answers the URL"
            % (totals.group(2), totals.group(3), socket_errors.connect, socket_errors.read,
               socket_errors.write, socket_errors.timeout)
        )
    lat = _find(r"^\s*Latency\s+%s\s+%s\s+%s" % (_TIME, _TIME, _TIME), text,
                "'Latency avg stdev max'")
    avg_ms = latency_ms(lat.group(1), lat.group(2))
    stdev_ms = latency_ms(lat.group(3), lat.group(4))
    max_ms = latency_ms(lat.group(5), lat.group(6))

    corrected = _wrk2_block(text, _WRK2_CORRECTED)
    uncorrected_block = _wrk2_block(text, _WRK2_UNCORRECTED)
    uncorrected = None  # type: Optional[Latency]
    if corrected is None:
        if uncorrected_block is not None:
            raise WrkOutputError(
                "wrk2 output has the uncorrected latency block but not the corrected "
                "('Recorded Latency') one; the output seems cut short or edited"
            )
        latency = Latency(avg_ms=avg_ms, stdev_ms=stdev_ms, max_ms=max_ms)  # run without --latency
        p999_ms = None  # type: Optional[float]
        spectrum = ()  # type: Tuple[Tuple[float, float], ...]
        histogram = ()  # type: Tuple[Tuple[float, int], ...]
    else:
        latency = _wrk2_latency(corrected, _WRK2_CORRECTED, avg_ms, stdev_ms, max_ms)
        p999_ms = _wrk2_percentile(corrected, _WRK2_CORRECTED, "99.900")
        spectrum = _wrk2_spectrum(corrected, _WRK2_CORRECTED)
        histogram = _wrk2_histogram(corrected)
        if uncorrected_block is not None:
            # wrk2 prints no thread-stats line for the uncorrected histogram. Its
            # footer "#[Mean = m, StdDeviation = s]" / "#[Max = x, ...]" is in ms and
            # comes from the same hdr_mean/hdr_stddev/hdr_max calls that make the
            # corrected thread-stats line (their footer equals that line on every
            # fixture), so it gives the uncorrected avg/stdev/max on the same
            # definition. Its 100.000% line would not: that is the top bucket's
            # highest value (998.91ms where hdr_max says 998.400 on the stall run).
            _wrk2_spectrum(uncorrected_block, _WRK2_UNCORRECTED)  # checks the block is whole
            mean = _wrk2_find(_WRK2_FOOTER_MEAN, uncorrected_block, _WRK2_UNCORRECTED,
                              "'#[Mean = ..., StdDeviation = ...]' line")
            top = _wrk2_find(_WRK2_FOOTER_MAX, uncorrected_block, _WRK2_UNCORRECTED,
                             "'#[Max = ..., Total count = ...]' line")
            uncorrected = _wrk2_latency(uncorrected_block, _WRK2_UNCORRECTED,
                                        float(mean.group(1)), float(mean.group(2)),
                                        float(top.group(1)))

    return FixedRateResult(
        driver="wrk2",
        planned_rate=float(planned_rate),
        # wrk2's own completed/run-time figure from its exact clock, error responses
        # included, like wrk's; requests / duration_s matches it to the rounding of
        # the printed time (see the comment above parse_wrk2's helpers).
        achieved_rate=float(rps[0]),
        requests=requests,
        duration_s=latency_ms(totals.group(2), totals.group(3)) / 1000.0,
        latency=latency,
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=socket_errors,
        p999_ms=p999_ms,
        spectrum=spectrum,
        uncorrected=uncorrected,
        histogram_us=histogram,
    )


def is_wrk2_usage(text: str) -> bool:
    """True when a usage/help text offers wrk2's "-R, --rate <T>" option.

    Meant for the output of running the binary with no arguments or --help (wrk2
    prints its usage on stdout and exits 1). Stock wrk's usage has no rate option.
    """
    return re.search(r"^[ \t]*-R\b,?[ \t]*--rate\b", text, re.M) is not None
