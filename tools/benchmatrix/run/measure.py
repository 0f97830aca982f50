"""Measuring one scenario of a started cell: primer, warmup, then the trials of each load plan.

The primer is a short burst whose result is checked, so a path that only fails
under load fails in seconds instead of after the warmup and the full duration.
The warmup is discarded. Each load plan's trials become one record; every load
generator output is kept under the run's raw folder.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.load import cross_check
from benchmatrix.load.ceiling import Ceiling
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import run_fixed_rate, run_wrk
from benchmatrix.matrix.scenarios import SCENARIOS, Scenario
from benchmatrix.run import answers
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.run.recording import Recorder
from benchmatrix.run.slo_run import LatencyTargetSearch
from benchmatrix.run.resources import ChildrenCpu, RunQueueWait, ServerTreeSampler
from benchmatrix.run.trials import closed_loop_trial, fixed_rate_trial, summarize, unstable
from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.run.validity import assess_ceiling, assess_rate, assess_responses
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.readiness import ServiceError


def first_line(error: Exception) -> str:
    return str(error).splitlines()[0]


def trial_flags_named(number: int, flags: Sequence[Flag]) -> List[Flag]:
    """A trial's flags with the trial's number in front of each reason."""
    return [f.prefixed("trial {}".format(number)) for f in flags]


class ScenarioMeasurement:
    """Drives the load of one cell's scenarios against its endpoint and records each result."""

    def __init__(self, plan: CellPlan, wrk: str, endpoint: Endpoint, server_pid: int, load_prefix: List[str],
                 recorder: Recorder, cell_flags: Sequence[Flag],
                 ceilings: Optional[Dict[Tuple[int, int], Ceiling]] = None,
                 cross_check_tool: Optional[cross_check.H2load] = None, load_is_remote: bool = False):
        self.plan = plan
        # On an SSH load host the local process is ssh: its CPU says nothing of wrk's, so none is recorded.
        self.load_is_remote = load_is_remote
        self.wrk = wrk
        self.endpoint = endpoint
        self.server_pid = server_pid
        self.load_prefix = load_prefix
        self.recorder = recorder
        self.say = recorder.console.say
        self.cell_flags = list(cell_flags)  # flags of the whole cell (a busy machine), on every record
        self.ceilings = ceilings or {}  # (connections, threads) of a closed-loop plan -> measured ceiling
        self.cross_check_tool = cross_check_tool  # a second generator for one more closed-loop trial per record
        self.primer_rps: Dict[str, float] = {}  # per scenario: sets the side probe's rate
        self.verified_sizes: Dict[str, List[int]] = {}  # per scenario: bytes of right answers on the wire
        self.server_closes: Dict[str, bool] = {}  # per scenario: the server closed a keep-alive connection
        self.first_answers: Dict[str, Tuple[float, probe.Answer]] = {}  # per scenario: (when, answer) before load
        self._answer_logs: Dict[str, List[answers.AnswerLog]] = {}  # per scenario, of the trials not yet recorded

    @property
    def options(self):
        return self.plan.options

    def _url(self, scenario: Scenario) -> str:
        return "http://{}:{}{}".format(self.endpoint.host, self.endpoint.port, scenario.path)

    def _raw(self, scenario: Scenario, phase: str) -> Path:
        return self.recorder.raw_dir / "{}.{}.txt".format(scenario.name, phase)

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

    def _closed_loop_run(self, scenario: Scenario, phase: str, duration_s: int, observer=None):
        raw = self._raw(scenario, phase)
        argv, result = run_wrk(self.wrk, self.plan.settings(scenario, duration_s), self._url(scenario), raw,
                               prefix=self.load_prefix, observer=observer)
        return argv, result, raw

    def trial(self, scenario: Scenario, load: LoadPlan, number: int):
        """One measured run with what it cost the server and the load generator."""
        waits: List[RunQueueWait] = []

        def observe_load_generator(pid: int) -> RunQueueWait:
            waits.append(RunQueueWait(pid))
            return waits[-1]

        settle_s = self.settle(scenario)
        raw = self._raw(scenario, load.phase_name(number))
        settings = self.plan.load_settings(scenario, load)
        side_probe = answers.timed_probe(self.endpoint, scenario, self.primer_rps.get(scenario.name),
                                         self.plan.settings(scenario).timeout_s, enabled=self.options.side_probe)
        with ServerTreeSampler(self.server_pid) as server, ChildrenCpu() as load_generator, side_probe:
            if load.planned_rate is None:
                argv, result = run_wrk(self.wrk, settings, self._url(scenario), raw,
                                       prefix=self.load_prefix, observer=observe_load_generator)
                trial = closed_loop_trial(result)
            else:
                argv, result = run_fixed_rate(self.plan.driver, load.planned_rate, settings,
                                              self._url(scenario), raw, prefix=self.load_prefix,
                                              observer=observe_load_generator)
                trial = fixed_rate_trial(result)
        wait_s = waits[0].wait_s if waits else 0.0
        trial.update({
            "resources": dict(server.usage.as_resources(),
                              load_generator_cpu_s=None if self.load_is_remote else round(load_generator.cpu_s, 3),
                              load_generator_wait_s=None if self.load_is_remote else round(wait_s, 3)),
            "server_restarted": server.usage.restarted, "settle_s": round(settle_s, 2),
            "raw_output": self.recorder.relative(raw),
            "answers_during_load": side_probe.log.as_metadata() if side_probe.log else None})
        if side_probe.log:
            self._answer_logs.setdefault(scenario.name, []).append(side_probe.log)
        flags = assess_responses(result)
        if load.planned_rate is not None:
            flags += assess_rate(result)
        return argv, trial, flags

    def _primer_failed(self, scenario: Scenario) -> bool:
        primer_s = self.plan.primer_s(scenario)
        self.say("{}: primer {} s".format(scenario.name, primer_s))
        self.settle(scenario)
        _, primer, _ = self._closed_loop_run(scenario, "primer", primer_s)
        self.primer_rps[scenario.name] = primer.successful_rps
        if primer.successful_requests:
            return False
        flags = assess_responses(primer) or [make_flag("load-failed", "the primer got no response")]
        self.recorder.save_new(scenario, [f.prefixed("primer") for f in flags])
        return True

    def ceiling_of(self, scenario: Scenario, load: LoadPlan) -> Optional[Ceiling]:
        """The ceiling measured for the closed-loop load at the plan's connections (fixed-rate runs are judged
        by it too)."""
        settings = self.plan.settings(scenario, connections=load.connections)
        return self.ceilings.get((settings.connections, settings.threads))

    def _trials(self, scenario: Scenario, load: LoadPlan, extra_meta: Optional[Dict[str, Any]] = None):
        """All trials of one load plan, as one record (failed if the load tool gave no result)."""
        trials: List[Dict[str, Any]] = []
        flags: List[Flag] = []
        argv: Optional[List[str]] = None
        try:
            for number in range(1, self.options.trials + 1):
                self.say("{}: {} trial {}/{}, {} s".format(scenario.name, load.describe(), number,
                                                          self.options.trials, self.options.duration_s))
                argv, trial, trial_flags = self.trial(scenario, load, number)
                trials.append(trial)
                flags += trial_flags_named(number, trial_flags)
        except (WrkOutputError, ServiceError) as error:
            self._answer_logs.pop(scenario.name, None)  # they belong to this failed record, not the next one
            return self.recorder.record(scenario, [make_flag("load-failed", first_line(error))], trials, argv, load,
                                        extra_meta=dict(self._ceiling_meta(scenario, load, None), **(extra_meta or {})))
        if self.cross_check_tool and load.planned_rate is None:
            checked, check_flags = self._cross_check(scenario, load, trials)
            extra_meta, flags = dict(extra_meta or {}, cross_check=checked), flags + check_flags
        return self.finish(scenario, load, trials, flags, argv, extra_meta)

    def _cross_check(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]]):
        """One trial of the second generator at this record's load (load/cross_check.py): (meta, flags)."""
        return cross_check.cross_check(
            self.cross_check_tool, self.plan.load_settings(scenario, load), self._url(scenario),
            self._raw(scenario, load.file_stem("cross-check-h2load")), self.load_prefix,
            wrk_rps=summarize(trials)["rps"], server_closes=self.server_closes.get(scenario.name),
            relative=self.recorder.relative, settle=lambda: self.settle(scenario),
            say=lambda line: self.say("{}: {}".format(scenario.name, line)))

    def finish(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]],
               flags: List[Flag], argv: Optional[List[str]],
               extra_meta: Optional[Dict[str, Any]] = None):
        """The record of a load plan's trials: their own flags, those that judge them together, and the
        answers checked during the trials and, now, after them."""
        rps_all = summarize(trials)["rps_all"]
        checked = self._answers_flags(scenario, load, trials)
        meta = dict(self._ceiling_meta(scenario, load, rps_all), answers=checked["meta"], **(extra_meta or {}))
        return self.recorder.record(scenario, flags + checked["flags"] + self._run_flags(scenario, load, trials),
                                    trials, argv, load, extra_meta=meta)

    def _answers_flags(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]]
                       ) -> Dict[str, Any]:
        during = self._answer_logs.pop(scenario.name, [])
        verified = self.verified_sizes.get(scenario.name) or []
        size_wrong = answers.size_problem(verified, trials, load.connections)
        # Two new connections per worker: with several workers, answers from more than one of them.
        after = answers.check_after_load(self.endpoint, scenario, self.plan.settings(scenario).timeout_s,
                                         connections=min(answers.AFTER_LOAD_CONNECTIONS, 2 * self.recorder.workers))
        logs = during + [after]
        answers.save_wrong(self._raw(scenario, load.file_stem("wrong-answers")), logs)
        requests = sum(t.get("requests") or 0 for t in trials if t.get("bytes") is not None)
        meta = {"during_load": {"checked": sum(log.checked for log in during),
                                "wrong": sum(len(log.wrong) for log in during)},
                "after_load": after.as_metadata(),
                "server_closes_connections": self.server_closes.get(scenario.name),
                "headers": self._header_report(scenario),
                "wire_bytes": {"verified": verified, "under_load": round(
                    sum(t["bytes"] for t in trials if t.get("bytes") is not None) / requests, 1) if requests else None}}
        wrong = [(log.phase, problem) for log in logs for problem in log.wrong]
        parts = []
        if wrong:
            parts.append("{} of {} answers checked were wrong; first, {}: {}".format(
                len(wrong), sum(log.checked for log in logs), wrong[0][0], wrong[0][1]))
        if size_wrong:  # after the answers: those show what changed
            parts.append(size_wrong)
        if not parts:
            return {"flags": [], "meta": meta}
        return {"flags": [make_flag("responses-changed", "; ".join(parts))], "meta": meta}

    def _header_report(self, scenario: Scenario) -> Optional[Dict[str, Any]]:
        """What the server sends in its headers, and TechEmpower's header checks as warnings."""
        if scenario.name not in self.first_answers:
            return None
        when, before = self.first_answers[scenario.name]
        try:
            after = probe.get(self.endpoint, scenario.path, self.plan.settings(scenario).timeout_s,
                              headers={"Host": self.endpoint.host})
        except (OSError, http.client.HTTPException):
            after = before
        warnings = answers.header_warnings(before, after, time.monotonic() - when)
        for warning in warnings:
            self.say("{}: header warning: {}".format(scenario.name, warning))
        return {"sent": answers.headers_sent(before), "warnings": warnings}

    def _ceiling_meta(self, scenario: Scenario, load: LoadPlan, rps_all: Optional[float]) -> Dict[str, Any]:
        ceiling = self.ceiling_of(scenario, load)
        if ceiling is None:  # --ceiling off: the record says it cannot tell
            return {"load_generator_ceiling": None, "ceiling_share": None}
        share = ceiling.share(rps_all)
        return {"load_generator_ceiling": ceiling.as_metadata(),
                "ceiling_share": None if share is None else round(share, 4)}

    def _run_flags(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]]
                   ) -> List[Flag]:
        """Flags that judge the trials together rather than one by one."""
        flags = list(self.cell_flags)
        if load.mode == "fixed-rate" and self.server_closes.get(scenario.name):
            # Measured: gunicorn's sync worker at 64 connections, p99 1451 ms at 42.5 req/s (64 / 42.5 s).
            rate = load.planned_rate or (summarize(trials)["achieved_rate"] if trials else None)
            wait = " (up to {:.0f} ms at {:g} req/s on {} connections)".format(
                1000.0 * load.connections / rate, rate, load.connections) if rate else ""
            flags.append(make_flag("idle-reconnects", "the server closed every connection; each reconnected one "
                                   "sat idle until its next send{}".format(wait)))
        ceiling = self.ceiling_of(scenario, load)
        flags += assess_ceiling(summarize(trials)["rps_all"], ceiling)
        reason = unstable([t["rps"] for t in trials], ceiling.cv if ceiling else None, self.options.max_cv)
        if reason:
            flags.append(make_flag("unstable-trials", reason))
        restarted = [str(i + 1) for i, t in enumerate(trials) if t["server_restarted"]]
        if restarted:
            flags.append(make_flag("server-restarted", "the server's processes changed during trial(s) "
                                   + ", ".join(restarted)))
        return flags

    def prepare(self, scenario: Scenario) -> bool:
        """Wire size of the right answer, primer and warmup; False when the scenario failed there (and its
        record is saved)."""
        close = self.plan.settings(scenario).connection_close
        try:
            self.first_answers[scenario.name] = (time.monotonic(), probe.get(
                self.endpoint, scenario.path, self.plan.settings(scenario).timeout_s, headers={"Host": self.endpoint.host}))
        except (OSError, http.client.HTTPException):
            pass  # verification just passed; a failure here shows in the checks under load
        try:
            # One answer of an I/O-bound endpoint takes its full wait (1 s): one is enough there.
            self.verified_sizes[scenario.name], closes = probe.wire_sizes(
                self.endpoint, scenario.path, count=1 if scenario.io_bound else 3,
                timeout_s=self.plan.settings(scenario).timeout_s,
                headers={"Connection": "close"} if close else None)
            # A server that closes after every answer asked to keep alive (gunicorn's sync worker)
            # is labelled so, not mistaken for slow.
            self.server_closes[scenario.name] = closes and not close
        except (OSError, http.client.HTTPException, ValueError):
            self.verified_sizes[scenario.name] = []  # the checks under load still run; only this one cannot
        try:
            if self.options.primer_s and self._primer_failed(scenario):
                return False
            if self.options.warmup_s:
                self.say("{}: warmup {} s (discarded)".format(scenario.name, self.options.warmup_s))
                self.settle(scenario)
                self._closed_loop_run(scenario, "warmup", self.options.warmup_s)
        except (WrkOutputError, ServiceError) as error:
            self.recorder.save_new(scenario, [make_flag("load-failed", first_line(error))])
            return False
        return True

    def closed_loop_records(self, scenario: Scenario) -> Optional[float]:
        """The closed-loop record of the scenario, or one per level of a concurrency sweep; the highest valid
        req/s among them (None if none is valid), which relative rates and a latency-target search build on."""
        plans = self.plan.closed_loop_plans(scenario)
        best: Optional[float] = None
        for load in plans:
            sweep = {"sweep": {"levels": list(self.options.sweep), "level": load.connections}} if load.sweep_level else {}
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
                self.recorder.save_new(scenario, [make_flag("load-failed", reason)],
                                       load=self.plan.fixed_rate(scenario, 0))
                continue
            self.recorder.save(self._trials(scenario, self.plan.fixed_rate(scenario, planned)))
        if self.options.slo is not None:
            self.recorder.save(LatencyTargetSearch(self, scenario).record(closed_loop_rps))
