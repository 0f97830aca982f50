"""A matrix run that continues where it stopped: the cells already measured, and how to know them.

A cell is measured when its run finished (every scenario recorded, whatever the verdict)
with the same fingerprint: the cell, its pins, the harness options, the source tree and
the machine. The run's fingerprint is made where the matrix is walked (the noxfile, tox)
and handed to the harness, which writes it to the results folder's ledger once the cell's
run has ended; the next matrix run skips what the ledger holds. Standard library only:
the noxfile imports this from nox's own environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from benchmatrix.hosts.fingerprint import machine_fingerprint

LEDGER_NAME = "measured-cells.jsonl"
FINGERPRINT_VARIABLE = "BENCHMATRIX_RUN_FINGERPRINT"  # how the matrix hands it to the harness
# Harness options that change where or how visibly a cell runs, not what is measured.
NOT_MEASURED_OPTIONS = {"--progress": True, "--results-dir": True, "--venv": True, "--no-wait": False}


def source_state(repo: Path) -> Dict[str, Optional[str]]:
    """The commit and a hash of uncommitted changes (results excluded: a run writes them)."""
    def git(*args: str) -> Optional[str]:
        try:
            done = subprocess.run(["git", *args], cwd=str(repo), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    diff = git("diff", "HEAD", "--", ".", ":(exclude)reports")
    return {"commit": commit.strip() if commit else None,
            "changes": hashlib.sha256(diff.encode("utf-8")).hexdigest()[:16] if diff else None}


def measured_options(args: Sequence[str]) -> list:
    """The harness arguments that decide what is measured, in the order given."""
    kept, skip_next = [], False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        name = arg.split("=", 1)[0]
        if name in NOT_MEASURED_OPTIONS:
            skip_next = NOT_MEASURED_OPTIONS[name] and "=" not in arg
            continue
        kept.append(arg)
    return kept


def run_fingerprint(cell: Dict[str, Any], pins: Dict[str, Any], options: Sequence[str],
                    source: Dict[str, Optional[str]], machine: Optional[str] = None) -> str:
    facts = {"cell": cell, "pins": pins, "options": measured_options(options), "source": source,
             "machine": machine or machine_fingerprint()}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def ledger_path(results_dir: Path) -> Path:
    return Path(results_dir) / LEDGER_NAME


def measured_entry(results_dir: Path, fingerprint: str) -> Optional[Dict[str, Any]]:
    """The ledger entry of a finished run with this fingerprint, or None."""
    try:
        lines = ledger_path(results_dir).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a damaged line costs a re-measurement, never the run
        if isinstance(entry, dict) and entry.get("fingerprint") == fingerprint:
            return entry
    return None


def mark_measured(results_dir: Path, fingerprint: str, entry: Dict[str, Any]) -> None:
    """Append the finished run to the ledger in one write, as records are appended."""
    path = ledger_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(entry, fingerprint=fingerprint), sort_keys=True) + "\n"
    descriptor = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)
