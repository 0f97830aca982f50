"""Planned request rates for fixed-rate runs: absolute (`2000`) or relative (`50%`).

A relative rate is a share of the cell's own closed-loop maximum for the same
scenario, measured in the same run, so "90%" means the same stress on a fast
stack and a slow one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class RateChoice:
    text: str  # as the user wrote it, for messages
    value: float  # req/s, or a percentage when relative
    relative: bool

    def resolve(self, closed_loop_rps: Optional[float]) -> Optional[float]:
        """Requests per second to plan; None when a relative rate has nothing to be relative to."""
        if not self.relative:
            return self.value
        if not closed_loop_rps:
            return None
        return round(closed_loop_rps * self.value / 100.0, 1)


def parse_rates(text: str) -> List[RateChoice]:
    """"2000", "50%,90%" or a mix; a ValueError says what is accepted."""
    choices = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(%?)", part)
        if not match or float(match.group(1)) <= 0 or (match.group(2) and float(match.group(1)) > 1000):
            raise ValueError("--rate {!r}: give requests per second (2000) or a share of the cell's "
                             "closed-loop maximum (50%), comma-separated".format(part))
        choices.append(RateChoice(part, float(match.group(1)), bool(match.group(2))))
    return choices
