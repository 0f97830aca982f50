"""The table of latency-target searches (reports/tables.md): the highest rate each cell holds within its target.

One row per cell and target (the newest search), highest rate first. The rate
is what held twice in fixed-rate probes (run/slo_search.py); its share of the
closed-loop peak says how much headroom the target costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.results.records import Record, connections_label, format_number, rate_text, status_label

MODE = "slo-search"  # run/slo_run.MODE; the results side does not import the run side

SLO_COLUMNS = ("python", "app", "server", "conn", "target", "holds req/s", "of peak", "at that rate",
               "probes", "status", "date")


@dataclass(frozen=True)
class LatencyTarget:
    name: str  # "p99"
    percentile: float  # 99.0
    limit_ms: float


@dataclass(frozen=True)
class Probe:
    """One fixed-rate run of the search."""

    rate: float  # req/s planned
    holds: bool  # the percentile stayed within the target, the rate was kept and nothing failed
    latency_ms: Optional[float]  # the target's percentile


@dataclass(frozen=True)
class LatencySearch:
    """What a latency-target search record keeps in meta.slo (run/slo_search.py writes it)."""

    target: Optional[LatencyTarget]
    rate: Optional[float]  # the highest rate that held twice; 0 when none did; None when never searched
    confirmed: bool
    share_of_peak: Optional[float]
    probes: Tuple[Probe, ...]

    @classmethod
    def of(cls, record: Record) -> "LatencySearch":
        slo: Mapping[str, Any] = record.section("slo")
        target = slo.get("target")
        return cls(LatencyTarget(target["name"], target.get("percentile"), target["limit_ms"]) if target else None,
                   slo.get("rate"), bool(slo.get("confirmed")), slo.get("share_of_peak"),
                   tuple(Probe(p["rate"], bool(p["holds"]), p.get("latency_ms")) for p in slo.get("probes") or []))

    @property
    def held_text(self) -> str:
        if self.rate is None:
            return "-"
        if not self.rate:
            lowest = min((p.rate for p in self.probes), default=None)
            return "none down to {}".format(rate_text(lowest)) if lowest else "none"
        return rate_text(self.rate) + ("" if self.confirmed else " (not confirmed)")

    @property
    def at_rate_text(self) -> str:
        """The target's percentile at the held rate, from the probes that held there (worst of them)."""
        held = [p.latency_ms for p in self.probes if p.holds and p.rate == self.rate and p.latency_ms is not None]
        if not held or self.target is None:
            return "-"
        return "{} {} ms".format(self.target.name, format_number(max(held)))


def is_slo_search(record: Record) -> bool:
    return record.mode == MODE


def newest_searches(records: Sequence[Record], scenario: str) -> List[Record]:
    newest: Dict[Tuple[Any, ...], Record] = {}
    for record in records:
        if record.scenario != scenario or not is_slo_search(record):
            continue
        target = LatencySearch.of(record).target
        key = (record.python, record.app, record.server, record.connections,
               target.percentile if target else None, target.limit_ms if target else None)
        if key not in newest or record.recorded_at >= newest[key].recorded_at:
            newest[key] = record
    return sorted(newest.values(), key=lambda r: -(LatencySearch.of(r).rate or 0.0))


def render_slo_table(scenario: str, searches: Sequence[Record]) -> str:
    rows = []
    for r in searches:
        search = LatencySearch.of(r)
        target = search.target
        rows.append([r.python, r.app, r.server, connections_label(r),
                     "{} <= {:g} ms".format(target.name, target.limit_ms) if target else "-", search.held_text,
                     "-" if search.share_of_peak is None else "{:.0%}".format(search.share_of_peak),
                     search.at_rate_text, len(search.probes), status_label(r), r.recorded_at[:10]])
    table = tabulate(rows, headers=SLO_COLUMNS, tablefmt="github", disable_numparse=True)
    return ("### Scenario `{}`, highest rate within a latency target\n\nFixed-rate probes between 0 and the "
            "cell's closed-loop peak; a rate holds when the percentile stays within the target, the achieved "
            "rate within 5% of the plan and no request fails, twice (`--slo`).\n\n{}\n").format(scenario, table)
