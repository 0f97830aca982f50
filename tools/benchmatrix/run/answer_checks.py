"""The answers of one started cell, checked around its load: before (wire size, headers, whether the server
closes connections), during (the side probe of each trial) and after (a check on new connections).

What is learned per scenario stays here; after_load turns it into the record's answers metadata and,
when an answer changed, the responses-changed flag.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run import answers
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint


@dataclass(frozen=True)
class AfterLoad:
    flags: List[Flag]
    meta: Dict[str, Any]  # the record's meta["answers"]


class AnswerChecks:
    def __init__(self, plan: CellPlan, endpoint: Endpoint, workers: int, say):
        self.plan = plan
        self.endpoint = endpoint
        self.workers = workers
        self.say = say
        self.primer_rps: Dict[str, float] = {}  # per scenario: sets the side probe's rate
        self.verified_sizes: Dict[str, List[int]] = {}  # per scenario: bytes of right answers on the wire
        self.server_closes: Dict[str, bool] = {}  # per scenario: the server closed a keep-alive connection
        self.first_answers: Dict[str, Tuple[float, probe.Answer]] = {}  # per scenario: (when, answer) before load
        self._logs: Dict[str, List[answers.AnswerLog]] = {}  # per scenario, of the trials not yet recorded

    def _timeout_s(self, scenario: Scenario) -> float:
        return self.plan.settings(scenario).timeout_s

    def before_load(self, scenario: Scenario) -> None:
        """The answer and its wire size before any load, and whether the server closes connections."""
        close = self.plan.settings(scenario).connection_close
        if scenario.is_flow:
            # A flow's answers differ step by step and its wire bytes are per flow: the size check and the
            # header report (of one answer) have nothing to compare; each step is checked by the probes.
            self.verified_sizes[scenario.name] = []
            return
        try:
            self.first_answers[scenario.name] = (time.monotonic(), probe.send(
                self.endpoint, scenario.request, scenario.path, self._timeout_s(scenario)))
        except (OSError, http.client.HTTPException):
            pass  # verification just passed; a failure here shows in the checks under load
        try:
            # One answer of an I/O-bound endpoint takes its full wait (1 s): one is enough there.
            self.verified_sizes[scenario.name], closes = probe.wire_sizes(
                self.endpoint, scenario.path, count=1 if scenario.io_bound else 3,
                timeout_s=self._timeout_s(scenario), headers={"Connection": "close"} if close else None,
                sent=scenario.request)
            # A server that closes after every answer asked to keep alive (gunicorn's sync worker)
            # is labelled so, not mistaken for slow.
            self.server_closes[scenario.name] = closes and not close
        except (OSError, http.client.HTTPException, ValueError):
            self.verified_sizes[scenario.name] = []  # the checks under load still run; only this one cannot

    def side_probe(self, scenario: Scenario, enabled: bool):
        """The context that checks answers during one trial; its .log (None when off) goes to note()."""
        return answers.timed_probe(self.endpoint, scenario, self.primer_rps.get(scenario.name),
                                   self._timeout_s(scenario), enabled=enabled)

    def note(self, scenario: Scenario, log: Optional[answers.AnswerLog]) -> None:
        if log:
            self._logs.setdefault(scenario.name, []).append(log)

    def forget(self, scenario: Scenario) -> None:
        """The logs of a failed record's trials: they belong to it, not to the next one."""
        self._logs.pop(scenario.name, None)

    def after_load(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]],
                   wrong_answers_path) -> AfterLoad:
        during = self._logs.pop(scenario.name, [])
        verified = self.verified_sizes.get(scenario.name) or []
        size_wrong = answers.size_problem(verified, trials, load.connections)
        after = self.check_after(scenario)
        logs = during + [after]
        answers.save_wrong(wrong_answers_path, logs)
        requests = sum(t.get("requests") or 0 for t in trials if t.get("bytes") is not None)
        meta = {"during_load": {"checked": sum(log.checked for log in during),
                                "wrong": sum(len(log.wrong) for log in during)},
                "after_load": after.as_metadata(),
                "server_closes_connections": self.server_closes.get(scenario.name),
                "headers": self.header_report(scenario),
                "wire_bytes": {"verified": verified, "under_load": round(
                    sum(t["bytes"] for t in trials if t.get("bytes") is not None) / requests, 1) if requests else None}}
        return AfterLoad(changed_flags(logs, size_wrong), meta)

    def check_after(self, scenario: Scenario) -> answers.AnswerLog:
        # Two new connections per worker: with several workers, answers from more than one of them.
        return answers.check_after_load(self.endpoint, scenario, self._timeout_s(scenario),
                                        connections=min(answers.AFTER_LOAD_CONNECTIONS, 2 * self.workers))

    def header_report(self, scenario: Scenario) -> Optional[Dict[str, Any]]:
        """What the server sends in its headers, and TechEmpower's header checks as warnings."""
        if scenario.name not in self.first_answers:
            return None
        when, before = self.first_answers[scenario.name]
        try:
            after = probe.send(self.endpoint, scenario.request, scenario.path, self._timeout_s(scenario))
        except (OSError, http.client.HTTPException):
            after = before
        warnings = answers.header_warnings(before, after, time.monotonic() - when)
        for warning in warnings:
            self.say("{}: header warning: {}".format(scenario.name, warning))
        return {"sent": answers.headers_sent(before), "warnings": warnings}


def changed_flags(logs: Sequence[answers.AnswerLog], size_wrong: Optional[str]) -> List[Flag]:
    """responses-changed when an answer checked during or after the load was wrong, or the bytes per answer
    under load differ from the verified ones."""
    wrong = [(log.phase, problem) for log in logs for problem in log.wrong]
    parts = []
    if wrong:
        parts.append("{} of {} answers checked were wrong; first, {}: {}".format(
            len(wrong), sum(log.checked for log in logs), wrong[0][0], wrong[0][1]))
    if size_wrong:  # after the answers: those show what changed
        parts.append(size_wrong)
    return [make_flag("responses-changed", "; ".join(parts))] if parts else []
