"""One cell's run: what its steps (pipeline.py) act on, and what each of them learned.

A CellRun owns the run's raw folder, its stack, its recorder and two ExitStacks: the
machine (the lock, released last) and what was started on it (hosts, database, stub,
server, nginx), stopped in reverse however the run ends. Each step sets what it
learned once; `conditions()` puts it together as the typed Conditions every record
states (run/conditions.py).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.hosts.machine_lock import machine_lock
from benchmatrix.hosts.pinning import Pinning, resolve_pinning
from benchmatrix.hosts.roles import HostsPlan, plan_hosts
from benchmatrix.load import ceiling as load_ceiling
from benchmatrix.load import fixed_rate
from benchmatrix.load.cross_check import H2load, find_h2load
from benchmatrix.load.wrk import FixedRateDriver, find_fixed_rate_driver, require_wrk
from benchmatrix.matrix.cells import (Matrix, constraints_fingerprint, find_cell, load_matrix, package_name,
                                      requirements)
from benchmatrix.matrix.overrides import check_overrides_installed
from benchmatrix.run import coop, resume
from benchmatrix.run.conditions import (CeilingOutcome, Conditions, HostsConditions, MachineCheck,
                                        check_cooperative_io, check_machine, find_ceilings, measure_hosts)
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.metadata import describe_environment
from benchmatrix.run.options import RunOptions
from benchmatrix.run.plan import CellPlan
from benchmatrix.run.progress import Progress
from benchmatrix.run.recording import Console, Recorder, new_run_id, utc_now
from benchmatrix.run.verify import verify_endpoints
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.cell_stack import CellStack, StackConditions, StackSettings
from benchmatrix.stack.process import ensure_port_free, free_port
from benchmatrix.stack.readiness import log_tail


class CellRun:
    """One invocation of the harness on one cell; owns its raw folder and its records."""

    def __init__(self, plan: CellPlan, env: CellEnvironment, env_description: Dict[str, Any], wrk: str,
                 console: Console, pinning: Optional[Pinning], cross_check_tool: Optional[H2load] = None,
                 hosts: Optional[HostsPlan] = None):
        options, cell = plan.options, plan.cell
        self.plan, self.env, self.wrk, self.console, self.pinning = plan, env, wrk, console, pinning
        self.hosts = hosts or HostsPlan(kind="local")
        self.cross_check_tool = cross_check_tool
        self.run_id = new_run_id(cell)
        self.raw_dir = options.results_dir / "raw" / self.run_id
        matrix = load_matrix()
        workers, self.workers_rule = worker_count(options.workers, matrix, pinning)
        self.stack = CellStack(cell, env, StackSettings(
            port=options.port or free_port(), workers=workers, threads=matrix.threads_per_worker,
            target=options.app_target or cell.target, raw_dir=self.raw_dir, ready_path=options.scenarios[0].path,
            boot_timeout_s=options.boot_timeout_s, server_prefix=pinning.server_prefix() if pinning else (),
            support_prefix=pinning.load_prefix() if pinning else (),
            front_workers=pinning.server_cpu_count if pinning else None, hosts=self.hosts), say=console.say)
        self.environment = describe_environment(
            env_description, [package_name(spec) for spec in requirements(matrix, cell)], wrk)
        self.constraints = constraints_fingerprint(cell.python, cell.server.lock)
        # What the steps learn, each set once by its step; None until then.
        self.lock_held: Optional[Dict[str, Any]] = None
        self.machine_check: Optional[MachineCheck] = None
        self.ceiling: Optional[CeilingOutcome] = None
        self.stack_conditions: Optional[StackConditions] = None
        self.hosts_conditions: Optional[HostsConditions] = None
        self.coop_check: Optional[Dict[str, Any]] = None
        self.machine = contextlib.ExitStack()  # the lock: released last
        self.started = contextlib.ExitStack()  # hosts and stack: stopped in reverse before the lock goes
        self.meta: Dict[str, Any] = {}  # what the Recorder gives every record: conditions().to_json()
        self.recorder = Recorder(plan, self.run_id, self.raw_dir,
                                 app_label=options.app_target or cell.app.name,
                                 workers=self.stack.launch.workers, meta=self.meta, console=console)
        self._publish()

    def conditions(self) -> Conditions:
        """What this run measured under, from what its steps learned so far."""
        driver = self.plan.driver
        return Conditions(
            environment=self.environment, pinning=self.pinning, server=self.stack.server_launch(),
            workers_rule=self.workers_rule, constraints=self.constraints,
            fixed_rate_driver={"name": driver.name, "binary": driver.binary} if driver else None,
            machine_lock=self.lock_held, machine=self.machine_check, ceiling=self.ceiling,
            stack=self.stack_conditions, hosts=self.hosts_conditions, coop_check=self.coop_check,
            overrides={o.name: o.version for o in self.plan.options.overrides})

    def _publish(self) -> None:
        """The conditions, as records are about to state them, into the dict the Recorder shares.

        Keys these conditions do not have stay as given: an interleaved group gives each contender
        the machine check, lock and ceiling choice of its first (run/interleave.py).
        """
        fresh = self.conditions().to_json()
        given = {key: value for key, value in self.meta.items() if key not in fresh}
        self.meta.clear()
        self.meta.update(fresh, **given)

    def describe(self) -> str:
        cell = self.plan.cell
        placement = ("server on CPU {}, load generator, database and stub on CPU {}".format(
            self.pinning.server_cpus, self.pinning.load_cpus) if self.pinning else "unpinned")
        return "cell: python {} ({}), server {}, app {}; {} workers ({}); {}; results in {}".format(
            cell.python, self.env.python, cell.server.name, self.recorder.app_label, self.stack.launch.workers,
            self.workers_rule, placement, self.plan.options.results_dir)

    def take_machine(self) -> None:
        cell = self.plan.cell
        what = "bench {}/{} py{} (run {})".format(cell.server.name, self.recorder.app_label, cell.python, self.run_id)
        hold = self.machine.enter_context(machine_lock(what, wait=self.plan.options.wait_for_machine,
                                                       say=self.console.say))
        self.lock_held = hold.as_metadata()
        self._publish()

    def check_machine(self) -> List[Flag]:
        """Checked once before the server starts; its flags go into every record of the run."""
        options = self.plan.options
        self.machine_check = check_machine(options.machine_sample_s, options.max_busy, self.console.say)
        self._publish()
        return self.machine_check.flags

    def find_ceilings(self) -> Dict[Tuple[int, int], load_ceiling.Ceiling]:
        """The load generator's ceiling for each closed-loop load this run plans, before the cell boots."""
        environment = self.environment

        def find_or_measure(settings, key, remeasure):
            return load_ceiling.find_or_measure(
                self.wrk, settings, self.pinning, self.raw_dir / "ceiling-{}c{}t".format(*key),
                environment.load_tool_version, environment.services.get("nginx"), remeasure=remeasure,
                say=self.console.say, hosts=self.hosts)
        self.ceiling = find_ceilings(self.plan.options.ceiling, self.plan.closed_loop_settings(), find_or_measure,
                                     self.console.say)
        self._publish()
        return self.ceiling.ceilings

    def start(self, stack: contextlib.ExitStack, cell_flags: List[Flag],
              ceilings: Dict[Tuple[int, int], load_ceiling.Ceiling]) -> Optional[ScenarioMeasurement]:
        """Boot and verify the stack on `stack`; what measures it, or None when verification failed."""
        self.boot(stack)
        if not self.verified():
            return None
        return self.measurement_after_checks(cell_flags, ceilings)

    def boot(self, stack: contextlib.ExitStack) -> None:
        self.stack_conditions = self.stack.start(stack, self.plan.services_needed())
        self._publish()

    def verified(self) -> bool:
        """Every endpoint answers as it must; if not, a failed record per scenario says why."""
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
        server_log = self.stack_conditions.server_log
        self.console.say("verification failed; server log tail ({}):\n{}".format(server_log, log_tail(server_log, 15)))
        return False

    def measurement_after_checks(self, cell_flags: List[Flag], ceilings: Dict[Tuple[int, int], load_ceiling.Ceiling]
                                 ) -> ScenarioMeasurement:
        """The hosts' round trips and the cooperative-I/O check, then what measures each scenario."""
        self.hosts_conditions = measure_hosts(self.hosts, self.stack.port, self.stack.database_endpoint,
                                              self.console.say)
        if self.plan.coop_wanted():
            self.coop_check = check_cooperative_io(self.stack.endpoint, self.plan.options.coop_requests,
                                                   self.console.say)
        self._publish()
        conditions = self.stack_conditions
        return ScenarioMeasurement(self.plan, self.wrk, self.stack.endpoint, conditions.server_pid,
                                   load_ceiling.load_command_prefix(self.pinning, self.hosts),
                                   self.recorder, cell_flags, ceilings, cross_check_tool=self.cross_check_tool,
                                   load_is_remote=self.hosts.load_is_remote, work_counter=conditions.work_counter,
                                   support_pids=conditions.support_pids, front_requests=conditions.front_requests)

    def execute(self) -> int:
        from benchmatrix.pipeline import execute  # the steps, in order

        return execute(self)


