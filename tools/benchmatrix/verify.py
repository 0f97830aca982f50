"""Check every endpoint answers correctly before any load: a fast 500 is not a result."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import List, Optional, Sequence

from tools.benchmatrix.scenarios import Scenario


@dataclass(frozen=True)
class Problem:
    scenario: str
    message: str

    def __str__(self) -> str:
        return "{}: {}".format(self.scenario, self.message)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text) + ("..." if len(body) > limit else "")


def check_response(scenario: Scenario, status: int, content_type: str, body: bytes) -> Optional[str]:
    """What is wrong with one response, or None if it is what the scenario expects."""
    if status != 200:
        return "GET {} answered {} (expected 200); body {}".format(scenario.path, status, _snippet(body))
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != scenario.content_type:
        return "GET {} has Content-Type {!r} (expected {})".format(
            scenario.path, content_type, scenario.content_type)
    if scenario.is_json:
        try:
            matches = json.loads(body.decode("utf-8")) == json.loads(scenario.body.decode("utf-8"))
        except ValueError:
            matches = False
    else:
        matches = body == scenario.body
    if not matches:
        return "GET {} returned body {} (expected {})".format(
            scenario.path, _snippet(body), _snippet(scenario.body))
    return None


def verify_endpoints(port: int, scenarios: Sequence[Scenario], host: str = "127.0.0.1",
                     timeout_s: float = 10.0) -> List[Problem]:
    problems = []
    for scenario in scenarios:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
        try:
            connection.request("GET", scenario.path, headers={"Host": host})
            response = connection.getresponse()
            message = check_response(scenario, response.status,
                                     response.getheader("Content-Type", ""), response.read())
        except (OSError, http.client.HTTPException) as error:
            message = "GET {} failed: {}".format(scenario.path, error)
        finally:
            connection.close()
        if message:
            problems.append(Problem(scenario.name, message))
    return problems
