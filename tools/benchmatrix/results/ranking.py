"""Rankings that are measurements: cells compared within one interleaved run.

Rows measured hours apart differ by the machine's drift as much as by the
cells, so the README ranks only the cells of one interleaved group (see
run/interleave.py), with each cell's ratio to the group's fastest and its 95%
interval from the rounds' paired trials (ABBA pairs of rounds for sliced
comparisons, run/interleave_rule.py), beside the ratio of CPU time per request,
and, where the ratio is undecided, the smallest difference it could have seen.
A sliced run judged its ratios (to its first cell) with p-values corrected for its
looks at alpha/looks; the ranking's ratios to the fastest get the same correction
(the record's `looks`), so the table and the run cannot disagree on a difference.
The table's figures are against the fastest cell; the notes under it repeat what the
run itself stated against its first cell, and say so. Where a scenario has no such group,
the headline still names the fastest clean row but says plainly that the rows
were measured apart, over how long, and how much the load generator's ceiling
(the machine's own yardstick) moved meanwhile.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.results.ratio import (PairedEstimate, RatioEstimate, detectable_effect, estimate_from_logs,
                                       pair_log_ratios, paired_ratio)
from benchmatrix.results.records import Record, ceiling_share_label, rate_text, status_label
from benchmatrix.run.trials import cpu_ms_per_request

ALPHA = 0.05  # as the run's (run/interleave_rule.ALPHA), where a record does not say

RANKING_COLUMNS = ("rank", "cell", "req/s (median)", "vs fastest (95% CI)", "p", "CPU/request vs fastest",
                   "smallest visible difference", "trials", "of wrk ceiling", "status")


def newest_group(records: Sequence[Record], scenario: str) -> List[Record]:
    """The records of the interleaved group that ranks this scenario: of the groups that measured it
    closed-loop, the one with the most cells, the newest among equals ([] if none).

    A two-cell comparison made later (sync against async views of one app) answers its own question;
    it must not replace the ranking of six stacks as "the fastest stack" of the scenario.
    """
    groups: Dict[str, List[Record]] = {}
    for record in records:
        group = record.interleaved_group
        if record.scenario == scenario and record.is_closed_loop and group:
            groups.setdefault(group, []).append(record)
    if not groups:
        return []
    return max(groups.values(), key=lambda members: (len({r.cell_label for r in members}),
                                                     max(r.recorded_at for r in members)))


Rounds = Tuple[Tuple[int, float], ...]  # (round, figure) of one cell's interleaved trials


def versus(record: Record, reference: Record) -> Optional[RatioEstimate]:
    """record's req/s over reference's, paired by round (by ABBA pair of rounds where the run was sliced,
    its p-value then corrected for the run's looks as the run's own were)."""
    return _versus(_rounds(record), _rounds(reference), _sliced(record), run_looks(record, reference))


def cpu_versus(record: Record, reference: Record) -> Optional[RatioEstimate]:
    """record's stack CPU time per request over reference's, by ABBA pair (sliced runs only)."""
    if not _sliced(record):
        return None
    return _versus(_cpu_rounds(record), _cpu_rounds(reference), True, run_looks(record, reference))


def run_looks(*records: Record) -> int:
    """How many looks the sliced run took its p-values at: its records' `looks`; for records made before
    that was kept, what their ratio to the first shows (p_value / p_raw); 1 for unsliced runs."""
    looks = 1
    for record in records:
        section = record.section("interleaved")
        if section.get("looks"):
            looks = max(looks, int(section["looks"]))
            continue
        ratio = section.get("ratio_to_first") or {}
        if ratio.get("p_raw") and ratio.get("p_value") is not None and ratio["p_value"] < 1.0:
            looks = max(looks, int(round(ratio["p_value"] / ratio["p_raw"])))
    return looks


def run_alpha(group: Sequence[Record]) -> float:
    return next((r.section("interleaved")["alpha"] for r in group if r.section("interleaved").get("alpha")), ALPHA)


def undecided(estimate: Optional[RatioEstimate], alpha: float = ALPHA) -> bool:
    """Not told apart from 1: the (corrected) p-value above alpha, or none."""
    return estimate is not None and (estimate.p_value is None or estimate.p_value > alpha)


def detectable(estimate: Optional[RatioEstimate], looks: int = 1, alpha: float = ALPHA) -> Optional[float]:
    """Where a paired estimate is undecided: the smallest difference its spread lets it see at alpha
    corrected for the run's looks (as the run states its own, run/interleave_rule.StoppingRule.detectable)."""
    if not isinstance(estimate, PairedEstimate) or not undecided(estimate, alpha):
        return None
    return detectable_effect(estimate.sd_log, estimate.rounds, alpha, looks=looks)


