"""Measuring one scenario of a started cell: primer, warmup, then the trials of each load plan.

The primer is a short burst whose result is checked, so a path that only fails
under load fails in seconds instead of after the warmup and the full duration.
The warmup is discarded. Each load plan's trials become one record; every load
generator output is kept under the run's raw folder. The work is shared out:
run/trial_runner.py runs one trial on the plan's driver (load/driver.py),
run/answer_checks.py checks the answers around the load, run/record_flags.py
judges a record's trials together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.checks.validity import assess_responses
from benchmatrix.checks.work_done import assess_work
from benchmatrix.load import cross_check
from benchmatrix.load.ceiling import Ceiling
from benchmatrix.load.driver import LoadDrivers, real_drivers
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run.answer_checks import AnswerChecks
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.run.record_flags import RecordJudge
from benchmatrix.run.recording import Recorder
from benchmatrix.run.resources import ChildrenCpu, ServerTreeSampler
from benchmatrix.run.slo_run import LatencyTargetSearch
from benchmatrix.run.trial_runner import TrialOutcome, TrialRunner
from benchmatrix.run.trials import Trial, as_json, summarize
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.readiness import ServiceError
from benchmatrix.stack.work_counters import WorkCounter


def first_line(error: Exception) -> str:
    return str(error).splitlines()[0]


def trial_flags_named(number: int, flags: Sequence[Flag]) -> List[Flag]:
    """A trial's flags with the trial's number in front of each reason."""
    return [f.prefixed("trial {}".format(number)) for f in flags]


class ScenarioMeasurement:
    """Drives the load of one cell's scenarios against its endpoint and records each result.

    `drivers` defaults to the real ones (wrk, the run's fixed-rate driver, h2load when cross-checking);
    the tests give a scripted fake, and may replace the answer checks and the resource samplers too.
    `record_meta` goes into every record this measurement makes (an interleaved group's shared facts).
    """

    def __init__(self, plan: CellPlan, wrk: str, endpoint: Endpoint, server_pid: int, load_prefix: List[str],
                 recorder: Recorder, cell_flags: Sequence[Flag],
                 ceilings: Optional[Dict[Tuple[int, int], Ceiling]] = None,
                 cross_check_tool: Optional[cross_check.H2load] = None, load_is_remote: bool = False,
                 drivers: Optional[LoadDrivers] = None, checks: Optional[AnswerChecks] = None,
                 watch_server=ServerTreeSampler, count_load_cpu=ChildrenCpu,
                 record_meta: Optional[Dict[str, Any]] = None, work_counter: Optional[WorkCounter] = None,
                 support_pids: Optional[Dict[str, int]] = None, front_requests=None):
        self.plan = plan
        self.endpoint = endpoint
        self.recorder = recorder
        self.say = recorder.console.say
        self.drivers = drivers or real_drivers(wrk, plan.driver, cross_check_tool)
        self.checks = checks or AnswerChecks(plan, endpoint, recorder.workers, self.say)
        self.judge = RecordJudge(plan, cell_flags, ceilings)
        self.runner = TrialRunner(plan, self.drivers, endpoint, server_pid, load_prefix, self.checks, self._raw,
                                  recorder.relative, self.say, load_is_remote=load_is_remote,
                                  watch_server=watch_server, count_load_cpu=count_load_cpu,
                                  work_counter=work_counter, support_pids=support_pids,
                                  front_requests=front_requests)
        self.record_meta = dict(record_meta or {})

    @property
    def options(self):
        return self.plan.options

    def _raw(self, scenario: Scenario, phase: str) -> Path:
        return self.recorder.raw_dir / "{}.{}.txt".format(scenario.name, phase)

    def _record(self, scenario: Scenario, flags: List[Flag], trials: Sequence[Trial] = (),
                argv: Optional[List[str]] = None, load: Optional[LoadPlan] = None,
                extra_meta: Optional[Dict[str, Any]] = None):
        """A record (not yet saved); the Recorder takes trials in their on-disk shape."""
        return self.recorder.record(scenario, flags, as_json(trials), argv, load,
                                    extra_meta=dict(self.record_meta, **(extra_meta or {})))

    def save_new(self, scenario: Scenario, flags: List[Flag], load: Optional[LoadPlan] = None) -> None:
        self.recorder.save(self._record(scenario, flags, load=load))

    def trial(self, scenario: Scenario, load: LoadPlan, number: int,
              after_settle: Optional[Callable[[], None]] = None) -> TrialOutcome:
        """One trial; after_settle runs once the server has settled, right before the load (run/trial_runner.py)."""
        return self.runner.run(scenario, load, number, after_settle=after_settle)

    def prepare(self, scenario: Scenario) -> bool:
        """Wire size of the right answer, primer and warmup; False when the scenario failed there (and its
        record is saved)."""
        self.checks.before_load(scenario)
        try:
            if self.options.primer_s and self._primer_failed(scenario):
                return False
            if self.options.warmup_s:
                self.say("{}: warmup {} s (discarded)".format(scenario.name, self.options.warmup_s))
                self.runner.unmeasured_run(scenario, "warmup", self.options.warmup_s)
        except (WrkOutputError, ServiceError) as error:
            self.save_new(scenario, [make_flag("load-failed", first_line(error))])
            return False
        return True

    def _primer_failed(self, scenario: Scenario) -> bool:
        primer_s = self.plan.primer_s(scenario)
        self.say("{}: primer {} s".format(scenario.name, primer_s))
        primer = self.runner.unmeasured_run(scenario, "primer", primer_s).result
        self.checks.primer_rps[scenario.name] = primer.successful_rps
        if primer.successful_requests:
            return False
        flags = assess_responses(primer) or [make_flag("load-failed", "the primer got no response")]
        self.save_new(scenario, [f.prefixed("primer") for f in flags])
        return True

    def _trials(self, scenario: Scenario, load: LoadPlan, extra_meta: Optional[Dict[str, Any]] = None):
        """All trials of one load plan, as one record (failed if the load tool gave no result)."""
        trials: List[Trial] = []
        flags: List[Flag] = []
        argv: Optional[List[str]] = None
        driver = self.drivers.for_mode(load.mode)  # chosen once per load plan
        try:
            for number in range(1, self.options.trials + 1):
                self.say("{}: {} trial {}/{}, {} s".format(scenario.name, load.describe(), number,
                                                          self.options.trials, self.options.duration_s))
                outcome = self.runner.run(scenario, load, number, driver)
                argv = outcome.argv
                trials.append(outcome.trial)
                flags += trial_flags_named(number, outcome.flags)
        except (WrkOutputError, ServiceError) as error:
            self.checks.forget(scenario)
            return self._record(scenario, [make_flag("load-failed", first_line(error))], trials, argv, load,
                                extra_meta=dict(self.judge.ceiling_meta(scenario, load, None), **(extra_meta or {})))
        if self.drivers.cross_check is not None and load.mode == "closed-loop":
            checked, check_flags = self._cross_check(scenario, load, trials)
            extra_meta, flags = dict(extra_meta or {}, cross_check=checked), flags + check_flags
        return self.finish(scenario, load, trials, flags, argv, extra_meta)

    def _cross_check(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Trial]):
        """One trial of the second generator at this record's load (load/cross_check.py): (meta, flags)."""
        return cross_check.cross_check(
            self.drivers.cross_check, self.plan.load_settings(scenario, load), self.runner.url(scenario),
            self._raw(scenario, load.file_stem("cross-check-h2load")), self.runner.load_prefix,
            wrk_rps=summarize(as_json(trials))["rps"], server_closes=self.checks.server_closes.get(scenario.name),
            relative=self.recorder.relative, settle=lambda: self.runner.settle(scenario),
            say=lambda line: self.say("{}: {}".format(scenario.name, line)), request=scenario.request,
            steps=scenario.steps)

    def finish(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Trial], flags: List[Flag],
               argv: Optional[List[str]], extra_meta: Optional[Dict[str, Any]] = None,
               pair_logs: Optional[Sequence[float]] = None):
        """The record of a load plan's trials: their own flags, those that judge them together, and the
        answers checked during the trials and, now, after them. pair_logs: a sliced comparison's (see
        RecordJudge.run_flags)."""
        stored = as_json(trials)
        checked = self.checks.after_load(scenario, load, stored, self._raw(scenario, load.file_stem("wrong-answers")))
        meta = dict(self.judge.ceiling_meta(scenario, load, summarize(stored)["rps_all"]), answers=checked.meta,
                    **(extra_meta or {}))
        judged = self.judge.run_flags(scenario, load, stored, self.checks.server_closes.get(scenario.name),
                                      pair_logs=pair_logs)
        work = assess_work(scenario.work, stored, self.runner.work_counter.uncounted(scenario.work))
        if work.meta:
            meta["work"] = work.meta
        return self._record(scenario, flags + checked.flags + judged + work.flags, trials, argv, load,
                            extra_meta=meta)

    def closed_loop_records(self, scenario: Scenario) -> Optional[float]:
        """The closed-loop record of the scenario, or one per level of a concurrency sweep; the highest valid
        req/s among them (None if none is valid), which relative rates and a latency-target search build on."""
        best: Optional[float] = None
        for load in self.plan.closed_loop_plans(scenario):
            sweep = ({"sweep": {"levels": list(self.options.sweep), "level": load.connections}}
                     if load.sweep_level else {})
            record = self._trials(scenario, load, extra_meta=sweep)
            self.recorder.save(record)
            if record.status != "failed" and record.rps is not None:
                best = max(best or 0.0, record.rps)
        return best

    def measure(self, scenario: Scenario) -> None:
        if not self.prepare(scenario):
            return
        closed_loop_rps: Optional[float] = None
        if self.options.closed_loop_needed:
            closed_loop_rps = self.closed_loop_records(scenario)
        for rate in self.options.rates:
            planned = rate.resolve(closed_loop_rps)
            if planned is None:
                reason = "no valid closed-loop maximum to take {} of".format(rate.text)
                self.save_new(scenario, [make_flag("load-failed", reason)], load=self.plan.fixed_rate(scenario, 0))
                continue
            self.recorder.save(self._trials(scenario, self.plan.fixed_rate(scenario, planned)))
        if self.options.slo is not None:
            self.recorder.save(LatencyTargetSearch(self, scenario).record(closed_loop_rps))
