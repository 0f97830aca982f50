"""What wrk is told to send beyond a GET (load/request_script.py), and what a flow's run printed
(load/flow_report.py on a saved real output, tests/fixtures/wrk/wrk_flow_login_c4.txt)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmatrix.load import fixed_rate
from benchmatrix.load.cross_check import H2load, h2load_argv, request_skip_reason, skip_reason
from benchmatrix.load.flow_report import FlowReport, flow_result, parse_flow_report
from benchmatrix.load.parse import WrkOutputError, parse_wrk_report
from benchmatrix.load.request_script import (UnsupportedUnderWrk, fill, flow_prelude, lua_pattern, lua_string,
                                             request_prelude, template)
from benchmatrix.load.results import FLOW
from benchmatrix.load.wrk import (FLOWS_CLOSED_LOOP_ONLY, REPORT_SCRIPT, FixedRateDriver, LoadSettings,
                                  fixed_rate_command, load_script, run_fixed_rate, wrk_argv)
from benchmatrix.matrix.scenarios import GET, FlowStep, HttpRequest
from tests.conftest import FIXTURES

POST = HttpRequest("POST", (("Content-Type", "application/json"),), b'{"word": "hi"}')
LOGIN = (
    FlowStep("1 GET /login/", "/login/", extract=(("csrf", "cookie:csrftoken"),)),
    FlowStep("2 POST /login/", "/login/", HttpRequest("POST", (("X-Token", "t={csrf}"),), b"a={csrf}&b={other}"),
             status=302),
)
FLOW_OUTPUT = (FIXTURES / "wrk" / "wrk_flow_login_c4.txt").read_text(encoding="utf-8")


def test_lua_strings_hold_any_byte():
    assert lua_string(b'a"b\\c\n\xff') == '"a\\034b\\092c\\010\\255"'


def test_a_request_prelude_sets_wrk_s_request_then_runs_the_report():
    text = request_prelude(POST, Path("/x/wrk_report.lua"))
    assert text.splitlines()[1:] == [
        'wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
        'wrk.body = "{\\034word\\034: \\034hi\\034}"', 'dofile("/x/wrk_report.lua")']


def test_a_plain_get_runs_the_report_script_itself_and_anything_else_a_prelude(tmp_path):
    assert load_script(tmp_path / "json.trial-1.txt", REPORT_SCRIPT, GET) == REPORT_SCRIPT
    written = load_script(tmp_path / "echo.trial-1.txt", REPORT_SCRIPT, POST)
    assert written == tmp_path / "echo.trial-1.request.lua" and 'wrk.method = "POST"' in written.read_text()


def test_templates_replace_only_variables_extracted_before():
    pieces = template('{"a": 1} id={csrf} {later}', ["csrf"])
    assert pieces == ((False, '{"a": 1} id='), (True, "csrf"), (False, " {later}"))
    assert fill(pieces, {"csrf": "T0K"}) == '{"a": 1} id=T0K {later}'
    assert template("", ["csrf"]) == ((False, ""),)


def test_a_flow_prelude_declares_each_step_with_its_templates():
    text = flow_prelude(LOGIN, Path("/x/wrk_report.lua"), Path("/x/flow.lua"))
    assert '{name = "1 GET /login/", method = "GET", path = "/login/", status = 200, headers = {}, body = nil, ' \
           'extract = {{"csrf", "cookie", "csrftoken"}}},' in text
    # {other} was never extracted: it stays literal text, as the probe sends it
    assert 'headers = {{"X-Token", {{false, "t="}, {true, "csrf"}}}}, body = {{false, "a="}, {true, "csrf"}, ' \
           '{false, "&b={other}"}}' in text
    assert text.endswith('BENCHMATRIX_REPORT_SCRIPT = "/x/wrk_report.lua"\ndofile("/x/flow.lua")\n')


@pytest.mark.parametrize("regex, pattern", [
    (r'name="csrfmiddlewaretoken" value="(\w+)"', 'name="csrfmiddlewaretoken" value="([%w_]+)"'),
    (r"id=(\d+)", "id=(%d+)"),
    (r"token: ([^\s<]+)", "token: ([^%s<]+)"),
    (r"a.b\.c(.*?)$", "a.b%.c(.-)$"),
    (r"[A-Za-z0-9_-]+", "[A-Za-z0-9_%-]+"),
    (r"x-y%", "x%-y%%"),
])
def test_the_common_regexes_become_lua_patterns(regex, pattern):
    assert lua_pattern(regex) == pattern


@pytest.mark.parametrize("regex", [r"(a|b)", r"(a)(b)", r"a{2}", r"(ab)+", r"\bword", r"(?P<x>a)", r"a+?"])
def test_what_lua_cannot_match_is_refused_before_load(regex):
    with pytest.raises(UnsupportedUnderWrk, match="cannot run under wrk"):
        lua_pattern(regex)
    with pytest.raises(UnsupportedUnderWrk):
        flow_prelude((FlowStep("1", "/", extract=(("x", "regex:" + regex),)),), REPORT_SCRIPT)


def test_translated_patterns_match_in_wrk_s_own_lua(tmp_path):
    """wrk runs its script before it connects anywhere: a script that prints and exits is a LuaJIT shell."""
    import shutil
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed")
    cases = [(r'value="(\w+)"', '<input value="ab_9">', "ab_9"), (r"id=(\d+)", "x id=42;", "42"),
             (r"tok: ([^\s<]+)", "tok: A-b.c<br>", "A-b.c"), (r"<b>(.*?)</b>", "<b>1</b><b>2</b>", "1")]
    lines = ["io.write(tostring(({} ):match({})), '\\n')".format(lua_string(text.encode()),
                                                               lua_string(lua_pattern(regex).encode()))
             for regex, text, _ in cases]
    script = tmp_path / "patterns.lua"
    script.write_text("\n".join(lines) + "\nos.exit(0)\n")
    out = subprocess.run([wrk, "-s", str(script), "http://127.0.0.1:9/"], stdout=subprocess.PIPE, timeout=10)
    assert out.stdout.decode().splitlines() == [expected for _, _, expected in cases]


def test_a_flow_s_report_parses_from_a_real_run():
    report = parse_flow_report(FLOW_OUTPUT)
    assert isinstance(report, FlowReport) and report.threads == 4 and report.started == 936
    flow = report.flow.step
    assert (flow.name, flow.count, flow.failed) == ("flow", 933, 0)
    assert [s.step.name for s in report.steps] == ["1 GET /login/", "2 POST /login/", "3 GET /api/items?page=1",
                                                   "4 GET /api/items?page=2"]
    assert [s.step.count for s in report.steps] == [936, 934, 933, 933]
    # every pass that finished answered all four steps, and a step's latency is part of its flow's
    assert all(s.step.p50_ms < flow.p50_ms for s in report.steps)
    assert flow.mean_ms == pytest.approx(4.70581) and report.flow.p999_ms == pytest.approx(15.7942)


def test_a_flow_result_counts_flows_per_second():
    requests = parse_wrk_report(FLOW_OUTPUT)
    result = flow_result(requests, parse_flow_report(FLOW_OUTPUT))
    assert requests.requests == 3736  # wrk's own count: every step of every flow
    assert result.unit == FLOW and result.requests == 933 and result.non2xx == 0
    assert result.rps == pytest.approx(933 / requests.elapsed_s)
    assert result.latency.p50_ms == pytest.approx(4.04685) and result.wrk_latency is None
    assert sum(count for _, count in result.histogram_us) == 933
    assert [step.count for step in result.steps] == [936, 934, 933, 933]


def test_an_output_without_a_flow_line_is_an_error_naming_it():
    with pytest.raises(WrkOutputError, match="no 'BENCHMATRIX_FLOW_JSON' line"):
        parse_flow_report(FLOW_OUTPUT.replace("BENCHMATRIX_FLOW_JSON", "X"))


def test_wrk_runs_a_flow_with_a_thread_per_connection():
    settings = LoadSettings(threads=2, connections=6, duration_s=1, timeout_s=2)
    argv = wrk_argv("wrk", settings, "http://h/", Path("/p.lua"), thread_per_connection=True)
    assert argv[argv.index("--threads") + 1] == "6" and argv[argv.index("--script") + 1] == "/p.lua"


def test_the_fixed_rate_drivers_take_the_prelude():
    settings = LoadSettings(threads=2, connections=4, duration_s=2, timeout_s=2)
    builtin = fixed_rate_command(FixedRateDriver(fixed_rate.DRIVER, "wrk"), 100, settings, "http://h/",
                                 Path("/raw/echo.request.lua"))
    assert "/raw/echo.request.lua" in builtin and str(fixed_rate.SCRIPT) not in builtin
    wrk2 = fixed_rate_command(FixedRateDriver("wrk2", "wrk2"), 100, settings, "http://h/", Path("/p.lua"))
    assert wrk2[-3:] == ["--script", "/p.lua", "http://h/"]


def test_a_fixed_rate_prelude_runs_fixed_rate_lua(tmp_path):
    from benchmatrix.load.wrk import fixed_rate_script
    path = fixed_rate_script(FixedRateDriver(fixed_rate.DRIVER, "wrk"), tmp_path / "t.txt", POST)
    assert path.read_text().endswith('dofile({})\n'.format(lua_string(str(fixed_rate.SCRIPT).encode())))
    assert fixed_rate_script(FixedRateDriver(fixed_rate.DRIVER, "wrk"), tmp_path / "t.txt", GET) is None


def test_a_flow_at_a_fixed_rate_is_refused(tmp_path):
    with pytest.raises(UnsupportedUnderWrk, match="closed-loop only"):
        run_fixed_rate(FixedRateDriver(fixed_rate.DRIVER, "wrk"), 10, LoadSettings(1, 1, 1, 1), "http://h/",
                       tmp_path / "x.txt", steps=LOGIN)
    assert "closed-loop only" in FLOWS_CLOSED_LOOP_ONLY


def test_h2load_sends_the_headers_and_the_body_from_a_file():
    argv = h2load_argv("h2load", LoadSettings(2, 4, 3, 2), "http://h/api/echo", POST, Path("/raw/x.body"))
    assert argv[argv.index("-D") + 2:] == ["-H", "Content-Type: application/json", "-d", "/raw/x.body",
                                           "http://h/api/echo"]


@pytest.mark.parametrize("request_, method", [
    (HttpRequest("PUT", (), b"x"), ["-H", ":method: PUT"]), (HttpRequest("GET", (), b"x"), ["-H", ":method: GET"]),
    (HttpRequest("POST"), ["-H", ":method: POST"]), (HttpRequest("DELETE"), ["-H", ":method: DELETE"]),
    (GET, []), (HttpRequest("POST", (), b"x"), []),
])
def test_h2load_sets_any_method_that_its_data_flag_does_not_imply(request_, method):
    argv = h2load_argv("h2load", LoadSettings(2, 4, 3, 2), "http://h/", request_, Path("/raw/x.body"))
    assert argv[argv.index("-D") + 2:] == method + (["-d", "/raw/x.body"] if request_.body else []) + ["http://h/"]


def test_a_flow_is_not_cross_checked_and_the_record_says_why():
    assert request_skip_reason(POST) is None
    found = skip_reason(H2load("h2load", "1.64.0"), LoadSettings(2, 4, 3, 2), False, GET, LOGIN)
    assert found == request_skip_reason(GET, LOGIN) and "cannot run a flow" in found


def test_an_ssh_load_host_cannot_run_a_prelude_and_the_record_says_why(tmp_path):
    from benchmatrix.load.wrk import REMOTE_COMMAND, refuse_remote_prelude, run_wrk
    prefix = ["python", "-m", REMOTE_COMMAND, "--", "ssh", "--"]
    refuse_remote_prelude(prefix, GET, ())  # a plain GET runs there as before
    with pytest.raises(WrkOutputError, match="--hosts local or netns"):
        run_wrk("wrk", LoadSettings(1, 1, 1, 1), "http://h/", tmp_path / "x.txt", prefix=prefix, request=POST)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written
