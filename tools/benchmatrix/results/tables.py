"""The full result tables (reports/tables.md), computed purely from records.

The output depends only on the records, never on the clock, so regenerating it
twice changes nothing. Each table shows the newest record per (python, app,
server, mode, connections) for one scenario, fastest valid first; flagged and
failed rows stay visible, marked, and sort after the clean ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.matrix.cells import CONSTRAINTS_DIR
from benchmatrix.results.compare import ALPHA
from benchmatrix.results.machines import by_machine
from benchmatrix.results.ranking import apart_note, newest_group, ranked, render_ranking
from benchmatrix.results.slo_table import newest_searches, render_slo_table
from benchmatrix.results.sweep import newest_sweeps, render_sweep_table
from benchmatrix.results.records import (CELL_KEY_FIELDS, COST_COLUMNS, RESOURCE_COLUMNS, Record, ceiling_share_label,
                                         connections_label, coop_summary, error_summary, format_number, newest_by,
                                         newest_of, rate_text, resource_cells, rps_label, server_label, status_label)

TABLE_COLUMNS = ("python", "app", "server", "topology", "workers", "conn", "duration", "trials", "req/s (min-max)",
                 "p50 ms", "p99 ms", "errors", "in flight", *RESOURCE_COLUMNS,
                 "of wrk ceiling", "coop check", "status", "date")


def newest_per_cell(records: Sequence[Record]) -> List[Record]:
    return newest_by(records, CELL_KEY_FIELDS)


def load_conditions(record: Record) -> Tuple[Any, ...]:
    """What must match for two records to be comparable: the load flags and the tool."""
    tool = record.section("load_tool").get("version")
    rate_plan = None if record.is_closed_loop else record.mode
    return (record.duration_s, record.connections if rate_plan is None else None,
            record.threads, record.trial_count, tool, rate_plan)


def stale_reasons(record: Record, newest: Record) -> List[str]:
    """Why a record cannot be compared with the newest run of its table ([] when it can)."""
    reasons = []
    if load_conditions(record) != load_conditions(newest):
        reasons.append("other load flags than the newest run")
    pins = record.meta.get("constraints")
    if pins and pins.get("sha") != current_pins_sha(pins["file"]):
        reasons.append("pins changed since")
    return reasons


def current_pins_sha(file_name: str) -> Optional[str]:
    path = CONSTRAINTS_DIR / file_name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else None


def marked_status(record: Record, newest: Record) -> str:
    reasons = stale_reasons(record, newest)
    return status_label(record) + ("; STALE: " + ", ".join(reasons) if reasons else "")


def _sort_key(record: Record):
    rank = {"ok": 0, "flagged": 1, "failed": 2}[record.status]
    return (rank, -(record.rps or 0.0), record.python, record.app, record.server)


FIXED_RATE_COLUMNS = ("python", "app", "server", "workers", "planned req/s", "achieved req/s", "driver",
                      "trials", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors",
                      *RESOURCE_COLUMNS[:COST_COLUMNS], "status", "date")


def render_fixed_rate_table(scenario: str, records: Sequence[Record]) -> str:
    """Open-loop runs: the client sets the rate, so latency at that rate is the result."""
    ordered = sorted(records, key=lambda r: (r.planned_rate, r.python, r.app, r.server))
    newest = newest_of(records)
    rows = [[r.python, r.app, server_label(r), r.workers, "{:g}".format(r.planned_rate),
             format_number(r.achieved_rate, 1), r.meta.get("load_driver") or "-", r.trial_count,
             *[format_number(r.latency_ms.get(p)) for p in ("p50", "p90", "p99", "p99.9", "max")],
             error_summary(r.errors), *resource_cells(r)[:COST_COLUMNS], marked_status(r, newest),
             r.recorded_at[:10]]
            for r in ordered]
    table = tabulate(rows, headers=FIXED_RATE_COLUMNS, tablefmt="github", disable_numparse=True)
    return ("### Scenario `{}`, fixed rate\n\nLatency counted from each request's planned send "
            "time (no coordinated omission).\n\n{}\n").format(scenario, table)


def topology(record: Record) -> str:
    """What sits between wrk and the app: the part of the server name after "+", else direct; then the
    hosts the roles had when not all on this one (e.g. "direct, netns 1gbit/1ms")."""
    front = record.server.partition("+")[2] or "direct"
    hosts = record.section("hosts").get("label")
    return "{}, {}".format(front, hosts) if hosts else front


def fastest_valid(records: Sequence[Record]) -> Optional[Record]:
    """The highest req/s among clean rows measured like the newest one: no flag, not stale."""
    if not records:
        return None
    newest = newest_of(records)
    valid = [r for r in records if r.status == "ok" and r.rps is not None and not stale_reasons(r, newest)]
    return max(valid, key=lambda r: r.rps) if valid else None


def interleaved_headline(scenario: str, group: Sequence[Record]) -> Optional[str]:
    """The fastest clean cell of an interleaved group, against the runner-up; None if no clean one."""
    order = ranked(group)
    best = order[0][0]
    if best.status != "ok" or best.rps is None:
        return None
    margin = ""
    if len(order) > 1 and order[1][1] is not None:
        runner, estimate = order[1]
        ratio = "{:.2f}x".format(1 / estimate.ratio)
        interval = "95% CI {:.2f}-{:.2f}, p {}".format(
            1 / estimate.high, 1 / estimate.low, "-" if estimate.p_value is None else "{:.2g}".format(estimate.p_value))
        # An interval that holds 1 (or a p above 0.05) is a tie, and the headline must not pretend otherwise.
        if estimate.contains(1.0) or (estimate.p_value or 1.0) > ALPHA:
            margin = "; not distinguishable from the runner-up {} ({}, {})".format(runner.cell_label, ratio, interval)
        else:
            margin = "; {} the runner-up {} ({})".format(ratio, runner.cell_label, interval)
    return "- `{}`: {} on {} (Python {}, {}), {} req/s, p99 {} ms{} (interleaved run of {}, {} cells)".format(
        scenario, best.app, server_label(best), best.python, topology(best), rate_text(best.rps),
        format_number(best.latency_ms.p99), margin, best.recorded_at[:10], len(group))


def render_summary(latest: Sequence[Record], records: Sequence[Record] = ()) -> str:
    lines = []
    for scenario in sorted({r.scenario for r in latest}):
        group = newest_group(records, scenario)
        line = interleaved_headline(scenario, group) if group else None
        if line:
            lines.append(line)
            continue
        closed = [r for r in latest if r.scenario == scenario and r.is_closed_loop]
        best = fastest_valid(closed)
        if best is None:
            lines.append("- `{}`: no clean, current row yet".format(scenario))
        else:
            flagged_faster = [r for r in closed if r.status == "flagged" and (r.rps or 0) > best.rps]
            lines.append("- `{}`: {} on {} (Python {}, {}), {} req/s, p99 {} ms{}; {}".format(
                scenario, best.app, server_label(best), best.python, topology(best), rate_text(best.rps),
                format_number(best.latency_ms.p99),
                "; {} flagged row(s) measured faster: read their flags".format(len(flagged_faster))
                if flagged_faster else "", apart_note(closed)))
    return ("**Fastest valid stack per scenario** (closed loop, no flag, not stale; from the newest interleaved "
            "run where there is one: `nox -s ranking`, then `nox -s report`, reproduces them):\n\n"
            + "\n".join(lines) + "\n")


def synthetic_note(records: Sequence[Record]) -> str:
    """Said when some closed-loop rows hold wrk's own latencies, its synthetic samples included."""
    count = sum(1 for record in records if record.includes_synthetic_latency)
    if not count:
        return ""
    return (" The latencies and in-flight figures of {} closed-loop record{} (schema 3 and older) are wrk's own, "
            "its synthetic samples included, so they can exceed what the connections could hold; newer records "
            "compute them from the measured samples.".format(count, "" if count == 1 else "s"))


