"""A flow run by the harness's own probe: every step in order on one connection, with a fresh cookie jar,
each answer checked as a single scenario's is (run/verify.py), values carried into later steps.

The same flow as load/flow.lua walks under wrk: Set-Cookie answers fill a jar whose cookies go with every
later request as one Cookie header (one site: no domain, path or expiry matching; Max-Age=0 removes one);
"{var}" in a later step's headers and body becomes what an earlier step extracted:
  cookie:NAME     the cookie's value in the jar after that step's answer;
  header:NAME     the answer's header (any case);
  regex:PATTERN   the first group of the pattern's first match in the answer's body (the whole match
                  without a group). Under wrk the pattern runs as a Lua pattern (load/request_script.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from benchmatrix.load.request_script import fill, split_extraction, template
from benchmatrix.matrix.scenarios import FlowStep, HttpRequest
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Answer, Endpoint


class CookieJar:
    """Cookies by name, in the order first set."""

    def __init__(self) -> None:
        self.values: Dict[str, str] = {}

    def take(self, set_cookie: str) -> None:
        pair, _, attributes = set_cookie.partition(";")
        name, equals, value = pair.strip().partition("=")
        if not equals or not name:
            return
        if re.search(r"(?:^|;)\s*max-age\s*=\s*0\s*(?:;|$)", attributes, re.I):
            self.values.pop(name, None)
            return
        self.values[name] = value.strip()

    def header(self) -> str:
        return "; ".join("{}={}".format(name, value) for name, value in self.values.items())


def extract(source: str, answer: Answer, jar: CookieJar) -> Optional[str]:
    """The value `source` ("cookie:NAME", "header:NAME" or "regex:PATTERN") names in this answer, or None."""
    kind, argument = split_extraction(source)
    if kind == "cookie":
        return jar.values.get(argument)
    if kind == "header":
        return answer.headers.get(argument.lower())
    found = re.search(argument, answer.body.decode("utf-8", errors="replace"))
    if found is None:
        return None
    return found.group(1) if found.re.groups else found.group(0)


def step_request(step: FlowStep, values: Mapping[str, str], known: Sequence[str]) -> HttpRequest:
    """The step's request with "{var}" filled in from `values` (the variables extracted so far)."""
    headers = tuple((name, fill(template(value, known), values)) for name, value in step.request.headers)
    body = step.request.body
    if body:
        body = fill(template(body.decode("latin-1"), known), values).encode("latin-1", errors="replace")
    return HttpRequest(step.request.method, headers, body)


@dataclass(frozen=True)
class StepOutcome:
    name: str
    status: int
    seconds: float
    problem: Optional[str]  # what was wrong with the answer, or None


@dataclass(frozen=True)
class FlowOutcome:
    steps: Tuple[StepOutcome, ...]  # up to the first wrong one
    several_cookies: Tuple[str, ...] = ()  # steps whose answer set more than one cookie

    @property
    def problem(self) -> Optional[str]:
        """The first wrong step's problem, named by the step; None when the whole flow was right."""
        for step in self.steps:
            if step.problem:
                return "flow step {!r}: {}".format(step.name, step.problem)
        return None


def run_flow(endpoint: Endpoint, steps: Sequence[FlowStep], timeout_s: float,
             last_cookie_only: bool = False) -> FlowOutcome:
    """Every step on one connection (opened again if the server closes it), stopping at the first wrong
    answer; last_cookie_only keeps, as wrk's Lua does, only the last Set-Cookie of an answer. Raises OSError
    or http.client.HTTPException when a request fails."""
    from benchmatrix.run.verify import check_response  # verify runs flows through this module

    conn = probe.connection(endpoint, timeout_s)
    jar = CookieJar()
    values: Dict[str, str] = {}
    known: List[str] = []
    outcomes: List[StepOutcome] = []
    several: List[str] = []
    try:
        for step in steps:
            sent = step_request(step, values, known)
            headers = probe.request_headers(endpoint, sent)
            if jar.values and not any(name.lower() == "cookie" for name in headers):
                headers["Cookie"] = jar.header()
            started = time.monotonic()
            answer = probe.exchange(conn, sent.method, step.path, headers, sent.body)
            seconds = time.monotonic() - started
            if len(answer.set_cookies) > 1:
                several.append(step.name)
            for line in answer.set_cookies[-1:] if last_cookie_only else answer.set_cookies:
                jar.take(line)
            problem = check_response(step, answer.status, answer.header("Content-Type"), answer.body)
            for variable, source in step.extract if problem is None else ():
                value = extract(source, answer, jar)
                if value is None:
                    problem = "found nothing for {} ({}) in the answer".format(variable, source)
                    break
                values[variable] = value
            known += [variable for variable, _ in step.extract]
            outcomes.append(StepOutcome(step.name, answer.status, seconds, problem))
            if problem:
                break
    finally:
        conn.close()
    return FlowOutcome(tuple(outcomes), tuple(several))


def check_flow(endpoint: Endpoint, steps: Sequence[FlowStep], timeout_s: float) -> Optional[str]:
    """The flow checked as the probe runs it and, where an answer set several cookies, as wrk can run it:
    wrk's Lua sees only the last Set-Cookie of an answer (load/flow.lua), so a flow that needs another one
    would fail every pass under load while passing here. None when both are right."""
    outcome = run_flow(endpoint, steps, timeout_s)
    if outcome.problem or not outcome.several_cookies:
        return outcome.problem
    as_wrk = run_flow(endpoint, steps, timeout_s, last_cookie_only=True)
    if as_wrk.problem is None:
        return None
    return ("{} (only when, as under wrk, an answer's last Set-Cookie alone is kept: step(s) {} set several "
            "cookies in one answer and wrk's Lua sees one value per header name; make the cookie the flow "
            "needs the last one set, or send it with the step's own Cookie header)".format(
                as_wrk.problem, ", ".join(repr(name) for name in outcome.several_cookies)))
