"""The index: per machine and scenario, the ranking of the newest interleaved run (ratios to the
fastest with 95% intervals and p-values, the ratio of CPU time per request and the smallest
difference the run could see, all results/ranking.py's figures), and the rows measured apart set
aside beneath it, because rows measured hours apart differ by the machine's drift as much as by the cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from benchmatrix.results.ranking import apart_note, newest_group, pace_label, ranked_cells, ratio_text
from benchmatrix.results.records import Record, newest_by, rate_text, status_label
from benchmatrix.results.site.model import SiteRecord

# What makes a row "the same cell" as a ranked one: a cell run `--with` another release, or on other
# hosts, is not the pinned local cell the run ranked, so its newest row stays among those measured apart.
APART_FIELDS = ("python", "app", "server", "hosts_label", "connections", "connection_mode", "override_label")


@dataclass(frozen=True)
class RankingRow:
    rank: int
    cell: str
    page: str
    rps: str
    ratio: str  # "fastest", "0.93x" or "-"
    interval: str  # "0.90-0.96" or "-"
    p_value: str
    cpu_ratio: str  # CPU time per request vs the fastest's, "1.04x (1.01-1.07)"; "-" where not measured by slice
    smallest_visible: str  # "below 4.2% unseen" where the interval holds 1, else "-"
    trials: int
    status: str


@dataclass(frozen=True)
class ApartRow:
    cell: str
    page: str
    rps: str
    recorded: str
    status: str


@dataclass(frozen=True)
class ScenarioRanking:
    scenario: str
    heading: str  # when the interleaved run was, its trial length and connections; "" without one
    rows: Tuple[RankingRow, ...]
    apart: Tuple[ApartRow, ...]  # cells of this scenario outside the ranked run, newest row each
    apart_note: str


@dataclass(frozen=True)
class MachineRankings:
    machine: str
    scenarios: Tuple[ScenarioRanking, ...]


def _ranking_rows(group: Sequence[Record], pages: Dict[int, str]) -> Tuple[RankingRow, ...]:
    """The rows of results/ranking.render_ranking, from the same RankedCell figures."""
    return tuple(RankingRow(
        row.rank, row.record.cell_label, pages[id(row.record)], rate_text(row.record.rps) if row.record.rps else "-",
        "fastest" if row.estimate is None and row.rank == 1 else (
            "{:.2f}x".format(row.estimate.ratio) if row.estimate else "-"),
        "{:.2f}-{:.2f}".format(row.estimate.low, row.estimate.high) if row.estimate else "-",
        row.p_label, ratio_text(row.cpu), row.visible_label, len(row.record.trials), status_label(row.record))
        for row in ranked_cells(group))


def scenario_ranking(scenario: str, records: Sequence[Record], pages: Dict[int, str]) -> ScenarioRanking:
    group = newest_group(records, scenario)
    heading = ""
    if group:
        first = group[0]
        heading = "one interleaved run, {} UTC, {}, {} connections".format(
            min(r.recorded_at for r in group)[:16].replace("T", " "), pace_label(first), first.connections)
    ranked_cells = {r.key(APART_FIELDS) for r in group}
    others = [r for r in records if r.scenario == scenario and r.is_closed_loop and not r.is_sweep_level
              and r.key(APART_FIELDS) not in ranked_cells]
    newest = sorted(newest_by(others, APART_FIELDS), key=lambda r: -(r.rps or 0.0))
    apart = tuple(ApartRow(r.cell_label, pages[id(r)], rate_text(r.rps) if r.rps else "-", r.recorded_at[:16]
                           .replace("T", " "), status_label(r)) for r in newest)
    return ScenarioRanking(scenario, heading, _ranking_rows(group, pages) if group else (), apart,
                           apart_note(newest) if newest else "")


def machine_rankings(placed: Sequence[SiteRecord]) -> List[MachineRankings]:
    """One block per machine, the machine of the newest record first."""
    pages = {id(item.record): item.page for item in placed}
    machines: Dict[str, List[Record]] = {}
    newest: Dict[str, str] = {}
    for item in placed:
        machines.setdefault(item.machine, []).append(item.record)
        newest[item.machine] = max(newest.get(item.machine, ""), item.record.recorded_at)
    blocks = []
    for machine in sorted(machines, key=lambda m: newest[m], reverse=True):
        records = machines[machine]
        scenarios = tuple(scenario_ranking(s, records, pages) for s in sorted({r.scenario for r in records}))
        blocks.append(MachineRankings(machine, tuple(s for s in scenarios if s.rows or s.apart)))
    return blocks
