"""The Record: one self-describing measurement, and where it is written.

Records go to results.jsonl (one JSON object per line, appended the moment a
measurement ends, so a later failure loses nothing) and, as a row, to the
markdown table results.md. Each append is a single write() of a whole line,
so an interrupt can never leave half a record behind.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from tabulate import tabulate

from benchmatrix.checks.flags import Flag

SCHEMA_VERSION = 3  # 2: trials, spread, resources, fixed-rate fields; 3: histogram, spectrum_source, record_id


@dataclass(frozen=True)
class Record:
    run_id: str
    recorded_at: str  # UTC, ISO 8601
    python: str
    app: str
    server: str
    scenario: str
    mode: str  # "closed-loop": wrk keeps every connection busy
    connections: int
    threads: int
    duration_s: float
    workers: int
    rps: Optional[float]  # successful (2xx/3xx) responses per second; None when unmeasured
    rps_all: Optional[float]  # every response per second, errors included, as wrk printed it
    requests: int
    latency_ms: Dict[str, Optional[float]]
    errors: Dict[str, int]
    status: str  # "ok", "flagged" or "failed"
    flags: List[Flag]  # written as {code, reason, hint} objects
    meta: Dict[str, Any]
    raw_output: Optional[str]  # the run's raw folder (wrk outputs, server log), relative to the results dir
    spread: Dict[str, Any] = field(default_factory=dict)  # median, min, max, cv of req/s and latencies
    trials: List[Dict[str, Any]] = field(default_factory=list)  # each measured run as it was
    resources: Dict[str, Any] = field(default_factory=dict)  # server CPU and memory, load generator CPU
    planned_rate: Optional[float] = None  # fixed-rate runs: req/s asked for
    achieved_rate: Optional[float] = None  # fixed-rate runs: median req/s completed
    spectrum: List[List[float]] = field(default_factory=list)  # [percentile, ms], ascending, ending at 100
    # The trials' latency histograms merged, HdrHistogram's compressed base64 text (results/latency_histogram.py);
    # None where a trial kept none (a schema 2 record, a wrk without the done() histogram).
    histogram: Optional[str] = None
    spectrum_source: Optional[str] = None  # "3 trials merged (N latencies)", "median trial", or None: no curve
    in_flight: Optional[float] = None  # closed loop: requests the server held at once (req/s x mean latency)
    connection_mode: str = "keep-alive"  # or "close": wrk asked for a new connection per request
    # "<run_id>/<n>", the n-th record of its run: with the machine's fingerprint, what merging
    # results of several machines keys on (results/merge.py). None in records written before it.
    record_id: Optional[str] = None
    schema: int = field(default=SCHEMA_VERSION)

    def to_json_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"


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


def append_record_dict(path: Path, record: Dict[str, Any]) -> None:
    """A record read from another results file, appended as it was (merging keeps every field)."""
    _append_text(path, json.dumps(record, sort_keys=True) + "\n")


def load_records(path: Path) -> List[Dict[str, Any]]:
    """Every record in the file; a damaged line is reported and skipped, never fatal."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            print("warning: {}:{} is not a JSON record; skipped".format(path, number), file=sys.stderr)
    return records


MARKDOWN_COLUMNS = ("date", "python", "app", "server", "hosts", "workers", "scenario", "mode", "conn",
                    "duration", "trials", "req/s (min-max)", "p50 ms", "p90 ms", "p99 ms", "max ms",
                    "errors", "in flight", "server CPU s", "server PSS MB", "wrk CPU s", "coop check", "status")


def format_number(value: Optional[float], digits: int = 2) -> str:
    return "-" if value is None else "{:.{}f}".format(value, digits)


def error_summary(errors: Dict[str, int]) -> str:
    parts = ["{} {}".format(count, kind) for kind, count in errors.items() if count]
    return ", ".join(parts) if parts else "0"


def status_label(record: Dict[str, Any]) -> str:
    codes = list(dict.fromkeys(flag["code"] for flag in record.get("flags", [])))  # one per kind
    return record["status"] + (" ({})".format(", ".join(codes)) if codes else "")


def rate_text(rps: float) -> str:
    """Whole req/s for fast endpoints; one decimal below 100, where I/O-bound rates live (0.9 vs 9.0)."""
    return "{:.0f}".format(rps) if rps >= 100 else "{:.1f}".format(rps)


def rps_label(record: Dict[str, Any]) -> str:
    """Median req/s with the range of the trials; `(!)` when flagged, `-` when failed."""
    # A failed run's req/s would be an error rate; it is never shown as throughput.
    if record["status"] == "failed" or record.get("rps") is None:
        return "-"
    label = rate_text(record["rps"])
    rps_spread = (record.get("spread") or {}).get("rps")
    if rps_spread and rate_text(rps_spread["min"]) != rate_text(rps_spread["max"]):
        label += " ({}-{})".format(rate_text(rps_spread["min"]), rate_text(rps_spread["max"]))
    return label + (" (!)" if record["status"] == "flagged" else "")


