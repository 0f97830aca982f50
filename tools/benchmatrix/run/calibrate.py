"""What A/A comparisons say about this machine: pure aggregation of their slices (the runs are calibrate_run.py's).

An A/A comparison is one cell against a second instance of itself, interleaved
as any comparison is; its true ratio is 1, so whatever its interval shows is the
machine. For each slice length and method (req/s or CPU per request, with or
without the speed reference) the A/A runs give:

- the 95% interval's half-width reached after 30, 60, 120 ... s of load (median
  over the runs, and the widest), from the first pairs of each run;
- the false-positive rate: how many runs the stopping rule, replayed on their
  slices with the given budget, called different at p <= 0.05; and, beside it, how
  many runs' plain 95% interval at the budget's end left out 1 (about 1 in 20 if
  the interval is honest: more says the pairs are not independent);
- the minimum detectable effect for the budget: with sd the pooled spread of the
  runs' ABBA pair log-ratios and n the pairs the budget holds,
      MDE = exp((t_{1-a/2k, n-1} + t_{0.8, n-1}) * sd / sqrt(n)) - 1
  where k is the number of looks the stopping rule takes in that budget (the
  Bonferroni correction that keeps its false-positive rate at or below a = 0.05).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from benchmatrix.results.ratio import estimate_from_logs, pair_log_ratios
from benchmatrix.run.interleave_rule import (ALL_METHODS, SPEED_REFERENCE_KEY, Method, StoppingRule, pair_seconds,
                                             replay)
from benchmatrix.run.trials import Trial

Series = Tuple[List[Optional[float]], List[Optional[float]]]  # (A's values, B's values), one per round


@dataclass(frozen=True)
class AaRun:
    """One A/A comparison's slices, as each method sees them."""
    slice_s: float
    values: Dict[str, Series]  # Method.name -> the two sides' values per round
    noise: Dict[str, float]  # the machine's noise meanwhile: coefficient of variation of each figure over A's slices

    @classmethod
    def of(cls, slice_s: float, trials: Sequence[Sequence[Trial]]) -> "AaRun":
        values = {m.name: ([m.value(t) for t in trials[0]], [m.value(t) for t in trials[1]]) for m in ALL_METHODS}
        noise = {}
        for name, label in (("rps", "req/s"), ("cpu", "CPU/request")):
            noise[label] = variation(values[name][0])
        noise["speed reference"] = variation([t.context.resources.get(SPEED_REFERENCE_KEY) if t.context else None
                                              for t in trials[0]])
        return cls(slice_s, values, noise)

    def logs(self, method: str) -> List[float]:
        return pair_log_ratios(*self.values[method])


def cpu_ms_per_request(runs: Sequence[AaRun]) -> Optional[float]:
    """The cell's stack CPU milliseconds per request, median over every slice of the runs (None if unread)."""
    cpu = [v for run in runs for side in run.values["cpu"] for v in side if v]
    return statistics.median(cpu) if cpu else None


def variation(values: Sequence[Optional[float]]) -> float:
    present = [v for v in values if v]
    if len(present) < 2:
        return math.nan
    return statistics.stdev(present) / statistics.mean(present)


@dataclass(frozen=True)
class CalibrationRow:
    slice_s: float
    method: str
    runs: int
    half_widths: Dict[float, Tuple[float, float]]  # load s -> (median, widest) 95% half-width over the runs
    false_positives: int  # runs the rule called different at p <= 0.05 within the budget
    misses: int  # runs whose plain 95% interval at the budget's end left out 1 (its coverage, one look)
    sd_log: float
    pairs: int  # pairs pooled, all runs
    budget_s: float
    detectable: float  # the minimum detectable effect for the budget (0.05 = 5%)

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.runs if self.runs else math.nan


def pooled_sd(runs_logs: Sequence[Sequence[float]]) -> Tuple[float, int]:
    """The spread of pair log-ratios within runs, pooled over the runs (each run's own mean taken out:
    a run's mean is the A/A error the interval must cover, not spread within it); and the pairs pooled."""
    squares, freedom, pairs = 0.0, 0, 0
    for logs in runs_logs:
        if len(logs) >= 2:
            mean = statistics.mean(logs)
            squares += sum((x - mean) ** 2 for x in logs)
            freedom += len(logs) - 1
        pairs += len(logs)
    return (math.sqrt(squares / freedom) if freedom else math.nan), pairs


def aggregate(runs: Sequence[AaRun], budget_s: float, load_points: Sequence[float], min_pairs: int,
              target_half_width: float, alpha: float = 0.05) -> List[CalibrationRow]:
    """One row per slice length and method, from the A/A runs of that slice length."""
    rows = []
    for slice_s in sorted({run.slice_s for run in runs}):
        mine = [run for run in runs if run.slice_s == slice_s]
        pair_s = pair_seconds(2, slice_s)  # A/A: two contenders
        rule = StoppingRule(min_pairs, target_half_width, budget_s, alpha)
        for method in ALL_METHODS:
            logs = [run.logs(method.name) for run in mine]
            half_widths = {}
            for load_s in load_points:
                pairs = int(math.floor(load_s / pair_s + 1e-9))
                widths = [e.half_width for e in (estimate_from_logs(run_logs[:pairs]) for run_logs in logs) if e]
                if widths and all(len(run_logs) >= pairs for run_logs in logs):
                    half_widths[load_s] = (statistics.median(widths), max(widths))
            false_positives = sum(1 for run in mine if judged_different(run, method, rule))
            at_end = [estimate_from_logs(run_logs[:rule.last_pair(pair_s)]) for run_logs in logs]
            misses = sum(1 for e in at_end if e is not None and not e.contains(1.0))
            sd, pooled = pooled_sd(logs)
            rows.append(CalibrationRow(
                slice_s=slice_s, method=method.name, runs=len(mine), half_widths=half_widths,
                false_positives=false_positives, misses=misses, sd_log=sd, pairs=pooled, budget_s=budget_s,
                detectable=rule.detectable_at(sd, rule.last_pair(pair_s), pair_s)))
    return rows


def judged_different(run: AaRun, method: Method, rule: StoppingRule) -> bool:
    """Whether the stopping rule, run live on this A/A comparison's slices, would have called it different."""
    a, b = run.values[method.name]
    outcome = replay([a, b], rule, run.slice_s)
    return any(outcome.distinguishable)


def render(rows: Sequence[CalibrationRow], load_points: Sequence[float]) -> str:
    """The calibration as a table: what the lead's closing note asks for, one line per configuration."""
    header = ["slice", "method", "A/A runs"] + ["+-95% CI at {:g} s".format(p) for p in load_points] + [
        "false positives", "95% CI at the end misses 1", "MDE in {:g} s".format(rows[0].budget_s if rows else 0)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = ["{:g} s".format(row.slice_s), row.method, str(row.runs)]
        for point in load_points:
            width = row.half_widths.get(point)
            cells.append("{:.1%} (widest {:.1%})".format(*width) if width else "-")
        cells += ["{}/{}".format(row.false_positives, row.runs), "{}/{}".format(row.misses, row.runs),
                  "-" if math.isnan(row.sd_log) else "{:.1%}".format(row.detectable)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_noise(runs: Sequence[AaRun]) -> str:
    """The machine's noise during the runs: each figure's variation over a contender's slices, per run."""
    lines = []
    for number, run in enumerate(runs, start=1):
        lines.append("A/A run {} ({:g} s slices): slice-to-slice variation {}".format(number, run.slice_s, ", ".join(
            "{} {:.1%}".format(name, value) for name, value in run.noise.items() if not math.isnan(value))))
    return "\n".join(lines) + "\n"
