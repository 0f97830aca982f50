"""Open-loop, constant-rate runs on Debian's stock wrk 4.1, driven by fixed_rate.lua.

wrk2 (the open-loop fork) is not packaged here, so fixed_rate.lua rebuilds its
essentials on wrk's Lua hooks: one thread per connection, each request sent at its
planned time, and every latency counted from that planned time, so that a server
stall shows up in full instead of hiding behind requests a closed-loop client never
sent (coordinated omission). The script prints one JSON line, marked with MARKER,
after wrk's own summary; parse_fixed_rate_output turns it into a FixedRateResult.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmatrix.load.parse import FixedRateResult, Latency, SocketErrors, WrkOutputError, first_lines
from benchmatrix.load.script_line import histogram_rows, is_number, marked_object, number

SCRIPT = Path(__file__).with_name("fixed_rate.lua")
MARKER = "BENCHMATRIX_FIXED_RATE_JSON "
DRIVER = "wrk-fixed-rate"

# fixed_rate.lua pairs each answer with its request through the thread that sent it,
# so every connection has a wrk thread of its own. Threads are cheap (each sleeps in
# its event loop between sends), but not free: beyond this many a run is refused
# with a pointer to wrk2, which multiplexes connections on a few threads.
MAX_CONNECTIONS = 1000


def fixed_rate_argv(wrk: str, rate: float, connections: int, duration_s: int, timeout_s: int,
                    url: str, drain_s: int = 0) -> List[str]:
    """The wrk command line for `rate` requests per second planned over `duration_s` seconds.

    The load is spread over `connections` connections, each with its own wrk thread
    (see MAX_CONNECTIONS). wrk runs drain_s seconds longer than the plan, so answers to
    the last planned requests arrive before it stops. A request slower than timeout_s
    counts as a wrk timeout error but is still measured.
    """
    rate = float(rate)
    if not (0 < rate < math.inf):
        raise ValueError("rate must be a positive number of requests per second, not %r" % (rate,))
    if not (isinstance(connections, int) and 1 <= connections <= MAX_CONNECTIONS):
        raise ValueError("the built-in fixed-rate driver runs 1 to %d connections (one wrk thread each), "
                         "not %r; for more, install wrk2 on PATH" % (MAX_CONNECTIONS, connections))
    for name, value in (("duration_s", duration_s), ("timeout_s", timeout_s)):
        # wrk reads whole seconds ("2.5s" would be cut to 2 s without a word).
        if not (isinstance(value, int) and value >= 1):
            raise ValueError("%s must be a whole number of seconds >= 1, not %r" % (name, value))
    if not (isinstance(drain_s, int) and drain_s >= 0):
        raise ValueError("drain_s must be a whole number of seconds >= 0, not %r" % (drain_s,))
    return [wrk, "--threads", str(connections), "--connections", str(connections),
            "--duration", "%ds" % (duration_s + drain_s), "--timeout", "%ds" % timeout_s,
            "--script", str(SCRIPT), url, "--", repr(rate), str(duration_s)]


def _missing_marker(text: str) -> WrkOutputError:
    refused = re.search(r"^.*unable to connect to .*$", text, re.M)
    if refused:
        # wrk probes the address before the run and exits when nothing answers.
        return WrkOutputError("wrk could not connect: %s; check that the server is up and "
                              "listening on that address" % refused.group(0).strip())
    script_error = re.search(r"^.*(?:fixed_rate\.lua|PANIC).*$", text, re.M)
    if script_error:
        return WrkOutputError("wrk's fixed-rate script failed: %s"
                              % script_error.group(0).strip())
    if re.search(r"^\s*Usage: wrk\b", text, re.M):
        return WrkOutputError("wrk printed its usage instead of running: check its arguments; "
                              "first lines: " + first_lines(text))
    return WrkOutputError(
        "wrk printed no fixed-rate result (no %r line): was it run with -s %s? "
        "first lines: %s" % (MARKER.strip(), SCRIPT.name, first_lines(text)))


def _number(data: Dict[str, Any], key: str, where: str = "") -> float:
    return number(data, key, "fixed-rate result" + where)


def _latency(data: Dict[str, Any], key: str) -> Tuple[Latency, float]:
    block = data.get(key)
    if not isinstance(block, dict):
        raise WrkOutputError("fixed-rate result has no %r object (got %r)" % (key, block))
    where = " in %r" % key
    latency = Latency(
        avg_ms=_number(block, "avg", where),
        stdev_ms=_number(block, "stdev", where),
        max_ms=_number(block, "max", where),
        p50_ms=_number(block, "p50", where),
        p75_ms=_number(block, "p75", where),
        p90_ms=_number(block, "p90", where),
        p99_ms=_number(block, "p99", where),
    )
    return latency, _number(block, "p99.9", where)


def _spectrum(data: Dict[str, Any]) -> Tuple[Tuple[float, float], ...]:
    rows = data.get("spectrum")
    if not isinstance(rows, list) or not rows:
        raise WrkOutputError("fixed-rate result has no 'spectrum' rows (got %r)" % (rows,))
    spectrum = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2 and all(is_number(x) for x in row)):
            raise WrkOutputError("fixed-rate spectrum row is not [percentile, ms]: %r" % (row,))
        spectrum.append((float(row[0]), float(row[1])))
    for (p1, v1), (p2, v2) in zip(spectrum, spectrum[1:]):
        if p2 <= p1 or v2 < v1:
            raise WrkOutputError("fixed-rate spectrum is not ascending at %.4f%%" % p2)
    return tuple(spectrum)


def _histogram(data: Dict[str, Any]) -> Tuple[Tuple[float, int], ...]:
    """The corrected histogram's (us, count) buckets; () from a script older than the field."""
    rows = data.get("histogram_us")
    if rows is None:
        return ()
    return histogram_rows(rows, int(_number(data, "requests")), "fixed-rate")


