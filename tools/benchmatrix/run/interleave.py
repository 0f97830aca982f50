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
from typing import Dict, List, Optional, Sequence, Tuple

from benchmatrix.hosts.machine_lock import machine_lock
from benchmatrix.matrix.cells import load_matrix
from benchmatrix.matrix.overrides import Overrides, label as overrides_label
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.results.ratio import RatioEstimate
from benchmatrix.run.cell_run import CellRun, prepare_cell_run
from benchmatrix.run.interleave_rule import BUDGET, FAILED, StoppingRule, alternate
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.options import RunOptions
from benchmatrix.run.recording import Console, utc_now
from benchmatrix.checks.flags import make_flag

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
    overrides: Overrides = ()  # packages at another release than the pins (its VENV holds them; matrix/overrides.py)


@dataclass(frozen=True)
class InterleaveOptions:
    base: RunOptions  # everything but the cell; its server and app are ignored
    contenders: Sequence[Contender]
    min_rounds: int = MIN_ROUNDS
    target_half_width: float = TARGET_HALF_WIDTH
    max_load_s: float = MAX_LOAD_S


class InterleavedRun:
    def __init__(self, options: InterleaveOptions, console: Optional[Console] = None):
        if len(options.contenders) < 2:
            raise ValueError("an interleaved comparison needs at least two cells")
        self.options = options
        self.console = console or Console()
        self.say = self.console.say
        self.group = "interleaved-" + secrets.token_hex(4)
        # Each cell verifies, starts services for and measures the scenarios its app serves; each
        # scenario is compared among the cells that serve it.
        self.runs: List[CellRun] = [prepare_cell_run(dataclasses.replace(
            options.base, server=c.server, app=c.app, venv=c.venv, app_target=c.app_target, overrides=c.overrides,
            scenarios=tuple(served_by(c.app, options.base.scenarios)),
            side_probe=options.base.side_probe if c.side_probe is None else c.side_probe), self.console)
            for c in options.contenders]
        self.labels = unique_labels(self.runs)
        # Each scenario's contenders (labels) and their ratios to the first, once executed (bisect reads them).
        self.estimates: Dict[str, Tuple[List[str], Optional[List[Optional[RatioEstimate]]]]] = {}

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
            # What the whole group shares goes into each contender's records, not into the other runs' meta.
            shared = {"machine": first.meta["machine"], "machine_lock": hold.as_metadata(),
                      "ceiling_choice": first.meta["ceiling_choice"]}
            with contextlib.ExitStack() as stack:
                measurements = []
                for label, run in zip(self.labels, self.runs):
                    self.say("starting {}".format(label))
                    measurement = run.start(stack, cell_flags, ceilings)
                    if measurement is None:
                        self.say("{} failed verification: nothing was compared".format(label))
                        return 1
                    measurement.record_meta.update(shared)
                    measurements.append(measurement)
                estimates = {}
                for scenario in self.scenarios:
                    serving = [i for i, run in enumerate(self.runs) if scenario in run.plan.options.scenarios]
                    estimates[scenario.name] = ([self.labels[i] for i in serving], self._scenario(
                        scenario, [measurements[i] for i in serving], [self.labels[i] for i in serving]))
        self.estimates = estimates
        self._report(estimates)
        return 1 if any(run.recorder.any_failed for run in self.runs) else 0

    def _scenario(self, scenario: Scenario, measurements: Sequence[ScenarioMeasurement], labels: Sequence[str]
                  ) -> Optional[List[Optional[RatioEstimate]]]:
        """The cells that serve the scenario (labels, in order) alternated on it; each one's ratio to the first."""
        for measurement in measurements:
            if not measurement.prepare(scenario):
                return None
        loads = [m.plan.closed_loop(scenario) for m in measurements]
        rule = StoppingRule(self.options.min_rounds, self.options.target_half_width, self.options.max_load_s)

        def say_round(rounds: int, estimates: List[Optional[RatioEstimate]]) -> None:
            self.say("{}: round {}: {}".format(scenario.name, rounds, "; ".join(
                "{} {}".format(label, e.describe() if e else "-") for label, e in zip(labels[1:], estimates))))

        outcome = alternate(lambda index, number: measurements[index].trial(scenario, loads[index], number),
                            len(measurements), rule, self.options.base.duration_s, on_round=say_round)
        if outcome.stopped_by == FAILED:
            for index, measurement in enumerate(measurements):
                measurement.recorder.save(measurement._record(
                    scenario, [make_flag("load-failed", outcome.error)], outcome.trials[index], outcome.argvs[index],
                    loads[index]))
            return None
        if outcome.stopped_by == BUDGET:
            self.say("{}: load budget of {:g} s spent".format(scenario.name, self.options.max_load_s))
        for label, estimate, apart in zip(labels[1:], outcome.estimates, outcome.distinguishable):
            if not apart:
                self.say("{}: {} is not distinguishable from {} at 95%".format(scenario.name, label, labels[0]))
        estimates = outcome.estimates
        for index, measurement in enumerate(measurements):
            details = {"interleaved": {
                "group": self.group, "contenders": labels, "position": index, "rounds": outcome.rounds,
                "order": "alternating (A B, B A, ...)", "finished_at": utc_now(),
                "ratio_to_first": dataclasses.asdict(estimates[index - 1]) if index and estimates[index - 1] else None}}
            measurement.recorder.save(measurement.finish(scenario, loads[index], outcome.trials[index],
                                                         outcome.flags[index], outcome.argvs[index],
                                                         extra_meta=details))
        return estimates

    def _report(self, estimates: Dict[str, Tuple[List[str], Optional[List[Optional[RatioEstimate]]]]]) -> None:
        results_dir = self.options.base.results_dir
        lines = ["", "Interleaved comparison {} ({}), each scenario against its first cell:".format(
            self.group, utc_now())]
        for scenario, (labels, per_candidate) in estimates.items():
            for label, estimate in zip(labels[1:], per_candidate or [None] * (len(labels) - 1)):
                lines.append("  {}: {} / {} = {}".format(scenario, label, labels[0],
                                                        estimate.describe() if estimate else "not measured"))
        lines.append("records appended to {}".format(results_dir / "results.jsonl"))
        for line in lines:
            if line:
                self.say(line)
            else:
                print()


def served_by(app: str, scenarios: Sequence[Scenario]) -> List[Scenario]:
    """The scenarios among these that the app serves (its matrix entry's list, or every one)."""
    listed = load_matrix().apps[app].scenarios
    return [s for s in scenarios if not listed or s.name in listed]


def unique_labels(runs: Sequence[CellRun]) -> List[str]:
    """server/app/python[@overrides]; where two contenders share that, their virtualenvs' names if those differ,
    else A, B ..."""
    plain = ["{}/{}/{}{}{}".format(r.plan.cell.server.name, r.recorder.app_label, r.plan.cell.python,
                                   "@" + overrides_label(r.plan.options.overrides) if r.plan.options.overrides else "",
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
