"""The saved calibration of this machine: how much A/A comparisons spread, per slice length and method.

`nox -s calibrate` measures it (run/calibrate.py) and saves it here, in the
results folder's calibration.json, under the machine's fingerprint
(hosts/fingerprint.py): the spread of one machine says nothing of another's.
Every later comparison on the machine that ends undecided turns the saved spread
into "a difference below X% cannot be seen here in N s of load" for its budget.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from benchmatrix.hosts.fingerprint import machine_fingerprint
from benchmatrix.run.interleave_rule import StoppingRule, pair_seconds

FILE_NAME = "calibration.json"


@dataclass(frozen=True)
class CalibrationEntry:
    measured_at: str
    cell: str  # SERVER/APP, both sides of the A/A comparisons
    scenario: str
    slice_s: float
    method: str  # interleave_rule.Method.name: rps, cpu, rps/speed-reference, cpu/speed-reference
    sd_log: float  # pooled standard deviation of the A/A runs' ABBA pair log-ratios
    pairs: int  # pairs the spread was measured over, all runs together
    runs: int  # A/A comparisons
    false_positives: int  # of them, how many the stopping rule called different at p <= 0.05
    budget_s: float  # the load budget the false positives were judged at
    cpu_ms_per_request: Optional[float] = None  # the cell's stack CPU per request, median over the slices

    def detectable(self, budget_s: float, contenders: int, min_pairs: int, alpha: float = 0.05) -> float:
        """The minimum detectable effect of a comparison of `contenders` cells in budget_s of load."""
        rule = StoppingRule(min_pairs, 0.0, budget_s, alpha)
        pair_s = pair_seconds(contenders, self.slice_s)
        return rule.detectable_at(self.sd_log, rule.last_pair(pair_s), pair_s)


def _path(results_dir: Path) -> Path:
    return results_dir / FILE_NAME


def load_entries(results_dir: Path, fingerprint: Optional[str] = None) -> List[CalibrationEntry]:
    path = _path(results_dir)
    if not path.exists():
        return []
    try:
        machines = json.loads(path.read_text(encoding="utf-8")).get("machines", {})
    except ValueError:
        return []  # a damaged file is no calibration; the next calibrate rewrites it
    fields = {f.name for f in dataclasses.fields(CalibrationEntry)}
    return [CalibrationEntry(**{k: v for k, v in entry.items() if k in fields})
            for entry in machines.get(fingerprint or machine_fingerprint(), [])]


def save_entries(results_dir: Path, entries: List[CalibrationEntry], fingerprint: Optional[str] = None) -> Path:
    """Adds the entries under this machine; an older entry of the same cell, scenario, slice and method goes."""
    path = _path(results_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        # A damaged file is kept aside, not overwritten unseen: the new calibration starts a fresh one.
        path.replace(path.with_name(FILE_NAME + ".damaged"))
        data = {}
    machines = data.setdefault("machines", {})
    key = fingerprint or machine_fingerprint()
    fresh = {(e.cell, e.scenario, e.slice_s, e.method) for e in entries}
    kept = [e for e in machines.get(key, [])
            if (e.get("cell"), e.get("scenario"), e.get("slice_s"), e.get("method")) not in fresh]
    machines[key] = kept + [dataclasses.asdict(e) for e in entries]
    results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def matching(entries: List[CalibrationEntry], cell: str, scenario: str, slice_s: float, method: str
             ) -> Optional[CalibrationEntry]:
    """The newest entry of this cell (SERVER/APP), scenario, slice and method; None if there is none.

    Another cell's A/A spread says nothing of this one's (a sync worker's req/s spreads otherwise than an
    event loop's), so no other cell's entry stands in: the comparison then states its own spread alone."""
    same = [e for e in entries if (e.cell, e.scenario, e.slice_s, e.method) == (cell, scenario, slice_s, method)]
    return max(same, key=lambda e: e.measured_at) if same else None
