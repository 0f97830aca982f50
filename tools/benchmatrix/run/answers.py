"""Answers checked while the load runs and after it, not only before it.

wrk counts only statuses of 400 and above as errors and never reads a body, so
an app that starts answering a redirect, another body or another Content-Type
after some requests would pass as clean, fast throughput. Two checks close that:

* a side probe: while a trial runs, a thread sends a request now and then on a
  connection of its own (not counted in wrk's figures) and checks status,
  Content-Type and body exactly as the verification before the load did. Its
  rate stays under 1% of what the primer measured, so it costs the server
  nothing noticeable, and it waits at least PROBE_MIN_INTERVAL_S between requests;
* a check after the load: the verification again, on several new connections,
  so that answers from more than one worker are seen;
* bytes per answer: the wire size of the verified answers against wrk's exact
  bytes / responses under load, which catches a change in every answer, not
  only in the few the probe sees.

A wrong answer flags the row `responses-changed`, with the first bad answer in
the reason and all of them in the run's raw folder.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run.verify import check_scenario_once, request_line
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint

PROBE_SHARE = 0.01  # of the requests the primer measured per second
PROBE_MIN_INTERVAL_S = 0.25
AFTER_LOAD_CONNECTIONS = 8  # fresh connections after the load: more than a cell's workers here


@dataclass
class AnswerLog:
    """What the checks of one phase saw: how many answers, and the wrong ones (first first)."""
    phase: str
    checked: int = 0
    wrong: List[str] = field(default_factory=list)

    def add(self, problem: Optional[str]) -> None:
        self.checked += 1
        if problem:
            self.wrong.append(problem)

    def as_metadata(self) -> dict:
        return {"checked": self.checked, "wrong": len(self.wrong), "first_wrong": self.wrong[0] if self.wrong else None}


def check_once(endpoint: Endpoint, scenario: Scenario, timeout_s: float) -> str:
    """The scenario's request (or its whole flow, with a fresh cookie jar) on a new connection, checked; ""
    when every answer is right, else what is wrong."""
    try:
        return check_scenario_once(endpoint, scenario, timeout_s) or ""
    except (OSError, http.client.HTTPException) as error:
        # Under load a slow answer is the load's business (wrk counts timeouts), not a wrong answer.
        return "" if isinstance(error, TimeoutError) else "{} failed: {}".format(request_line(scenario), error)


def probe_interval_s(primer_rps: Optional[float]) -> Optional[float]:
    """Seconds between side-probe requests, or None when even one per trial would exceed the share."""
    if not primer_rps:
        return None
    return max(PROBE_MIN_INTERVAL_S, 1.0 / (PROBE_SHARE * primer_rps))


class SideProbe:
    """Checks answers on its own connections while a trial runs (use as a context manager around it)."""

    def __init__(self, endpoint: Endpoint, scenario: Scenario, interval_s: float, timeout_s: float):
        self.endpoint = endpoint
        self.scenario = scenario
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.log = AnswerLog("during the load")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="side-probe", daemon=True)

    def _run(self) -> None:
        # The first request waits one interval, so the probe never races wrk's connection set-up.
        while not self._stop.wait(self.interval_s):
            self.log.add(check_once(self.endpoint, self.scenario, self.timeout_s))

    def __enter__(self) -> "SideProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 1)


def check_after_load(endpoint: Endpoint, scenario: Scenario, timeout_s: float,
                     connections: int = AFTER_LOAD_CONNECTIONS) -> AnswerLog:
    log = AnswerLog("after the load")
    for _ in range(connections):
        log.add(check_once(endpoint, scenario, timeout_s))
    return log


# RFC 9110's preferred date form, the one TechEmpower's verifier asks for: "Sun, 06 Nov 1994 08:49:37 GMT".
IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d{2}:\d{2}:\d{2} GMT")
SENT_HEADERS = ("server", "date", "content-type", "content-length", "transfer-encoding", "connection")


def headers_sent(answer: probe.Answer) -> Dict[str, Optional[str]]:
    """The headers a record keeps of what the server sent, None where it sent none."""
    return {name: answer.headers.get(name) for name in SENT_HEADERS}


def header_warnings(before: probe.Answer, after: probe.Answer, seconds_apart: float) -> List[str]:
    """TechEmpower's header checks, as warnings the row carries rather than failures."""
    warnings = []
    date = before.header("Date")
    if not date:
        warnings.append("no Date header")
    elif not IMF_FIXDATE.fullmatch(date):
        warnings.append("Date {!r} is not in IMF-fixdate form".format(date))
    elif seconds_apart >= 2 and after.header("Date") == date:
        warnings.append("Date stayed {!r} over {:.0f} s".format(date, seconds_apart))
    if not before.header("Server"):
        warnings.append("no Server header")
    if not before.header("Content-Length") and "chunked" not in before.header("Transfer-Encoding").lower():
        warnings.append("neither Content-Length nor chunked Transfer-Encoding")
    return warnings


SIZE_TOLERANCE = 0.02  # of the verified size, either way


def size_problem(verified: Sequence[int], trials: Sequence[dict], connections: int) -> Optional[str]:
    """Whether wrk's bytes per answer left the band the verified answers' sizes allow.

    wrk stops with answers half read on each connection, so up to one answer per
    connection is allowed on top; otherwise a mean outside 2% of the verified sizes means
    the answers under load were not the verified ones (a redirect, another body).
    """
    measured = [t for t in trials if t.get("bytes") is not None and t.get("requests")]
    if not verified or not measured:
        return None
    requests = sum(t["requests"] for t in measured)
    mean = sum(t["bytes"] for t in measured) / requests
    low = min(verified) * (1 - SIZE_TOLERANCE)
    high = max(verified) * (1 + SIZE_TOLERANCE) + connections * max(verified) * len(measured) / requests
    if low <= mean <= high:
        return None
    return "answers averaged {:.1f} bytes under load against {} verified before it (allowed {:.0f}-{:.0f})".format(
        mean, "-".join(str(v) for v in sorted({min(verified), max(verified)})), low, high)


def save_wrong(raw_path: Path, logs: List[AnswerLog]) -> None:
    """Every wrong answer of a record's checks, for the raw folder."""
    lines = ["{}: {}".format(log.phase, wrong) for log in logs for wrong in log.wrong]
    if lines:
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed_probe(endpoint: Endpoint, scenario: Scenario, primer_rps: Optional[float], timeout_s: float,
                enabled: bool = True):
    """A SideProbe for one trial, or a do-nothing context when the primer rate allows none (or it is off)."""
    interval = probe_interval_s(primer_rps)
    if interval is None or not enabled:
        return _NoProbe()
    return SideProbe(endpoint, scenario, interval, timeout_s)


class _NoProbe:
    log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

