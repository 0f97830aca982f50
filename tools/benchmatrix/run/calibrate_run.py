"""`benchmatrix calibrate`: A/A comparisons of one cell, and the detection test of a copy made slower.

Each A/A comparison is an ordinary interleaved run (run/interleave.py) of the
cell against a second instance of itself, both booted afresh (what differs
between two boots of one cell is part of what a comparison must not mistake for
a difference). The runs of different slice lengths take turns, so a quiet or a
noisy spell of the machine falls on all of them. Each A/A run goes on to the
whole budget (no early stop), so the interval can be read at every load time;
the stopping rule is then replayed on its slices for the false-positive rate
(run/calibrate.py). Their records go to calibration/ under the results folder,
apart from the rankings'; the summary to calibration.json and calibration.md.

The detection test compares tests/apps/extra_work.py's plain wrapper of the
Flask app against the same wrapper spinning `effect` of the cell's own CPU time
per request (measured in the A/A runs, or by a short one first), with the live
stopping rule and budget, `tries` times. That wrapper imports benchmatrix's own
Flask app (apps/flask/app.py) from benchmatrix's checkout, so the detection test
is refused before anything starts for any other app (detection_problem).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from benchmatrix.run import calibrate, calibrate_store
from benchmatrix.run.interleave import Contender, InterleavedRun, InterleaveOptions
from benchmatrix.run.interleave_rule import FAILED, RPS, Method, StoppingRule, pair_seconds
from benchmatrix.run.options import RunOptions
from benchmatrix.run.recording import Console, utc_now

EXTRA_WORK_APP = "tests.apps.extra_work:spin_{}"
EXTRA_WORK_FILE = Path("tests", "apps", "extra_work.py")  # in benchmatrix's checkout, beside apps/flask/app.py
FLASK_APP_FILE = Path("apps", "flask", "app.py")


def detection_problem(contender: Contender, root: Optional[Path] = None) -> Optional[str]:
    """Why --detect cannot run on this contender, or None: the slower copy is tests/apps/extra_work.py of
    benchmatrix's checkout (`root`, default paths.REPO_ROOT) wrapping benchmatrix's own Flask app, so the
    contender must be that app, served from that checkout, with its own target."""
    from benchmatrix.matrix.cells import load_matrix
    from benchmatrix.paths import REPO_ROOT

    root = REPO_ROOT if root is None else root
    app = load_matrix().apps.get(contender.app)
    if contender.app != "flask" or app is None:
        why = "{}/{} is not benchmatrix's flask app".format(contender.server, contender.app)
    elif app.root is not None:
        why = "flask here is your project's app ({}), not benchmatrix's".format(app.root)
    elif contender.app_target:
        why = "app-target={} is given, and the copies replace the app's target".format(contender.app_target)
    elif not (root / EXTRA_WORK_FILE).is_file() or not (root / FLASK_APP_FILE).is_file():
        why = "benchmatrix's checkout ({}) has no {} or {} (installed without its checkout?)".format(
            root, EXTRA_WORK_FILE, FLASK_APP_FILE)
    else:
        return None
    return ("--detect: the slower copy is benchmatrix's own Flask app (apps/flask/app.py) with extra CPU work per "
            "request (tests/apps/extra_work.py), served from benchmatrix's checkout; {}. Calibrate a SERVER/flask "
            "cell from benchmatrix's checkout (e.g. --cell gunicorn/flask) for the detection test, or leave "
            "--detect out to calibrate this cell's A/A spread alone".format(why))


@dataclass(frozen=True)
class CalibrateOptions:
    base: RunOptions  # the cell's measurement options; its duration is replaced by each slice length
    contender: Contender
    runs: int = 10
    slices: Sequence[int] = (2,)
    budget_s: float = 120.0  # the load budget the false positives and the MDE are stated for
    load_points: Sequence[float] = (30.0, 60.0, 120.0)
    min_pairs: int = 5
    target_half_width: float = 0.05
    metric: str = RPS  # the detection tries' stopping method
    normalize: bool = False
    detect: Optional[float] = None  # e.g. 0.10: the copy's extra CPU per request, as a share of the cell's
    tries: int = 10
    detect_budget_s: float = 300.0
    extra_work_us: Optional[int] = None  # the copy's extra CPU per request, given instead of measured


@dataclass(frozen=True)
class DetectionTry:
    stopped_by: str
    load_s: float
    detected: bool  # told apart at p <= 0.05, in the right direction
    description: str


class Calibration:
    def __init__(self, options: CalibrateOptions, console: Optional[Console] = None):
        self.options = options
        self.console = console or Console()
        self.say = self.console.say
        self.scenario = options.base.scenarios[0]
        self.cell = "{}/{}".format(options.contender.server, options.contender.app)

    def execute(self) -> int:
        self.options.base.results_dir.mkdir(parents=True, exist_ok=True)
        runs = self.aa_runs() if self.options.runs else []
        if self.options.detect is not None:
            tries = self.detection(runs)
            if not tries:
                return 1
        return 0

    def _interleave(self, slice_s: int, contenders: List[Contender], **settings) -> Optional[InterleavedRun]:
        base = dataclasses.replace(self.options.base, duration_s=slice_s,
                                   results_dir=self.options.base.results_dir / "calibration")
        run = InterleavedRun(InterleaveOptions(base, contenders, **settings), self.console)
        run.execute()
        outcome = run.outcomes.get(self.scenario.name)
        if outcome is None or outcome.stopped_by == FAILED:
            self.say("calibrate: a comparison failed ({}); it is left out".format(
                outcome.error if outcome else "nothing measured"))
            return None
        return run

    def aa_runs(self) -> List[calibrate.AaRun]:
        options = self.options
        longest = max([options.budget_s, *options.load_points])
        runs: List[calibrate.AaRun] = []
        for number in range(1, options.runs + 1):
            for slice_s in options.slices:
                self.say("calibrate: A/A run {}/{} of {} {}, {} s slices, {:g} s of load".format(
                    number, options.runs, self.cell, self.scenario.name, slice_s, longest))
                # No stop before the budget's end: A/A, two contenders.
                whole = StoppingRule(1, 0.0, longest).last_pair(pair_seconds(2, slice_s))
                run = self._interleave(slice_s, [options.contender, options.contender], min_pairs=whole,
                                       target_half_width=0.0, max_load_s=longest, speed_reference=True)
                if run is not None:
                    runs.append(calibrate.AaRun.of(slice_s, run.outcomes[self.scenario.name].trials))
        if not runs:
            return runs
        rows = calibrate.aggregate(runs, options.budget_s, options.load_points, options.min_pairs,
                                   options.target_half_width)
        table = calibrate.render(rows, options.load_points)
        noise = calibrate.render_noise(runs)
        measured_at = utc_now()
        cost = calibrate.cpu_ms_per_request(runs)
        path = calibrate_store.save_entries(options.base.results_dir, [calibrate_store.CalibrationEntry(
            measured_at=measured_at, cell=self.cell, scenario=self.scenario.name, slice_s=row.slice_s,
            method=row.method, sd_log=row.sd_log, pairs=row.pairs, runs=row.runs,
            false_positives=row.false_positives, budget_s=row.budget_s, cpu_ms_per_request=cost)
            for row in rows if row.pairs >= 2])
        text = ("A/A calibration of {} {} ({} UTC): 95% interval half-widths (median over the runs), "
                "false positives of the stopping rule at p <= 0.05 within {:g} s, minimum detectable effect "
                "(80% power) in {:g} s of load\n\n{}\n{}the cell's stack CPU per request: {} ms (median over "
                "the slices)\n").format(
            self.cell, self.scenario.name, measured_at[:16], options.budget_s, options.budget_s, table, noise,
            "-" if cost is None else "{:.4f}".format(cost))
        (options.base.results_dir / "calibration.md").write_text(text, encoding="utf-8")
        print()
        print(text)
        self.say("calibration saved to {} for this machine".format(path))
        return runs

    def extra_work_us(self, runs: Sequence[calibrate.AaRun]) -> Optional[int]:
        """The copy's extra CPU per request: `detect` of the cell's own stack CPU per request."""
        if self.options.extra_work_us is not None:
            return self.options.extra_work_us
        per_request_ms = calibrate.cpu_ms_per_request(runs) if runs else self.saved_cost()
        if per_request_ms is None:
            self.say("calibrate: measuring the cell's CPU per request first (a short A/A run)")
            run = self._interleave(self.options.slices[0], [self.options.contender] * 2, min_pairs=2,
                                   target_half_width=1.0, max_load_s=8 * self.options.slices[0])
            runs = [calibrate.AaRun.of(self.options.slices[0], run.outcomes[self.scenario.name].trials)] if run else []
            per_request_ms = calibrate.cpu_ms_per_request(runs)
        if per_request_ms is None:
            self.say("calibrate: no CPU time per request was measured; give --extra-work-us")
            return None
        spin = int(round(self.options.detect * per_request_ms * 1000))
        self.say("calibrate: the cell costs {:.3f} ms of CPU per request; the copy spins {} us more ({:.0%})".format(
            per_request_ms, spin, self.options.detect))
        return spin

    def saved_cost(self) -> Optional[float]:
        """The cell's CPU per request from this machine's saved calibration, newest first."""
        saved = [e for e in calibrate_store.load_entries(self.options.base.results_dir)
                 if e.cell == self.cell and e.scenario == self.scenario.name and e.cpu_ms_per_request]
        return max(saved, key=lambda e: e.measured_at).cpu_ms_per_request if saved else None

    def detection(self, runs: Sequence[calibrate.AaRun]) -> List[DetectionTry]:
        options = self.options
        spin = self.extra_work_us(runs)
        if spin is None:
            return []
        plain = dataclasses.replace(options.contender, app_target=EXTRA_WORK_APP.format(0))
        slower = dataclasses.replace(options.contender, app_target=EXTRA_WORK_APP.format(spin))
        method = Method(options.metric, options.normalize)
        tries: List[DetectionTry] = []
        for number in range(1, options.tries + 1):
            self.say("calibrate: detection try {}/{}: {} against itself with {} us more CPU per request ({})".format(
                number, options.tries, self.cell, spin, method.name))
            run = self._interleave(options.slices[0], [plain, slower], min_pairs=options.min_pairs,
                                   target_half_width=options.target_half_width, max_load_s=options.detect_budget_s,
                                   metric=options.metric, normalize=options.normalize)
            if run is None:
                continue
            outcome = run.outcomes[self.scenario.name]
            estimate = outcome.estimates[0]
            slower_side = estimate is not None and (estimate.ratio < 1 if options.metric == RPS else estimate.ratio > 1)
            tries.append(DetectionTry(outcome.stopped_by, outcome.rounds * 2 * options.slices[0],
                                      outcome.distinguishable[0] and slower_side,
                                      estimate.describe() if estimate else "-"))
        lines = ["", "Detection of {:.0%} more CPU per request ({} us) on {} {}, {} s slices, {} ({}):".format(
            options.detect or 0, spin, self.cell, self.scenario.name, options.slices[0], method.name, utc_now()[:16])]
        for number, attempt in enumerate(tries, start=1):
            lines.append("  try {}: {} after {:g} s of load ({}): {}".format(
                number, "told apart" if attempt.detected else "not told apart", attempt.load_s,
                attempt.stopped_by, attempt.description))
        lines.append("told apart with p <= 0.05 within {:g} s of load in {} of {} tries".format(
            options.detect_budget_s, sum(t.detected for t in tries), len(tries)))
        for line in lines:
            print(line)
        with (options.base.results_dir / "calibration.md").open("a", encoding="utf-8") as page:
            page.write("\n".join(lines) + "\n")
        return tries
