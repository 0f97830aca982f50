"""The shape of the link between roles (--link): a rate and a delay, as tc applies them.

    LinkShape.parse("rate=1gbit,delay=1ms")

Every packet leaving a role meets it, so a round trip between two roles takes
twice the delay (netns.py puts it on each role's interface, or in the delay line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

_RATE = re.compile(r"^\d+(?:\.\d+)?(?:bit|kbit|mbit|gbit)$", re.IGNORECASE)
_DELAY = re.compile(r"^(\d+(?:\.\d+)?)(us|ms)$")


@dataclass(frozen=True)
class LinkShape:
    """What every packet leaving a role meets: a delay (half the round trip) and a rate."""
    rate: Optional[str] = None  # tc's units: 100mbit, 1gbit
    delay: Optional[str] = None  # tc's units: 200us, 1ms

    @classmethod
    def parse(cls, text: Optional[str]) -> Optional["LinkShape"]:
        """`rate=1gbit,delay=1ms` (either part may be left out); None for None or empty."""
        if not text:
            return None
        parts: Dict[str, str] = {}
        for item in text.split(","):
            key, _, value = item.strip().partition("=")
            if key not in ("rate", "delay") or not value or key in parts:
                raise ValueError("--link {!r}: give rate=RATE and/or delay=DELAY once each, e.g. "
                                 "--link rate=1gbit,delay=1ms".format(text))
            parts[key] = value.strip()
        if "rate" in parts and not _RATE.match(parts["rate"]):
            raise ValueError("--link rate={!r}: write a rate as tc does, e.g. 100mbit or 1gbit".format(parts["rate"]))
        if "delay" in parts and not _DELAY.match(parts["delay"]):
            raise ValueError("--link delay={!r}: write a delay as 200us or 1ms".format(parts["delay"]))
        return cls(rate=parts.get("rate"), delay=parts.get("delay"))

    @property
    def delay_ms(self) -> float:
        if not self.delay:
            return 0.0
        number, unit = _DELAY.match(self.delay).groups()
        return float(number) / (1000.0 if unit == "us" else 1.0)

    def qdisc_arguments(self, netem: bool = True) -> Optional[List[str]]:
        """tc's `qdisc add ... root` arguments on each role's interface, or None when none is needed.

        With netem: netem for a delay (with its rate). Without (the delay line delays): tbf for
        the rate, which paces without netem and so works on every kernel, or nothing.
        """
        if self.delay and netem:
            # netem's default queue (1000 packets) would drop at 1gbit with a few ms of delay on a
            # burst of 256 connections; 10000 keeps loss out of a link that should only be slow.
            return ["netem", "delay", self.delay] + (["rate", self.rate] if self.rate else []) + ["limit", "10000"]
        if not self.rate:
            return None
        # The bucket holds at least two 64 KiB GSO segments (veth hands tbf whole ones) or 1 ms at
        # the rate; a 50 ms queue before drops, far more than any load here builds.
        return ["tbf", "rate", self.rate, "burst", str(max(2 * 65536, int(self.rate_bits_per_s() / 8 / 1000))),
                "latency", "50ms"]

    def rate_bits_per_s(self) -> float:
        number, unit = re.match(r"^(\d+(?:\.\d+)?)([a-z]*)$", self.rate.lower()).groups()
        return float(number) * {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}[unit]

    def label(self) -> str:
        return "/".join(part for part in (self.rate, self.delay) if part)

    def as_metadata(self, netem: bool = True) -> Dict[str, object]:
        qdisc = self.qdisc_arguments(netem)
        applied = ["tc {} on each role's interface (egress)".format(qdisc[0])] if qdisc else []
        if self.delay and not netem:
            applied.append("the delay in the switch's delay line (a TUN device; this kernel has no netem)")
        return {"rate": self.rate, "delay": self.delay, "expected_rtt_ms": round(2 * self.delay_ms, 3),
                "applied_with": "; ".join(applied)}
