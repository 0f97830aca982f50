"""Records for the results tests: made by hand, or the real ones in tests/fixtures/records.

`make_record` writes what a test changes as the JSON a record has on disk and loads it
through Record.from_json, so every made record takes the path a real one takes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

from benchmatrix.results.records import Record, load_records

REAL_RESULTS = Path(__file__).resolve().parent / "fixtures" / "records" / "results.jsonl"

BASE: Dict[str, Any] = {
    "run_id": "r1", "recorded_at": "2026-11-21T08:00:00+00:00", "python": "3.12", "app": "flask",
    "server": "gunicorn", "scenario": "json", "mode": "closed-loop", "connections": 64, "threads": 2,
    "duration_s": 10.0, "workers": 2, "rps": 5000.0, "rps_all": 5000.0, "requests": 50000,
    "latency_ms": {"avg": 12.0, "p50": 11.0, "p90": 13.0, "p99": 15.0, "max": 20.0},
    "errors": {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0},
    "status": "ok", "flags": [], "meta": {"load_command": ["wrk"]}, "raw_output": "raw/r1/json.measure.txt",
    "schema": 3}


def record_json(**changes: Any) -> Dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def make_record(**changes: Any) -> Record:
    """A schema 3 record of gunicorn/flask json at 5000 req/s, with `changes` (JSON values) applied."""
    return Record.from_json(record_json(**changes))


def flags(*codes: str) -> List[Dict[str, str]]:
    return [{"code": code, "reason": "", "hint": ""} for code in codes]


def real_records() -> List[Record]:
    """25 real records of every schema and mode (tests/fixtures/records/README.md says which)."""
    return load_records(REAL_RESULTS)
