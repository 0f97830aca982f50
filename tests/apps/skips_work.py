"""Answers the database and upstream endpoints right while skipping the work they promise.

/agents runs its query once and serves every later request from memory; /upstream_fanout
makes one upstream call and reports ten. Verification compares answers, so both pass it:
only the database's and the stub's own counts (checks/work_done.py) can tell.
"""

import json

from apps import workloads

_cached_agents = []


def _agents():
    if not _cached_agents:
        _cached_agents.append(json.dumps(workloads.agents_on_new_connection()).encode())
    return _cached_agents[0]


def _fanout():
    # One call without the stub's delay, where the endpoint promises FANOUT_CALLS of them.
    import requests

    requests.get(workloads.setting(workloads.UPSTREAM_URL) + "?ms=0", timeout=5)
    return json.dumps({"calls": workloads.FANOUT_CALLS, "ok": workloads.FANOUT_CALLS}).encode()


ROUTES = {"/agents": _agents, "/upstream_fanout": _fanout,
          "/json": lambda: json.dumps({"message": "Hello, World!"}).encode()}


def app(environ, start_response):
    route = ROUTES.get(environ["PATH_INFO"])
    if route is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [route()]
