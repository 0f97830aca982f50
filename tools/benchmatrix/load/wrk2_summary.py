"""wrk2's (giltene/wrk2, the open-loop fork) summary and HdrHistogram blocks, read into a FixedRateResult."""
from __future__ import annotations

import re
from typing import Optional, Tuple

from benchmatrix.load.results import (_NUM, _TIME, FixedRateResult, Latency, SocketErrors, WrkOutputError, _find,
                                      first_lines, latency_ms)

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
