"""Run one cell: boot its server, verify it, load it per scenario, record the results.

Phases per cell: boot -> verify every endpoint -> per scenario: primer, warmup,
measured run -> stop. The primer is a short burst whose result is checked, so a
path that only fails under load fails in seconds instead of after the warmup
and the full duration. The warmup is discarded. Only the measured run becomes
a record; every load generator output is kept under the run's raw folder.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from tools.benchmatrix.run import coop
from tools.benchmatrix.stack.cell_stack import CellServices, new_socket_dir, server_bind
from tools.benchmatrix.run.coop import DEFAULT_REQUESTS
from tools.benchmatrix.load.fixed_rate import fixed_rate_threads
from tools.benchmatrix.load.wrk import LoadSettings, find_fixed_rate_driver, require_wrk, run_fixed_rate, run_wrk
from tools.benchmatrix.load.rates import RateChoice
from tools.benchmatrix.matrix.cells import (Cell, constraints_fingerprint, find_cell, load_matrix, package_name,
                                      requirements)
from tools.benchmatrix.run.metadata import collect_run_metadata
from tools.benchmatrix.load.parse import WrkOutputError
from tools.benchmatrix.hosts.pinning import resolve_pinning
from tools.benchmatrix.run.progress import Progress, planned_cell_seconds
from tools.benchmatrix.stack.recipes import LaunchPlan, launch_plan
from tools.benchmatrix.results.records import (Record, append_markdown_row, append_record, format_number,
                                       rps_label, status_label)
from tools.benchmatrix.run.resources import ChildrenCpu, GroupSampler, RunQueueWait, machine_busy_share
from tools.benchmatrix.matrix.scenarios import SCENARIOS, Scenario, services_needed
from tools.benchmatrix.stack.process import ServiceError, ensure_port_free, free_port, log_tail
from tools.benchmatrix.run.trials import (closed_loop_trial, fixed_rate_trial, resource_summary, summarize,
                                      unstable)
from tools.benchmatrix.run.validity import (assess_load_generator, assess_rate, assess_responses, make_flag,
                                        status_for)
from tools.benchmatrix.run.verify import verify_endpoints

DEFAULT_CONNECTIONS = 64  # CPU-bound scenarios: enough to keep every worker busy
DEFAULT_TIMEOUT_S = 2


@dataclass(frozen=True)
class LoadPlan:
    """How one record's trials load the server."""
    mode: str  # "closed-loop" or "fixed-rate"
    connections: int
    threads: int
    planned_rate: Optional[float]  # req/s for fixed-rate runs
    driver: Optional[str]  # "wrk", "wrk2" or fixed_rate.DRIVER

    def describe(self) -> str:
        if self.planned_rate is None:
            return "closed loop at {} connections,".format(self.connections)
        return "{:g} req/s fixed rate ({}, {} connections),".format(self.planned_rate, self.driver,
                                                                   self.connections)


@dataclass(frozen=True)
class RunOptions:
    server: str
    app: str
    scenarios: Sequence[Scenario]
    duration_s: int
    warmup_s: int
    primer_s: int
    connections: Optional[int]  # None: each scenario's profile (scenarios.py), else DEFAULT_CONNECTIONS
    threads: int
    timeout_s: Optional[int]
    workers: Optional[int]
    port: Optional[int]
    boot_timeout_s: float
    results_dir: Path
    app_target: Optional[str]
    trials: int = 3
    max_cv: float = 0.10  # req/s variation between trials above which a record is flagged
    max_busy: float = 0.25  # CPU share busy before the start above which the machine is flagged
    pin: str = "auto"  # see pinning.resolve_pinning
    position: Optional[Tuple[int, int]] = None  # (cell i, of N) in a matrix run
    rates: Sequence[RateChoice] = ()  # fixed-rate runs after (or instead of) the closed-loop one
    coop_check: str = "auto"  # "on", "off", or "auto": when a chosen scenario needs the database or upstream
    coop_requests: int = DEFAULT_REQUESTS

    @property
    def closed_loop_needed(self) -> bool:
        """Closed-loop trials run unless every fixed rate is absolute."""
        return not self.rates or any(rate.relative for rate in self.rates)


PROGRESS: Optional[Progress] = None  # set for matrix runs: prefixes every line with i/N and time left


