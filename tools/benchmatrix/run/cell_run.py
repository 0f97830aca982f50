"""Run one cell: boot its stack, verify it, measure each scenario, record the results.

Phases per cell: place the CPUs -> describe the measured environment -> take the
machine (one benchmark at a time) -> check the machine -> the load generator's
ceiling (measured, or a fresh one reused) -> boot (database, upstream stub,
server, nginx) -> verify every endpoint ->
cooperative-I/O check (when asked) -> per scenario: primer, warmup, trials ->
stop, in reverse order, however the run ends.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmatrix.hosts.machine_lock import machine_lock
from benchmatrix.hosts.machine_advice import advice
from benchmatrix.hosts.machine_state import collect_machine_state
from benchmatrix.hosts.pinning import Pinning, resolve_pinning
from benchmatrix.hosts.roles import HostsPlan, plan_hosts
from benchmatrix.hosts.rtt import measure as measure_rtt
from benchmatrix.load import fixed_rate
from benchmatrix.load import ceiling as load_ceiling
from benchmatrix.load.cross_check import H2load, find_h2load
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import FixedRateDriver, find_fixed_rate_driver, require_wrk
from benchmatrix.matrix.cells import (Matrix, constraints_fingerprint, find_cell, load_matrix, package_name,
                                            requirements)
from benchmatrix.run import coop, resume
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.metadata import collect_run_metadata
from benchmatrix.run.options import RunOptions
from benchmatrix.run.plan import CellPlan
from benchmatrix.run.progress import Progress
from benchmatrix.run.recording import Console, Recorder, new_run_id, utc_now
from benchmatrix.run.resources import machine_busy_share
from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.run.verify import verify_endpoints
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.cell_stack import CellStack, StackConditions
from benchmatrix.stack.process import ensure_port_free, free_port
from benchmatrix.stack.readiness import ServiceError, log_tail


class CellRun:
    """One invocation of the harness on one cell; owns its raw folder and its records."""

    def __init__(self, plan: CellPlan, env: CellEnvironment, env_description: Dict[str, Any], wrk: str,
                 console: Console, pinning: Optional[Pinning], cross_check_tool: Optional[H2load] = None,
                 hosts: Optional[HostsPlan] = None):
        options, cell = plan.options, plan.cell
        self.plan = plan
        self.hosts = hosts or HostsPlan(kind="local")
        self.wrk = wrk
        self.cross_check_tool = cross_check_tool
        self.console = console
        self.run_id = new_run_id(cell)
        self.raw_dir = options.results_dir / "raw" / self.run_id
        self.pinning = pinning
        matrix = load_matrix()
        workers, self.workers_rule = worker_count(options.workers, matrix, pinning)
        self.stack = CellStack(
            cell, env, port=options.port or free_port(), workers=workers,
            threads=matrix.threads_per_worker, target=options.app_target or cell.target, raw_dir=self.raw_dir,
            ready_path=options.scenarios[0].path, boot_timeout_s=options.boot_timeout_s,
            server_prefix=pinning.server_prefix() if pinning else [], say=console.say,
            support_prefix=pinning.load_prefix() if pinning else [],
            front_workers=pinning.server_cpu_count if pinning else None, hosts=self.hosts)
        self.env = env
        self.meta = self._run_meta(env_description)
        self.recorder = Recorder(plan, self.run_id, self.raw_dir,
                                 app_label=options.app_target or cell.app.name,
                                 workers=self.stack.launch.workers, meta=self.meta, console=console)

    def _run_meta(self, env_description: Dict[str, Any]) -> Dict[str, Any]:
        cell = self.plan.cell
        packages = [package_name(spec) for spec in requirements(load_matrix(), cell)]
        meta = collect_run_metadata(env_description, packages, self.wrk)
        meta["pinning"] = self.pinning.as_metadata() if self.pinning else None
        meta["server"] = dict(self.stack.server_conditions(), workers_rule=self.workers_rule)
        meta["constraints"] = constraints_fingerprint(cell.python, cell.server.lock)
        if self.plan.driver:
            meta["load_tool"]["fixed_rate_driver"] = {"name": self.plan.driver.name,
                                                      "binary": self.plan.driver.binary}
        return meta

    def check_machine(self) -> List[Flag]:
        """Checked once before the server starts, so the server's own work is not counted.

        The machine's state (governor, turbo, isolation, ASLR, virtualization, the busiest
        other processes) goes into every record; what may skew the numbers is said first.
        """
        # Both are windows of passive sampling: taken side by side, a matrix run pays one window
        # a cell, not two (0.3 s of a 5 s smoke cell).
        window = self.plan.options.machine_sample_s
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            sampled_state = pool.submit(collect_machine_state, sample_s=min(0.3, window))
            busy = machine_busy_share(window) if window > 0 else None
            state = sampled_state.result()
        self.meta["machine"]["busy_share_before_start"] = round(busy, 3) if busy is not None else None
        found = advice(state)
        self.meta["machine"]["state"] = state
        self.meta["machine"]["advice"] = [a.as_dict() for a in found]
        for item in found:
            if item.severity == "warn":
                self.console.say("machine: {}; {} (`nox -s system` shows the machine's state)".format(
                    item.finding, item.what_to_do))
        limit = self.plan.options.max_busy
        if busy is not None and busy > limit:
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

    def find_ceilings(self) -> Dict[Tuple[int, int], load_ceiling.Ceiling]:
        """The load generator's ceiling for each closed-loop load this run plans, before the cell boots."""
        choice = self.plan.options.ceiling
        self.meta["ceiling_choice"] = choice
        if choice == "off":
            self.console.say("load generator ceiling: off (--ceiling off); the records cannot say whether "
                             "the generator set the pace")
            return {}
        ceilings = {}
        for settings in self.plan.closed_loop_settings():
            key = (settings.connections, settings.threads)
            if key in ceilings:
                continue
            try:
                ceilings[key] = load_ceiling.find_or_measure(
                    self.wrk, settings, self.pinning, self.raw_dir / "ceiling-{}c{}t".format(*key),
                    self.meta["load_tool"]["version"], self.meta["services"].get("nginx"),
                    remeasure=choice == "measure", say=self.console.say, hosts=self.hosts)
            except (WrkOutputError, ServiceError) as error:
                # Without it the records say "unknown", which is the honest answer; the cell still runs.
                self.console.say("load generator ceiling could not be measured ({}); the records will say "
                                 "so".format(str(error).splitlines()[0]))
                self.meta["ceiling_error"] = str(error).splitlines()[0]
        return ceilings

    def execute(self) -> int:
        cell = self.plan.cell
        options = self.plan.options
        placement = ("server on CPU {}, load generator, database and stub on CPU {}".format(
            self.pinning.server_cpus, self.pinning.load_cpus) if self.pinning else "unpinned")
        self.console.say("cell: python {} ({}), server {}, app {}; {} workers ({}); {}; results in {}".format(
            cell.python, self.env.python, cell.server.name, self.recorder.app_label, self.stack.launch.workers,
            self.workers_rule, placement, options.results_dir))
        what = "bench {}/{} py{} (run {})".format(cell.server.name, self.recorder.app_label, cell.python, self.run_id)
        with machine_lock(what, wait=options.wait_for_machine, say=self.console.say) as hold:
            self.meta["machine_lock"] = hold.as_metadata()
            return self._execute_holding_machine()

    def start(self, stack: contextlib.ExitStack, cell_flags: List[Flag],
              ceilings: Dict[Tuple[int, int], load_ceiling.Ceiling]) -> Optional[ScenarioMeasurement]:
        """Boot and verify the stack on `stack`; what measures it, or None when verification failed."""
        conditions = self.stack.start(stack, self.plan.services_needed())
        self._note_stack(conditions)
        if not self._verified(conditions):
            return None
        self._note_hosts()
        if self.plan.coop_wanted():
            self._coop_check()
        return ScenarioMeasurement(self.plan, self.wrk, self.stack.endpoint, conditions.server_pid,
                                   load_ceiling.load_command_prefix(self.pinning, self.hosts),
                                   self.recorder, cell_flags, ceilings, cross_check_tool=self.cross_check_tool,
                                   load_is_remote=self.hosts.load_is_remote)

    def _note_hosts(self) -> None:
        """Each role's host and the round-trip times between them, measured before any load."""
        hosts = self.hosts
        rtt: Dict[str, Any] = {}
        try:
            if hosts.load_is_remote:
                # Timed from the server's side to the load host's sshd: the same path, the other way.
                host, port = hosts.load_ssh.address_and_port()
                rtt["server-load"] = measure_rtt(host, port)
            else:
                rtt["load-server"] = measure_rtt(hosts.server_address, self.stack.port)
            if self.stack.database_endpoint:
                rtt["server-database"] = measure_rtt(*self.stack.database_endpoint, from_namespace=(
                    hosts.lab.namespace("server") if hosts.lab else None))
        except OSError as error:
            rtt["error"] = "could not be measured: {}".format(error)
        self.meta["hosts"] = dict(hosts.as_metadata(rtt), label=hosts.label())
        self.console.say("hosts: {}; round trips {}".format(
            ", ".join("{} {}".format(role, role_host["host"]) for role, role_host in hosts.roles().items()),
            ", ".join("{} {:.3f} ms".format(pair, value["median_ms"]) for pair, value in rtt.items()
                      if isinstance(value, dict)) or rtt.get("error", "none")))

    def _execute_holding_machine(self) -> int:
        cell_flags = self.check_machine()
        with contextlib.ExitStack() as stack:
            # The hosts first and gone last: the ceiling is measured across the same link as the cell.
            stack.enter_context(self.hosts.up(self.load_files(), self.load_tools(), say=self.console.say,
                                              load_cpu_prefix=self.pinning.load_prefix() if self.pinning else ()))
            ceilings = self.find_ceilings()
            measurement = self.start(stack, cell_flags, ceilings)
            if measurement is None:
                return 1
            for scenario in self.plan.options.measured_scenarios:
                measurement.measure(scenario)
        self.console.say("done: {} record(s) appended to {}".format(
            len(self.recorder.statuses), self.plan.options.results_dir / "results.jsonl"))
        self.mark_measured()
        return 1 if self.recorder.any_failed else 0

    def load_files(self) -> List[Path]:
        """What an SSH load host needs copied: the Lua scripts the load commands name."""
        return sorted(Path(load_ceiling.__file__).parent.glob("*.lua"))

    def load_tools(self) -> Dict[str, str]:
        """Local binary -> the name an SSH load host runs, for each load tool this run uses."""
        tools = {self.wrk: "wrk"}
        if self.plan.driver:
            tools[self.plan.driver.binary] = "wrk2" if self.plan.driver.name == "wrk2" else "wrk"
        if self.cross_check_tool:
            tools[self.cross_check_tool.binary] = "h2load"
        return tools

    def mark_measured(self) -> None:
        """In a matrix run, the ledger entry that lets the next run skip this cell (run/resume.py).

        Only here, after every scenario was recorded: an interrupted or crashed cell has no
        entry, so a resumed matrix measures it again.
        """
        fingerprint = os.environ.get(resume.FINGERPRINT_VARIABLE)
        if not fingerprint:
            return
        cell = self.plan.cell
        resume.mark_measured(self.plan.options.results_dir, fingerprint, {
            "run_id": self.recorder.run_id, "python": cell.python, "server": cell.server.name,
            "app": cell.app.name, "records": len(self.recorder.statuses),
            "status": "failed" if self.recorder.any_failed else "measured", "finished_at": utc_now()})


