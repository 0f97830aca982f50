"""Read the summary that stock wrk 4.x prints and turn it into numbers.

The harness runs the distribution's wrk without a Lua script, so the human
summary is the only contract there is. wrk pads its columns with printf widths
that change with each number's magnitude, so every field is found by regex,
never by position. Units follow wrk's units.c: times step us -> ms -> s by 1000
and s -> m -> h by 60; counts step by 1000 (k, M, G, T); sizes by 1024.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

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


def _first_lines(text: str, n: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:n]) if lines else "(nothing at all)"


def _find(pattern: str, text: str, what: str):
    m = re.search(pattern, text, re.M)
    if m is None:
        raise WrkOutputError(
            "wrk output has a result but no %s line; it may be cut short or "
            "reshaped by a Lua script; first lines: %s" % (what, _first_lines(text))
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
            "wrk printed no result (no 'Requests/sec' line); first lines: " + _first_lines(text)
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


@dataclass(frozen=True)
class FixedRateResult:
    """An open-loop run at a planned request rate, from wrk2 or the built-in Lua driver.

    Latencies are measured from each request's planned send time, so a stall
    shows up in full instead of being hidden by the requests never sent during it.
    """

    driver: str  # "wrk2" or "wrk-fixed-rate" (tools/benchmatrix/fixed_rate.lua on Debian's wrk)
    planned_rate: float  # requests per second asked for
    achieved_rate: float  # completed requests per second over the measured window
    requests: int  # completed requests in the measured window
    duration_s: float  # the measured window (wrk2 drops its first 10 s on longer runs)
    latency: Latency  # corrected: from the planned send time
    non2xx: int
    socket_errors: SocketErrors
    p999_ms: Optional[float] = None
    spectrum: Tuple[Tuple[float, float], ...] = ()  # (percentile 0..100, latency ms), ascending
    uncorrected: Optional[Latency] = None  # wrk2 -U: from the actual send time

    @property
    def successful_requests(self) -> int:
        return max(self.requests - self.non2xx, 0)
