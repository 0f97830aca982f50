"""Drive the load generator and keep its raw output next to the results.

Closed-loop runs use wrk as it is. Fixed-rate (open-loop) runs use wrk2 when one is
installed, and otherwise tools/benchmatrix/load/fixed_rate.lua on the same wrk.
A request beyond a plain GET, or a flow, is sent through a prelude script written beside
the raw output (load/request_script.py); a flow runs one connection per wrk thread.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from benchmatrix.load import fixed_rate
from benchmatrix.load.flow_report import flow_result, parse_flow_report
from benchmatrix.load.parse import (FixedRateResult, WrkOutputError, WrkResult, is_wrk2_usage, parse_wrk2,
                                   parse_wrk_report)
from benchmatrix.load.request_script import UnsupportedUnderWrk, flow_prelude, request_prelude, write_script
from benchmatrix.matrix.scenarios import GET, FlowStep, HttpRequest
from benchmatrix.stack.process import run_bounded

# A flow's state lives in its wrk thread, so each connection gets a thread (as fixed_rate.lua's do).
MAX_FLOW_CONNECTIONS = fixed_rate.MAX_CONNECTIONS


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


def wrk_argv(wrk: str, settings: LoadSettings, url: str, script: Path = REPORT_SCRIPT,
             thread_per_connection: bool = False) -> List[str]:
    # wrk refuses more threads than connections; fewer threads than asked is the honest fix.
    threads = settings.connections if thread_per_connection else max(1, min(settings.threads, settings.connections))
    return [wrk, "--threads", str(threads), "--connections", str(settings.connections),
            "--duration", "{:g}s".format(settings.duration_s),
            "--timeout", "{:g}s".format(settings.timeout_s), "--latency", "--script", str(script),
            *close_header(settings), url]


def check_flow_load(steps: Sequence[FlowStep], connections: int) -> None:
    """UnsupportedUnderWrk, before anything runs, for a flow wrk cannot drive at this load."""
    if steps and connections > MAX_FLOW_CONNECTIONS:
        raise UnsupportedUnderWrk("a flow runs one wrk thread per connection, at most {}; asked for {}".format(
            MAX_FLOW_CONNECTIONS, connections))
    if steps:
        flow_prelude(steps, REPORT_SCRIPT)  # refuses an extraction wrk's Lua cannot run


REMOTE_COMMAND = "benchmatrix.hosts.remote_command"  # the wrapper an SSH load host's commands run under


def refuse_remote_prelude(prefix: Sequence[str], request: HttpRequest, steps: Sequence[FlowStep]) -> None:
    """WrkOutputError (the record's load-failed) for a prelude on an SSH load host: only the scripts copied
    there when its session opened exist on it, and a prelude is written per trial, here."""
    if REMOTE_COMMAND in prefix and (steps or not request.is_plain_get):
        raise WrkOutputError("a request beyond a plain GET, or a flow, needs its prelude script on the load "
                             "host, and an SSH load host has only the scripts copied when it was set up: run "
                             "this scenario with the load generator local (--hosts local or netns)")


def load_script(raw_path: Path, report_script: Path, request: HttpRequest = GET,
                steps: Sequence[FlowStep] = ()) -> Path:
    """The script wrk runs: the report script itself for a plain GET, else a prelude written beside the raw
    output that sends the scenario's request or walks its flow, then runs the report script."""
    if steps:
        return write_script(raw_path, flow_prelude(steps, report_script))
    if request.is_plain_get:
        return report_script
    return write_script(raw_path, request_prelude(request, report_script))


def close_header(settings: LoadSettings) -> List[str]:
    # wrk reconnects whenever the server closes after an answer, so the header is all it takes.
    return ["--header", "Connection: close"] if settings.connection_close else []


def run_wrk(wrk: str, settings: LoadSettings, url: str, raw_path: Path,
            prefix: Sequence[str] = (), observer=None, request: HttpRequest = GET,
            steps: Sequence[FlowStep] = ()) -> Tuple[List[str], WrkResult]:
    """Run wrk once (after `prefix`, e.g. taskset) sending `request`, or walking the flow of `steps`; the raw
    output stays at raw_path, a prelude script beside it. A flow's result counts flows (load/flow_report.py).

    Raises WrkOutputError if the output holds no result, UnsupportedUnderWrk for a flow wrk cannot run.
    """
    check_flow_load(steps, settings.connections)
    refuse_remote_prelude(prefix, request, steps)
    script = load_script(raw_path, REPORT_SCRIPT, request, steps)
    argv = list(prefix) + wrk_argv(wrk, settings, url, script, thread_per_connection=bool(steps))
    # wrk stops itself after --duration; the margin covers start-up and its final timeouts.
    output = run_bounded(argv, timeout_s=settings.duration_s + settings.timeout_s + 15, log_path=raw_path,
                         observer=observer)
    result = parse_wrk_report(output)
    return argv, flow_result(result, parse_flow_report(output)) if steps else result


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


FLOWS_CLOSED_LOOP_ONLY = ("flows are measured closed-loop only: a fixed rate (--rate, --slo) plans single "
                          "requests, not flows of several; drop --rate/--slo for this scenario or choose a "
                          "single-request one")


def fixed_rate_command(driver: FixedRateDriver, rate: float, settings: LoadSettings, url: str,
                       script: Optional[Path] = None) -> List[str]:
    """wrk2's command line, or the built-in driver's; `script` (a request prelude) replaces the built-in
    driver's own fixed_rate.lua, and is wrk2's --script."""
    if driver.name == "wrk2":
        return [driver.binary, "--threads", str(max(1, min(settings.threads, settings.connections))),
                "--connections", str(settings.connections), "--duration", "{:g}s".format(settings.duration_s),
                "--timeout", "{:g}s".format(settings.timeout_s), "--rate", "{:.0f}".format(rate),
                "--latency", "-U", *close_header(settings), *(["--script", str(script)] if script else []), url]
    # The same connections as wrk2 or a closed-loop run would hold, so the figures compare.
    argv = fixed_rate.fixed_rate_argv(driver.binary, rate, settings.connections, int(settings.duration_s),
                                      int(settings.timeout_s), url, drain_s=settings.drain_s)
    return [str(script) if script and word == str(fixed_rate.SCRIPT) else word for word in argv]


def fixed_rate_script(driver: FixedRateDriver, raw_path: Path, request: HttpRequest) -> Optional[Path]:
    """The prelude that sends `request` at a fixed rate; None for a plain GET. wrk2 has no report script of
    its own, so its prelude runs an empty one."""
    if request.is_plain_get:
        return None
    report = fixed_rate.SCRIPT if driver.name != "wrk2" else fixed_rate.SCRIPT.with_name("empty.lua")
    return write_script(raw_path, request_prelude(request, report))


def run_fixed_rate(driver: FixedRateDriver, rate: float, settings: LoadSettings, url: str, raw_path: Path,
                   prefix: Sequence[str] = (), observer=None, request: HttpRequest = GET,
                   steps: Sequence[FlowStep] = ()) -> Tuple[List[str], FixedRateResult]:
    """One open-loop run at `rate` req/s sending `request`; raises WrkOutputError if the output holds no
    result, UnsupportedUnderWrk for a flow (FLOWS_CLOSED_LOOP_ONLY)."""
    if steps:
        raise UnsupportedUnderWrk(FLOWS_CLOSED_LOOP_ONLY)
    refuse_remote_prelude(prefix, request, steps)
    argv = list(prefix) + fixed_rate_command(driver, rate, settings, url,
                                             fixed_rate_script(driver, raw_path, request))
    output = run_bounded(argv, timeout_s=settings.duration_s + settings.drain_s + settings.timeout_s + 15,
                         log_path=raw_path, observer=observer)
    if driver.name == "wrk2":
        return argv, parse_wrk2(output, rate)
    return argv, fixed_rate.parse_fixed_rate_output(output)
