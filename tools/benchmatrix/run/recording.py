"""Recording one cell's results: building each Record, saving it at once, saying it on the console.

A record is appended the moment its measurement ends (results.jsonl and the
results.md row), so an interrupt or a later failure loses nothing measured.
"""

from __future__ import annotations

import datetime
import os
import secrets
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from benchmatrix.matrix.cells import Cell
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.results.records import (Latency, Record, TrialSpread, append_markdown_row, append_record,
                                         format_number, rps_label, status_label)
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.run.progress import Progress
from benchmatrix.run.flow_steps import step_summary
from benchmatrix.run.trials import resource_summary, summarize
from benchmatrix.checks.flags import Flag, status_for

EMPTY_SUMMARY = {"rps": None, "rps_all": None, "requests": 0, "latency_ms": {}, "spread": {},
                 "errors": {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0},
                 "achieved_rate": None, "spectrum": [], "histogram": None, "spectrum_source": None}


class Console:
    """The harness's lines on stdout; in a matrix run each starts with the cell i/N and the time left."""

    def __init__(self, progress: Optional[Progress] = None):
        self.progress = progress

    def say(self, message: str) -> None:
        print("benchmatrix: " + (self.progress.prefix() if self.progress else "") + message, flush=True)


def new_run_id(cell: Cell) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return "{}-py{}-{}-{}-{}".format(stamp, cell.python, cell.server.name, cell.app.name, secrets.token_hex(2))


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def sent_meta(scenario: Scenario, trials: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """What the record keeps of what was sent: the request, or a flow's steps with each one's latency under
    load (rps, requests and latency_ms of a flow record count whole flows: flows/s)."""
    if not scenario.steps:
        return {"request": scenario.request.describe()}
    return {"flow": {"unit": "flow", "rate_unit": "flows/s",
                     "steps": [{"name": step.name, "path": step.path, "request": step.request.describe(),
                                "status": step.status, "extract": [list(pair) for pair in step.extract]}
                               for step in scenario.steps],
                     "step_latency": step_summary(trials)}}


class Recorder:
    """Builds and saves the records of one run; `meta` is what every record of the run shares."""

    def __init__(self, plan: CellPlan, run_id: str, raw_dir: Path, app_label: str, workers: int,
                 meta: Dict[str, Any], console: Console):
        self.plan = plan
        self.run_id = run_id
        self.raw_dir = raw_dir
        self.app_label = app_label
        self.workers = workers
        self.meta = meta
        self.console = console
        self.statuses: List[str] = []
        self.records_made = 0

    @property
    def results_dir(self) -> Path:
        return self.plan.options.results_dir

    def relative(self, path: Path) -> str:
        return os.path.relpath(str(path), str(self.results_dir))

    def record(self, scenario: Scenario, flags: List[Flag], trials: Sequence[Dict[str, Any]] = (),
               load_argv: Optional[List[str]] = None, load: Optional[LoadPlan] = None,
               extra_meta: Optional[Dict[str, Any]] = None) -> Record:
        load = load or self.plan.closed_loop(scenario)
        summary = summarize(trials) if trials else EMPTY_SUMMARY
        meta = dict(self.meta, load_command=load_argv, load_driver=load.driver,
                    phases_s=self.plan.phases_s(scenario), **sent_meta(scenario, trials), **(extra_meta or {}))
        cell, options = self.plan.cell, self.plan.options
        if not options.side_probe:  # the probe's checks cost the server a little: such records are their own series
            meta["side_probe"] = "off"
        self.records_made += 1
        return Record(
            run_id=self.run_id, recorded_at=utc_now(), python=cell.python, app=self.app_label,
            server=cell.server.name, scenario=scenario.name, mode=load.record_mode,
            connections=load.connections, threads=load.threads,
            duration_s=float(options.duration_s), workers=self.workers,
            rps=summary["rps"], rps_all=summary["rps_all"], requests=summary["requests"],
            latency_ms=Latency(dict(summary["latency_ms"])), errors=summary["errors"],
            status=status_for(flags), flags=flags, meta=meta, raw_output=self.relative(self.raw_dir),
            spread=TrialSpread.from_json(summary["spread"]), trials=list(trials),
            resources=resource_summary(trials, workers=self.workers),
            planned_rate=load.planned_rate, achieved_rate=summary["achieved_rate"],
            spectrum=summary["spectrum"], histogram=summary["histogram"],
            spectrum_source=summary["spectrum_source"], in_flight=summary.get("in_flight"),
            latency_source=summary.get("latency_source"),
            connection_mode=options.connection_mode,
            record_id="{}/{}".format(self.run_id, self.records_made))

    def save(self, record: Record) -> None:
        append_record(self.results_dir / "results.jsonl", record)
        append_markdown_row(self.results_dir / "results.md", record)
        self.statuses.append(record.status)
        rate = "" if record.planned_rate is None else " at a planned {:g} req/s".format(record.planned_rate)
        unit = "flows/s" if record.section("flow") else "req/s"
        self.console.say("{}{}: {} {}, p50 {} ms, p99 {} ms -> {}".format(
            record.scenario, rate, rps_label(record), unit, format_number(record.latency_ms.p50),
            format_number(record.latency_ms.p99), status_label(record)))
        for flag in record.flags:
            self.console.say("  {}: {}. What to do: {}".format(flag.code, flag.reason, flag.hint))

    def save_new(self, scenario: Scenario, flags: List[Flag], **details) -> None:
        self.save(self.record(scenario, flags, **details))

    @property
    def any_failed(self) -> bool:
        return "failed" in self.statuses