def _sliced(record: Record) -> bool:
    return "slice_s" in record.section("interleaved")


def _rounds(record: Record) -> Rounds:
    return tuple(sorted(record.rates_by_round.items()))


def _cpu_rounds(record: Record) -> Rounds:
    per_round = {}
    for trial in record.trials:
        value = cpu_ms_per_request((trial.get("resources") or {}).get("stack_cpu_s"), trial.get("requests"))
        if trial.get("round") and value:
            per_round[trial["round"]] = value
    return tuple(sorted(per_round.items()))


@functools.lru_cache(maxsize=256)
def _versus(mine_rounds: Rounds, reference_rounds: Rounds, sliced: bool = False, looks: int = 1
            ) -> Optional[RatioEstimate]:
    # Cached: one report ranks each group three times (README, tables page, headline), and the exact
    # permutation test of 10 against 10 trials enumerates 184,756 splits.
    mine, theirs = dict(mine_rounds), dict(reference_rounds)
    if sliced:  # rounds 1-2, 3-4, ... are the ABBA pairs; a pair missing a round on either side is dropped
        last = max(set(mine) | set(theirs) or {0})
        return estimate_from_logs(pair_log_ratios([theirs.get(r) for r in range(1, last + 1)],
                                                  [mine.get(r) for r in range(1, last + 1)]), looks=looks)
    shared = sorted(set(mine) & set(theirs))
    return paired_ratio([theirs[r] for r in shared], [mine[r] for r in shared])


def ranked(group: Sequence[Record]) -> List[Tuple[Record, Optional[RatioEstimate]]]:
    """Clean cells first, each by median req/s, with its ratio to the fastest clean one."""
    order = sorted(group, key=lambda r: (r.status != "ok", -(r.rps or 0.0)))
    fastest = order[0]
    return [(r, None if r is fastest else versus(r, fastest)) for r in order]


def ratio_text(estimate: Optional[RatioEstimate]) -> str:
    return "{:.2f}x ({:.2f}-{:.2f})".format(estimate.ratio, estimate.low, estimate.high) if estimate else "-"


@dataclass(frozen=True)
class RankedCell:
    """One row's figures, which the markdown ranking and the site's (results/site/index_page.py) both show."""
    rank: int
    record: Record
    estimate: Optional[RatioEstimate]  # req/s vs the fastest; None for the fastest
    cpu: Optional[RatioEstimate]  # CPU time per request vs the fastest's (sliced runs)
    visible: Optional[float]  # the smallest difference an undecided ratio could have seen, at the run's level

    @property
    def ratio_label(self) -> str:
        return "fastest" if self.estimate is None and self.rank == 1 else ratio_text(self.estimate)

    @property
    def p_label(self) -> str:
        return "-" if not self.estimate or self.estimate.p_value is None else "{:.3g}".format(self.estimate.p_value)

    @property
    def visible_label(self) -> str:
        return "-" if self.visible is None else "below {:.1%} unseen".format(self.visible)


