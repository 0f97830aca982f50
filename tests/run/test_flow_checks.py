"""The answer checks beyond an exact body (json-subset, contains, status), a flow's cookie jar, extraction
and substitution as the probe runs them, and what a flow record keeps: pure logic on fixed inputs."""

from __future__ import annotations

import hashlib
import json

import pytest

from benchmatrix.matrix.scenarios import FlowStep, HttpRequest, Scenario
from benchmatrix.run.flow_probe import CookieJar, FlowOutcome, StepOutcome, extract, step_request
from benchmatrix.run.flow_steps import step_summary
from benchmatrix.run.options import RunOptions
from benchmatrix.run.recording import sent_meta
from benchmatrix.run.verify import check_response, json_subset_matches
from benchmatrix.stack.probe import Answer

ECHO = Scenario("echo", "/api/echo", "application/json", b'{"echo": "hi"}', check="json-subset",
                request=HttpRequest("POST", (("Content-Type", "application/json"),), b'{"word": "hi"}'))


@pytest.mark.parametrize("expected, actual, matches", [
    ({"page": 1}, {"page": 1, "items": []}, True),
    ({"page": 1}, {"page": 2}, False),
    ({"page": 1}, {"items": []}, False),
    ({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1, {"c": 2, "d": 3}, 4], "x": 0}}, True),  # lists: a prefix
    ({"a": [{"id": 0}, {"id": 1}]}, {"a": [{"id": 1}, {"id": 0}]}, False),  # element-wise, in order
    ({"a": [1, 2, 3]}, {"a": [1, 2]}, False),  # longer than the answer's list
    ({"ok": True}, {"ok": 1}, False),  # JSON's true is not 1
    ({"n": 1}, {"n": 1.0}, True),
    ([], [1], True),
    ({"a": None}, {"a": None}, True),
    ({"a": None}, {}, False),
])
def test_json_subset(expected, actual, matches):
    assert json_subset_matches(expected, actual) is matches


def test_a_json_subset_scenario_checks_status_type_and_subset():
    assert check_response(ECHO, 200, "application/json", b'{"echo": "hi", "length": 14}') is None
    assert "POST /api/echo returned body" in check_response(ECHO, 200, "application/json", b'{"echo": "ho"}')
    assert "JSON holding" in check_response(ECHO, 200, "application/json", b"not json")
    assert "POST /api/echo answered 400 (expected 200)" in check_response(ECHO, 400, "application/json", b"{}")


def test_contains_names_what_is_missing():
    page = FlowStep("1 GET /login/", "/login/", check="contains", contains=("csrfmiddlewaretoken", "<form"))
    assert check_response(page, 200, "text/html", b'<form><input name="csrfmiddlewaretoken"></form>') is None
    assert check_response(page, 200, "text/html", b"<form>").endswith("without 'csrfmiddlewaretoken'")


def test_a_status_check_with_no_content_type_checks_the_status_only():
    step = FlowStep("2 POST /login/", "/login/", HttpRequest("POST"), status=302)
    assert check_response(step, 302, "text/html", b"") is None
    assert check_response(step, 200, "", b"") == "POST /login/ answered 200 (expected 302); body ''"


def test_the_cookie_jar_keeps_the_last_value_and_drops_expired_cookies():
    jar = CookieJar()
    for line in ("csrftoken=a1; Path=/; SameSite=Lax", "sessionid=s1; HttpOnly", "csrftoken=a2",
                 "old=x", "old=; Max-Age=0; Path=/", "broken"):
        jar.take(line)
    assert jar.header() == "csrftoken=a2; sessionid=s1"


def test_extraction_from_cookie_header_and_regex():
    jar = CookieJar()
    jar.take("csrftoken=T1; Path=/")
    answer = Answer(302, {"location": "/next"}, b'<input name="csrf" value="V9"> id=42')
    assert extract("cookie:csrftoken", answer, jar) == "T1"
    assert extract("header:Location", answer, jar) == "/next"
    assert extract(r'regex:value="(\w+)"', answer, jar) == "V9"
    assert extract(r"regex:id=\d+", answer, jar) == "id=42"  # no group: the whole match
    assert extract("cookie:sessionid", answer, jar) is None
    with pytest.raises(ValueError, match="cookie:NAME, header:NAME or regex:PATTERN"):
        extract("body:x", answer, jar)


def test_a_step_s_request_gets_the_values_extracted_before_it():
    step = FlowStep("2", "/login/", HttpRequest("POST", (("X-CSRFToken", "{csrf}"),),
                                                b'token={csrf}&json={"a": 1}&n={never}'))
    sent = step_request(step, {"csrf": "T1"}, ["csrf"])
    assert sent == HttpRequest("POST", (("X-CSRFToken", "T1"),), b'token=T1&json={"a": 1}&n={never}')


def test_a_flow_outcome_names_its_first_wrong_step():
    outcome = FlowOutcome((StepOutcome("1 GET /login/", 200, 0.01, None),
                           StepOutcome("2 POST /login/", 403, 0.01, "POST /login/ answered 403 (expected 302)")))
    assert outcome.problem == "flow step '2 POST /login/': POST /login/ answered 403 (expected 302)"