def read_fixed_rate_json(text: str) -> Dict[str, Any]:
    """The JSON object fixed_rate.lua printed among wrk's output, with the fields a
    FixedRateResult has no place for (planned, sent, unsent, in_flight, late_sends,
    wrk's errors.status, p99.99). Raises WrkOutputError like parse_fixed_rate_output."""
    data = marked_object(text, MARKER, "fixed-rate", _missing_marker)
    if data.get("driver") != DRIVER:
        raise WrkOutputError("fixed-rate result line is not from %s: %.200s" % (DRIVER, data))
    return data


def parse_fixed_rate_output(text: str) -> FixedRateResult:
    """Read the result line fixed_rate.lua printed among wrk's output.

    Raises WrkOutputError when there is none (naming wrk's own complaint, such as
    "unable to connect to ..."), when there are several, or when no request completed.
    non2xx counts every status outside 200..299.
    """
    data = read_fixed_rate_json(text)
    errors = data.get("errors")
    if not isinstance(errors, dict):
        raise WrkOutputError("fixed-rate result has no 'errors' object (got %r)" % (errors,))
    socket_errors = SocketErrors(*(int(_number(errors, k, " in 'errors'"))
                                   for k in ("connect", "read", "write", "timeout")))
    requests = int(_number(data, "requests"))
    if requests == 0:
        # Its latency fields are then null; zeros would read as a perfect server.
        raise WrkOutputError(
            "wrk completed no requests in %.1f s at a planned %g req/s (%d sent; socket errors: "
            "connect %d, read %d, write %d, timeout %d); check that the server is up and "
            "answers the URL" % (_number(data, "duration_s"), _number(data, "planned_rate"),
                                 int(_number(data, "sent")), socket_errors.connect,
                                 socket_errors.read, socket_errors.write, socket_errors.timeout))

    latency, p999 = _latency(data, "latency_ms")
    uncorrected: Optional[Latency] = None
    if data.get("uncorrected_ms") is not None:
        uncorrected = _latency(data, "uncorrected_ms")[0]
    return FixedRateResult(
        driver=DRIVER,
        planned_rate=_number(data, "planned_rate"),
        achieved_rate=_number(data, "achieved_rate"),
        requests=requests,
        duration_s=_number(data, "duration_s"),
        latency=latency,
        non2xx=int(_number(data, "non2xx")),
        socket_errors=socket_errors,
        p999_ms=p999,
        spectrum=_spectrum(data),
        uncorrected=uncorrected,
        histogram_us=_histogram(data),
    )
