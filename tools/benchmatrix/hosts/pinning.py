"""Keep the server and the load generator off each other's CPUs.

On a machine with few cores the two compete, and the scheduler's choices add
noise to every number. Pinning gives each side its own CPUs. `taskset` is used
rather than sched_setaffinity in a preexec hook, because the harness runs a
sampling thread while it starts children, and preexec hooks are unsafe with threads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class Pinning:
    server_cpus: str  # taskset list, e.g. "0" or "0-1"
    load_cpus: str

    def server_prefix(self) -> List[str]:
        return ["taskset", "-c", self.server_cpus]

    def load_prefix(self) -> List[str]:
        return ["taskset", "-c", self.load_cpus]


_CPU_LIST = r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*"


def resolve_pinning(choice: str, cpu_count: Optional[int] = None) -> Optional[Pinning]:
    """`off`, `auto` (pin on 4+ CPUs: first half to the server) or `SERVER:LOAD` CPU lists."""
    cpu_count = cpu_count or os.cpu_count() or 1
    if choice == "off":
        return None
    if choice == "auto":
        # With 2 CPUs, one each would halve the server's share; leave that to the user.
        if cpu_count < 4:
            return None
        half = cpu_count // 2
        return Pinning("0-{}".format(half - 1), "{}-{}".format(half, cpu_count - 1))
    match = re.fullmatch("({0}):({0})".format(_CPU_LIST), choice)
    if not match:
        raise ValueError("--pin {!r}: give off, auto, or SERVER:LOAD CPU lists such as 0:1 or 0-1:2-3".format(choice))
    return Pinning(match.group(1), match.group(2))
