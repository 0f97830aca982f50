"""One trial of a load plan on a started cell: settle the server, run the plan's driver with the side probe
and the resource samplers around it, and return the typed Trial with the flags of its own figures."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from benchmatrix.checks.flags import Flag
from benchmatrix.checks.validity import assess_rate, assess_responses
from benchmatrix.load.driver import DriverRun, LoadDriver, LoadDrivers, LoadRequest
from benchmatrix.load.parse import FixedRateResult
from benchmatrix.matrix.scenarios import SCENARIOS, Scenario
from benchmatrix.run.answer_checks import AnswerChecks
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.run.resources import ChildrenCpu, RunQueueWait, ServerTreeSampler
from benchmatrix.run.trials import Trial, TrialContext
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.readiness import ServiceError
from benchmatrix.stack.work_counters import CombinedCounter, WorkCounter


@dataclass(frozen=True)
class TrialOutcome:
    argv: List[str]
    trial: Trial
    flags: List[Flag]  # of this trial's own figures, not yet named with its number


class TrialRunner:
    def __init__(self, plan: CellPlan, drivers: LoadDrivers, endpoint: Endpoint, server_pid: int,
                 load_prefix: List[str], checks: AnswerChecks, raw_path: Callable[[Scenario, str], Path],
                 relative: Callable[[Path], str], say, load_is_remote: bool = False,
                 watch_server=ServerTreeSampler, count_load_cpu=ChildrenCpu,
                 work_counter: Optional[WorkCounter] = None, support_pids: Optional[Dict[str, int]] = None,
                 front_requests: Optional[Callable[[], int]] = None):
        self.plan = plan
        self.drivers = drivers
        self.endpoint = endpoint
        self.server_pid = server_pid
        self.load_prefix = tuple(load_prefix)
        self.checks = checks
        self.raw_path = raw_path
        self.relative = relative
        self.say = say
        # On an SSH load host the local process is ssh: its CPU says nothing of wrk's, so none is recorded.
        self.load_is_remote = load_is_remote
        self.watch_server = watch_server  # (server pid) -> context manager with .usage (run/resources.py)
        self.count_load_cpu = count_load_cpu  # () -> context manager with .cpu_s
        self.work_counter = work_counter or CombinedCounter()  # what the cell's services count
        self.support_pids = dict(support_pids or {})  # nginx, PostgreSQL, the stub: part of the stack's CPU
        self.front_requests = front_requests  # nginx's count of requests read, where nginx fronts the cell

    def url(self, scenario: Scenario) -> str:
        """What the load tool is pointed at: the scenario's path, or its flow's first step's."""
        path = scenario.steps[0].path if scenario.steps else scenario.path
        return "http://{}:{}{}".format(self.endpoint.host, self.endpoint.port, path)

    def load_request(self, scenario: Scenario, settings, raw_path: Path,
                     planned_rate: Optional[float] = None) -> LoadRequest:
        return LoadRequest(settings, self.url(scenario), raw_path, planned_rate=planned_rate,
                           prefix=self.load_prefix, request=scenario.request, steps=scenario.steps)

    def settle(self, scenario: Scenario) -> float:
        """Wait until the server has worked off requests an earlier wrk run left queued; seconds waited.

        wrk stops with requests in flight, and a server that serializes 1 s waits still
        owes them (measured: one sync worker started each 10 s trial with 10 s of stale
        /db_sleep work and completed none). A cheap request only returns once that queue
        is gone, so each run starts on an idle server.
        """
        if not scenario.io_bound:
            return 0.0
        started = time.monotonic()
        path = SCENARIOS["json"].path if self.plan.cell.app.serves(["json"]) else scenario.path
        try:
            probe.get(self.endpoint, path, timeout_s=self.plan.settings(scenario).timeout_s)
        except (OSError, http.client.HTTPException):
            pass  # the measured run will say what is wrong
        waited = time.monotonic() - started
        if waited > 0.5:
            self.say("{}: waited {:.1f} s for the server to finish requests left by the previous run".format(
                scenario.name, waited))
        return waited

    def read_work(self, scenario: Scenario) -> Optional[Dict[str, int]]:
        """The services' counts of the scenario's promised work now; None when it promises none or a
        count could not be read (the record then says so, rather than failing the measurement)."""
        if not scenario.work.promised():
            return None
        try:
            return self.work_counter.read(scenario.work)
        except ServiceError as error:
            self.say("{}: could not count the work done: {}".format(scenario.name, str(error).splitlines()[0]))
            return None

    def read_front_requests(self, scenario: Scenario) -> Optional[int]:
        if self.front_requests is None:
            return None
        try:
            return self.front_requests()
        except ServiceError as error:
            self.say("{}: {}".format(scenario.name, str(error).splitlines()[0]))
            return None

    def unmeasured_run(self, scenario: Scenario, phase: str, duration_s: int) -> DriverRun:
        """A closed-loop run at the scenario's own load whose cost is not measured: the primer, the warmup."""
        self.settle(scenario)
        request = self.load_request(scenario, self.plan.settings(scenario, duration_s),
                                    self.raw_path(scenario, phase))
        return self.drivers.closed_loop.run(request)

    def run(self, scenario: Scenario, load: LoadPlan, number: int, driver: Optional[LoadDriver] = None,
            after_settle: Optional[Callable[[], None]] = None) -> TrialOutcome:
        """One measured run with what it cost the server and the load generator.

        after_settle runs once the server has worked off what an earlier run left queued, right before the
        load: where the interleaved comparison times its speed reference, so that the reference does not
        share the server's CPUs with the previous contender's queue."""
        driver = driver or self.drivers.for_mode(load.mode)
        waits: List[RunQueueWait] = []

        def observe_load_generator(pid: int) -> RunQueueWait:
            waits.append(RunQueueWait(pid))
            return waits[-1]

        settle_s = self.settle(scenario)
        if after_settle is not None:
            after_settle()
        request = self.load_request(scenario, self.plan.load_settings(scenario, load),
                                    self.raw_path(scenario, load.phase_name(number)), load.planned_rate)
        side_probe = self.checks.side_probe(scenario, enabled=self.plan.options.side_probe)
        work_before = self.read_work(scenario)
        front_before = self.read_front_requests(scenario)
        with self.watch_server(self.server_pid, support_roots=self.support_pids) as server, \
                self.count_load_cpu() as load_generator, side_probe:
            ran = driver.run(request, observer=observe_load_generator)
        work_after = self.read_work(scenario)
        front_after = self.read_front_requests(scenario)
        wait_s = waits[0].wait_s if waits else 0.0
        remote = self.load_is_remote
        context = TrialContext(
            resources=dict(server.usage.as_resources(),
                           load_generator_cpu_s=None if remote else round(load_generator.cpu_s, 3),
                           load_generator_wait_s=None if remote else round(wait_s, 3)),
            server_restarted=server.usage.restarted, settle_s=round(settle_s, 2),
            raw_output=self.relative(ran.raw_path),
            answers_during_load=side_probe.log.as_metadata() if side_probe.log else None,
            work=None if work_before is None or work_after is None else
            {kind: work_after[kind] - work_before[kind] for kind in work_after if kind in work_before},
            # The reading before is one of the requests nginx counts; the one after is not yet.
            front_requests=None if front_before is None or front_after is None else front_after - front_before - 1)
        self.checks.note(scenario, side_probe.log)
        flags = assess_responses(ran.result)
        if isinstance(ran.result, FixedRateResult):
            flags += assess_rate(ran.result)
        return TrialOutcome(ran.argv, Trial.from_result(ran.result).with_context(context), flags)
