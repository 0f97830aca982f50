"""Keep the server and the load generator off each other's CPUs.

On a machine with few cores the two compete, and the scheduler's choices add
noise to every number; worse, a server that borrows the generator's CPU looks
faster than it is, and fast and slow servers look closer than they are
(measured on 2 cores: gunicorn+flask json 3.7k req/s with one worker on CPU 0
and wrk on CPU 1, 5.9k with two workers sharing both CPUs with wrk). So `auto`
splits the CPUs on any machine with two or more: the server (and nginx in front
of it) gets the first half, the load generator, the database and the upstream
stub the rest.

`taskset` is used rather than sched_setaffinity in a preexec hook, because the
harness runs a sampling thread while it starts children, and preexec hooks are
unsafe with threads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

_CPU_LIST = r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*"


def available_cpus() -> List[int]:
    """The CPUs this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def parse_cpu_list(text: str) -> List[int]:
    """"0-2,5" as [0, 1, 2, 5]; ValueError for anything else."""
    if not re.fullmatch(_CPU_LIST, text):
        raise ValueError("{!r} is not a CPU list such as 0, 0-1 or 0,2-3".format(text))
    cpus = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if last and int(last) < int(first):
            raise ValueError("{!r}: the range {} runs backwards".format(text, part))
        cpus.update(range(int(first), int(last or first) + 1))
    return sorted(cpus)


def format_cpu_list(cpus: Sequence[int]) -> str:
    """[0, 1, 2, 5] as "0-2,5", the form taskset and /sys use."""
    ordered = sorted(set(cpus))
    if not ordered:
        return ""
    parts: List[str] = []
    start = previous = ordered[0]
    for cpu in ordered[1:] + [None]:
        if cpu is not None and cpu == previous + 1:
            previous = cpu
            continue
        parts.append(str(start) if start == previous else "{}-{}".format(start, previous))
        start = previous = cpu
    return ",".join(parts)


@dataclass(frozen=True)
class Pinning:
    server_cpus: str  # taskset list, e.g. "0" or "0-1"
    load_cpus: str
    chosen_by: str = "explicit"  # "auto" or "explicit" (--pin SERVER:LOAD)

    @property
    def server_cpu_count(self) -> int:
        return len(parse_cpu_list(self.server_cpus))

    def server_prefix(self) -> List[str]:
        return ["taskset", "-c", self.server_cpus]

    def load_prefix(self) -> List[str]:
        """For the load generator and what serves the server (database, upstream stub)."""
        return ["taskset", "-c", self.load_cpus]

    def as_metadata(self) -> dict:
        return {"server_cpus": self.server_cpus, "load_cpus": self.load_cpus, "chosen_by": self.chosen_by}


def auto_pinning(cpus: Sequence[int]) -> Optional[Pinning]:
    """First half (at least one) to the server, the rest to everything else; None on one CPU."""
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return Pinning(format_cpu_list(cpus[:half]), format_cpu_list(cpus[half:]), chosen_by="auto")


def resolve_pinning(choice: str, cpus: Optional[Sequence[int]] = None) -> Optional[Pinning]:
    """`off`, `auto` or `SERVER:LOAD` CPU lists, checked against the CPUs this process may use.

    A list naming a CPU that is not there fails here, before anything starts, with the
    CPUs there are: taskset's own answer comes after the server is half up and says only
    "Invalid argument".
    """
    cpus = sorted(cpus) if cpus is not None else available_cpus()
    if choice == "off":
        return None
    if choice == "auto":
        return auto_pinning(cpus)
    match = re.fullmatch("({0}):({0})".format(_CPU_LIST), choice)
    if not match:
        raise ValueError("--pin {!r}: give off, auto, or SERVER:LOAD CPU lists such as 0:1 or 0-1:2-3".format(choice))
    wanted = parse_cpu_list(match.group(1)) + parse_cpu_list(match.group(2))
    missing = sorted(set(wanted) - set(cpus))
    if missing:
        raise ValueError("--pin {!r}: this machine has no CPU {} available; the CPUs here are {}. "
                         "Name CPUs from those, e.g. --pin {}, or use --pin auto".format(
                             choice, format_cpu_list(missing), format_cpu_list(cpus),
                             "{}:{}".format(cpus[0], cpus[-1]) if len(cpus) > 1 else "off"))
    return Pinning(format_cpu_list(parse_cpu_list(match.group(1))), format_cpu_list(parse_cpu_list(match.group(2))))
