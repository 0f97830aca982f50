"""A latency target such as `p99=50ms`: which percentile of a run, and the most it may be.

The percentile is read from the figures a trial already has (p50, p75, p90, p99,
p99.9, max) and otherwise from the trial's percentile spectrum, so any percentile
a run measured can be a target: p95, p99.99.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
NAMED = {"p50", "p75", "p90", "p99", "p99.9"}  # keys of a trial's latency_ms


@dataclass(frozen=True)
class LatencyTarget:
    percentile: float  # 0 < p < 100, or 100 for the maximum
    limit_ms: float
    text: str  # as the user wrote it, for messages and records

    @property
    def name(self) -> str:
        """"p99", "p99.9" or "max": how the tables and records name the percentile."""
        return "max" if self.percentile == 100 else "p{:g}".format(self.percentile)

    def describe(self) -> str:
        return "{} <= {:g} ms".format(self.name, self.limit_ms)

    def as_metadata(self) -> Dict[str, Any]:
        return {"text": self.text, "percentile": self.percentile, "limit_ms": self.limit_ms, "name": self.name}


def parse_latency_target(text: str) -> LatencyTarget:
    """"p99=50ms", "p99.9=0.2s", "max=1s"; a ValueError says what is accepted."""
    match = re.fullmatch(r"\s*(p(\d{1,2}(?:\.\d+)?)|max)\s*=\s*(\d+(?:\.\d+)?)\s*(us|ms|s)\s*", text)
    if not match:
        raise ValueError("--slo {!r}: give a percentile and a time, e.g. p99=50ms, p99.9=0.2s or max=1s".format(text))
    percentile = 100.0 if match.group(1) == "max" else float(match.group(2))
    limit_ms = float(match.group(3)) * UNITS_MS[match.group(4)]
    if not 0 < percentile <= 100 or limit_ms <= 0:
        raise ValueError("--slo {!r}: the percentile must be above 0 and below 100 (or max), and the time "
                         "above 0".format(text))
    return LatencyTarget(percentile, limit_ms, text.strip())


def latency_at(trial: Dict[str, Any], percentile: float) -> Optional[float]:
    """The trial's latency in ms at `percentile`: its own figure when it has one, else from its spectrum
    (the first point at or above the percentile: never an optimistic interpolation)."""
    latency = trial.get("latency_ms") or {}
    if percentile == 100:
        return latency.get("max")
    name = "p{:g}".format(percentile)
    if name in NAMED and latency.get(name) is not None:
        return latency[name]
    for point, value in trial.get("spectrum") or ():
        if point >= percentile:
            return value
    return None
