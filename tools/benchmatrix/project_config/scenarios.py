"""A project's scenarios as benchmatrix Scenario values (matrix/scenarios.py's data model).

A scenario is one request and what its answer must be, or a flow: ordered steps, each
a request with its own expected answer, sharing cookies and values extracted from
earlier answers ("{csrf}" in a later step's headers or body).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Dict, Optional, Sequence, Tuple

from benchmatrix.matrix.scenarios import FlowStep, HttpRequest, Scenario, default_step_name

REQUEST_KEYS = ("path", "method", "headers", "body", "body_file")
ANSWER_KEYS = ("status", "content_type", "json", "json_subset", "expect_body", "contains")
LOAD_KEYS = ("connections", "timeout")  # the scenario's own load profile, as the I/O-bound scenarios of matrix/scenarios.py
SCENARIO_KEYS = REQUEST_KEYS + ANSWER_KEYS + ("flow", "apps") + LOAD_KEYS
STEP_KEYS = ("name",) + REQUEST_KEYS + ANSWER_KEYS + ("extract",)

Request = Tuple[str, str, Tuple[Tuple[str, str], ...], bytes]  # path, method, headers, body
Answer = Tuple[int, str, str, bytes, Tuple[str, ...]]  # status, content type, check, expected body, contains


def expectation_of(data: Dict[str, Any]) -> Tuple[str, bytes]:
    """The check a request's answer gets, and its expected body (JSON encoded for the JSON checks)."""
    if "json" in data:
        return "json", json.dumps(data["json"]).encode("utf-8")
    if "json_subset" in data:
        return "json-subset", json.dumps(data["json_subset"]).encode("utf-8")
    if "expect_body" in data:
        return "exact", data["expect_body"].encode("utf-8")
    if "contains" in data:
        return "contains", b""
    return "status", b""


def build_scenario(name: str, request: Optional[Request], answer: Optional[Answer],
                   steps: Sequence[Tuple[Optional[str], Request, Answer, Tuple[Tuple[str, str], ...]]] = (),
                   connections: Optional[int] = None, timeout_s: Optional[int] = None) -> Scenario:
    scenario = _build(name, request, answer, steps)
    return replace(scenario, connections=connections, timeout_s=timeout_s) if connections or timeout_s else scenario


def _build(name: str, request: Optional[Request], answer: Optional[Answer],
           steps: Sequence[Tuple[Optional[str], Request, Answer, Tuple[Tuple[str, str], ...]]]) -> Scenario:
    if not steps:
        path, method, headers, body = request
        status, content_type, check, expected, contains = answer
        return Scenario(name=name, path=path, content_type=content_type, body=expected,
                        is_json=check in ("json", "json-subset"), check=check,
                        request=HttpRequest(method, headers, body), status=status, contains=contains)
    flow = tuple(_step(position, *step) for position, step in enumerate(steps, 1))
    first = flow[0]
    return Scenario(name=name, path=first.path, content_type=first.content_type, body=first.body,
                    check=first.check, request=first.request, status=first.status, contains=first.contains,
                    steps=flow)


def _step(position: int, label: Optional[str], request: Request, answer: Answer,
          extract: Tuple[Tuple[str, str], ...]) -> FlowStep:
    path, method, headers, body = request
    status, content_type, check, expected, contains = answer
    sent = HttpRequest(method, headers, body)
    return FlowStep(name=label or default_step_name(position, sent, path), path=path, request=sent, status=status,
                    content_type=content_type, check=check, body=expected, contains=contains, extract=extract)