def ranked_cells(group: Sequence[Record]) -> List[RankedCell]:
    """The group's rows, judged as the run judged itself (its looks and alpha)."""
    order = ranked(group)
    looks, alpha = run_looks(*group), run_alpha(group)
    return [RankedCell(rank, record, estimate, None if estimate is None else cpu_versus(record, order[0][0]),
                       detectable(estimate, looks, alpha)) for rank, (record, estimate) in enumerate(order, start=1)]


def pace_label(record: Record) -> str:
    """How the run's load was cut: "1 s ABBA slices" or "10 s trials" (a sliced run's duration is its slice's)."""
    return "{:g} s {}".format(record.duration_s, "ABBA slices" if _sliced(record) else "trials")


def render_ranking(scenario: str, group: Sequence[Record]) -> str:
    cells = ranked_cells(group)
    rows = [[row.rank, row.record.cell_label, rate_text(row.record.rps) if row.record.rps else "-", row.ratio_label,
             row.p_label, ratio_text(row.cpu), row.visible_label, len(row.record.trials),
             ceiling_share_label(row.record), status_label(row.record)] for row in cells]
    first = group[0]
    when = min(r.recorded_at for r in group)[:16].replace("T", " ")
    table = tabulate(rows, headers=RANKING_COLUMNS, tablefmt="github", disable_numparse=True)
    return ("#### Ranking `{}`: one interleaved run ({} UTC, {}, {} connections)\n\n{}\n{}{}").format(
        scenario, when, pace_label(first), first.connections, table,
        against_note(cells[0].record, run_looks(*group), run_alpha(group), _sliced(first)), undecided_notes(group))


def against_note(fastest: Record, looks: int, alpha: float, sliced: bool) -> str:
    """What the table's figures are against, and how its p-values were judged."""
    correction = ("; each p-value is corrected for the run's {} look{} (p x {}), as the run judged its own, and a "
                  "ratio differs at p <= {:g}".format(looks, "" if looks == 1 else "s", looks, alpha) if sliced else "")
    return ("\nEvery ratio, interval, p-value and smallest visible difference in the table is against the fastest "
            "cell, {}{}.\n".format(fastest.cell_label, correction))


def undecided_notes(group: Sequence[Record]) -> str:
    """What the run itself stated for each ratio to its first cell that it could not decide (the calibrated
    detectable effect where the machine had one), as lines under the table: against the run's first cell,
    not the table's fastest, and said so."""
    notes = []
    first = ""
    for record in group:
        section = record.section("interleaved")
        statement = (section.get("undecided") or {}).get("statement")
        if statement and section.get("contenders"):
            first = section["contenders"][0]
            notes.append("- {} against {}: {}\n".format(record.cell_label, first, statement))
    if not notes:
        return ""
    return "\nWhat the run stated of each ratio to its first cell, {}, that it left undecided:\n\n{}".format(
        first, "".join(notes))


def apart_note(records: Sequence[Record]) -> str:
    """How far apart in time the rows were measured, and how far the ceiling moved meanwhile."""
    if len(records) < 2:
        return "the only row: nothing to rank it against"
    from datetime import datetime

    times = sorted(r.recorded_at for r in records)
    span_h = (datetime.fromisoformat(times[-1]) - datetime.fromisoformat(times[0])).total_seconds() / 3600
    ceilings = [r.section("load_generator_ceiling").get("rps") for r in records]
    ceilings = [c for c in ceilings if c]
    if len(ceilings) > 1:
        drift = "; the load generator's ceiling ranged {:,.0f}-{:,.0f} req/s ({:+.0%}) meanwhile".format(
            min(ceilings), max(ceilings), max(ceilings) / min(ceilings) - 1)
    else:
        drift = "; too few rows recorded a load generator ceiling to say how much the machine drifted"
    return "{} rows measured apart over {:.1f} h{}: not a ranking (an interleaved run would be)".format(
        len(records), span_h, drift)
