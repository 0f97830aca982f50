"""Records on disk, and the labels every table shows them with.

Records go to results.jsonl (one JSON object per line, appended the moment a
measurement ends, so a later failure loses nothing) and, as a row, to the
markdown table results.md. Each append is a single write() of a whole line,
so an interrupt can never leave half a record behind. The Record type and the
upgrade of older schema versions live in results/record.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.results.record import SCHEMA_VERSION, Latency, Record, Spread, TrialSpread

__all__ = ["Record", "Latency", "Spread", "TrialSpread", "SCHEMA_VERSION", "append_record", "load_records",
           "append_markdown_row", "markdown_cells"]


def _append_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def append_record(path: Path, record: Record) -> None:
    _append_text(path, record.to_json_line())


def load_records(path: Path) -> List[Record]:
    """Every record in the file, upgraded to a Record; a damaged line is reported and skipped, never fatal."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            records.append(Record.from_json(data))
        except (ValueError, TypeError, KeyError) as error:
            print("warning: {}:{} is not a JSON record ({}); skipped".format(path, number, error), file=sys.stderr)
    return records


# The resource columns, in resource_cells' order.
RESOURCE_COLUMNS = ("server CPU s", "CPU ms/req", "stack CPU ms/req", "PSS MB/worker", "server PSS MB", "wrk CPU s")
COST_COLUMNS = 4  # the first of them: CPU, and what each request and each worker cost (fixed-rate tables show these)

MARKDOWN_COLUMNS = ("date", "python", "app", "server", "hosts", "workers", "scenario", "mode", "conn",
                    "duration", "trials", "req/s (min-max)", "p50 ms", "p90 ms", "p99 ms", "max ms",
                    "errors", "in flight", *RESOURCE_COLUMNS, "coop check", "status")


def format_number(value: Optional[float], digits: int = 2) -> str:
    return "-" if value is None else "{:.{}f}".format(value, digits)


def error_summary(errors: Dict[str, int]) -> str:
    parts = ["{} {}".format(count, kind) for kind, count in errors.items() if count]
    return ", ".join(parts) if parts else "0"


def status_label(record: Record) -> str:
    codes = record.flag_codes
    return record.status + (" ({})".format(", ".join(codes)) if codes else "")


def rate_text(rps: float) -> str:
    """Whole req/s for fast endpoints; one decimal below 100, where I/O-bound rates live (0.9 vs 9.0)."""
    return "{:.0f}".format(rps) if rps >= 100 else "{:.1f}".format(rps)


def rps_label(record: Record) -> str:
    """Median req/s with the range of the trials; `(!)` when flagged, `-` when failed."""
    # A failed run's req/s would be an error rate; it is never shown as throughput.
    if record.is_failed:
        return "-"
    label = rate_text(record.rps)
    rps_spread = record.spread.rps
    if rps_spread and rate_text(rps_spread.min) != rate_text(rps_spread.max):
        label += " ({}-{})".format(rate_text(rps_spread.min), rate_text(rps_spread.max))
    return label + (" (!)" if record.status == "flagged" else "")


def server_label(record: Record) -> str:
    """The server column: "uvicorn", or "uvicorn (uvicorn==0.30.6)" for a cell run `--with` another release."""
    return "{} ({})".format(record.server, record.override_label) if record.overrides else record.server


def markdown_cells(record: Record) -> List[str]:
    latency = record.latency_ms
    return [record.recorded_at[:16].replace("T", " "), record.python, record.app,
            server_label(record), record.hosts_label, str(record.workers), record.scenario, mode_label(record),
            connections_label(record), "{:g}s".format(record.duration_s),
            str(record.trial_count), rps_label(record),
            format_number(latency.p50), format_number(latency.get("p90")),
            format_number(latency.p99), format_number(latency.max),
            error_summary(record.errors), format_number(record.in_flight),
            *resource_cells(record), coop_summary(record), status_label(record)]


def ceiling_share_label(record: Record) -> str:
    """The share of the load generator's measured ceiling the cell reached; "-" where none was measured."""
    share = record.meta.get("ceiling_share")
    if share is None:
        return "-"
    return "<1%" if share < 0.005 else "{:.0%}".format(share)


