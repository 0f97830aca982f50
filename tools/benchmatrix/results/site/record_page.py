"""One record's page, as data: its conditions, flags with reasons and hints, latency, trials with
their spread, resources, the machine's state, the command that measures it again and links to
the raw files it names (those that exist beside the results file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.results.records import Record, error_summary, format_number, status_label
from benchmatrix.results.site.charts import Figure, spectrum_figure, trials_figure
from benchmatrix.results.site.model import SiteRecord
from benchmatrix.results.site.reproduce import reproduce_command

Pairs = Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class FlagView:
    code: str
    reason: str
    hint: str


@dataclass(frozen=True)
class TrialRow:
    number: int
    round: str
    rps: str
    p50: str
    p99: str
    errors: str
    raw: Optional[str]  # relative link, when the file exists


@dataclass(frozen=True)
class RawLink:
    label: str
    href: Optional[str]  # None: the record names it but it is not on this disk


@dataclass(frozen=True)
class RecordPage:
    title: str
    status: str
    cell_page: Optional[str]
    conditions: Pairs
    packages: Pairs
    flags: Tuple[FlagView, ...]
    latency: Pairs
    spread: Tuple[Tuple[str, str, str, str, str], ...]  # figure, median, min, max, cv
    trials: Tuple[TrialRow, ...]
    resources: Pairs
    machine: Pairs
    advice: Tuple[Tuple[str, str], ...]  # (finding, what to do)
    reproduce: str
    load_command: str
    raw: Tuple[RawLink, ...]
    figures: Tuple[Tuple[str, Figure], ...]  # (element id, figure)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join("{}: {}".format(k, _text(v)) for k, v in value.items()) or "-"
    return str(value)


def conditions(item: SiteRecord) -> Pairs:
    record, key = item.record, item.cell
    git = record.section("git")
    interleaved = record.section("interleaved")
    rows = [("recorded", record.recorded_at), ("record", record.record_id or record.run_id),
            ("python", record.python), ("server", record.server), ("app", record.app),
            ("topology", key.topology), ("scenario", record.scenario), ("mode", key.mode),
            ("connections", record.connections), ("connection mode", record.connection_mode),
            ("threads", record.threads), ("workers", record.workers),
            ("trial length", "{:g} s".format(record.duration_s)), ("load driver", record.meta.get("load_driver")),
            ("load tool", record.section("load_tool").get("version")),
            ("latency from", record.latency_basis), ("commit", "{}{}".format(
                git.get("sha") or "-", " (uncommitted changes)" if git.get("dirty") else "")),
            ("constraints", record.section("constraints").get("file")),
            ("versions overridden", ", ".join(record.override_specs)),
            ("interleaved run", interleaved.get("group")), ("machine", item.machine), ("schema", record.schema)]
    return tuple((name, _text(value)) for name, value in rows)


def machine_state(record: Record) -> Tuple[Pairs, Tuple[Tuple[str, str], ...]]:
    machine = record.section("machine")
    state = machine.get("state") or {}
    virtual = state.get("virtualization") or {}
    rows = [("CPU", machine.get("cpu_model")), ("CPUs", machine.get("cpu_count")), ("kernel", machine.get("kernel")),
            ("OS", machine.get("os")), ("load average (1 min)", machine.get("load_average_1m")),
            ("busy before start", machine.get("busy_share_before_start")),
            ("virtualization", ", ".join("{} {}".format(k, v) for k, v in virtual.items() if k in ("vm", "container"))),
            ("governors", state.get("governors")), ("turbo", state.get("turbo")),
            ("isolated CPUs", state.get("isolated_cpus")), ("CPU placement", record.section("pinning"))]
    advice = tuple((str(a.get("finding", "")), str(a.get("what_to_do", ""))) for a in machine.get("advice") or [])
    return tuple((name, _text(value)) for name, value in rows), advice


def _link(results_dir: Optional[Path], site_dir: Path, page: str, target: Optional[str]) -> Optional[str]:
    if not target or results_dir is None or not (results_dir / target).exists():
        return None
    return Path(os.path.relpath(str(results_dir / target), str((site_dir / page).parent))).as_posix()


def trial_rows(item: SiteRecord, results_dir: Optional[Path], site_dir: Path) -> Tuple[TrialRow, ...]:
    rows = []
    for number, trial in enumerate(item.record.trials, start=1):
        latency = trial.get("latency_ms") or {}
        rows.append(TrialRow(number, _text(trial.get("round")), format_number(trial.get("rps"), 1),
                             format_number(latency.get("p50")), format_number(latency.get("p99")),
                             error_summary(trial.get("errors") or {}),
                             _link(results_dir, site_dir, item.page, trial.get("raw_output"))))
    return tuple(rows)


def raw_links(item: SiteRecord, results_dir: Optional[Path], site_dir: Path) -> Tuple[RawLink, ...]:
    named: List[str] = [item.record.raw_output] if item.record.raw_output else []
    named += [t["raw_output"] for t in item.record.trials if t.get("raw_output")]
    return tuple(RawLink(name, _link(results_dir, site_dir, item.page, name)) for name in dict.fromkeys(named))


def spread_rows(record: Record) -> Tuple[Tuple[str, str, str, str, str], ...]:
    spreads = [("req/s", record.spread.rps)] + sorted(record.spread.latency_ms.items())
    return tuple((name if name == "req/s" else name + " ms", format_number(s.median), format_number(s.min),
                  format_number(s.max), "{:.1%}".format(s.cv)) for name, s in spreads if s)


def record_page(item: SiteRecord, cell_page: Optional[str], results_dir: Optional[Path],
                site_dir: Path) -> RecordPage:
    record = item.record
    figures: List[Tuple[str, Figure]] = []
    if record.spectrum:
        figures.append(("spectrum", spectrum_figure(record)))
    if record.trials:
        figures.append(("trials", trials_figure(record)))
    machine, advice = machine_state(record)
    return RecordPage(
        title="{} · {} · {}".format(record.cell_label, record.scenario, record.recorded_at[:16].replace("T", " ")),
        status=status_label(record), cell_page=cell_page, conditions=conditions(item),
        packages=tuple((name, str(version)) for name, version in sorted(record.section("packages").items())),
        flags=tuple(FlagView(f.code, f.reason, f.hint) for f in record.flags),
        latency=tuple((name, format_number(value, 3)) for name, value in record.latency_ms.values.items()),
        spread=spread_rows(record), trials=trial_rows(item, results_dir, site_dir),
        resources=tuple((name, _text(value)) for name, value in sorted(record.resources.items())),
        machine=machine, advice=advice, reproduce=reproduce_command(record),
        load_command=" ".join(str(word) for word in record.meta.get("load_command") or []),
        raw=raw_links(item, results_dir, site_dir), figures=tuple(figures))


def record_pages(placed: Sequence[SiteRecord], cell_pages: Dict[int, str], results_dir: Optional[Path],
                 site_dir: Path) -> List[Tuple[str, RecordPage]]:
    return [(item.page, record_page(item, cell_pages.get(id(item.record)), results_dir, site_dir))
            for item in placed]
