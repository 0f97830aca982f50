"""Stock wrk 4.x's human summary (`wrk --latency`), read into a WrkResult.

The harness runs wrk with a done() report (load/wrk_report.py) for exact figures;
this summary serves outputs without one (the fixtures, older runs).
"""
from __future__ import annotations

import re
from typing import Optional

from benchmatrix.load.results import (_NUM, _TIME, Latency, SocketErrors, WrkOutputError, WrkResult, _find,
                                      first_lines, latency_ms, size_bytes)


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

