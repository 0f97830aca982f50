"""Whether the work a scenario promises per request was really done.

Verification compares answers, and an app can answer right while skipping the work
(rows served from memory, fewer upstream calls than it reports); it would then be
measured as a faster server. So the database and the upstream stub count what they
did during each trial (stack/work_counters.py) and a record holds the counts against
its scenario's WorkContract, per answer the load generator counted as a success.

Only a shortfall is flagged. More work than answers is expected: requests still in
flight when the load stops did their work without being counted, the side probe's
requests do theirs, and an error answer may have done part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.matrix.scenarios import NEW_CONNECTIONS, QUERIES, UPSTREAM_CALLS, WorkContract

# The counts are exact and taken after the last counted answer arrived, so a healthy
# cell is never below its contract; 1% is room for a session whose end PostgreSQL
# records a moment after the client saw the answer.
SHORTFALL_SLACK = 0.99


def what_counted(kind: str, contract: WorkContract) -> str:
    """The kind of work in words, with where its count comes from."""
    if kind == QUERIES:
        return "queries (pg_stat_statements: statements containing {!r})".format(contract.query_marker)
    if kind == NEW_CONNECTIONS:
        return "new database connections (pg_stat_database.sessions)"
    if kind == UPSTREAM_CALLS:
        return "upstream calls (the stub's own count)"
    return kind


@dataclass(frozen=True)
class WorkVerdict:
    meta: Dict[str, Any] = field(default_factory=dict)  # the record's meta.work; empty when nothing is promised
    flags: List[Flag] = field(default_factory=list)


def successful_answers(trial: Dict[str, Any]) -> int:
    return max(0, (trial.get("requests") or 0) - ((trial.get("errors") or {}).get("non2xx") or 0))


def assess_work(contract: WorkContract, trials: Sequence[Dict[str, Any]],
                uncounted: Mapping[str, str] = {}) -> WorkVerdict:
    """The counts of trials (as records keep them, each with its "work" deltas) against the contract."""
    promised = contract.promised()
    if not promised:
        return WorkVerdict()
    counted_trials = [t for t in trials if t.get("work") is not None]
    answers = sum(successful_answers(t) for t in counted_trials)
    counted: Dict[str, int] = {}
    not_counted = dict(uncounted)
    for kind in promised:
        if kind in not_counted:
            continue
        if counted_trials and all(kind in t["work"] for t in counted_trials):
            counted[kind] = sum(t["work"][kind] for t in counted_trials)
        else:
            not_counted[kind] = "not read around every trial"
    meta: Dict[str, Any] = {"promised_per_request": dict(promised), "answers": answers, "counted": counted,
                            "per_request": {kind: round(count / answers, 3) if answers else None
                                            for kind, count in counted.items()},
                            "trials_counted": len(counted_trials), "not_counted": not_counted}
    flags = []
    for kind, count in counted.items():
        needed = promised[kind] * answers
        if answers and count < needed * SHORTFALL_SLACK:
            flags.append(make_flag("work-skipped", "{:.2f} {} per request where the scenario promises {}: "
                                   "{:,} counted for {:,} successful answers (at least {:,} due)".format(
                                       count / answers, what_counted(kind, contract), promised[kind], count,
                                       answers, needed)))
    return WorkVerdict(meta, flags)