def load_files() -> List[Path]:
    """What an SSH load host needs copied: the Lua scripts the load commands name."""
    return sorted(Path(load_ceiling.__file__).parent.glob("*.lua"))


def load_tools(run: CellRun) -> Dict[str, str]:
    """Local binary -> the name an SSH load host runs, for each load tool this run uses."""
    tools = {run.wrk: "wrk"}
    if run.plan.driver:
        tools[run.plan.driver.binary] = "wrk2" if run.plan.driver.name == "wrk2" else "wrk"
    if run.cross_check_tool:
        tools[run.cross_check_tool.binary] = "h2load"
    return tools


def mark_measured(run: CellRun) -> None:
    """In a matrix run, the ledger entry that lets the next run skip this cell (run/resume.py).

    Only after every scenario was recorded: an interrupted or crashed cell has no entry,
    so a resumed matrix measures it again.
    """
    fingerprint = os.environ.get(resume.FINGERPRINT_VARIABLE)
    if not fingerprint:
        return
    cell, recorder = run.plan.cell, run.recorder
    resume.mark_measured(run.plan.options.results_dir, fingerprint, {
        "run_id": recorder.run_id, "python": cell.python, "server": cell.server.name,
        "app": cell.app.name, "records": len(recorder.statuses),
        "status": "failed" if recorder.any_failed else "measured", "finished_at": utc_now()})


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
    # "3.13t" for a free-threaded build: a Python axis value of its own.
    python = description.get("axis", description["major_minor"])
    cell = find_cell(load_matrix(), python, options.server, options.app)  # ValueError: user error
    check_overrides_installed(options.overrides, description.get("packages") or {})
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
