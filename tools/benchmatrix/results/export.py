"""Records out of results.jsonl: filtered, as CSV (one flat row each) or as a JSON array.

Filters are `field=value` or `field!=value` on a record's top-level fields, with
comma-separated alternatives (`server=uwsgi,gunicorn`); several filters must all
hold. Values compare as text, so `connections=64` matches the number 64.

Both writers are deterministic: the same records give the same bytes (columns
in a fixed order, JSON keys sorted, "\\n" line ends), so an export kept in git
only changes when the records do.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

from benchmatrix.results.records import Record

FILTER_FIELDS = ("python", "app", "server", "scenario", "mode", "status", "connections")

# Scalar fields in the order a reader scans a row: what, how, how fast, how it went.
# Fields not listed (newer schemas add some) follow in alphabetical order.
LEADING_COLUMNS = ("recorded_at", "run_id", "python", "app", "server", "scenario", "mode", "connections",
                   "threads", "workers", "duration_s", "planned_rate", "achieved_rate", "rps", "rps_all",
                   "requests", "status")
LATENCY_ORDER = ("avg", "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max", "stdev")
ERROR_ORDER = ("connect", "read", "write", "timeout", "non2xx")
# Structured fields that have their own flattened columns, or none (meta, trials, spectrum, histogram).
NOT_SCALAR = ("latency_ms", "errors", "resources", "flags", "spread", "trials", "meta", "spectrum", "histogram")


# --- filters ---------------------------------------------------------------------

def parse_filter(text: str) -> Tuple[str, bool, Tuple[str, ...]]:
    """"field=a,b" -> (field, True, ("a", "b")); "field!=a" -> (field, False, ("a",))."""
    if "!=" in text:
        field, value = text.split("!=", 1)
        wanted = False
    elif "=" in text:
        field, value = text.split("=", 1)
        wanted = True
    else:
        raise ValueError("filter {!r} is not field=value or field!=value".format(text))
    field = field.strip()
    if field not in FILTER_FIELDS:
        raise ValueError("unknown filter field {!r} in {!r}; valid fields: {}".format(
            field, text, ", ".join(FILTER_FIELDS)))
    alternatives = tuple(part.strip() for part in value.split(",") if part.strip())
    if not alternatives:
        raise ValueError("filter {!r} has no value after the '{}'".format(text, "=" if wanted else "!="))
    return field, wanted, alternatives


def _matcher(text: str) -> Callable[[Record], bool]:
    field, wanted, alternatives = parse_filter(text)
    return lambda record: (str(getattr(record, field)) in alternatives) == wanted


def select_records(records: Iterable[Record], filters: Sequence[str]) -> List[Record]:
    """The records every filter accepts, in their original order.

    All filters are parsed before any record is looked at, so a typo fails at once.
    """
    matchers = [_matcher(text) for text in filters]
    return [record for record in records if all(match(record) for match in matchers)]


# --- CSV -------------------------------------------------------------------------

def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flatten(prefix: str, value: Any) -> Dict[str, Any]:
    """Nested dicts as prefix_key columns (resources may grow sub-objects)."""
    if isinstance(value, dict):
        flat: Dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten("{}_{}".format(prefix, key), inner))
        return flat
    return {prefix: value} if _is_scalar(value) else {}


def _row_groups(record: Record) -> Dict[str, Dict[str, Any]]:
    """A record's flat columns, by group; the groups give the CSV its column order."""
    rps_spread = record.spread.rps
    spread: Dict[str, Any] = {"trials": record.trial_count}
    if rps_spread:
        spread.update(rps_min=rps_spread.min, rps_max=rps_spread.max, rps_cv=rps_spread.cv)
    return {
        # Every top-level scalar as written, a newer harness's unknown fields too.
        "scalars": {key: value for key, value in record.to_json().items()
                    if key not in NOT_SCALAR and _is_scalar(value)},
        "spread": spread,
        "latency": {"{}_ms".format(p): v for p, v in record.latency_ms.values.items()},
        "errors": _flatten("errors", record.errors),
        "resources": _flatten("resources", record.resources),
        "flags": {"flags": ";".join(flag.code for flag in record.flags)},
    }


def flat_row(record: Record) -> Dict[str, Any]:
    """One record as flat columns: scalars, latency as p50_ms etc., errors_*, resources_*, flags."""
    row: Dict[str, Any] = {}
    for columns in _row_groups(record).values():
        row.update(columns)
    return row


def _rank(order: Sequence[str], name: str) -> Tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


# How each group's columns are ordered; names a list does not know go last, alphabetically.
GROUP_ORDER: Dict[str, Callable[[str], Tuple[int, str]]] = {
    "scalars": lambda name: _rank(LEADING_COLUMNS, name),
    "spread": lambda name: _rank(("trials", "rps_min", "rps_max", "rps_cv"), name),
    "latency": lambda name: _rank(LATENCY_ORDER, name[:-len("_ms")]),
    "errors": lambda name: _rank(ERROR_ORDER, name[len("errors_"):]),
    "resources": lambda name: (0, name),
    "flags": lambda name: (0, name),
}


def csv_columns(records: Sequence[Record]) -> List[str]:
    """Every column any record has, grouped and in a fixed order."""
    present: Dict[str, set] = {group: set() for group in GROUP_ORDER}
    for record in records:
        for group, columns in _row_groups(record).items():
            present[group].update(columns)
    return [name for group, order in GROUP_ORDER.items() for name in sorted(present[group], key=order)]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def render_csv(records: Sequence[Record]) -> str:
    columns = csv_columns(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in map(flat_row, records):
        writer.writerow([_csv_value(row.get(name)) for name in columns])
    return buffer.getvalue()


def export_csv(records: Sequence[Record], path: Path) -> Path:
    """One row per record, in the given order; returns the path written."""
    return _write(Path(path), render_csv(records))


# --- JSON ------------------------------------------------------------------------

def render_json(records: Sequence[Record]) -> str:
    return json.dumps([r.to_json() for r in records], sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def export_json(records: Sequence[Record], path: Path) -> Path:
    """The records as one JSON array, keys sorted, indented by 2; returns the path written."""
    return _write(Path(path), render_json(records))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # newline="" keeps "\n" on every platform, so the bytes never depend on the OS.
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path
