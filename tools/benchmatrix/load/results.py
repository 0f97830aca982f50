"""What every load-tool parser shares: the typed results, wrk's units, and the error they raise.

Units follow wrk's units.c: times step us -> ms -> s by 1000 and s -> m -> h by 60;
counts step by 1000 (k, M, G, T); sizes by 1024. wrk pads its columns with printf
widths that change with each number's magnitude, so every field is found by regex,
never by position.
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


# What a result's latency figures were computed from (load/measured_latency.py).
MEASURED = "measured samples"  # every figure from the requests wrk timed, its synthetic samples left out
WITH_SYNTHETIC = "wrk's figures, with its synthetic samples"  # no histogram to recompute them from
PLANNED_SEND_TIME = "from each request's planned send time"  # fixed rate: the correction belongs there


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
class StepLatency:
    """One step of a flow under load (load/flow.lua): its answers, the wrong ones, and their latency in ms."""
    name: str
    count: int  # answers to this step
    failed: int  # of them with another status than the step expects, or nothing to extract
    mean_ms: Optional[float] = None  # None when the step got no answer
    p50_ms: Optional[float] = None
    p90_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    max_ms: Optional[float] = None

    def to_json(self) -> dict:
        return {"name": self.name, "count": self.count, "failed": self.failed, "mean_ms": self.mean_ms,
                "p50_ms": self.p50_ms, "p90_ms": self.p90_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms}


REQUEST, FLOW = "request", "flow"  # what a result counts: requests, or completed flows of all their steps


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
    # What `latency` was computed from (load/measured_latency.py): the measured samples where wrk's
    # done() report carried its histogram, else wrk's own figures with its synthetic samples.
    latency_source: str = WITH_SYNTHETIC
    wrk_latency: Optional[Latency] = None  # wrk's own figures, synthetic samples included, for comparison
    # FLOW: requests, rps, latency, non2xx and the histogram count whole flows (non2xx: the failed ones),
    # and steps holds each step's own figures.
    unit: str = REQUEST
    steps: Tuple[StepLatency, ...] = ()

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

