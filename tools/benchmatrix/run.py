"""Run one cell: boot its server, verify it, load it per scenario, record the results.

Phases per cell: boot -> verify every endpoint -> per scenario: primer, warmup,
measured run -> stop. The primer is a short burst whose result is checked, so a
path that only fails under load fails in seconds instead of after the warmup
and the full duration. The warmup is discarded. Only the measured run becomes
a record; every load generator output is kept under the run's raw folder.
"""

from __future__ import annotations

import datetime
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from tools.benchmatrix.load import LoadSettings, require_wrk, run_wrk
from tools.benchmatrix.matrix import REPO_ROOT, Cell, find_cell, load_matrix, package_name, requirements
from tools.benchmatrix.metadata import collect_run_metadata
from tools.benchmatrix.parse import WrkOutputError, WrkResult
from tools.benchmatrix.recipes import LaunchPlan, launch_plan
from tools.benchmatrix.records import (Record, append_markdown_row, append_record, format_number,
                                       rps_label, status_label)
from tools.benchmatrix.scenarios import Scenario
from tools.benchmatrix.services import (RUN_MARKER_VARIABLE, HttpService, ServiceError, ensure_port_free,
                                        free_port, log_tail)
from tools.benchmatrix.validity import assess_wrk, make_flag, status_for
from tools.benchmatrix.verify import verify_endpoints

MODE = "closed-loop"


@dataclass(frozen=True)
class RunOptions:
    server: str
    app: str
    scenarios: Sequence[Scenario]
    duration_s: int
    warmup_s: int
    primer_s: int
    connections: int
    threads: int
    timeout_s: int
    workers: Optional[int]
    port: Optional[int]
    boot_timeout_s: float
    results_dir: Path
    app_target: Optional[str]