def _trial(counts, p50s):
    return {"steps": [{"name": "s{}".format(i), "count": c, "failed": i, "mean_ms": p, "p50_ms": p, "p90_ms": p,
                       "p99_ms": p, "max_ms": p} for i, (c, p) in enumerate(zip(counts, p50s))]}


def test_a_flow_record_keeps_each_step_summed_and_medianed_over_trials():
    summary = step_summary([_trial([10, 9], [1.0, 2.0]), _trial([20, 19], [3.0, 4.0]), _trial([30, 29], [5.0, 9.0])])
    assert summary[0] == {"name": "s0", "count": 60, "failed": 0, "mean_ms": 3.0, "p50_ms": 3.0, "p90_ms": 3.0,
                          "p99_ms": 3.0, "max_ms": 3.0}
    assert summary[1]["count"] == 57 and summary[1]["failed"] == 3 and summary[1]["p50_ms"] == 4.0
    assert step_summary([{"rps": 1.0}]) == []


def test_a_record_keeps_what_was_sent():
    long_body = HttpRequest("PUT", (), b"x" * 300)
    meta = sent_meta(Scenario("up", "/up", "", b"", check="status", request=long_body), [])
    assert meta == {"request": {"method": "PUT", "headers": [], "body_bytes": 300,
                                "body_sha256": hashlib.sha256(b"x" * 300).hexdigest()}}  # too long to keep
    assert sent_meta(ECHO, [])["request"]["body"] == '{"word": "hi"}'
    flow = Scenario("login", "/login/", "", b"", check="status", steps=(
        FlowStep("1 GET /login/", "/login/", extract=(("csrf", "cookie:csrftoken"),)),))
    kept = sent_meta(flow, [_trial([5], [1.5])])["flow"]
    assert kept["rate_unit"] == "flows/s" and kept["steps"][0]["extract"] == [["csrf", "cookie:csrftoken"]]
    assert kept["step_latency"][0]["p50_ms"] == 1.5
    json.dumps(kept)  # the record is JSON


def test_a_flow_with_a_fixed_rate_or_too_many_connections_is_refused_before_anything_starts():
    from benchmatrix.load.rates import parse_rates
    flow = Scenario("login", "/login/", "", b"", check="status", steps=(FlowStep("1", "/login/"),))
    with pytest.raises(ValueError, match="scenario login: flows are measured closed-loop only"):
        RunOptions(server="gunicorn", app="flask", scenarios=(flow,), rates=tuple(parse_rates("100")))
    with pytest.raises(ValueError, match="one wrk thread per connection, at most 1000"):
        RunOptions(server="gunicorn", app="flask", scenarios=(flow,), connections=2000)
    RunOptions(server="gunicorn", app="flask", scenarios=(flow,), connections=64)


def test_a_flow_is_checked_at_its_own_connections_and_each_sweep_level_before_anything_starts():
    flow = Scenario("login", "/login/", "", b"", check="status", steps=(FlowStep("1", "/login/"),),
                    connections=2000)  # benchmatrix.toml's `connections = 2000`, no --connections given
    with pytest.raises(ValueError) as raised:
        RunOptions(server="gunicorn", app="flask", scenarios=(flow,))
    assert str(raised.value) == "scenario login: a flow runs one wrk thread per connection, at most 1000; asked for 2000"
    assert RunOptions(server="gunicorn", app="flask", scenarios=(flow,), connections=50).connection_levels(flow) == (50,)
    with pytest.raises(ValueError, match="asked for 1001"):
        RunOptions(server="gunicorn", app="flask", scenarios=(flow,), sweep=(10, 1001))
    plain = Scenario("login", "/login/", "", b"", check="status", steps=(FlowStep("1", "/login/"),))
    assert RunOptions(server="gunicorn", app="flask", scenarios=(plain,)).connection_levels(plain) == (64,)
    # Only what is put under load is checked: a smoke run verifies the rest without loading it.
    RunOptions(server="gunicorn", app="flask", scenarios=(plain, flow), measure_first=1)


def test_a_flow_s_table_says_flows_per_second_and_lists_each_step():
    from benchmatrix.results.tables import render_scenario_table
    from tests.record_factory import make_record
    steps = [{"name": "1 GET /login/", "count": 12, "failed": 0, "mean_ms": 1.0, "p50_ms": 0.9, "p90_ms": 1.5,
              "p99_ms": 2.25, "max_ms": 3.0}]
    flow = make_record(scenario="login", meta={"flow": {"unit": "flow", "step_latency": steps}})
    text = render_scenario_table("login", [flow])
    assert text.startswith("### Scenario `login` (a flow)") and "flows/s" in text
    row = next(line for line in text.splitlines() if "1 GET /login/" in line)
    assert [cell.strip() for cell in row.strip("|").split("|")][4:] == [
        "1 GET /login/", "12", "0", "1.00", "0.90", "1.50", "2.25"]
    assert "(a flow)" not in render_scenario_table("json", [make_record()])