def start_progress(plan: CellPlan) -> Console:
    position = plan.options.position
    if not position:
        return Console()
    progress = Progress(position[0], position[1], plan.planned_seconds(), elapsed_before_s=position[2],
                        skipped_before=position[3])
    progress.start()
    return Console(progress)


def worker_count(asked: Optional[int], matrix: Matrix, pinning: Optional[Pinning]) -> Tuple[int, str]:
    """How many server workers, and why: the record says which rule chose the number."""
    if asked:
        return asked, "--workers {}".format(asked)
    if matrix.workers != "cpu_count":
        return matrix.worker_count(), "configs/matrix.json workers"
    if pinning:
        # One per CPU the server may use: more would only queue on those CPUs.
        return pinning.server_cpu_count, "one per server CPU ({})".format(pinning.server_cpus)
    return matrix.worker_count(), "one per CPU, unpinned"


def prepare_cell_run(options: RunOptions, console: Optional[Console] = None) -> CellRun:
    """A CellRun with every user error raised (ValueError) before anything starts."""
    pinning = resolve_pinning(options.pin)  # CPUs not there

    env = CellEnvironment.at(options.venv) if options.venv else CellEnvironment.harness_own()
    description = env.describe()
    cell = find_cell(load_matrix(), description["major_minor"], options.server, options.app)  # ValueError: user error
    if options.coop_check == "on" and not cell.app.serves(coop.CHECKED_SCENARIOS):
        raise ValueError("--coop-check on: app {!r} does not serve {}".format(
            cell.app.name, " and ".join(coop.CHECKED_SCENARIOS)))
    open_loop = bool(options.rates) or options.slo is not None
    if options.connection_mode == "close" and open_loop and find_fixed_rate_driver(require_wrk()).name != "wrk2":
        raise ValueError("--connection-mode close with --rate or --slo needs wrk2 (the built-in fixed-rate driver "
                         "keeps each connection open); leave out --rate/--slo or install wrk2")
    wrk = require_wrk()
    cross_check_tool = find_h2load() if options.cross_check == "h2load" else None  # LoadToolMissing: apt-get hint
    if options.port:
        ensure_port_free(options.port)
    hosts = plan_hosts(options.hosts, options.link, say=(console or Console()).say)  # ValueError: no privilege ...
    # On an SSH load host the built-in fixed-rate driver runs on its wrk: whether it has a wrk2 is not known here.
    driver = (FixedRateDriver(fixed_rate.DRIVER, wrk) if hosts.load_is_remote else find_fixed_rate_driver(wrk)
              ) if open_loop else None
    plan = CellPlan(options, cell, driver)
    return CellRun(plan, env, description, wrk, console or start_progress(plan), pinning,
                   cross_check_tool=cross_check_tool, hosts=hosts)


def run_cell(options: RunOptions) -> int:
    return prepare_cell_run(options).execute()
