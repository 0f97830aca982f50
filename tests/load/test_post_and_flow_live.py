"""A POST scenario and a login flow measured for real: gunicorn serving tests/apps/flow_login.py, the real
answer checks and wrk through a ScenarioMeasurement, records read back from results.jsonl."""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import pytest

from benchmatrix.load.wrk import require_wrk
from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.matrix.scenarios import FlowStep, HttpRequest, Scenario
from benchmatrix.run.measure import ScenarioMeasurement
from benchmatrix.run.options import RunOptions
from benchmatrix.run.plan import CellPlan
from benchmatrix.run.recording import Console, Recorder
from benchmatrix.run.verify import verify_endpoints
from benchmatrix.stack import probe
from benchmatrix.stack.process import free_port, started
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

ECHO = Scenario("echo", "/api/echo", "application/json", b'{"echo": "hi"}', check="json-subset",
                request=HttpRequest("POST", (("Content-Type", "application/json"),), b'{"word": "hi"}'))
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
LOGIN_FLOW = Scenario("login_flow", "/login/", "", b"", check="status", steps=(
    FlowStep("1 GET /login/", "/login/", content_type="text/html", check="contains",
             contains=("csrfmiddlewaretoken",), extract=(("csrf", "cookie:csrftoken"),)),
    FlowStep("2 POST /login/", "/login/",
             HttpRequest("POST", FORM, b"username=bench&password=bench&csrfmiddlewaretoken={csrf}"), status=302),
    FlowStep("3 GET /api/items?page=1", "/api/items?page=1", content_type="application/json",
             check="json-subset", body=b'{"page": 1, "items": [{"id": 0}]}'),
    FlowStep("4 GET /api/items?page=2", "/api/items?page=2", content_type="application/json",
             check="json-subset", body=b'{"page": 2, "items": [{"id": 5}]}'),
))


@pytest.fixture
def login_app(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "1",
            "-b", "127.0.0.1:{}".format(port), "tests.apps.flow_login:app"]
    with started(argv, tmp_path / "gunicorn.log", cwd=REPO_ROOT) as server:
        endpoint = probe.Endpoint(port=port)
        deadline = time.monotonic() + 15
        while probe.status_or_none(endpoint, "/login/", 0.5) is None:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.05)
        yield endpoint, server.pid


def test_a_post_and_a_flow_are_verified_measured_and_recorded(tmp_path, login_app):
    endpoint, pid = login_app
    scenarios = (ECHO, LOGIN_FLOW)
    assert verify_endpoints(endpoint, scenarios) == []
    # A login answer that sets the session and then another cookie passes the probe, but wrk's Lua would keep
    # only the last Set-Cookie: refused before any load, saying so.
    steps = list(LOGIN_FLOW.steps)
    steps[1] = dataclasses.replace(steps[1], path="/login/?rotate=1")
    rotating = dataclasses.replace(LOGIN_FLOW, name="rotating", steps=tuple(steps))
    [problem] = verify_endpoints(endpoint, [rotating])
    assert problem.message.startswith("flow step '3 GET /api/items?page=1': GET /api/items?page=1 answered 403")
    assert "only when, as under wrk, an answer's last Set-Cookie alone is kept: step(s) '2 POST /login/'" in \
        problem.message
    options = RunOptions(server="gunicorn", app="flask", scenarios=scenarios, duration_s=1, warmup_s=0, primer_s=0,
                         trials=1, connections=4, results_dir=tmp_path, side_probe=False)
    cell = find_cell(load_matrix(), "{}.{}".format(*sys.version_info[:2]), "gunicorn", "flask")
    plan = CellPlan(options, cell, None)
    recorder = Recorder(plan, "run-live", tmp_path / "raw", "flow_login", workers=1, meta={}, console=Console())
    measurement = ScenarioMeasurement(plan, require_wrk(), endpoint, pid, [], recorder, cell_flags=())
    for scenario in scenarios:
        measurement.measure(scenario)
    echo, flow = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]

    assert echo["status"] == "ok", echo["flags"]
    assert echo["rps"] > 0 and echo["errors"]["non2xx"] == 0  # a wrong body would answer 400
    assert echo["meta"]["request"]["method"] == "POST" and echo["meta"]["request"]["body"] == '{"word": "hi"}'
    script = echo["meta"]["load_command"][echo["meta"]["load_command"].index("--script") + 1]
    assert script.endswith(".request.lua") and 'wrk.method = "POST"' in open(script).read()
    assert echo["meta"]["answers"]["after_load"]["wrong"] == 0

    assert flow["status"] == "ok", flow["flags"]
    trial = flow["trials"][0]
    assert trial["unit"] == "flow" and flow["meta"]["flow"]["rate_unit"] == "flows/s"
    steps = flow["meta"]["flow"]["step_latency"]
    assert [s["name"] for s in steps] == [s.name for s in LOGIN_FLOW.steps]
    # each finished flow answered every step; a pass wrk stopped midway answered only its first steps
    assert flow["requests"] == trial["requests"] > 0 and flow["errors"]["non2xx"] == 0
    assert all(s["failed"] == 0 and flow["requests"] <= s["count"] <= flow["requests"] + 4 for s in steps)
    assert all(0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"] for s in steps)
    assert sum(s["mean_ms"] for s in steps) == pytest.approx(flow["latency_ms"]["avg"], rel=0.2)
    assert flow["rps"] == pytest.approx(trial["rps"]) and flow["meta"]["answers"]["after_load"]["wrong"] == 0
    load = flow["meta"]["load_command"]
    assert load[load.index("--threads") + 1] == "4" and flow["threads"] == 4  # one connection per thread