def coop_summary(record: Record) -> str:
    """The cell's cooperative-I/O check, on the rows of the scenarios it probed."""
    checks = [c for c in record.meta.get("coop_check") or [] if c["scenario"] == record.scenario]
    if not checks:
        return "-"
    check = checks[0]
    if check["verdict"] == "failed":
        return "failed ({}/{} ok)".format(check["ok"], check["requests"])
    return "{} in {:.2f} s: {}".format(check["requests"], check["wall_s"], check["verdict"])


def mode_label(record: Record) -> str:
    return record.mode if record.planned_rate is None else "{} {:g}/s".format(record.mode, record.planned_rate)


# A cell's measurement under one load plan: what makes two records comparable, so what "the newest record"
# of a table is newest of, what one history series holds (results/history.py) and what one cell page of the
# site shows (results/site/model.py), all through results/cell_key.py. Every field is a Record attribute:
# the stack (app is the --app-target when one was given), where the roles ran, the load plan, the package
# overrides (a cell run `--with` another version is its own row, never the pinned cell's), whether the side
# probe checked answers during load, and whether the trials were ABBA slices or whole trials.
CELL_KEY_FIELDS = ("scenario", "python", "app", "server", "hosts_label", "mode", "connections", "planned_rate",
                   "connection_mode", "override_label", "side_probe_off", "sliced")


def connections_label(record: Record) -> str:
    """Connections, with how they were used: "64", "64 close" (a new one per request), or
    "64 (server closes)" for keep-alive asked of a server that closes after each answer."""
    if record.connection_mode == "close":
        return "{} close".format(record.connections)
    closes = record.section("answers").get("server_closes_connections")
    return "{} (server closes)".format(record.connections) if closes else str(record.connections)


def newest_by(records: Iterable[Record], fields: Sequence[str]) -> List[Record]:
    """The newest record per key, in the order each key first appears.

    recorded_at is ISO 8601 UTC, so strings compare in time order; on a tie the
    later line of the file wins.
    """
    newest: Dict[Tuple[Any, ...], Record] = {}
    for record in records:
        key = record.key(fields)
        if key not in newest or record.recorded_at >= newest[key].recorded_at:
            newest[key] = record
    return list(newest.values())


def newest_of(records: Sequence[Record]) -> Record:
    return max(records, key=lambda r: r.recorded_at)


def memory_label(usage: Dict[str, Any]) -> str:
    """The server's proportional memory (PSS); records made before PSS was sampled show their summed RSS,
    marked, which counts pages shared by pre-forked workers once per worker."""
    if usage.get("server_peak_pss_mb") is not None:
        return format_number(usage["server_peak_pss_mb"], 0)
    if usage.get("server_peak_rss_mb") is not None:
        return format_number(usage["server_peak_rss_mb"], 0) + " (RSS)"
    return "-"


def resource_cells(record: Record) -> List[str]:
    """The RESOURCE_COLUMNS of a record: the server tree's CPU, what each request cost the server's tree and
    the whole stack (server, nginx, PostgreSQL, upstream stub), the peak PSS per worker (the master's share
    included), the server's peak memory and wrk's CPU; `-` where an older record did not keep one."""
    usage = record.resources
    return [format_number(usage.get("server_cpu_s"), 1), format_number(usage.get("server_cpu_ms_per_request"), 3),
            format_number(usage.get("stack_cpu_ms_per_request"), 3),
            format_number(usage.get("server_pss_mb_per_worker"), 1),
            memory_label(usage), format_number(usage.get("load_generator_cpu_s"), 1)]


def append_markdown_row(path: Path, record: Record) -> None:
    """Append one row; a header is written when the table is new or its columns changed.

    Rows under a header of other columns would land in the wrong columns, so a
    change of columns (a newer harness) starts a new table below the old one.
    """
    table = tabulate([markdown_cells(record)], headers=MARKDOWN_COLUMNS,
                     tablefmt="github", disable_numparse=True).splitlines()
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    headers = [line for line in existing.splitlines() if line.startswith("| date")]
    if headers and _columns(headers[-1]) == list(MARKDOWN_COLUMNS):
        text = ("" if existing.endswith("\n") else "\n") + table[-1] + "\n"
    elif existing.strip():
        text = ("" if existing.endswith("\n") else "\n") + "\n" + "\n".join(table) + "\n"
    else:
        text = "# benchmatrix results\n\nOne row per measurement, newest last. " \
               "See docs/trust.md for how to read a row.\n\n" + "\n".join(table) + "\n"
    _append_text(path, text)


def _columns(header_line: str) -> List[str]:
    return [cell.strip() for cell in header_line.strip().strip("|").split("|")]
