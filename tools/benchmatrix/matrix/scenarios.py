"""The endpoints every app serves, what a correct answer looks like, and how each is loaded.

A scenario is the unit of measurement: one path, loaded on its own, or a flow:
an ordered list of steps on one connection that share cookies and carry values
from one answer into a later request (a CSRF token), counted as one unit per
completed flow. Verification and load both read this table, so an app cannot be
measured on an endpoint whose answer was never checked.

I/O-bound scenarios (a database or upstream call of about a second) carry their
own load profile: the seeds drove them at 10 connections, and a wrk timeout of
2 s would count every queued request of a serializing server as an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

HELLO = "Hello, World!"
AGENT_COUNT = 50
AGENT_NUMBERS = tuple(str(1000 + n) for n in range(1, AGENT_COUNT + 1))  # configs/postgres/schema.sql
AGENT_COLUMNS = ("number", "extension", "context", "state_interface", "status", "extension_status", "paused")
UPSTREAM_DELAY_MS = 1000  # the upstream stub's default answer time (seed 000's only-http-call)
FANOUT_CALLS = 10

IO_CONNECTIONS = 10  # what seeds 000 and 002 used for their slow endpoints
IO_TIMEOUT_S = 30  # long enough for 10 one-second requests queued behind one sync worker
IO_PRIMER_S = 3  # wrk drops what is in flight when it stops: a 1 s primer sees no 1 s answer complete


def agents_json() -> List[Dict[str, Optional[str]]]:
    """The 50 rows of the seeds' agents query: nobody logged in, so the joined columns are null."""
    return [{"number": number, "extension": None, "context": None, "state_interface": None,
             "status": "offline", "extension_status": "-1", "paused": "0"} for number in AGENT_NUMBERS]


QUERIES, NEW_CONNECTIONS, UPSTREAM_CALLS = "queries", "new_connections", "upstream_calls"


@dataclass(frozen=True)
class WorkContract:
    """The work a scenario promises per request, which the right answer alone does not prove.

    A database endpoint could answer the right rows from memory, a fan-out endpoint could
    report ten upstream calls after making one; either would be measured as a faster server.
    What the services counted during the trials (stack/work_counters.py) is held against
    this (checks/work_done.py).
    """
    queries: int = 0  # executions of the scenario's statement, as pg_stat_statements counts them
    query_marker: str = ""  # text only that statement contains (a table name, a function)
    new_connections: int = 0  # database sessions opened (and closed) per request
    upstream_calls: int = 0  # calls the upstream stub received per request

    def promised(self) -> Dict[str, int]:
        """Per request, each kind of work the scenario promises (none for a hello-world endpoint)."""
        kinds = {QUERIES: self.queries, NEW_CONNECTIONS: self.new_connections, UPSTREAM_CALLS: self.upstream_calls}
        return {kind: count for kind, count in kinds.items() if count}


NO_WORK = WorkContract()
# The statements the apps run (configs/postgres/schema.sql's table; pg_sleep for db_sleep).
AGENTS_MARKER = "agentfeatures"


SHORT_BODY_BYTES = 256  # a body up to this long is kept in the record as sent; a longer one by length and digest
CHECKS = ("exact", "json", "json-rows", "agents-html", "json-subset", "contains", "status")


@dataclass(frozen=True)
class HttpRequest:
    """What is sent for a scenario or a flow step: a plain GET unless the user says otherwise."""
    method: str = "GET"
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def is_plain_get(self) -> bool:
        return self.method == "GET" and not self.headers and not self.body

    def describe(self) -> Dict[str, object]:
        """What the record keeps of the request: method, headers, and the body or its length and digest."""
        described: Dict[str, object] = {"method": self.method, "headers": [list(pair) for pair in self.headers],
                                        "body_bytes": len(self.body)}
        if self.body:
            described["body_sha256"] = hashlib.sha256(self.body).hexdigest()
            if len(self.body) <= SHORT_BODY_BYTES:
                described["body"] = self.body.decode("utf-8", "replace")
        return described


GET = HttpRequest()


@dataclass(frozen=True)
class FlowStep:
    """One request of a flow and what its answer must be.

    "{var}" in the request's headers and body is replaced by a value an earlier step
    extracted: ("csrf", "cookie:csrftoken"), ("next", "header:Location") or
    ("id", "regex:id=(\\d+)"), the regex's first group on the answer's body.
    """
    name: str  # "1 GET /login/" if the user gives none (default_step_name)
    path: str
    request: HttpRequest = GET
    status: int = 200
    content_type: str = ""  # "" = not checked
    check: str = "status"  # "status" | "exact" | "json" | "json-subset" | "contains"
    body: bytes = b""  # the exact body, or the JSON value / subset encoded as JSON
    contains: Tuple[str, ...] = ()
    extract: Tuple[Tuple[str, str], ...] = ()  # (variable, "cookie:NAME" | "header:NAME" | "regex:PATTERN")


