"""Interleaved comparison: two or more cells measured in short alternating slices in one run.

Cells measured an hour apart differ by the machine's drift as much as by what
they are (measured here: the same cell 20% apart an hour later; the machine's
speed threefold within minutes). So every contender's stack is booted, warmed
and verified first, all pinned alike (servers on the server CPUs, idle while
another is loaded), and stays up; then the load alternates between them in
short slices (--slice), A B | B A | A B | B A ..., two rounds
making one ABBA pair whose ratio cancels drift linear over the pair
(run/interleave_rule.py). Each slice is one wrk run, so its connections are
opened afresh: on 127.0.0.1 that is well under a millisecond per connection,
a cost both sides pay alike in every pair, so no untimed warm-up precedes a
slice (the stack was warmed once, before the first). Before each slice, once the
server has settled (worked off what the previous slice left queued), the speed
reference (run/speed_reference.py) is timed on the server's CPUs and kept in the
slice's resources. The run adds pairs until every ratio to the first
contender differs from 1 or is known to +-target, or the load budget is spent;
then an undecided ratio states the smallest difference this run could have seen.

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
from benchmatrix.results.ratio import RatioEstimate, pair_log_ratios
from benchmatrix.run.cell_run import CellRun, prepare_cell_run
from benchmatrix.run.interleave_report import Verdicts, outcome_meta
from benchmatrix.run.interleave_rule import (ALPHA, BUDGET, CPU, FAILED, RPS, SPEED_REFERENCE_KEY, Method,
                                             RoundsOutcome, StoppingRule, alternate, budget_problem)
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.options import RunOptions
from benchmatrix.run.recording import Console, utc_now
from benchmatrix.run.speed_reference import SpeedReference
from benchmatrix.run.trial_runner import TrialOutcome
from benchmatrix.checks.flags import make_flag

MIN_PAIRS = 5  # ABBA pairs before any stop: 4 degrees of freedom for the t-interval
TARGET_HALF_WIDTH = 0.05  # stop once every ratio's 95% interval is within +-5%
MAX_LOAD_S = 300  # of load per scenario, all contenders together


@dataclass(frozen=True)
class Contender:
    server: str
    app: str
    venv: Optional[Path]  # None: the harness's own environment
    app_target: Optional[str] = None
    overrides: Overrides = ()  # packages at another release than the pins (its VENV holds them; matrix/overrides.py)
    side_probe: Optional[bool] = None  # None: as the base options say; False to measure what the probe costs


@dataclass(frozen=True)
class InterleaveOptions:
    base: RunOptions  # everything but the cell; its server and app are ignored
    contenders: Sequence[Contender]
    min_pairs: int = MIN_PAIRS
    target_half_width: float = TARGET_HALF_WIDTH
    max_load_s: float = MAX_LOAD_S
    metric: str = RPS  # which ratio drives the stopping rule: RPS or CPU
    normalize: bool = False  # divide each slice's figure by the speed reference timed before it
    speed_reference: bool = True  # time the reference before each slice (kept in the records either way)
    alpha: float = ALPHA  # a ratio differs at p <= alpha, corrected for the looks (bisect lowers it for its steps)

    @property
    def method(self) -> Method:
        return Method(self.metric, self.normalize)


class InterleavedRun:
    def __init__(self, options: InterleaveOptions, console: Optional[Console] = None):
        if len(options.contenders) < 2:
            raise ValueError("an interleaved comparison needs at least two cells")
        problem = budget_problem(options.min_pairs, options.max_load_s, len(options.contenders),
                                 options.base.duration_s)
        if problem:
            raise ValueError(problem)
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
        self.outcomes: Dict[str, RoundsOutcome] = {}  # per scenario, for the calibration's A/A runs
        # Each scenario's contenders (labels) and their ratios to the first, once executed (bisect reads them).
        self.estimates: Dict[str, Tuple[List[str], Optional[List[Optional[RatioEstimate]]]]] = {}
        self.verdicts = Verdicts(options.base.results_dir, self.say)

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
                        scenario, [measurements[i] for i in serving], [self.labels[i] for i in serving],
                        cell_name(self.options.contenders[serving[0]])))
        self.estimates = estimates
        self._report(estimates)
        return 1 if any(run.recorder.any_failed for run in self.runs) else 0

    def _scenario(self, scenario: Scenario, measurements: Sequence[ScenarioMeasurement], labels: Sequence[str],
                  first_cell: str) -> Optional[List[Optional[RatioEstimate]]]:
        """The cells that serve the scenario (labels, in order) alternated on it; each one's ratio to the first
        (first_cell: the first's SERVER/APP, whose saved calibration an undecided ratio may state)."""
        for measurement in measurements:
            if not measurement.prepare(scenario):
                return None
        loads = [m.plan.closed_loop(scenario) for m in measurements]
        rule = StoppingRule(self.options.min_pairs, self.options.target_half_width, self.options.max_load_s,
                            self.options.alpha)
        method = self.options.method

        def say_pair(rounds: int, estimates: List[Optional[RatioEstimate]]) -> None:
            self.say("{}: pair {} ({}): {}".format(scenario.name, rounds // 2, method.name, "; ".join(
                "{} {}".format(label, e.describe() if e else "-") for label, e in zip(labels[1:], estimates))))

        with self._speed_reference() as reference:
            def run_slice(index: int, number: int) -> TrialOutcome:
                # Timed once the server has settled, right before the load: not while the previous slice's
                # contender still works off its queue on the same CPUs.
                timed: List[float] = []
                ran = measurements[index].trial(scenario, loads[index], number, after_settle=(
                    lambda: timed.append(reference.time_ms())) if reference else None)
                return with_speed(ran, timed[0] if timed else None)

            outcome = alternate(run_slice, len(measurements), rule, self.options.base.duration_s,
                                on_round=say_pair, method=method)
        self.outcomes[scenario.name] = outcome
        if outcome.stopped_by == FAILED:
            for index, measurement in enumerate(measurements):
                measurement.recorder.save(measurement._record(
                    scenario, [make_flag("load-failed", outcome.error)], outcome.trials[index], outcome.argvs[index],
                    loads[index]))
            return None
        if outcome.stopped_by == BUDGET:
            self.say("{}: load budget of {:g} s spent".format(scenario.name, self.options.max_load_s))
        undecided = self.verdicts.judge(first_cell, scenario, outcome, self.options, len(measurements))
        self.verdicts.state(scenario, labels, outcome, self.options, undecided)
        estimates = outcome.estimates
        pair_logs = pair_rps_logs(outcome)
        for index, measurement in enumerate(measurements):
            details = {"interleaved": dict(
                group=self.group, contenders=labels, position=index, rounds=outcome.rounds,
                order="ABBA slices (A B | B A | ...), ratios per pair of rounds", finished_at=utc_now(),
                ratio_to_first=dataclasses.asdict(estimates[index - 1]) if index and estimates[index - 1] else None,
                **outcome_meta(outcome, self.options, index, undecided))}
            measurement.recorder.save(measurement.finish(scenario, loads[index], outcome.trials[index],
                                                         outcome.flags[index], outcome.argvs[index],
                                                         extra_meta=details, pair_logs=pair_logs[index]))
        return estimates

    def _speed_reference(self):
        """The loop timed before each slice, pinned where the servers run; nothing when switched off."""
        if not self.options.speed_reference:
            return contextlib.nullcontext()
        pinning = self.runs[0].pinning
        return SpeedReference(pinning.server_prefix() if pinning else ())

    def _report(self, estimates: Dict[str, Tuple[List[str], Optional[List[Optional[RatioEstimate]]]]]) -> None:
        results_dir = self.options.base.results_dir
        lines = ["", "Interleaved comparison {} ({}), each scenario against its first cell:".format(
            self.group, utc_now())]
        normalize = self.options.normalize
        for scenario, (labels, per_candidate) in estimates.items():
            outcome = self.outcomes.get(scenario)
            for position, (label, estimate) in enumerate(zip(labels[1:], per_candidate or [None] * (len(labels) - 1))):
                shown = estimate.describe() if estimate else (
                    "no interval (fewer than 2 ABBA pairs)" if outcome and per_candidate else "not measured")
                lines.append("  {}: {} / {} = {} [{}]".format(scenario, label, labels[0], shown,
                                                             self.options.method.name))
                cpu = ((outcome.by_method or {}).get(Method(CPU, normalize).name) if outcome and per_candidate
                       else None)
                if cpu and cpu[position]:
                    lines.append("    CPU time per request: {}".format(cpu[position].describe()))
        lines.append("records appended to {}".format(results_dir / "results.jsonl"))
        for line in lines:
            if line:
                self.say(line)
            else:
                print()


def cell_name(contender: Contender) -> str:
    """SERVER/APP: how a saved calibration names the cell it measured (run/calibrate_store.py)."""
    return "{}/{}".format(contender.server, contender.app)


def pair_rps_logs(outcome: RoundsOutcome) -> List[List[float]]:
    """Per contender, its ABBA pairs' req/s log-ratios to the first ([] for the first): what a sliced record's
    stability is judged on (run/trials.unstable_pairs), the drift its slices share with the first cancelled."""
    rps = Method(RPS)
    baseline = [rps.value(t) for t in outcome.trials[0]]
    return [[]] + [pair_log_ratios(baseline, [rps.value(t) for t in side]) for side in outcome.trials[1:]]


def with_speed(ran: TrialOutcome, speed_ms: Optional[float]) -> TrialOutcome:
    """The slice with the speed reference timed before its load in its resources (the record keeps it per trial)."""
    if speed_ms is None or ran.trial.context is None:
        return ran
    context = dataclasses.replace(ran.trial.context, resources=dict(ran.trial.context.resources,
                                                                      **{SPEED_REFERENCE_KEY: speed_ms}))
    return dataclasses.replace(ran, trial=ran.trial.with_context(context))


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
