"""The index: per machine and scenario, the ranking of the newest interleaved run (ratios to the
fastest with 95% intervals and p-values, results/ranking.py), and the rows measured apart set aside
beneath it, because rows measured hours apart differ by the machine's drift as much as by the cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from benchmatrix.results.ranking import apart_note, newest_group, ranked
from benchmatrix.results.records import Record, newest_by, rate_text, status_label
from benchmatrix.results.site.model import SiteRecord

APART_FIELDS = ("python", "app", "server", "connections", "connection_mode")


@dataclass(frozen=True)
class RankingRow:
    rank: int
    cell: str
    page: str
    rps: str
    ratio: str  # "fastest", "0.93x" or "-"
    interval: str  # "0.90-0.96" or "-"
    p_value: str
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
    rows = []
    for rank, (record, estimate) in enumerate(ranked(group), start=1):
        ratio = "fastest" if estimate is None and rank == 1 else (
            "{:.2f}x".format(estimate.ratio) if estimate else "-")
        rows.append(RankingRow(
            rank, record.cell_label, pages[id(record)], rate_text(record.rps) if record.rps else "-", ratio,
            "{:.2f}-{:.2f}".format(estimate.low, estimate.high) if estimate else "-",
            "-" if not estimate or estimate.p_value is None else "{:.3g}".format(estimate.p_value),
            len(record.trials), status_label(record)))
    return tuple(rows)


def scenario_ranking(scenario: str, records: Sequence[Record], pages: Dict[int, str]) -> ScenarioRanking:
    group = newest_group(records, scenario)
    heading = ""
    if group:
        first = group[0]
        heading = "one interleaved run, {} UTC, {:g} s trials, {} connections".format(
            min(r.recorded_at for r in group)[:16].replace("T", " "), first.duration_s, first.connections)
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