def render_scenario_table(scenario: str, records: Sequence[Record]) -> str:
    newest = newest_of(records)
    rows = [[r.python, r.app, server_label(r), topology(r), r.workers, connections_label(r),
             "{:g}s".format(r.duration_s), r.trial_count, rps_label(r),
             format_number(r.latency_ms.p50), format_number(r.latency_ms.p99),
             error_summary(r.errors), format_number(r.in_flight), *resource_cells(r),
             ceiling_share_label(r), coop_summary(r), marked_status(r, newest), r.recorded_at[:10]]
            for r in sorted(records, key=_sort_key)]
    table = tabulate(rows, headers=TABLE_COLUMNS, tablefmt="github", disable_numparse=True)
    if any(r.section("flow") for r in records):
        return "### Scenario `{}` (a flow)\n\n{}\n\n{}\n".format(scenario, FLOW_NOTE, table) + flow_step_table(records)
    return "### Scenario `{}`\n\n{}\n".format(scenario, table)


FLOW_NOTE = ("A flow's req/s counts completed flows (flows/s), each of all its steps on one connection; its "
             "latency and CPU per request are a whole flow's. Each step's own latency follows.")
STEP_COLUMNS = ("python", "app", "server", "topology", "step", "answers", "failed", "mean ms", "p50 ms", "p90 ms",
                "p99 ms")


