"""Drive the load generator and keep its raw output next to the results.

Closed-loop runs use wrk as it is. Fixed-rate (open-loop) runs use wrk2 when one is
installed, and otherwise tools/benchmatrix/load/fixed_rate.lua on the same wrk.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from benchmatrix.load import fixed_rate
from benchmatrix.load.parse import FixedRateResult, WrkResult, is_wrk2_usage, parse_wrk2, parse_wrk_report
from benchmatrix.stack.process import run_bounded


class LoadToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadSettings:
    threads: int
    connections: int
    duration_s: float
    timeout_s: float  # wrk counts a request slower than this as a timeout error
    connection_close: bool = False  # "Connection: close" on every request: a new connection per request
    drain_s: int = 1  # fixed rate, built-in driver: extra seconds for the last planned requests' answers


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadToolMissing(
            "wrk was not found on PATH. Install it with `sudo apt-get install wrk` "
            "(tools/setup.sh does this), then run the bench again.")
    return path


REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")


def wrk_argv(wrk: str, settings: LoadSettings, url: str) -> List[str]:
    # wrk refuses more threads than connections; fewer threads than asked is the honest fix.
    threads = max(1, min(settings.threads, settings.connections))
    return [wrk, "--threads", str(threads), "--connections", str(settings.connections),
            "--duration", "{:g}s".format(settings.duration_s),
            "--timeout", "{:g}s".format(settings.timeout_s), "--latency", "--script", str(REPORT_SCRIPT),
            *close_header(settings), url]


def close_header(settings: LoadSettings) -> List[str]:
    # wrk reconnects whenever the server closes after an answer, so the header is all it takes.
    return ["--header", "Connection: close"] if settings.connection_close else []


def run_wrk(wrk: str, settings: LoadSettings, url: str, raw_path: Path,
            prefix: Sequence[str] = (), observer=None) -> Tuple[List[str], WrkResult]:
    """Run wrk once (after `prefix`, e.g. taskset); the raw output stays at raw_path.

    Raises WrkOutputError if the output holds no result.
    """
    argv = list(prefix) + wrk_argv(wrk, settings, url)
    # wrk stops itself after --duration; the margin covers start-up and its final timeouts.
    output = run_bounded(argv, timeout_s=settings.duration_s + settings.timeout_s + 15, log_path=raw_path,
                         observer=observer)
    return argv, parse_wrk_report(output)


@dataclass(frozen=True)
class FixedRateDriver:
    """What runs open-loop load: a real wrk2 when one is installed, else fixed_rate.lua on wrk."""
    name: str  # "wrk2" or fixed_rate.DRIVER
    binary: str


def usage_text(binary: str) -> str:
    """What a wrk-like binary prints when run without arguments (its usage)."""
    try:
        completed = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return completed.stdout.decode("utf-8", errors="replace")


def find_fixed_rate_driver(wrk: str) -> FixedRateDriver:
    # A wrk2 build may be installed as wrk2 or in place of wrk; its usage offers --rate.
    for candidate in (shutil.which("wrk2"), wrk):
        if candidate and is_wrk2_usage(usage_text(candidate)):
            return FixedRateDriver("wrk2", candidate)
    return FixedRateDriver(fixed_rate.DRIVER, wrk)


def fixed_rate_command(driver: FixedRateDriver, rate: float, settings: LoadSettings, url: str) -> List[str]:
    if driver.name == "wrk2":
        return [driver.binary, "--threads", str(max(1, min(settings.threads, settings.connections))),
                "--connections", str(settings.connections), "--duration", "{:g}s".format(settings.duration_s),
                "--timeout", "{:g}s".format(settings.timeout_s), "--rate", "{:.0f}".format(rate),
                "--latency", "-U", *close_header(settings), url]
    # The same connections as wrk2 or a closed-loop run would hold, so the figures compare.
    return fixed_rate.fixed_rate_argv(driver.binary, rate, settings.connections, int(settings.duration_s),
                                      int(settings.timeout_s), url, drain_s=settings.drain_s)


def run_fixed_rate(driver: FixedRateDriver, rate: float, settings: LoadSettings, url: str, raw_path: Path,
                   prefix: Sequence[str] = (), observer=None) -> Tuple[List[str], FixedRateResult]:
    """One open-loop run at `rate` req/s; raises WrkOutputError if the output holds no result."""
    argv = list(prefix) + fixed_rate_command(driver, rate, settings, url)
    output = run_bounded(argv, timeout_s=settings.duration_s + settings.drain_s + settings.timeout_s + 15,
                         log_path=raw_path, observer=observer)
    if driver.name == "wrk2":
        return argv, parse_wrk2(output, rate)
    return argv, fixed_rate.parse_fixed_rate_output(output)
