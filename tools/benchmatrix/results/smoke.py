"""The smoke table: one short measurement per listed cell, judged pass or fail.

`nox -s smoke` runs the bench sessions with short settings into a scratch
results folder and asks nox for a JSON report; this module joins the two into
one row per cell. A cell passes when its session succeeded, i.e. it installed,
booted, answered every endpoint correctly and produced a measurement. Flags
(saturated generator on a 1 s run, say) do not fail a smoke run but are shown.
Standard library only (and the option declarations): it runs under nox's own interpreter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from benchmatrix.run.option_specs import arguments

# Short on purpose: smoke proves a cell works, it measures nothing worth keeping. No primer: the
# one 1 s trial is checked the same way (no successful answer fails the cell), so it only cost time.
# One scenario under load: every endpoint is still verified before it, and a second 1 s load
# (plaintext beside json) would add a sixth of the whole run while proving little more. No
# machine sample before each cell (0.5 s of a 4.5 s cell): on numbers nobody keeps, "was the
# machine busy" changes nothing; the records say the share was not measured.
BENCH_OPTIONS = arguments({"--duration": "1s", "--warmup": "0s", "--primer": "0s", "--trials": 1,
                           "--measure-first": 1, "--machine-sample": 0})

_ID = re.compile(r"server='(?P<server>[^']+)', app='(?P<app>[^']+)'")


def _records(results_file: Path) -> List[Dict[str, Any]]:
    if not results_file.is_file():
        return []
    return [json.loads(line) for line in results_file.read_text(encoding="utf-8").splitlines() if line.strip()]


def _cell_of(session: Dict[str, Any]) -> Tuple[str, str, str]:
    """("bench-3.9", "meinheld", "django") from one session of nox's --report."""
    args = session.get("args") or {}
    if "server" in args and "app" in args:
        return session["name"], args["server"], args["app"]
    match = _ID.search(" ".join(session.get("signatures") or []))
    return (session["name"], match.group("server"), match.group("app")) if match else (session["name"], "?", "?")


def smoke_rows(report: Dict[str, Any], records: Iterable[Dict[str, Any]]) -> List[List[str]]:
    by_cell: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for record in records:
        by_cell.setdefault((record["server"], record["app"]), []).append(record)
    rows = []
    for session in report.get("sessions", []):
        family, server, app = _cell_of(session)
        # "bench-3.9" pins the Python; plain "bench" ran the pair's default one.
        python = family[len("bench-"):] if family.startswith("bench-") else None
        cell_records = [r for r in by_cell.get((server, app), []) if python in (None, r["python"])]
        pythons = sorted({r["python"] for r in cell_records}) or ["?"]
        passed = session["result"] == "success"
        rates = ["{} {:.0f}".format(r["scenario"], r["rps"]) for r in cell_records if r.get("rps")]
        notes = sorted({f["code"] for r in cell_records for f in r.get("flags", [])})
        if not passed and not notes:
            notes = [session.get("reason") or "the harness failed before any measurement (see its output)"]
        rows.append([server, app, "/".join(pythons), "pass" if passed else "FAIL",
                     ", ".join(rates) or "-", "{:.1f}".format(session.get("duration") or 0.0),
                     ", ".join(notes) or "-"])
    return rows


def render_markdown(rows: Sequence[Sequence[str]]) -> str:
    header = ["server", "app", "python", "result", "req/s (1 s, 1 trial)", "seconds", "flags / reason"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summarize(report_file: Path, results_dir: Path, wall_s: float) -> Tuple[str, bool]:
    """The markdown table plus a totals line, and whether every cell passed."""
    report = json.loads(report_file.read_text(encoding="utf-8"))
    rows = smoke_rows(report, _records(results_dir / "results.jsonl"))
    failed = [row for row in rows if row[3] != "pass"]
    totals = "{} cell(s): {} passed, {} failed; wall time {:.0f} s ({:.1f} min). Raw output: {}".format(
        len(rows), len(rows) - len(failed), len(failed), wall_s, wall_s / 60, results_dir)
    return render_markdown(rows) + "\n\n" + totals + "\n", bool(rows) and not failed
