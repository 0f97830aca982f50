"""Run one cell: boot its stack, verify it, measure each scenario, record the results.

Phases per cell: describe the measured environment -> check the machine ->
boot (database, upstream stub, server, nginx) -> verify every endpoint ->
cooperative-I/O check (when asked) -> per scenario: primer, warmup, trials ->
stop, in reverse order, however the run ends.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List

from tools.benchmatrix.hosts.pinning import resolve_pinning
from tools.benchmatrix.load.wrk import find_fixed_rate_driver, require_wrk
from tools.benchmatrix.matrix.cells import constraints_fingerprint, find_cell, load_matrix, package_name, requirements
from tools.benchmatrix.run import coop
from tools.benchmatrix.run.measure import ScenarioMeasurement
from tools.benchmatrix.run.metadata import collect_run_metadata
from tools.benchmatrix.run.options import RunOptions
from tools.benchmatrix.run.plan import CellPlan
from tools.benchmatrix.run.progress import Progress
from tools.benchmatrix.run.recording import Console, Recorder, new_run_id
from tools.benchmatrix.run.resources import machine_busy_share
from tools.benchmatrix.run.validity import make_flag
from tools.benchmatrix.run.verify import verify_endpoints
from tools.benchmatrix.stack.cell_env import CellEnvironment
from tools.benchmatrix.stack.cell_stack import CellStack, StackConditions
from tools.benchmatrix.stack.process import ensure_port_free, free_port
from tools.benchmatrix.stack.readiness import log_tail


class CellRun:
    """One invocation of the harness on one cell; owns its raw folder and its records."""

    def __init__(self, plan: CellPlan, env: CellEnvironment, env_description: Dict[str, Any], wrk: str,
                 console: Console):
        options, cell = plan.options, plan.cell
        self.plan = plan
        self.wrk = wrk
        self.console = console
        self.run_id = new_run_id(cell)
        self.raw_dir = options.results_dir / "raw" / self.run_id
        self.pinning = resolve_pinning(options.pin)
        matrix = load_matrix()
        self.stack = CellStack(
            cell, env, port=options.port or free_port(), workers=options.workers or matrix.worker_count(),
            threads=matrix.threads_per_worker, target=options.app_target or cell.target, raw_dir=self.raw_dir,
            ready_path=options.scenarios[0].path, boot_timeout_s=options.boot_timeout_s,
            server_prefix=self.pinning.server_prefix() if self.pinning else [], say=console.say)
        self.env = env
        self.meta = self._run_meta(env_description)
        self.recorder = Recorder(plan, self.run_id, self.raw_dir,
                                 app_label=options.app_target or cell.app.name,
                                 workers=self.stack.launch.workers, meta=self.meta, console=console)

    def _run_meta(self, env_description: Dict[str, Any]) -> Dict[str, Any]:
        cell = self.plan.cell
        packages = [package_name(spec) for spec in requirements(load_matrix(), cell)]
        meta = collect_run_metadata(env_description, packages, self.wrk)
        meta["pinning"] = {"server_cpus": self.pinning.server_cpus, "load_cpus": self.pinning.load_cpus} \
            if self.pinning else None
        meta["server"] = self.stack.server_conditions()
        meta["constraints"] = constraints_fingerprint(cell.python, cell.server.lock)
        if self.plan.driver:
            meta["load_tool"]["fixed_rate_driver"] = {"name": self.plan.driver.name,
                                                      "binary": self.plan.driver.binary}
        return meta

    def _machine_flags(self) -> List[Dict[str, str]]:
        """Checked once before the server starts, so the server's own work is not counted."""
        busy = machine_busy_share()
        self.meta["machine"]["busy_share_before_start"] = round(busy, 3)
        limit = self.plan.options.max_busy
        if busy > limit:
            return [make_flag("machine-busy", "{:.0%} of the CPUs were busy before the start "
                              "(limit {:.0%})".format(busy, limit))]
        return []

    def _note_stack(self, conditions: StackConditions) -> None:
        self.meta.update(front=conditions.front)
        if conditions.database:
            self.meta["database"] = conditions.database
        if conditions.upstream:
            self.meta["upstream"] = conditions.upstream

    def _verified(self, conditions: StackConditions) -> bool:
        scenarios = self.plan.options.scenarios
        front = self.plan.cell.server.front
        self.console.say("verifying {} endpoint(s){}".format(len(scenarios), " through " + front.name if front else ""))
        problems = {p.scenario: p for p in verify_endpoints(self.stack.endpoint, scenarios)}
        if not problems:
            return True
        for scenario in scenarios:
            problem = problems.get(scenario.name)
            reason = problem.message if problem else "another endpoint of this cell failed verification"
            self.recorder.save_new(scenario, [make_flag("verification-failed", reason)])
        self.console.say("verification failed; server log tail ({}):\n{}".format(
            conditions.server_log, log_tail(conditions.server_log, 15)))
        return False

    def _coop_check(self) -> None:
        requests = self.plan.options.coop_requests
        self.console.say("cooperative-I/O check: {} concurrent requests each to {}".format(
            requests, ", ".join(coop.CHECKED_SCENARIOS)))
        results = coop.check(self.stack.endpoint, requests=requests)
        for result in results:
            self.console.say("  " + result.label() + " ({} in flight at once)".format(result.in_flight))
        self.meta["coop_check"] = coop.as_metadata(results)

    def execute(self) -> int:
        cell = self.plan.cell
        self.console.say("cell: python {} ({}), server {}, app {}; {} workers; results in {}".format(
            cell.python, self.env.python, cell.server.name, self.recorder.app_label, self.stack.launch.workers,
            self.plan.options.results_dir))
        cell_flags = self._machine_flags()
        with contextlib.ExitStack() as stack:
            conditions = self.stack.start(stack, self.plan.services_needed())
            self._note_stack(conditions)
            if not self._verified(conditions):
                return 1
            if self.plan.coop_wanted():
                self._coop_check()
            measurement = ScenarioMeasurement(self.plan, self.wrk, self.stack.endpoint, conditions.server_pid,
                                              self.pinning.load_prefix() if self.pinning else [],
                                              self.recorder, cell_flags)
            for scenario in self.plan.options.scenarios:
                measurement.measure(scenario)
        self.console.say("done: {} record(s) appended to {}".format(
            len(self.recorder.statuses), self.plan.options.results_dir / "results.jsonl"))
        return 1 if self.recorder.any_failed else 0


def start_progress(plan: CellPlan) -> Console:
    position = plan.options.position
    if not position:
        return Console()
    progress = Progress(position[0], position[1], plan.planned_seconds(), elapsed_before_s=position[2])
    progress.start()
    return Console(progress)


def run_cell(options: RunOptions) -> int:
    env = CellEnvironment.at(options.venv) if options.venv else CellEnvironment.harness_own()
    description = env.describe()
    cell = find_cell(load_matrix(), description["major_minor"], options.server, options.app)  # ValueError: user error
    if options.coop_check == "on" and not cell.app.serves(coop.CHECKED_SCENARIOS):
        raise ValueError("--coop-check on: app {!r} does not serve {}".format(
            cell.app.name, " and ".join(coop.CHECKED_SCENARIOS)))
    wrk = require_wrk()
    if options.port:
        ensure_port_free(options.port)
    plan = CellPlan(options, cell, find_fixed_rate_driver(wrk) if options.rates else None)
    return CellRun(plan, env, description, wrk, start_progress(plan)).execute()
