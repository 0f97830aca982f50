"""The change points of every cell's history since a baseline, and which of them are slowdowns.

The whole history is searched (more points before a step make its test stronger), and
the change points from the baseline on are reported: those at or after a date (`--since`),
or after the first record measured at a commit (`--baseline`; a change at that record
would be the baseline itself). A slowdown is a req/s drop
or a latency rise; a CI job gates on there being none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional, Sequence

from benchmatrix.results.change_points import ChangePoint, find_change_points
from benchmatrix.results.history import (HIGHER_IS_BETTER, HistoryPoint, SeriesKey, cell_history, parse_when,
                                        record_commit, scenarios_of)
from benchmatrix.results.records import Record

DEFAULT_METRICS = ("rps", "p99")
METRIC_NAMES = {"rps": "req/s", "p50": "p50 ms", "p90": "p90 ms", "p99": "p99 ms", "avg": "mean ms", "max": "max ms"}


@dataclass(frozen=True)
class Baseline:
    """Where "since" starts: a date, a commit (its first record), or neither (the whole history)."""
    since: Optional[datetime] = None
    commit: Optional[str] = None

    def start(self, records: Sequence[Record]) -> Optional[datetime]:
        if self.commit is None:
            return self.since
        at_commit = [parse_when(r.recorded_at) for r in records if record_commit(r).startswith(self.commit)]
        if not at_commit:
            raise ValueError("no record was measured at commit {!r}; give a sha (or its prefix) that a record's "
                             "meta.git.sha starts with, or --since DATE".format(self.commit))
        return min(at_commit)

    def includes(self, when: datetime, start: Optional[datetime]) -> bool:
        """Whether a change point at `when` is reported. A commit's first record is the baseline itself, so a
        change there is not "since" it; a date includes its own moment."""
        if start is None:
            return True
        return when > start if self.commit is not None else when >= start

    def describe(self) -> str:
        if self.commit:
            return "since commit {}".format(self.commit)
        return "since {}".format(self.since.isoformat()) if self.since else "over the whole history"


@dataclass(frozen=True)
class FoundChange:
    series: SeriesKey
    metric: str
    change: ChangePoint
    commit_before: str  # the commit of the last point before the change, and of the first after it
    commit_after: str
    versions_changed: str  # "uvicorn 0.40.0 -> 0.41.0, ..." or ""

    @property
    def slowdown(self) -> bool:
        return self.change.ratio < 1.0 if HIGHER_IS_BETTER[self.metric] else self.change.ratio > 1.0

    def describe(self) -> str:
        change = self.change
        text = "{} · {}: {} {:,.4g} -> {:,.4g} (x{:.3f}, p={:.2g}) from {} (record {}, commit {}{})".format(
            self.series.label, self.series.machine, METRIC_NAMES[self.metric], change.before, change.after,
            change.ratio, change.pvalue, change.when.strftime("%Y-%m-%d %H:%M"), change.record_id,
            short(self.commit_after) or "unknown",
            ", " + self.versions_changed if self.versions_changed else "")
        return ("SLOWDOWN " if self.slowdown else "faster   ") + text


def short(commit: str) -> str:
    return commit[:10] + ("+dirty" if commit.endswith("+dirty") else "") if commit else ""


def parse_since(text: str) -> datetime:
    """"2026-10-13" or "2026-10-13T08:00[:00][+00:00]"; UTC unless the text says otherwise."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("--since {!r}: give a date as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)".format(text))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def versions_changed(before: HistoryPoint, after: HistoryPoint) -> str:
    names = sorted(set(before.versions) | set(after.versions))
    return ", ".join("{} {} -> {}".format(name, before.versions.get(name, "-"), after.versions.get(name, "-"))
                     for name in names if before.versions.get(name) != after.versions.get(name))


def series_changes(series: SeriesKey, metric: str, points: Sequence[HistoryPoint]) -> List[FoundChange]:
    found = []
    for change in find_change_points(points):
        index = next(i for i, p in enumerate(points) if p.record_id == change.record_id and p.when == change.when)
        before, after = points[index - 1], points[index]
        found.append(FoundChange(series, metric, change, before.commit, after.commit, versions_changed(before, after)))
    return found


@dataclass(frozen=True)
class Regressions:
    baseline: Baseline
    series_count: int  # the series searched (per metric)
    found: List[FoundChange]  # from the baseline on, in series then time order

    @property
    def slowdowns(self) -> List[FoundChange]:
        return [f for f in self.found if f.slowdown]

    def render(self) -> str:
        lines = ["Change points {} in {} series (Apache Otava, e-divisive means + t-test):".format(
            self.baseline.describe(), self.series_count)]
        lines += ["  " + f.describe() for f in self.found] or ["  none"]
        count = len(self.slowdowns)
        lines.append("{} significant slowdown{}".format(count, "" if count == 1 else "s") if count
                     else "no significant slowdown")
        return "\n".join(lines)


def find_regressions(records: Sequence[Record], baseline: Baseline = Baseline(),
                     metrics: Sequence[str] = DEFAULT_METRICS, scenarios: Optional[Sequence[str]] = None
                     ) -> Regressions:
    """Every change point from the baseline on, per series and metric."""
    for metric in metrics:
        if metric not in HIGHER_IS_BETTER:
            raise ValueError("--metric {!r}: give some of {}".format(metric, ", ".join(HIGHER_IS_BETTER)))
    start = baseline.start(records)
    found: List[FoundChange] = []
    count = 0
    for scenario in scenarios or scenarios_of(records):
        for metric in metrics:
            history = cell_history(records, scenario, metric)
            count += len(history)
            for series in sorted(history, key=lambda k: (k.machine, k.label)):
                found += [f for f in series_changes(series, metric, history[series])
                          if baseline.includes(f.change.when, start)]
    return Regressions(baseline, count, found)
