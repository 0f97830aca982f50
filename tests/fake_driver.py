"""A deterministic load driver with scripted results, and the fakes that let a ScenarioMeasurement run on it.

FakeDriver implements load/driver.LoadDriver: each run() takes the next scripted result (or exception),
or asks a function of the request (a latency curve over planned rates), writes a one-line raw output and
records the request, so tests can assert exactly which loads were run in which order.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

from benchmatrix.load.ceiling import Ceiling
from benchmatrix.load.cross_check import H2load, H2loadResult
from benchmatrix.load.driver import DriverRun, LoadDrivers, LoadRequest
from benchmatrix.load.parse import FixedRateResult, Latency, SocketErrors, WrkResult
from benchmatrix.load.results import MEASURED
from benchmatrix.load.wrk import FixedRateDriver
from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.matrix.scenarios import SCENARIOS
from benchmatrix.run import answers
from benchmatrix.run.answer_checks import AnswerChecks
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.options import RunOptions
from benchmatrix.run.plan import CellPlan
from benchmatrix.run.recording import Console, Recorder
from benchmatrix.run.resources import TreeUsage
from benchmatrix.stack.probe import Endpoint

Scripted = Union[WrkResult, FixedRateResult, H2loadResult, Exception]


class FakeDriver:
    def __init__(self, name: str, script: Union[Iterable[Scripted], Callable[[LoadRequest], Scripted]],
                 tool: Optional[H2load] = None):
        self.name = name
        self.tool = tool  # a cross-check driver's H2load (its version decides skips)
        self._next = script if callable(script) else iter(script).__next__
        self._by_request = callable(script)
        self.requests: List[LoadRequest] = []

    def run(self, request: LoadRequest, observer=None) -> DriverRun:
        self.requests.append(request)
        result = self._next(request) if self._by_request else self._next()
        request.raw_path.parent.mkdir(parents=True, exist_ok=True)
        request.raw_path.write_text("fake {} output\n".format(self.name), encoding="utf-8")
        if isinstance(result, Exception):
            raise result
        argv = [self.name, "-c", str(request.settings.connections)]
        if request.planned_rate is not None:
            argv += ["-R", "{:g}".format(request.planned_rate)]
        return DriverRun(argv + [request.url], result, request.raw_path)


def wrk_result(rps: float, requests: int = 1000, non2xx: int = 0, socket_errors: SocketErrors = SocketErrors(),
               bytes_per_request: int = 150, p99_ms: float = 9.0, avg_ms: float = 2.0,
               latency_source: str = MEASURED) -> WrkResult:
    """A closed-loop result of `requests` in requests / rps seconds (a 2 ms mean: 2 in flight at 1000 req/s)."""
    elapsed = requests / rps if rps else 1.0
    return WrkResult(url="http://127.0.0.1:8000/json", threads=2, connections=64, requests=requests,
                     elapsed_s=elapsed, bytes_read=requests * bytes_per_request, rps=rps,
                     latency=Latency(avg_ms=avg_ms, stdev_ms=1.0, max_ms=20.0, p50_ms=2.0, p75_ms=3.0, p90_ms=5.0,
                                     p99_ms=p99_ms, p999_ms=15.0, p9999_ms=19.0),
                     non2xx=non2xx, socket_errors=socket_errors, source="done() JSON", latency_source=latency_source)


def fixed_rate_result(planned: float, achieved: Optional[float] = None, p99_ms: float = 10.0,
                      non2xx: int = 0) -> FixedRateResult:
    achieved = planned if achieved is None else achieved
    return FixedRateResult(driver="wrk-fixed-rate", planned_rate=planned, achieved_rate=achieved,
                           requests=int(achieved), duration_s=1.0,
                           latency=Latency(avg_ms=p99_ms / 2, stdev_ms=1.0, max_ms=p99_ms * 2, p50_ms=p99_ms / 4,
                                           p75_ms=p99_ms / 3, p90_ms=p99_ms / 2, p99_ms=p99_ms),
                           non2xx=non2xx, socket_errors=SocketErrors(), p999_ms=p99_ms * 1.5,
                           spectrum=((50.0, p99_ms / 4), (99.0, p99_ms), (100.0, p99_ms * 2)))


def h2load_result(rps: float, done: int = 1000, non2xx: int = 0) -> H2loadResult:
    return H2loadResult(duration_s=done / rps, rps_all=rps, total=done, started=done, done=done,
                        succeeded=done - non2xx, failed=non2xx, errored=0, timeout=0, status_2xx=done - non2xx,
                        status_3xx=0, status_4xx=0, status_5xx=non2xx, protocol="http/1.1")


def ceiling(rps: float, cv: float = 0.02) -> Ceiling:
    return Ceiling(rps=rps, trials=[rps], cv=cv, measured_at=0.0,
                   fingerprint={"placement": {"load_cpus": "1", "server_cpus": "0"}, "connections": 64,
                                "threads": 2})


class FakeServerWatch:
    """Stands for run/resources.ServerTreeSampler: `restarted` says, per trial in order, whether a server
    process died. It takes the support trees' roots as the sampler does, and ignores them."""

    def __init__(self, restarted: Sequence[bool] = ()):
        self.restarted = list(restarted)
        self.count = 0

    def __call__(self, pid: int, support_roots=None):
        self.count += 1
        usage = TreeUsage(cpu_s=1.0, peak_rss_bytes=2 ** 20 * 30, peak_uss_bytes=2 ** 20 * 20,
                          peak_pss_bytes=2 ** 20 * 25, pids_before={1, 2})
        died = self.restarted[self.count - 1] if self.count <= len(self.restarted) else False
        usage.pids_after = {1} if died else {1, 2}
        return _Holding(usage)