def markdown_cells(record: Dict[str, Any]) -> List[str]:
    latency = record.get("latency_ms") or {}
    return [record["recorded_at"][:16].replace("T", " "), record["python"], record["app"],
            record["server"], hosts_label(record), str(record["workers"]), record["scenario"], mode_label(record),
            connections_label(record), "{:g}s".format(record["duration_s"]),
            str(trial_count(record)), rps_label(record),
            format_number(latency.get("p50")), format_number(latency.get("p90")),
            format_number(latency.get("p99")), format_number(latency.get("max")),
            error_summary(record.get("errors") or {}), format_number(record.get("in_flight")),
            *resource_cells(record), coop_summary(record), status_label(record)]


def hosts_label(record: Dict[str, Any]) -> str:
    """Where the roles ran: "local" (one machine, loopback), or e.g. "netns 1gbit", "ssh load"."""
    return ((record.get("meta") or {}).get("hosts") or {}).get("label") or "local"


def ceiling_share_label(record: Dict[str, Any]) -> str:
    """The share of the load generator's measured ceiling the cell reached; "-" where none was measured."""
    share = (record.get("meta") or {}).get("ceiling_share")
    if share is None:
        return "-"
    return "<1%" if share < 0.005 else "{:.0%}".format(share)


def coop_summary(record: Dict[str, Any]) -> str:
    """The cell's cooperative-I/O check, on the rows of the scenarios it probed."""
    checks = [c for c in (record.get("meta") or {}).get("coop_check") or [] if c["scenario"] == record["scenario"]]
    if not checks:
        return "-"
    check = checks[0]
    if check["verdict"] == "failed":
        return "failed ({}/{} ok)".format(check["ok"], check["requests"])
    return "{} in {:.2f} s: {}".format(check["requests"], check["wall_s"], check["verdict"])


def mode_label(record: Dict[str, Any]) -> str:
    planned = record.get("planned_rate")
    return record["mode"] if planned is None else "{} {:g}/s".format(record["mode"], planned)


# A cell's measurement under one load plan: what "the newest record" is newest of.
CELL_KEY_FIELDS = ("scenario", "python", "app", "server", "mode", "connections", "planned_rate", "connection_mode")
FIELD_DEFAULTS = {"connection_mode": "keep-alive"}  # what records written before a field existed measured


def record_key(record: Dict[str, Any], fields: Sequence[str]) -> Tuple[Any, ...]:
    return tuple(record.get(name, FIELD_DEFAULTS.get(name)) for name in fields)


def connections_label(record: Dict[str, Any]) -> str:
    """Connections, with how they were used: "64", "64 close" (a new one per request), or
    "64 (server closes)" for keep-alive asked of a server that closes after each answer."""
    if record.get("connection_mode") == "close":
        return "{} close".format(record["connections"])
    closes = ((record.get("meta") or {}).get("answers") or {}).get("server_closes_connections")
    return "{} (server closes)".format(record["connections"]) if closes else str(record["connections"])


def newest_by(records: Iterable[Dict[str, Any]], fields: Sequence[str]) -> List[Dict[str, Any]]:
    """The newest record per key, in the order each key first appears.

    recorded_at is ISO 8601 UTC, so strings compare in time order; on a tie the
    later line of the file wins.
    """
    newest: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
    for record in records:
        key = record_key(record, fields)
        if key not in newest or record["recorded_at"] >= newest[key]["recorded_at"]:
            newest[key] = record
    return list(newest.values())


def trial_count(record: Dict[str, Any]) -> int:
    # Schema 1 records hold a single measured run and no trials list.
    return len(record.get("trials") or []) or (1 if record.get("rps") is not None else 0)


def memory_label(usage: Dict[str, Any]) -> str:
    """The server's proportional memory (PSS); records made before PSS was sampled show their summed RSS,
    marked, which counts pages shared by pre-forked workers once per worker."""
    if usage.get("server_peak_pss_mb") is not None:
        return format_number(usage["server_peak_pss_mb"], 0)
    if usage.get("server_peak_rss_mb") is not None:
        return format_number(usage["server_peak_rss_mb"], 0) + " (RSS)"
    return "-"


def resource_cells(record: Dict[str, Any]) -> List[str]:
    usage = record.get("resources") or {}
    return [format_number(usage.get("server_cpu_s"), 1), memory_label(usage),
            format_number(usage.get("load_generator_cpu_s"), 1)]


def append_markdown_row(path: Path, record: "Record | Dict[str, Any]") -> None:
    """Append one row; a header is written when the table is new or its columns changed.

    Rows under a header of other columns would land in the wrong columns, so a
    change of columns (a newer harness) starts a new table below the old one.
    """
    fields = record if isinstance(record, dict) else asdict(record)
    table = tabulate([markdown_cells(fields)], headers=MARKDOWN_COLUMNS,
                     tablefmt="github", disable_numparse=True).splitlines()
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    headers = [line for line in existing.splitlines() if line.startswith("| date")]
    if headers and _columns(headers[-1]) == list(MARKDOWN_COLUMNS):
        text = ("" if existing.endswith("\n") else "\n") + table[-1] + "\n"
    elif existing.strip():
        text = ("" if existing.endswith("\n") else "\n") + "\n" + "\n".join(table) + "\n"
    else:
        text = "# benchmatrix results\n\nOne row per measurement, newest last. " \
               "See README.md for how to read a row.\n\n" + "\n".join(table) + "\n"
    _append_text(path, text)


def _columns(header_line: str) -> List[str]:
    return [cell.strip() for cell in header_line.strip().strip("|").split("|")]
