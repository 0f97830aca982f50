"""Is B faster than A? Median req/s, their ratio, and an exact permutation test.

Two ways to pick what is compared:

* two result files (`compare`): records are matched by (scenario, python, app,
  server, mode, connections, planned_rate), the newest record of each key per file;
* two cells of one file (`compare_cells`), named "server/app[/python]": the newest
  record per (scenario, mode, connections, planned_rate) of cell A against cell B.

The samples are the trials' req/s (`trials[*].rps`); a schema 1 record, which
has no trials list, counts as one trial with its `rps`. The p-value comes from
an exact two-sided permutation test on the difference of the means: every way of
splitting the pooled trials into groups of the original sizes is enumerated, and
p is the share of splits whose difference is at least as large as the observed one.

Few trials limit what such a test can ever say: with n and m trials there are
only C(n+m, n) splits, so with 3 vs 3 trials the smallest possible p is
2/20 = 0.1 and no difference can be significant at 0.05; it takes at least 4
trials per side (smallest p 2/70, about 0.029). The output says so whenever it
applies. Pure functions, standard library only.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from benchmatrix.matrix.cell_spec import parse_cell_spec
from benchmatrix.results.records import Record, newest_by, status_label

ALPHA = 0.05

# Record fields that identify "the same measurement" in two result files.
# planned_rate is None for closed-loop records; for fixed-rate ones it keeps
# runs at different planned rates apart.
FILE_MATCH_FIELDS = ("scenario", "python", "app", "server", "mode", "connections", "planned_rate", "connection_mode")
# Within one file, the cell is chosen by name; these fields pair up its records.
CELL_MATCH_FIELDS = ("scenario", "mode", "connections", "planned_rate", "connection_mode")

# Enumerating C(n+m, n) splits stays under a second up to about 11 vs 11 trials.
# Beyond, a seeded Monte Carlo estimate keeps the answer deterministic and fast.
MAX_EXACT_SPLITS = 1_000_000
MONTE_CARLO_SPLITS = 200_000
MONTE_CARLO_SEED = 20261121

VERDICT_FASTER = "faster"
VERDICT_SLOWER = "slower"
VERDICT_SAME = "no significant difference"
VERDICT_TOO_FEW = "too few trials"


@dataclass(frozen=True)
class Comparison:
    """One scenario (of one cell, or of two cells) measured twice: baseline and candidate."""

    scenario: str
    mode: str
    connections: Optional[int]
    baseline: str  # the baseline's cell, e.g. "gunicorn · flask · py3.13"
    candidate: str  # the candidate's cell; the same as baseline when comparing files
    baseline_rps: Optional[float]  # median successful req/s over the trials
    candidate_rps: Optional[float]
    ratio: Optional[float]  # candidate_rps / baseline_rps
    p_value: Optional[float]  # None with fewer than 2 trials on a side
    verdict: str  # "faster", "slower", "no significant difference" or "too few trials"
    baseline_trials: Tuple[float, ...]
    candidate_trials: Tuple[float, ...]
    notes: Tuple[str, ...] = ()


# --- selecting records ---------------------------------------------------------

def sortable_key(key: Tuple[Any, ...]) -> Tuple[Tuple[bool, Any], ...]:
    """A key that sorts even with None in it (planned_rate of closed-loop records), numbers as numbers."""
    return tuple((part is not None, part if part is not None else 0) for part in key)


def records_of_cell(records: Iterable[Record], cell: str) -> List[Record]:
    """The records of one cell; without a python in the name, the cell must have only one."""
    wanted = parse_cell_spec(cell)
    found = [r for r in records if wanted.selects(str(r.server), str(r.app), str(r.python))]
    if not found:
        raise ValueError("no records for cell {!r}".format(cell))
    pythons = sorted({str(r.python) for r in found})
    if len(pythons) > 1:
        # Picking "the newest" across Pythons would silently compare interpreters.
        raise ValueError("cell {!r} was measured on several Pythons ({}); name one, e.g. {}/{}"
                         .format(cell, ", ".join(pythons), cell, pythons[-1]))
    return found


# --- the statistics --------------------------------------------------------------

def trial_rps(record: Record) -> Tuple[float, ...]:
    """The req/s of each measured trial; schema 1 records hold their one run in `rps`.

    A failed record has none: whatever rate its trials reached is not throughput.
    """
    return () if record.status == "failed" else record.trial_rates


def _split_count(n: int, m: int) -> int:
    return math.comb(n + m, n)


def smallest_possible_p(n: int, m: int) -> float:
    """The lowest p the exact test can return for n vs m trials.

    Only the most extreme split can reach it. With equal sizes that split and its
    mirror image are equally extreme, so the floor is 2/C(n+m, n); with unequal
    sizes the mirror image can differ, so the best case is 1/C(n+m, n).
    """
    return (2.0 if n == m else 1.0) / _split_count(n, m)


def _mean_gap(group_sum: float, n: int, total: float, m: int) -> float:
    return abs(group_sum / n - (total - group_sum) / m)


def permutation_p_value(baseline: Sequence[float], candidate: Sequence[float]) -> Optional[float]:
    """Exact two-sided permutation test on the difference of means; None below 2 per side.

    The first group's sum fixes the difference of means once the pooled total is
    known, so each split only needs that sum. Differences within a relative 1e-9
    of the observed one count as equal, so float rounding cannot drop the observed
    split itself (which would make p smaller than it is); that tolerance is far
    above the rounding of a plain sum of a few dozen rates, which is what keeps the
    184,756 splits of 10 against 10 trials well under a second.
    """
    n, m = len(baseline), len(candidate)
    if n < 2 or m < 2:
        return None
    pooled = [float(v) for v in list(baseline) + list(candidate)]
    total = math.fsum(pooled)
    observed = _mean_gap(math.fsum(baseline), n, total, m)
    threshold = observed - 1e-9 * max(1.0, abs(observed), max(abs(v) for v in pooled))

    def at_least_as_extreme(indices: Iterable[int]) -> bool:
        return _mean_gap(math.fsum(pooled[i] for i in indices), n, total, m) >= threshold

    splits = _split_count(n, m)
    if splits <= MAX_EXACT_SPLITS:
        # |s/n - (total - s)/m| >= threshold, with s the first group's sum, in one multiply per split.
        scale, offset = 1.0 / n + 1.0 / m, total / m
        hits = sum(1 for group_sum in map(sum, itertools.combinations(pooled, n))
                   if abs(group_sum * scale - offset) >= threshold)
        return hits / splits
    generator = random.Random(MONTE_CARLO_SEED)
    hits = sum(1 for _ in range(MONTE_CARLO_SPLITS)
               if at_least_as_extreme(generator.sample(range(n + m), n)))
    # The +1s count the observed split, so an estimate can never be 0.
    return (hits + 1) / (MONTE_CARLO_SPLITS + 1)


def _median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def _ratio(baseline_rps: Optional[float], candidate_rps: Optional[float]) -> Optional[float]:
    if baseline_rps is None or candidate_rps is None or baseline_rps == 0:
        return None
    return candidate_rps / baseline_rps


def _verdict(baseline: Sequence[float], candidate: Sequence[float], p_value: Optional[float],
             alpha: float) -> str:
    if p_value is None:
        return VERDICT_TOO_FEW
    if p_value > alpha:
        return VERDICT_SAME
    # The test compares means, so the means give the direction it found significant.
    return VERDICT_FASTER if statistics.mean(candidate) > statistics.mean(baseline) else VERDICT_SLOWER


def trials_needed_per_side(alpha: float = ALPHA) -> int:
    """The fewest trials per side (equal sides) that can reach p <= alpha: 4 for 0.05."""
    per_side = 2
    while smallest_possible_p(per_side, per_side) > alpha:
        per_side += 1
    return per_side


def _notes(baseline_record: Record, candidate_record: Record,
           baseline: Sequence[float], candidate: Sequence[float], alpha: float) -> Tuple[str, ...]:
    notes = []
    for side, record in (("baseline", baseline_record), ("candidate", candidate_record)):
        if record.status in ("flagged", "failed"):
            notes.append("{} {}".format(side, status_label(record)))
    n, m = len(baseline), len(candidate)
    needed = trials_needed_per_side(alpha)
    if n < 2 or m < 2:
        notes.append("{} vs {} trials: a test needs at least 2 per side, significance at {:g} at least {}"
                     .format(n, m, alpha, needed))
    elif smallest_possible_p(n, m) > alpha:
        notes.append("with {} vs {} trials the smallest possible p is {:.3g}, so no difference can be "
                     "significant at {:g}; measure at least {} trials per side".format(
                         n, m, smallest_possible_p(n, m), alpha, needed))
    return tuple(notes)


def compare_records(baseline_record: Record, candidate_record: Record,
                    alpha: float = ALPHA) -> Comparison:
    """Baseline against candidate for one scenario."""
    baseline, candidate = trial_rps(baseline_record), trial_rps(candidate_record)
    baseline_rps, candidate_rps = _median(baseline), _median(candidate)
    p_value = permutation_p_value(baseline, candidate)
    return Comparison(
        scenario=baseline_record.scenario, mode=baseline_record.mode,
        connections=baseline_record.connections,
        baseline=baseline_record.cell_label, candidate=candidate_record.cell_label,
        baseline_rps=baseline_rps, candidate_rps=candidate_rps,
        ratio=_ratio(baseline_rps, candidate_rps), p_value=p_value,
        verdict=_verdict(baseline, candidate, p_value, alpha),
        baseline_trials=baseline, candidate_trials=candidate,
        notes=_notes(baseline_record, candidate_record, baseline, candidate, alpha))


def _matched_pairs(baseline_records: Iterable[Record], candidate_records: Iterable[Record],
                   fields: Sequence[str]) -> List[Tuple[Record, Record]]:
    baseline = {r.key(fields): r for r in newest_by(baseline_records, fields)}
    candidate = {r.key(fields): r for r in newest_by(candidate_records, fields)}
    shared = sorted(set(baseline) & set(candidate), key=sortable_key)
    return [(baseline[key], candidate[key]) for key in shared]


# --- the two modes -----------------------------------------------------------------

def compare(baseline_records: Iterable[Record], candidate_records: Iterable[Record],
            alpha: float = ALPHA) -> List[Comparison]:
    """Two result files: every key measured in both, newest record of each side.

    Keys present on one side only are left out; `unmatched` lists them.
    """
    return [compare_records(b, c, alpha)
            for b, c in _matched_pairs(baseline_records, candidate_records, FILE_MATCH_FIELDS)]


def unmatched(baseline_records: Iterable[Record], candidate_records: Iterable[Record]
              ) -> Dict[str, List[Tuple[Any, ...]]]:
    """The keys (FILE_MATCH_FIELDS) found only in the baseline, and only in the candidate."""
    baseline = {r.key(FILE_MATCH_FIELDS) for r in baseline_records}
    candidate = {r.key(FILE_MATCH_FIELDS) for r in candidate_records}

    return {"baseline_only": sorted(baseline - candidate, key=sortable_key),
            "candidate_only": sorted(candidate - baseline, key=sortable_key)}


def compare_cells(records: Sequence[Record], baseline_cell: str, candidate_cell: str,
                  alpha: float = ALPHA) -> List[Comparison]:
    """Two cells of one file ("server/app[/python]"): the newest record of each per scenario.

    Scenarios are paired by mode and connection count too, so a closed-loop run is
    never weighed against a fixed-rate one.
    """
    return [compare_records(b, c, alpha)
            for b, c in _matched_pairs(records_of_cell(records, baseline_cell),
                                       records_of_cell(records, candidate_cell), CELL_MATCH_FIELDS)]


# --- markdown ------------------------------------------------------------------------

MARKDOWN_COLUMNS = ("scenario", "cell", "baseline req/s", "candidate req/s", "ratio", "p-value",
                    "verdict", "notes")


def _format_rps(value: Optional[float], trials: Sequence[float]) -> str:
    if value is None:
        return "-"
    return "{:.0f} ({} trial{})".format(value, len(trials), "" if len(trials) == 1 else "s")


def _format_p(value: Optional[float]) -> str:
    return "-" if value is None else "{:.3g}".format(value)


def _scenario_cell(comparison: Comparison) -> str:
    setup = [comparison.mode] if comparison.mode else []
    if comparison.connections is not None:
        setup.append("{} conn".format(comparison.connections))
    return "{} ({})".format(comparison.scenario, ", ".join(setup)) if setup else comparison.scenario


def _cells_cell(comparison: Comparison) -> str:
    if comparison.baseline == comparison.candidate:
        return comparison.baseline
    return "{} → {}".format(comparison.baseline, comparison.candidate)


def comparison_row(comparison: Comparison) -> List[str]:
    return [_scenario_cell(comparison), _cells_cell(comparison),
            _format_rps(comparison.baseline_rps, comparison.baseline_trials),
            _format_rps(comparison.candidate_rps, comparison.candidate_trials),
            "-" if comparison.ratio is None else "{:.2f}x".format(comparison.ratio),
            _format_p(comparison.p_value), comparison.verdict, "; ".join(comparison.notes)]


def render_comparison_markdown(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> str:
    """A GitHub markdown table, one row per comparison, and a line on how to read it."""
    from tabulate import tabulate  # only the table needs it; the statistics stay stdlib

    if not comparisons:
        return "Nothing to compare: no scenario was measured on both sides.\n"
    table = tabulate([comparison_row(c) for c in comparisons], headers=MARKDOWN_COLUMNS,
                     tablefmt="github", disable_numparse=True)
    legend = ("ratio = candidate / baseline median req/s; p from an exact two-sided permutation "
              "test on the trials' req/s (difference of means); significant at p <= {:g}.\n"
              .format(alpha))
    return table + "\n\n" + legend