@dataclass
class _Holding:
    usage: Any
    cpu_s: float = 0.5

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


class FakeAnswerChecks(AnswerChecks):
    """The answer checks without a server: scripted verified sizes, connection closing and wrong answers."""

    def __init__(self, plan: CellPlan, verified_sizes: Sequence[int] = (150,), server_closes: bool = False,
                 wrong_after: Sequence[str] = ()):
        super().__init__(plan, Endpoint(port=8000), workers=1, say=lambda line: None)
        self._sizes = list(verified_sizes)
        self._closes = server_closes
        self._wrong_after = list(wrong_after)

    def before_load(self, scenario) -> None:
        self.verified_sizes[scenario.name] = list(self._sizes)
        self.server_closes[scenario.name] = self._closes

    def side_probe(self, scenario, enabled: bool):
        return answers._NoProbe()

    def check_after(self, scenario) -> answers.AnswerLog:
        log = answers.AnswerLog("after the load")
        for index in range(2):
            log.add(self._wrong_after[index] if index < len(self._wrong_after) else None)
        return log

    def header_report(self, scenario):
        return None


@dataclass
class Bench:
    """A ScenarioMeasurement of gunicorn/flask's json on fake drivers, and what it said."""
    measurement: ScenarioMeasurement
    lines: List[str] = field(default_factory=list)

    @property
    def scenario(self):
        return SCENARIOS["json"]


class _Quiet(Console):
    def __init__(self, lines: List[str]):
        super().__init__()
        self.lines = lines

    def say(self, message: str) -> None:
        self.lines.append(message)


def bench(tmp_path: Path, closed_loop: Optional[FakeDriver] = None, fixed_rate: Optional[FakeDriver] = None,
          cross_check: Optional[FakeDriver] = None, restarted: Sequence[bool] = (), cell_flags=(),
          ceilings: Optional[Dict] = None, verified_sizes: Sequence[int] = (150,), server_closes: bool = False,
          wrong_after: Sequence[str] = (), work_counter=None, **options) -> Bench:
    options = dict(dict(duration_s=1, warmup_s=0, primer_s=0, trials=3, results_dir=tmp_path,
                        scenarios=(SCENARIOS["json"],), connections=64), **options)
    cell = find_cell(load_matrix(), "{}.{}".format(*sys.version_info[:2]), "gunicorn", "flask")
    plan = CellPlan(RunOptions(server="gunicorn", app="flask", **options), cell,
                    FixedRateDriver("wrk-fixed-rate", "wrk") if fixed_rate else None)
    lines: List[str] = []
    recorder = Recorder(plan, "run-fake", tmp_path / "raw" / "run-fake", "flask", workers=1, meta={},
                        console=_Quiet(lines))
    drivers = LoadDrivers(closed_loop or FakeDriver("wrk", []), fixed_rate, cross_check)
    checks = FakeAnswerChecks(plan, verified_sizes, server_closes, wrong_after)
    measurement = ScenarioMeasurement(plan, "wrk", Endpoint(port=8000), server_pid=1, load_prefix=[],
                                      recorder=recorder, cell_flags=cell_flags, ceilings=ceilings,
                                      drivers=drivers, checks=checks, watch_server=FakeServerWatch(restarted),
                                      count_load_cpu=lambda: _Holding(None), work_counter=work_counter)
    return Bench(measurement, lines)


class FakeWorkCounter:
    """Stands for the cell's database and stub counters (stack/work_counters.py): each read returns the
    next scripted cumulative counts; `missing` are the kinds it cannot count, with why."""

    kinds = frozenset({"queries", "new_connections", "upstream_calls"})

    def __init__(self, readings: Sequence[Dict[str, int]], missing: Optional[Dict[str, str]] = None):
        self.readings = iter(readings)
        self.missing = dict(missing or {})

    def read(self, contract) -> Dict[str, int]:
        return next(self.readings)

    def uncounted(self, contract) -> Dict[str, str]:
        return {kind: why for kind, why in self.missing.items() if kind in contract.promised()}
