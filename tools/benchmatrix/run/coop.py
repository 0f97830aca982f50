"""The cooperative-I/O check: do N concurrent slow requests overlap, or wait in line?

The seeds' question, asked directly: send N requests at once to an endpoint that
spends about a second waiting on PostgreSQL (/db_sleep?s=1) or on an upstream
(/upstream), and time the batch. A stack that overlaps the waits finishes in
about one second; one that blocks a worker per request needs about N seconds
divided by how many requests it can hold at once (workers x threads).
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Sequence

from benchmatrix.matrix.scenarios import SCENARIOS
from benchmatrix.run.option_specs import default
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint

CHECKED_SCENARIOS = ("db_sleep", "upstream")
NOMINAL_WAIT_S = 1.0  # what one request of a checked scenario waits: pg_sleep(1), the stub's 1 s
DEFAULT_REQUESTS = default("--coop-requests")  # declared with the options (the seeds' concurrency)
OVERLAP_LIMIT = 1.5  # a batch within 1.5 nominal waits overlapped; the slack is connect and query time


@dataclass(frozen=True)
class CoopResult:
    scenario: str
    requests: int
    ok: int  # answered 200
    wall_s: float
    in_flight: float  # requests x nominal wait / wall time: how many the stack held at once
    verdict: str  # "overlapped", "serialized" or "failed"

    def label(self) -> str:
        if self.verdict == "failed":
            return "{}: {}/{} ok".format(self.scenario, self.ok, self.requests)
        return "{}: {} in {:.2f} s, {}".format(self.scenario, self.requests, self.wall_s, self.verdict)


def _get(endpoint: Endpoint, path: str, start: threading.Event, statuses: List[int], timeout_s: float) -> None:
    start.wait()
    try:
        statuses.append(probe.get(endpoint, path, timeout_s).status)
    except (OSError, http.client.HTTPException):
        statuses.append(0)


def judge(scenario: str, requests: int, ok: int, wall_s: float) -> CoopResult:
    in_flight = requests * NOMINAL_WAIT_S / wall_s if wall_s > 0 else 0.0
    if ok < requests:
        verdict = "failed"
    elif wall_s <= OVERLAP_LIMIT * NOMINAL_WAIT_S:
        verdict = "overlapped"
    else:
        verdict = "serialized"
    return CoopResult(scenario, requests, ok, round(wall_s, 3), round(in_flight, 1), verdict)


def check_one(endpoint: Endpoint, scenario: str, requests: int = DEFAULT_REQUESTS) -> CoopResult:
    """Fire `requests` GETs at once (threads released together) and time the whole batch."""
    path = SCENARIOS[scenario].path
    timeout_s = requests * NOMINAL_WAIT_S + 30  # a fully serialized batch still gets its answers
    start, statuses = threading.Event(), []  # type: threading.Event, List[int]
    threads = [threading.Thread(target=_get, args=(endpoint, path, start, statuses, timeout_s), daemon=True)
               for _ in range(requests)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    start.set()
    for thread in threads:
        thread.join()
    return judge(scenario, requests, statuses.count(200), time.monotonic() - began)


def check(endpoint: Endpoint, scenarios: Sequence[str] = CHECKED_SCENARIOS,
          requests: int = DEFAULT_REQUESTS) -> List[CoopResult]:
    return [check_one(endpoint, name, requests) for name in scenarios]


def as_metadata(results: Sequence[CoopResult]) -> List[Dict[str, Any]]:
    return [asdict(result) for result in results]

