"""Interleaved comparison: two or more cells measured in alternating order in one run.

Cells measured an hour apart differ by the machine's drift as much as by what
they are (measured here: the same cell 20% apart an hour later). So every
contender's stack is booted and verified first, all pinned alike (servers on the
server CPUs, idle while another is loaded), and then trials go round in
alternating order: A B, B A, A B, ... Each round's ratio cancels the drift; the
run keeps adding rounds until every ratio to the first contender is known to
+-target (or the load budget is spent), with at least min_rounds trials a side,
which the exact permutation test needs to reach p <= 0.05.

Each contender's trials become an ordinary record (its flags, its ceiling share)
marked with the group, so the report can rank a group's cells as one measurement.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from benchmatrix.hosts.machine_lock import machine_lock
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.results.ratio import RatioEstimate, paired_ratio
from benchmatrix.run.cell_run import CellRun, prepare_cell_run
from benchmatrix.run.measure import ScenarioMeasurement, first_line, trial_flags_named
from benchmatrix.run.options import RunOptions
from benchmatrix.run.recording import Console, utc_now
from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.stack.readiness import ServiceError

MIN_ROUNDS = 5  # 5 a side: the exact permutation test's smallest p is then 2/252, below 0.05
TARGET_HALF_WIDTH = 0.05  # stop once every ratio's 95% interval is within +-5%
MAX_LOAD_S = 300  # of load per scenario, all contenders together


@dataclass(frozen=True)
class Contender:
    server: str
    app: str
    venv: Optional[Path]  # None: the harness's own environment
    app_target: Optional[str] = None
    side_probe: Optional[bool] = None  # None: as the base options say; False to measure what the probe costs


@dataclass(frozen=True)
class InterleaveOptions:
    base: RunOptions  # everything but the cell; its server and app are ignored
    contenders: Sequence[Contender]
    min_rounds: int = MIN_ROUNDS
    target_half_width: float = TARGET_HALF_WIDTH
    max_load_s: float = MAX_LOAD_S


def round_order(round_number: int, count: int) -> List[int]:
    """Forward on even rounds, backward on odd ones: A B | B A | A B ..., so no side always goes first."""
    order = list(range(count))
    return order if round_number % 2 == 0 else order[::-1]


class InterleavedRun:
    def __init__(self, options: InterleaveOptions, console: Optional[Console] = None):
        if len(options.contenders) < 2:
            raise ValueError("an interleaved comparison needs at least two cells")
        self.options = options
        self.console = console or Console()
        self.say = self.console.say
        self.group = "interleaved-" + secrets.token_hex(4)
        self.runs: List[CellRun] = [prepare_cell_run(dataclasses.replace(
            options.base, server=c.server, app=c.app, venv=c.venv, app_target=c.app_target,
            side_probe=options.base.side_probe if c.side_probe is None else c.side_probe), self.console)
            for c in options.contenders]
        self.labels = unique_labels(self.runs)
        self.load_s = 0.0

    @property
    def scenarios(self) -> Sequence[Scenario]:
        return self.options.base.scenarios

    def execute(self) -> int:
        first = self.runs[0]
        self.say("interleaved comparison {} of {}".format(self.group, ", ".join(self.labels)))
        with machine_lock("interleaved comparison of " + ", ".join(self.labels),
                          wait=self.options.base.wait_for_machine, say=self.say) as hold:
            cell_flags = first.check_machine()
            ceilings = first.find_ceilings()
            for run in self.runs:
                run.meta["machine"] = first.meta["machine"]
                run.meta["machine_lock"] = hold.as_metadata()
                run.meta["ceiling_choice"] = first.meta["ceiling_choice"]
            with contextlib.ExitStack() as stack:
                measurements = []
                for label, run in zip(self.labels, self.runs):
                    self.say("starting {}".format(label))
                    measurement = run.start(stack, cell_flags, ceilings)
                    if measurement is None:
                        self.say("{} failed verification: nothing was compared".format(label))
                        return 1
                    measurements.append(measurement)
                estimates = {scenario.name: self._scenario(scenario, measurements) for scenario in self.scenarios}
        self._report(estimates)
        return 1 if any(run.recorder.any_failed for run in self.runs) else 0

    def _scenario(self, scenario: Scenario, measurements: Sequence[ScenarioMeasurement]
                  ) -> Optional[List[Optional[RatioEstimate]]]:
        for measurement in measurements:
            if not measurement.prepare(scenario):
                return None
        loads = [m.plan.closed_loop(scenario) for m in measurements]
        trials: List[List[Dict[str, Any]]] = [[] for _ in measurements]
        flags: List[List[Flag]] = [[] for _ in measurements]
        argvs: List[Optional[List[str]]] = [None for _ in measurements]
        duration_s = self.options.base.duration_s
        started_load_s = self.load_s
        estimates: List[Optional[RatioEstimate]] = []
        round_number = 0
        try:
            while True:
                for position, index in enumerate(round_order(round_number, len(measurements))):
                    number = len(trials[index]) + 1
                    argvs[index], trial, trial_flags = measurements[index].trial(scenario, loads[index], number)
                    trial.update(round=round_number + 1, position_in_round=position + 1)
                    trials[index].append(trial)
                    flags[index] += trial_flags_named(number, trial_flags)
                    self.load_s += duration_s
                round_number += 1
                estimates = self._estimates(trials)
                self.say("{}: round {}: {}".format(scenario.name, round_number, "; ".join(
                    "{} {}".format(label, e.describe() if e else "-") for label, e in zip(self.labels[1:], estimates))))
                spent = self.load_s - started_load_s
                if round_number >= self.options.min_rounds and all(
                        e and e.half_width <= self.options.target_half_width for e in estimates):
                    break
                if spent + duration_s * len(measurements) > self.options.max_load_s:
                    if round_number >= self.options.min_rounds or spent >= self.options.max_load_s:
                        self.say("{}: load budget of {:g} s spent".format(scenario.name, self.options.max_load_s))
                        break
        except (WrkOutputError, ServiceError) as error:
            for index, measurement in enumerate(measurements):
                measurement.recorder.save(measurement.recorder.record(
                    scenario, [make_flag("load-failed", first_line(error))], trials[index], argvs[index], loads[index]))
            return None
        for index, measurement in enumerate(measurements):
            details = {"interleaved": {
                "group": self.group, "contenders": self.labels, "position": index, "rounds": round_number,
                "order": "alternating (A B, B A, ...)", "finished_at": utc_now(),
                "ratio_to_first": dataclasses.asdict(estimates[index - 1]) if index and estimates[index - 1] else None}}
            measurement.recorder.save(measurement.finish(scenario, loads[index], trials[index], flags[index],
                                                         argvs[index], extra_meta=details))
        return estimates

    @staticmethod
    def _estimates(trials: Sequence[Sequence[Dict[str, Any]]]) -> List[Optional[RatioEstimate]]:
        baseline = [t["rps"] for t in trials[0]]
        return [paired_ratio(baseline, [t["rps"] for t in side]) for side in trials[1:]]

    def _report(self, estimates: Dict[str, Optional[List[Optional[RatioEstimate]]]]) -> None:
        results_dir = self.options.base.results_dir
        lines = ["", "Interleaved comparison {} ({}), against {}:".format(self.group, utc_now(), self.labels[0])]
        for scenario, per_candidate in estimates.items():
            for label, estimate in zip(self.labels[1:], per_candidate or [None] * (len(self.labels) - 1)):
                lines.append("  {}: {} / {} = {}".format(scenario, label, self.labels[0],
                                                        estimate.describe() if estimate else "not measured"))
        lines.append("records appended to {}".format(results_dir / "results.jsonl"))
        for line in lines:
            if line:
                self.say(line)
            else:
                print()


def unique_labels(runs: Sequence[CellRun]) -> List[str]:
    """server/app/python; where two contenders share that, their virtualenvs' names if those differ, else A, B ..."""
    plain = ["{}/{}/{}{}".format(r.plan.cell.server.name, r.recorder.app_label, r.plan.cell.python,
                                 "" if r.plan.options.side_probe else " (side probe off)") for r in runs]
    labels = []
    for index, (label, run) in enumerate(zip(plain, runs)):
        twins = [other for other, name in zip(runs, plain) if name == label]
        if len(twins) == 1:
            labels.append(label)
        elif len({twin.env.prefix.name for twin in twins}) == len(twins):
            labels.append("{} ({})".format(label, run.env.prefix.name))
        else:
            labels.append("{} [{}]".format(label, chr(ord("A") + index)))
    return labels
