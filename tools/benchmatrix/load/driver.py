"""One protocol for every load generator: run one trial of a load, return its parsed result and raw output.

wrk (closed loop, with the done() report of wrk_report.lua), wrk2 (fixed rate, when
one is installed), the built-in fixed-rate driver (fixed_rate.lua on stock wrk) and
h2load (the --cross-check generator) implement it. The measurement chooses a driver
once per load plan (LoadDrivers.for_mode) and never asks which tool it holds, so the
deciding logic above it can be driven by a scripted fake in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Protocol, Tuple, Union

from benchmatrix.load.cross_check import H2load, H2loadResult, run_cross_check
from benchmatrix.load.parse import FixedRateResult, WrkResult
from benchmatrix.load.wrk import FixedRateDriver, LoadSettings, run_fixed_rate, run_wrk
from benchmatrix.matrix.scenarios import GET, FlowStep, HttpRequest

LoadResult = Union[WrkResult, FixedRateResult, H2loadResult]
Observer = Callable[[int], Any]  # called with the tool's pid once it runs (a run-queue sampler)


@dataclass(frozen=True)
class LoadRequest:
    """One trial's load: the closed-loop settings (connections, threads, duration, timeout, Connection
    header), the URL, where the raw output goes, and for a fixed-rate run the planned req/s; what is sent:
    the scenario's request, or the steps of its flow (then the URL names the first step)."""
    settings: LoadSettings
    url: str
    raw_path: Path
    planned_rate: Optional[float] = None
    prefix: Tuple[str, ...] = ()  # what the tool runs under: taskset, ssh ...
    request: HttpRequest = GET
    steps: Tuple[FlowStep, ...] = ()


@dataclass(frozen=True)
class DriverRun:
    """What one trial gave: the argv it ran, its parsed result, and where its raw output is."""
    argv: List[str]
    result: LoadResult
    raw_path: Path


class LoadDriver(Protocol):
    name: str  # as records name the tool: "wrk", "wrk2", fixed_rate.DRIVER, "h2load"

    def run(self, request: LoadRequest, observer: Optional[Observer] = None) -> DriverRun:
        """Run one trial; WrkOutputError when the output holds no result, ServiceError past its deadline."""
        ...


@dataclass(frozen=True)
class WrkClosedLoop:
    binary: str
    name: str = "wrk"

    def run(self, request: LoadRequest, observer: Optional[Observer] = None) -> DriverRun:
        argv, result = run_wrk(self.binary, request.settings, request.url, request.raw_path,
                               prefix=request.prefix, observer=observer, request=request.request,
                               steps=request.steps)
        return DriverRun(argv, result, request.raw_path)


@dataclass(frozen=True)
class FixedRateTool:
    """wrk2, or the built-in fixed_rate.lua on stock wrk: the same plan, two notations of the result."""
    tool: FixedRateDriver

    @property
    def name(self) -> str:
        return self.tool.name

    def run(self, request: LoadRequest, observer: Optional[Observer] = None) -> DriverRun:
        if request.planned_rate is None:
            raise ValueError("a fixed-rate driver needs a planned rate")
        argv, result = run_fixed_rate(self.tool, request.planned_rate, request.settings, request.url,
                                      request.raw_path, prefix=request.prefix, observer=observer,
                                      request=request.request, steps=request.steps)
        return DriverRun(argv, result, request.raw_path)


@dataclass(frozen=True)
class H2loadDriver:
    tool: H2load
    name: str = "h2load"

    def run(self, request: LoadRequest, observer: Optional[Observer] = None) -> DriverRun:
        # No observer: the cross-check records no load-generator CPU or wait.
        argv, result = run_cross_check(self.tool, request.settings, request.url, request.raw_path, request.prefix,
                                       request=request.request)
        return DriverRun(argv, result, request.raw_path)


@dataclass(frozen=True)
class LoadDrivers:
    """The drivers of one run: closed loop always; fixed rate and the cross-check when asked for."""
    closed_loop: LoadDriver
    fixed_rate: Optional[LoadDriver] = None
    cross_check: Optional[LoadDriver] = field(default=None)

    def for_mode(self, mode: str) -> LoadDriver:
        """The driver of a load plan's mode ("closed-loop" or "fixed-rate")."""
        if mode == "closed-loop":
            return self.closed_loop
        if self.fixed_rate is None:
            raise ValueError("this run has no fixed-rate driver (no --rate or --slo was planned)")
        return self.fixed_rate


def real_drivers(wrk: str, fixed_rate_tool: Optional[FixedRateDriver] = None,
                 cross_check_tool: Optional[H2load] = None) -> LoadDrivers:
    return LoadDrivers(WrkClosedLoop(wrk), FixedRateTool(fixed_rate_tool) if fixed_rate_tool else None,
                       H2loadDriver(cross_check_tool) if cross_check_tool else None)