def flow_step_table(records: Sequence[Record]) -> str:
    """Each flow record's per-step latency (meta.flow.step_latency), in the closed-loop table's order."""
    rows = [[r.python, r.app, r.server, topology(r), step["name"], step["count"], step["failed"],
             *(format_number(step.get(key)) for key in ("mean_ms", "p50_ms", "p90_ms", "p99_ms"))]
            for r in sorted(records, key=_sort_key) for step in r.section("flow").get("step_latency") or []]
    if not rows:
        return ""
    return "\n{}\n".format(tabulate(rows, headers=STEP_COLUMNS, tablefmt="github", disable_numparse=True))


def chart_markdown(scenario: str, chart_links: Dict[str, List[str]]) -> List[str]:
    return ["![{}]({})\n".format(Path(link).stem.replace("-", " "), link) for link in chart_links.get(scenario, [])]


def render_all_tables(records: Sequence[Record], chart_links: Optional[Dict[str, List[str]]] = None) -> str:
    """The results of each machine apart (one machine: no machine headings), each as render_machine_tables."""
    if not records:
        return "No results yet: run a bench session, then `nox -s report`.\n"
    machines = by_machine(records)
    if len(machines) == 1:
        return render_machine_tables(records, chart_links)
    # Charts draw every record; with several machines they would mix them, so only tables here.
    parts = ["Records from {} machines: each has its own tables, and no number is compared across "
             "machines.\n".format(len(machines))]
    for description, group in machines:
        parts += ["## Machine {}\n".format(description), render_machine_tables(group, None)]
    return "\n".join(parts)


def render_machine_tables(records: Sequence[Record], chart_links: Optional[Dict[str, List[str]]] = None) -> str:
    """Per scenario: the ranking, the closed-loop table, sweeps, the fixed-rate table, searches, then charts."""
    chart_links = chart_links or {}
    latest = newest_per_cell(records)
    parts = []
    for scenario in sorted({r.scenario for r in latest}):
        closed = [r for r in latest if r.scenario == scenario and r.is_closed_loop]
        fixed = [r for r in latest if r.scenario == scenario and r.is_fixed_rate]
        group = newest_group(records, scenario)
        sweeps = newest_sweeps(records, scenario)
        searches = newest_searches(records, scenario)
        parts += [render_ranking(scenario, group)] if group else []
        parts += [render_scenario_table(scenario, closed)] if closed else []
        parts += [render_sweep_table(scenario, sweeps)] if sweeps else []
        parts += [render_fixed_rate_table(scenario, fixed)] if fixed else []
        parts += [render_slo_table(scenario, searches)] if searches else []
        parts += chart_markdown(scenario, chart_links)
    legend = ("req/s counts successful responses only; `(!)` marks a flagged number and `-` a "
              "failed one (the flags say why). Newest record per cell; {} records in "
              "reports/results.jsonl. STALE marks a row measured with other load flags than the "
              "newest run of its table, or with pins that have changed since: rerun it before "
              "comparing.{}\n").format(len(records), synthetic_note(records))
    return legend + "\n" + render_summary(latest, records) + "\n" + "\n".join(parts)
