"""Check every endpoint answers correctly before any load: a fast 500 is not a result."""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

from benchmatrix.matrix.scenarios import AGENT_COUNT, AGENT_NUMBERS, Scenario
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint


@dataclass(frozen=True)
class Problem:
    scenario: str
    message: str

    def __str__(self) -> str:
        return "{}: {}".format(self.scenario, self.message)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text) + ("..." if len(body) > limit else "")


def _json_or_none(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        return None


def _rows_key(row) -> str:
    return json.dumps(row, sort_keys=True)


def _agents_html_matches(body: bytes) -> bool:
    """Every agent in its own row, in a table with one header row: the engines differ in whitespace."""
    text = re.sub(r">\s+<", "><", body.decode("utf-8", errors="replace"))
    if text.count("<tr>") != AGENT_COUNT + 1 or "<th>number</th>" not in text:
        return False
    return all("<tr><td>{}</td>".format(number) in text for number in AGENT_NUMBERS)


def body_matches(scenario: Scenario, body: bytes) -> bool:
    if scenario.check == "exact":
        return body == scenario.body
    if scenario.check == "agents-html":
        return _agents_html_matches(body)
    expected, actual = json.loads(scenario.body.decode("utf-8")), _json_or_none(body)
    if scenario.check == "json-rows":  # SQL without ORDER BY: same rows, any order
        return isinstance(actual, list) and sorted(map(_rows_key, actual)) == sorted(map(_rows_key, expected))
    return actual == expected


def check_response(scenario: Scenario, status: int, content_type: str, body: bytes) -> Optional[str]:
    """What is wrong with one response, or None if it is what the scenario expects."""
    if status != 200:
        return "GET {} answered {} (expected 200); body {}".format(scenario.path, status, _snippet(body))
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != scenario.content_type:
        return "GET {} has Content-Type {!r} (expected {})".format(
            scenario.path, content_type, scenario.content_type)
    matches = body_matches(scenario, body)
    if not matches:
        expected = _snippet(scenario.body) if scenario.body else "an HTML table: a header row, one row per agent"
        return "GET {} returned body {} (expected {})".format(scenario.path, _snippet(body), expected)
    return None


def verify_endpoints(endpoint: Endpoint, scenarios: Sequence[Scenario], timeout_s: float = 10.0) -> List[Problem]:
    problems = []
    for scenario in scenarios:
        try:
            answer = probe.get(endpoint, scenario.path, timeout_s, headers={"Host": endpoint.host})
            message = check_response(scenario, answer.status, answer.header("Content-Type"), answer.body)
        except (OSError, http.client.HTTPException) as error:
            message = "GET {} failed: {}".format(scenario.path, error)
        if message:
            problems.append(Problem(scenario.name, message))
    return problems
