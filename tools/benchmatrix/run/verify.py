"""Check every endpoint answers correctly before any load: a fast 500 is not a result.

What is checked comes from the scenario (or a flow's step): the status, the media type
when one is given, and the body by its check kind:
  exact        the bytes, as given;
  json         the same JSON value (any spacing, any key order);
  json-rows    the same list of rows in any order (SQL without ORDER BY);
  json-subset  every key and value of the expected JSON present in the answer, recursively; a list in the
               expectation matches the answer's list element-wise from its start (a prefix: the answer may
               hold more elements), scalars match by equality with true/false never equal to 1/0;
  contains     each of the scenario's substrings somewhere in the body (UTF-8);
  status       nothing beyond the status and media type;
  agents-html  the seeds' agents table, whatever the template engine's whitespace.
A flow is verified step by step, on one connection with its cookies (run/flow_probe.py).
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Union

from benchmatrix.matrix.scenarios import AGENT_COUNT, AGENT_NUMBERS, FlowStep, Scenario
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


Expectation = Union[Scenario, FlowStep]  # both say status, content_type, check, body and contains


def json_subset_matches(expected: Any, actual: Any) -> bool:
    """Whether `expected` is found in `actual`: objects by their keys, lists element-wise from the start."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and json_subset_matches(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) >= len(expected)
                and all(json_subset_matches(e, a) for e, a in zip(expected, actual)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual  # JSON's true is not its 1
    return expected == actual


def missing_substrings(expected: Sequence[str], body: bytes) -> List[str]:
    text = body.decode("utf-8", errors="replace")
    return [part for part in expected if part not in text]


def body_matches(scenario: Expectation, body: bytes) -> bool:
    if scenario.check == "status":
        return True
    if scenario.check == "exact":
        return body == scenario.body
    if scenario.check == "agents-html":
        return _agents_html_matches(body)
    if scenario.check == "contains":
        return not missing_substrings(scenario.contains, body)
    expected, actual = json.loads(scenario.body.decode("utf-8")), _json_or_none(body)
    if scenario.check == "json-rows":  # SQL without ORDER BY: same rows, any order
        return isinstance(actual, list) and sorted(map(_rows_key, actual)) == sorted(map(_rows_key, expected))
    if scenario.check == "json-subset":
        return actual is not None and json_subset_matches(expected, actual)
    return actual == expected


def _expected_body(scenario: Expectation) -> str:
    if scenario.check == "contains":
        return "to contain {}".format(", ".join(repr(part) for part in scenario.contains))
    if scenario.check == "json-subset":
        return "JSON holding {}".format(_snippet(scenario.body))
    return _snippet(scenario.body) if scenario.body else "an HTML table: a header row, one row per agent"


def request_line(scenario: Expectation) -> str:
    """"POST /api/echo" as the messages name a request."""
    return "{} {}".format(scenario.request.method, scenario.path)


def check_response(scenario: Expectation, status: int, content_type: str, body: bytes) -> Optional[str]:
    """What is wrong with one response, or None if it is what the scenario (or flow step) expects."""
    sent = request_line(scenario)
    if status != scenario.status:
        return "{} answered {} (expected {}); body {}".format(sent, status, scenario.status, _snippet(body))
    media_type = content_type.split(";")[0].strip().lower()
    if scenario.content_type and media_type != scenario.content_type.lower():
        return "{} has Content-Type {!r} (expected {})".format(sent, content_type, scenario.content_type)
    if not body_matches(scenario, body):
        if scenario.check == "contains":
            missing = missing_substrings(scenario.contains, body)
            return "{} returned body {} without {}".format(sent, _snippet(body), ", ".join(map(repr, missing)))
        return "{} returned body {} (expected {})".format(sent, _snippet(body), _expected_body(scenario))
    return None


def check_scenario_once(endpoint: Endpoint, scenario: Scenario, timeout_s: float) -> Optional[str]:
    """The scenario's request (or its whole flow, with a fresh cookie jar) on a new connection, checked; None
    when every answer is right. Raises OSError or http.client.HTTPException when a request fails."""
    if scenario.is_flow:
        from benchmatrix.run.flow_probe import check_flow  # a flow's probe checks each step with this module
        return check_flow(endpoint, scenario.steps, timeout_s)
    answer = probe.send(endpoint, scenario.request, scenario.path, timeout_s)
    return check_response(scenario, answer.status, answer.header("Content-Type"), answer.body)


def verify_endpoints(endpoint: Endpoint, scenarios: Sequence[Scenario], timeout_s: float = 10.0) -> List[Problem]:
    problems = []
    for scenario in scenarios:
        try:
            message = check_scenario_once(endpoint, scenario, timeout_s)
        except (OSError, http.client.HTTPException) as error:
            message = "{} failed: {}".format(request_line(scenario), error)
        if message:
            problems.append(Problem(scenario.name, message))
    return problems