def default_step_name(position: int, request: HttpRequest, path: str) -> str:
    """A step's name when the user gives none: its 1-based position, method and path."""
    return "{} {} {}".format(position, request.method, path)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    content_type: str  # the media type the response must declare
    body: bytes  # the exact body, or its JSON value when content_type is JSON
    is_json: bool = False
    check: str = "exact"  # "exact", "json", "json-rows" (order-free list), "agents-html", "json-subset", "contains"
    needs: Tuple[str, ...] = ()  # services the app must reach: "database", "upstream"
    connections: Optional[int] = None  # the scenario's load profile; None: the command-line default
    timeout_s: Optional[int] = None
    min_primer_s: int = 0  # a shorter primer could not see one answer complete
    work: WorkContract = NO_WORK  # what each request must really do beside answering right
    request: HttpRequest = GET  # what is sent (a flow's steps carry their own)
    status: int = 200  # the status a correct answer has
    contains: Tuple[str, ...] = ()  # substrings the body must hold (check "contains")
    steps: Tuple[FlowStep, ...] = ()  # non-empty: a flow, measured in completed flows per second

    @property
    def io_bound(self) -> bool:
        return self.connections is not None

    @property
    def is_flow(self) -> bool:
        return bool(self.steps)

    @property
    def unit(self) -> str:
        """What one counted request is: a request, or one completed flow of all its steps."""
        return "flow" if self.steps else "request"


def _json(name: str, path: str, value, check: str = "json", needs: Tuple[str, ...] = (),
          io: bool = False, work: WorkContract = NO_WORK) -> Scenario:
    return Scenario(name, path, "application/json", json.dumps(value).encode(), is_json=True, check=check,
                    needs=needs, connections=IO_CONNECTIONS if io else None,
                    timeout_s=IO_TIMEOUT_S if io else None, min_primer_s=IO_PRIMER_S if io else 0, work=work)


SCENARIOS: Dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("json", "/json", "application/json", b'{"message": "Hello, World!"}', is_json=True,
                 check="json"),
        Scenario("plaintext", "/plaintext", "text/plain", HELLO.encode()),
        # The seeds' /agents: a new connection per request, then the query.
        _json("agents", "/agents", agents_json(), check="json-rows", needs=("database",),
              work=WorkContract(queries=1, query_marker=AGENTS_MARKER, new_connections=1)),
        _json("agents_with_pool", "/agents_with_pool", agents_json(), check="json-rows", needs=("database",),
              work=WorkContract(queries=1, query_marker=AGENTS_MARKER)),
        Scenario("template", "/template", "text/html", b"", check="agents-html", needs=("database",),
                 work=WorkContract(queries=1, query_marker=AGENTS_MARKER)),
        _json("sleep", "/sleep?ms={}".format(UPSTREAM_DELAY_MS), {"slept_ms": UPSTREAM_DELAY_MS}, io=True),
        _json("db_sleep", "/db_sleep?s=1", {"db_slept_s": 1}, needs=("database",), io=True,
              work=WorkContract(queries=1, query_marker="pg_sleep", new_connections=1)),
        _json("upstream", "/upstream", {"upstream": {"upstream": "ok", "delay_ms": UPSTREAM_DELAY_MS}},
              needs=("upstream",), io=True, work=WorkContract(upstream_calls=1)),
        _json("upstream_fanout", "/upstream_fanout", {"calls": FANOUT_CALLS, "ok": FANOUT_CALLS},
              needs=("upstream",), io=True, work=WorkContract(upstream_calls=FANOUT_CALLS)),
    )
}

# Names that stand for several scenarios on the command line.
GROUPS: Dict[str, Tuple[str, ...]] = {
    "hello": ("json", "plaintext"),
    "db": ("agents", "agents_with_pool", "template", "db_sleep"),
    "io": ("sleep", "db_sleep", "upstream", "upstream_fanout"),
    "all": tuple(SCENARIOS),
}
DEFAULT_SCENARIOS = "hello"


def select_scenarios(names: Iterable[str], supported: Optional[Sequence[str]] = None) -> List[Scenario]:
    """Scenarios by name or group, in the order given; a ValueError names the valid ones.

    A group keeps only what the app supports; a scenario named outright that the
    app does not serve is an error, so nobody benchmarks an endpoint that 404s.
    """
    chosen: List[str] = []
    for name in (n.strip() for n in names):
        if name in GROUPS:
            chosen += [s for s in GROUPS[name] if supported is None or s in supported]
        elif name in SCENARIOS:
            if supported is not None and name not in supported:
                raise ValueError("this app does not serve scenario {!r}; it serves: {}".format(
                    name, ", ".join(supported)))
            chosen.append(name)
        else:
            raise ValueError("unknown scenario {!r}; choose from: {} (or a group: {})".format(
                name, ", ".join(SCENARIOS), ", ".join(GROUPS)))
    if not chosen:
        raise ValueError("no scenario to run; this app serves: {}".format(
            ", ".join(supported if supported is not None else SCENARIOS)))
    return [SCENARIOS[name] for name in dict.fromkeys(chosen)]


def services_needed(scenarios: Iterable[Scenario]) -> Tuple[str, ...]:
    return tuple(sorted({need for scenario in scenarios for need in scenario.needs}))
