"""Drive the load generator (Debian's wrk) and keep its raw output next to the results."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from tools.benchmatrix.parse import WrkResult, parse_wrk
from tools.benchmatrix.services import run_bounded


class LoadToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadSettings:
    threads: int
    connections: int
    duration_s: float
    timeout_s: float  # wrk counts a request slower than this as a timeout error


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadToolMissing(
            "wrk was not found on PATH. Install it with `sudo apt-get install wrk` "
            "(tools/setup.sh does this), then run the bench again.")
    return path


def wrk_argv(wrk: str, settings: LoadSettings, url: str) -> List[str]:
    # wrk refuses more threads than connections; fewer threads than asked is the honest fix.
    threads = max(1, min(settings.threads, settings.connections))
    return [wrk, "--threads", str(threads), "--connections", str(settings.connections),
            "--duration", "{:g}s".format(settings.duration_s),
            "--timeout", "{:g}s".format(settings.timeout_s), "--latency", url]


def run_wrk(wrk: str, settings: LoadSettings, url: str, raw_path: Path,
            prefix: Sequence[str] = ()) -> Tuple[List[str], WrkResult]:
    """Run wrk once (after `prefix`, e.g. taskset); the raw output stays at raw_path.

    Raises WrkOutputError if the output holds no result.
    """
    argv = list(prefix) + wrk_argv(wrk, settings, url)
    # wrk stops itself after --duration; the margin covers start-up and its final timeouts.
    output = run_bounded(argv, timeout_s=settings.duration_s + settings.timeout_s + 15, log_path=raw_path)
    return argv, parse_wrk(output)