def say(message: str) -> None:
    print("benchmatrix: " + (PROGRESS.prefix() if PROGRESS else "") + message, flush=True)


def current_python() -> str:
    return "{}.{}".format(*sys.version_info[:2])


def new_run_id(cell: Cell) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return "{}-py{}-{}-{}-{}".format(stamp, cell.python, cell.server.name, cell.app.name,
                                     secrets.token_hex(2))


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class CellRun:
    """One invocation of the harness on one cell; owns its records and raw folder."""

    def __init__(self, options: RunOptions, cell: Cell, wrk: str):
        self.options = options
        self.cell = cell
        self.wrk = wrk
        self.run_id = new_run_id(cell)
        self.raw_dir = options.results_dir / "raw" / self.run_id
        self.port = options.port or free_port()  # where wrk connects: the server, or nginx in front of it
        self.socket_dir = new_socket_dir()
        self.bind = server_bind(cell.server.front, self.port, self.socket_dir)
        self.workers = options.workers or load_matrix().worker_count()
        target = options.app_target or cell.target
        self.app_label = cell.app.name if options.app_target is None else options.app_target
        self.plan: LaunchPlan = launch_plan(cell, self.bind, self.workers,
                                            load_matrix().threads_per_worker, target)
        self.pinning = resolve_pinning(options.pin)
        self.server_argv = (self.pinning.server_prefix() if self.pinning else []) + self.plan.argv
        self.meta: Dict[str, Any] = {}
        self.statuses: List[str] = []
        self.cell_flags: List[Dict[str, str]] = []
        self.services: Optional[CellServices] = None
        self.driver = find_fixed_rate_driver(wrk) if options.rates else None

    def _settings(self, scenario: Scenario, duration_s: Optional[int] = None) -> LoadSettings:
        """The scenario's load profile, unless the command line set connections or timeout."""
        connections = self.options.connections or scenario.connections or DEFAULT_CONNECTIONS
        timeout_s = self.options.timeout_s or scenario.timeout_s or DEFAULT_TIMEOUT_S
        return LoadSettings(threads=min(self.options.threads, connections), connections=connections,
                            duration_s=self.options.duration_s if duration_s is None else duration_s,
                            timeout_s=timeout_s)

    def _closed_loop(self, scenario: Scenario) -> LoadPlan:
        settings = self._settings(scenario)
        return LoadPlan("closed-loop", settings.connections, settings.threads, None, "wrk")

    def _base_meta(self) -> Dict[str, Any]:
        packages = [package_name(spec) for spec in requirements(load_matrix(), self.cell)]
        meta = collect_run_metadata(packages, self.wrk)
        meta["pinning"] = {"server_cpus": self.pinning.server_cpus, "load_cpus": self.pinning.load_cpus} \
            if self.pinning else None
        meta["server"] = {"command": self.server_argv, "workers": self.plan.workers,
                          "threads_per_worker": self.plan.threads,
                          "worker_class": self.cell.server.worker_class,
                          "async_cores": self.plan.async_cores or None,
                          "listens_on": self.bind.address(), "protocol": self.bind.protocol}
        meta["front"] = None  # filled in when nginx starts
        meta["constraints"] = constraints_fingerprint(self.cell.python, self.cell.server.lock)
        if self.driver:
            meta["load_tool"]["fixed_rate_driver"] = {"name": self.driver.name, "binary": self.driver.binary}
        return meta

    def _record(self, scenario: Scenario, flags: List[Dict[str, str]],
                trials: Sequence[Dict[str, Any]] = (), load_argv: Optional[List[str]] = None,
                load: Optional["LoadPlan"] = None) -> Record:
        load = load or self._closed_loop(scenario)
        summary = summarize(trials) if trials else {
            "rps": None, "rps_all": None, "requests": 0, "latency_ms": {}, "spread": {},
            "errors": {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0},
            "achieved_rate": None, "spectrum": []}
        # Per record: an I/O-bound scenario lengthens the primer (scenarios.IO_PRIMER_S).
        phases = {"primer": self._primer_s(scenario), "warmup": self.options.warmup_s}
        meta = dict(self.meta, load_command=load_argv, load_driver=load.driver, phases_s=phases)
        return Record(
            run_id=self.run_id, recorded_at=utc_now(), python=self.cell.python, app=self.app_label,
            server=self.cell.server.name, scenario=scenario.name, mode=load.mode,
            connections=load.connections, threads=load.threads,
            duration_s=float(self.options.duration_s), workers=self.plan.workers,
            rps=summary["rps"], rps_all=summary["rps_all"], requests=summary["requests"],
            latency_ms=summary["latency_ms"], errors=summary["errors"],
            status=status_for(flags), flags=flags, meta=meta,
            raw_output=os.path.relpath(str(self.raw_dir), str(self.options.results_dir)),
            spread=summary["spread"], trials=list(trials), resources=resource_summary(trials),
            planned_rate=load.planned_rate, achieved_rate=summary["achieved_rate"],
            spectrum=summary["spectrum"], in_flight=summary.get("in_flight"))

    def _save(self, record: Record) -> None:
        append_record(self.options.results_dir / "results.jsonl", record)
        append_markdown_row(self.options.results_dir / "results.md", record)
        self.statuses.append(record.status)
        latency = record.latency_ms
        rate = "" if record.planned_rate is None else " at a planned {:g} req/s".format(record.planned_rate)
        say("{}{}: {} req/s, p50 {} ms, p99 {} ms -> {}".format(
            record.scenario, rate, rps_label(record.__dict__), format_number(latency.get("p50")),
            format_number(latency.get("p99")), status_label(record.__dict__)))
        for flag in record.flags:
            say("  {}: {}. What to do: {}".format(flag["code"], flag["reason"], flag["hint"]))

    def _url(self, scenario: Scenario) -> str:
        return "http://127.0.0.1:{}{}".format(self.port, scenario.path)

    def _load_prefix(self) -> List[str]:
        return self.pinning.load_prefix() if self.pinning else []

    def _settle(self, scenario: Scenario) -> float:
        """Wait until the server has worked off requests an earlier wrk run left queued; seconds waited.

        wrk stops with requests in flight, and a server that serializes 1 s waits still
        owes them (measured: one sync worker started each 10 s trial with 10 s of stale
        /db_sleep work and completed none). A cheap request only returns once that queue
        is gone, so each run starts on an idle server.
        """
        if not scenario.io_bound:
            return 0.0
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self._settings(scenario).timeout_s)
        try:
            connection.request("GET", SCENARIOS["json"].path if self.cell.app.serves(["json"]) else scenario.path)
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            pass  # the measured run will say what is wrong
        finally:
            connection.close()
        waited = time.monotonic() - started
        if waited > 0.5:
            say("{}: waited {:.1f} s for the server to finish requests left by the previous run".format(
                scenario.name, waited))
        return waited

    def _closed_loop_run(self, scenario: Scenario, phase: str, duration_s: int, observer=None):
        settings = self._settings(scenario, duration_s)
        raw = self.raw_dir / "{}.{}.txt".format(scenario.name, phase)
        argv, result = run_wrk(self.wrk, settings, self._url(scenario), raw, prefix=self._load_prefix(),
                               observer=observer)
        return argv, result, raw

    def _trial(self, scenario: Scenario, load: "LoadPlan", number: int):
        """One measured run with what it cost the server and the load generator."""
        phase = "trial{}".format(number) if load.planned_rate is None else \
            "rate{:g}.trial{}".format(load.planned_rate, number)
        waits: List[RunQueueWait] = []

        def observe_load_generator(pid: int) -> RunQueueWait:
            waits.append(RunQueueWait(pid))
            return waits[-1]

        settle_s = self._settle(scenario)
        with GroupSampler(self.services.server_pgid) as server, ChildrenCpu() as load_generator:
            if load.planned_rate is None:
                argv, result, raw = self._closed_loop_run(scenario, phase, self.options.duration_s,
                                                          observe_load_generator)
                trial = closed_loop_trial(result)
            else:
                raw = self.raw_dir / "{}.{}.txt".format(scenario.name, phase)
                argv, result = run_fixed_rate(self.driver, load.planned_rate, self._settings(scenario),
                                              self._url(scenario), raw, prefix=self._load_prefix(),
                                              observer=observe_load_generator)
                trial = fixed_rate_trial(result)
        wait_s = waits[0].wait_s if waits else 0.0
        trial.update({
            "resources": {"server_cpu_s": round(server.usage.cpu_s, 3),
                          "server_peak_rss_mb": round(server.usage.peak_rss_bytes / 2 ** 20, 1),
                          "load_generator_cpu_s": round(load_generator.cpu_s, 3),
                          "load_generator_wait_s": round(wait_s, 3)},
            "server_restarted": server.usage.restarted, "settle_s": round(settle_s, 2),
            "raw_output": os.path.relpath(str(raw), str(self.options.results_dir))})
        flags = assess_responses(result) + assess_load_generator(
            load_generator.cpu_s, wait_s, self.options.duration_s, load.threads)
        if load.planned_rate is not None:
            flags += assess_rate(result)
        return argv, trial, flags

    def _primer_s(self, scenario: Scenario) -> int:
        return max(self.options.primer_s, scenario.min_primer_s) if self.options.primer_s else 0

    def _primer_failed(self, scenario: Scenario) -> bool:
        primer_s = self._primer_s(scenario)
        say("{}: primer {} s".format(scenario.name, primer_s))
        self._settle(scenario)
        _, primer, _ = self._closed_loop_run(scenario, "primer", primer_s)
        if primer.successful_requests:
            return False
        flags = assess_responses(primer) or [make_flag("load-failed", "the primer got no response")]
        for flag in flags:
            flag["reason"] = "primer: " + flag["reason"]
        self._save(self._record(scenario, flags))
        return True

    def _trials(self, scenario: Scenario, load: "LoadPlan") -> Record:
        """All trials of one load plan, as one record (failed if the load tool gave no result)."""
        trials, flags, argv = [], [], None
        try:
            for number in range(1, self.options.trials + 1):
                say("{}: {} trial {}/{}, {} s".format(scenario.name, load.describe(), number,
                                                     self.options.trials, self.options.duration_s))
                argv, trial, trial_flags = self._trial(scenario, load, number)
                trials.append(trial)
                flags += [dict(f, reason="trial {}: {}".format(number, f["reason"])) for f in trial_flags]
        except (WrkOutputError, ServiceError) as error:
            failure = make_flag("load-failed", str(error).splitlines()[0])
            return self._record(scenario, [failure], trials, argv, load)
        return self._record(scenario, flags + self._run_flags(trials), trials, argv, load)

    def _measure(self, scenario: Scenario) -> None:
        try:
            if self.options.primer_s and self._primer_failed(scenario):
                return
            if self.options.warmup_s:
                say("{}: warmup {} s (discarded)".format(scenario.name, self.options.warmup_s))
                self._settle(scenario)
                self._closed_loop_run(scenario, "warmup", self.options.warmup_s)
        except (WrkOutputError, ServiceError) as error:
            self._save(self._record(scenario, [make_flag("load-failed", str(error).splitlines()[0])]))
            return
        closed_loop_rps = None
        if self.options.closed_loop_needed:
            record = self._trials(scenario, self._closed_loop(scenario))
            self._save(record)
            closed_loop_rps = record.rps if record.status != "failed" else None
        for rate in self.options.rates:
            planned = rate.resolve(closed_loop_rps)
            if planned is None:
                reason = "no valid closed-loop maximum to take {} of".format(rate.text)
                self._save(self._record(scenario, [make_flag("load-failed", reason)], load=self._rate_plan(scenario, 0)))
                continue
            self._save(self._trials(scenario, self._rate_plan(scenario, planned)))

    def _rate_plan(self, scenario: Scenario, rate: float) -> "LoadPlan":
        settings = self._settings(scenario)
        if self.driver.name == "wrk2":
            threads, connections = min(settings.threads, settings.connections), settings.connections
        else:
            threads = connections = fixed_rate_threads(rate, settings.threads)
        return LoadPlan("fixed-rate", connections, threads, rate, self.driver.name)

    def _run_flags(self, trials: Sequence[Dict[str, Any]]) -> List[Dict[str, str]]:
        """Flags that judge the trials together rather than one by one."""
        flags = list(self.cell_flags)
        reason = unstable(summarize(trials), self.options.max_cv)
        if reason:
            flags.append(make_flag("unstable-trials", reason))
        restarted = [str(i + 1) for i, t in enumerate(trials) if t["server_restarted"]]
        if restarted:
            flags.append(make_flag("server-restarted", "the server's processes changed during trial(s) "
                                   + ", ".join(restarted)))
        return flags

    def _machine_flags(self) -> List[Dict[str, str]]:
        """Checked once before the server starts, so the server's own work is not counted."""
        busy = machine_busy_share()
        self.meta["machine"]["busy_share_before_start"] = round(busy, 3)
        if busy > self.options.max_busy:
            return [make_flag("machine-busy", "{:.0%} of the CPUs were busy before the start "
                              "(limit {:.0%})".format(busy, self.options.max_busy))]
        return []

    def _coop_wanted(self) -> bool:
        if self.options.coop_check == "auto":
            return bool(services_needed(self.options.scenarios)) and self.cell.app.serves(coop.CHECKED_SCENARIOS)
        return self.options.coop_check == "on"

    def _services_needed(self) -> Set[str]:
        needed = set(services_needed(self.options.scenarios))
        if self._coop_wanted():
            needed.update(services_needed(SCENARIOS[name] for name in coop.CHECKED_SCENARIOS))
        return needed

    def _coop_check(self) -> None:
        say("cooperative-I/O check: {} concurrent requests each to {}".format(
            self.options.coop_requests, ", ".join(coop.CHECKED_SCENARIOS)))
        results = coop.check(self.port, requests=self.options.coop_requests)
        for result in results:
            say("  " + result.label() + " ({} in flight at once)".format(result.in_flight))
        self.meta["coop_check"] = coop.as_metadata(results)

    def execute(self) -> int:
        say("cell: python {} ({}), server {}, app {}; {} workers; results in {}".format(
            self.cell.python, sys.executable, self.cell.server.name, self.app_label, self.plan.workers,
            self.options.results_dir))
        self.meta = self._base_meta()
        self.cell_flags = self._machine_flags()
        self.services = CellServices(
            name=self.cell.server.name, front=self.cell.server.front, bind=self.bind, port=self.port,
            socket_dir=self.socket_dir, server_argv=self.server_argv, server_env=self.plan.env,
            run_id=self.run_id, raw_dir=self.raw_dir, ready_path=self.options.scenarios[0].path,
            boot_timeout_s=self.options.boot_timeout_s, say=say, meta=self.meta)
        with contextlib.ExitStack() as stack:
            self.services.start(stack, self._services_needed())
            say("verifying {} endpoint(s){}".format(
                len(self.options.scenarios), " through " + self.cell.server.front.name if self.cell.server.front else ""))
            problems = {p.scenario: p for p in verify_endpoints(self.port, self.options.scenarios)}
            if problems:
                for scenario in self.options.scenarios:
                    problem = problems.get(scenario.name)
                    reason = problem.message if problem else "another endpoint of this cell failed verification"
                    self._save(self._record(scenario, [make_flag("verification-failed", reason)]))
                say("verification failed; server log tail ({}):\n{}".format(
                    self.services.server_log, log_tail(self.services.server_log, 15)))
                return 1
            if self._coop_wanted():
                self._coop_check()
            for scenario in self.options.scenarios:
                self._measure(scenario)
        say("done: {} record(s) appended to {}".format(
            len(self.statuses), self.options.results_dir / "results.jsonl"))
        return 1 if "failed" in self.statuses else 0


def start_progress(options: RunOptions) -> None:
    global PROGRESS
    if options.position:
        planned = planned_cell_seconds(len(options.scenarios), options.primer_s, options.warmup_s,
                                       options.trials, options.duration_s, len(options.rates),
                                       options.closed_loop_needed)
        PROGRESS = Progress(options.position[0], options.position[1], planned)
        PROGRESS.start()


def run_cell(options: RunOptions) -> int:
    matrix = load_matrix()
    cell = find_cell(matrix, current_python(), options.server, options.app)  # ValueError: user error
    if options.coop_check == "on" and not cell.app.serves(coop.CHECKED_SCENARIOS):
        raise ValueError("--coop-check on: app {!r} does not serve {}".format(
            cell.app.name, " and ".join(coop.CHECKED_SCENARIOS)))
    start_progress(options)
    wrk = require_wrk()
    if options.port:
        ensure_port_free(options.port)
    return CellRun(options, cell, wrk).execute()
