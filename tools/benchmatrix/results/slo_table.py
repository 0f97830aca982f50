"""The README table of latency-target searches: the highest rate each cell holds within its target.

One row per cell and target (the newest search), highest rate first. The rate
is what held twice in fixed-rate probes (run/slo_search.py); its share of the
closed-loop peak says how much headroom the target costs.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.results.records import Record, connections_label, format_number, rate_text, status_label

MODE = "slo-search"  # run/slo_run.MODE; the results side does not import the run side

SLO_COLUMNS = ("python", "app", "server", "conn", "target", "holds req/s", "of peak", "at that rate",
               "probes", "status", "date")


def is_slo_search(record: Record) -> bool:
    return record.mode == MODE


def newest_searches(records: Sequence[Record], scenario: str) -> List[Record]:
    newest: Dict[Tuple[Any, ...], Record] = {}
    for record in records:
        if record.scenario != scenario or not is_slo_search(record):
            continue
        target = slo_of(record).get("target") or {}
        key = (record.python, record.app, record.server, record.connections,
               target.get("percentile"), target.get("limit_ms"))
        if key not in newest or record.recorded_at >= newest[key].recorded_at:
            newest[key] = record
    return sorted(newest.values(), key=lambda r: -(slo_of(r).get("rate") or 0.0))


def slo_of(record: Record) -> Dict[str, Any]:
    return record.section("slo")


def held_text(record: Record) -> str:
    slo = slo_of(record)
    if slo.get("rate") is None:
        return "-"
    if not slo["rate"]:
        lowest = min((p["rate"] for p in slo.get("probes") or []), default=None)
        return "none down to {}".format(rate_text(lowest)) if lowest else "none"
    return rate_text(slo["rate"]) + ("" if slo.get("confirmed") else " (not confirmed)")


def at_rate_text(record: Record) -> str:
    """The target's percentile at the held rate, from the probes that held there (worst of them)."""
    slo = slo_of(record)
    held = [p["latency_ms"] for p in slo.get("probes") or []
            if p["holds"] and p["rate"] == slo.get("rate") and p.get("latency_ms") is not None]
    if not held:
        return "-"
    return "{} {} ms".format(slo["target"]["name"], format_number(max(held)))


def render_slo_table(scenario: str, searches: Sequence[Record]) -> str:
    rows = []
    for r in searches:
        slo = slo_of(r)
        share = slo.get("share_of_peak")
        rows.append([r.python, r.app, r.server, connections_label(r),
                     "{} <= {:g} ms".format(slo["target"]["name"], slo["target"]["limit_ms"]) if slo.get("target")
                     else "-", held_text(r), "-" if share is None else "{:.0%}".format(share), at_rate_text(r),
                     len(slo.get("probes") or []), status_label(r), r.recorded_at[:10]])
    table = tabulate(rows, headers=SLO_COLUMNS, tablefmt="github", disable_numparse=True)
    return ("### Scenario `{}`, highest rate within a latency target\n\nFixed-rate probes between 0 and the "
            "cell's closed-loop peak; a rate holds when the percentile stays within the target, the achieved "
            "rate within 5% of the plan and no request fails, twice (`--slo`).\n\n{}\n").format(scenario, table)