def say(message: str) -> None:
    print("benchmatrix: " + message, flush=True)


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
        self.port = options.port or free_port()
        self.workers = options.workers or load_matrix().worker_count()
        target = options.app_target or cell.target
        self.app_label = cell.app.name if options.app_target is None else options.app_target
        self.plan: LaunchPlan = launch_plan(cell, self.port, self.workers,
                                            load_matrix().threads_per_worker, target)
        self.settings = LoadSettings(threads=options.threads, connections=options.connections,
                                     duration_s=options.duration_s, timeout_s=options.timeout_s)
        self.meta: Dict[str, Any] = {}
        self.statuses: List[str] = []

    def _base_meta(self) -> Dict[str, Any]:
        packages = [package_name(spec) for spec in requirements(load_matrix(), self.cell)]
        meta = collect_run_metadata(packages, self.wrk)
        meta["server"] = {"command": self.plan.argv, "workers": self.plan.workers,
                          "threads_per_worker": self.plan.threads,
                          "worker_class": self.cell.server.worker_class}
        meta["phases_s"] = {"primer": self.options.primer_s, "warmup": self.options.warmup_s}
        return meta

    def _record(self, scenario: Scenario, flags: List[Dict[str, str]], result: Optional[WrkResult],
                load_argv: Optional[List[str]], raw_output: Optional[Path]) -> Record:
        meta = dict(self.meta, load_command=load_argv)
        latency: Dict[str, Optional[float]] = {}
        errors = {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
        rps = rps_all = None
        if result is not None:
            lat = result.latency
            latency = {"avg": lat.avg_ms, "stdev": lat.stdev_ms, "p50": lat.p50_ms, "p75": lat.p75_ms,
                       "p90": lat.p90_ms, "p99": lat.p99_ms, "max": lat.max_ms}
            sock = result.socket_errors
            errors = {"non2xx": result.non2xx, "connect": sock.connect, "read": sock.read,
                      "write": sock.write, "timeout": sock.timeout}
            rps_all, rps = result.rps, result.successful_rps
        return Record(
            run_id=self.run_id, recorded_at=utc_now(), python=self.cell.python, app=self.app_label,
            server=self.cell.server.name, scenario=scenario.name, mode=MODE,
            connections=self.settings.connections, threads=self.settings.threads,
            duration_s=float(self.settings.duration_s), workers=self.workers, rps=rps, rps_all=rps_all,
            requests=result.requests if result else 0, latency_ms=latency, errors=errors,
            status=status_for(flags), flags=flags, meta=meta,
            raw_output=os.path.relpath(str(raw_output), str(self.options.results_dir)) if raw_output else None)

    def _save(self, record: Record) -> None:
        append_record(self.options.results_dir / "results.jsonl", record)
        append_markdown_row(self.options.results_dir / "results.md", record)
        self.statuses.append(record.status)
        latency = record.latency_ms
        say("{}: {} req/s, p50 {} ms, p99 {} ms -> {}".format(
            record.scenario, rps_label(record.__dict__), format_number(latency.get("p50")),
            format_number(latency.get("p99")), status_label(record.__dict__)))
        for flag in record.flags:
            say("  {}: {}. What to do: {}".format(flag["code"], flag["reason"], flag["hint"]))

    def _load(self, scenario: Scenario, phase: str, duration_s: int):
        settings = LoadSettings(self.settings.threads, self.settings.connections, duration_s,
                                self.settings.timeout_s)
        raw = self.raw_dir / "{}.{}.txt".format(scenario.name, phase)
        argv, result = run_wrk(self.wrk, settings, "http://127.0.0.1:{}{}".format(self.port, scenario.path), raw)
        return argv, result, raw

    def _measure(self, scenario: Scenario) -> None:
        raw = None
        try:
            if self.options.primer_s:
                say("{}: primer {} s".format(scenario.name, self.options.primer_s))
                _, primer, raw = self._load(scenario, "primer", self.options.primer_s)
                if primer.successful_requests == 0:
                    flags = assess_wrk(primer) or [make_flag("load-failed", "the primer got no response")]
                    for flag in flags:
                        flag["reason"] = "primer: " + flag["reason"]
                    self._save(self._record(scenario, flags, None, None, raw))
                    return
            if self.options.warmup_s:
                say("{}: warmup {} s (discarded)".format(scenario.name, self.options.warmup_s))
                self._load(scenario, "warmup", self.options.warmup_s)
            say("{}: measuring {} s at {} connections".format(
                scenario.name, self.options.duration_s, self.settings.connections))
            argv, result, raw = self._load(scenario, "measure", self.options.duration_s)
        except (WrkOutputError, ServiceError) as error:
            flag = make_flag("load-failed", str(error).splitlines()[0])
            self._save(self._record(scenario, [flag], None, None, raw))
            return
        self._save(self._record(scenario, assess_wrk(result), result, argv, raw))

    def execute(self) -> int:
        say("cell: python {} ({}), server {}, app {}; {} workers; results in {}".format(
            self.cell.python, sys.executable, self.cell.server.name, self.app_label, self.workers,
            self.options.results_dir))
        self.meta = self._base_meta()
        env = dict(self.plan.env)
        env[RUN_MARKER_VARIABLE] = self.run_id
        service = HttpService(name=self.cell.server.name, argv=self.plan.argv, port=self.port,
                              log_path=self.raw_dir / "server.log", ready_path=self.options.scenarios[0].path,
                              env=env, cwd=REPO_ROOT, boot_timeout_s=self.options.boot_timeout_s)
        started = time.monotonic()
        say("booting on 127.0.0.1:{}".format(self.port))
        with service.running():
            say("ready after {:.2f} s; verifying {} endpoint(s)".format(
                time.monotonic() - started, len(self.options.scenarios)))
            problems = {p.scenario: p for p in verify_endpoints(self.port, self.options.scenarios)}
            if problems:
                for scenario in self.options.scenarios:
                    problem = problems.get(scenario.name)
                    reason = problem.message if problem else "another endpoint of this cell failed verification"
                    self._save(self._record(scenario, [make_flag("verification-failed", reason)], None, None, None))
                say("verification failed; server log tail ({}):\n{}".format(
                    service.log_path, log_tail(service.log_path, 15)))
                return 1
            for scenario in self.options.scenarios:
                self._measure(scenario)
        say("done: {} record(s) appended to {}".format(
            len(self.statuses), self.options.results_dir / "results.jsonl"))
        return 1 if "failed" in self.statuses else 0


def run_cell(options: RunOptions) -> int:
    matrix = load_matrix()
    cell = find_cell(matrix, current_python(), options.server, options.app)  # ValueError: user error
    wrk = require_wrk()
    if options.port:
        ensure_port_free(options.port)
    return CellRun(options, cell, wrk).execute()
