"""benchmatrix.toml into typed apps and scenarios; each bad file's one error, naming its line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmatrix.matrix.scenarios import FlowStep, HttpRequest, Scenario
from benchmatrix.project_config.matrix import select_project_scenarios
from benchmatrix.project_config.model import ProjectApp
from benchmatrix.project_config.read import ConfigError, read_config
from tests.project.throwaway import CONFIG

APP = '[apps.shop]\nwsgi = "shop:create_app()"\n\n'


def config_of(tmp_path: Path, text: str):
    (tmp_path / "benchmatrix.toml").write_text(text, encoding="utf-8")
    return read_config(tmp_path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        config_of(tmp_path, text)
    return str(raised.value).replace(str(tmp_path), "DIR")


def test_the_readme_project_reads_into_its_app_and_two_scenarios(tmp_path):
    config = config_of(tmp_path, CONFIG)
    assert config.root == tmp_path.resolve()
    assert config.apps == (ProjectApp(name="shop", targets=(("wsgi", "shop:create_app()"),), install=("-e .",)),)
    assert config.scenarios == (
        Scenario("items", "/api/items", "application/json",
                 b'{"items": [{"id": 0, "name": "tea"}, {"id": 1, "name": "cake"}]}', is_json=True, check="json"),
        Scenario("echo", "/api/echo", "application/json", b'{"echo": "hi"}', is_json=True, check="json",
                 request=HttpRequest("POST", (("Content-Type", "application/json"),), b'{"word": "hi"}')))


def test_every_app_key_and_a_body_file(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "order.json").write_bytes(b'{"n": 1}')
    config = config_of(tmp_path, '[apps.api]\nasgi = "api.main:app"\nwsgi = "api.wsgi:application"\n'
                       'install = ["-e .[prod]", "uvicorn"]\nsetup = ["alembic upgrade head"]\n'
                       'env = { MODE = "bench" }\nservices = ["postgres"]\n\n'
                       '[scenarios.order]\nmethod = "put"\npath = "/orders"\nbody_file = "bench/order.json"\n'
                       'status = 201\ncontent_type = "text/plain"\nexpect_body = "created"\nconnections = 10\n'
                       'timeout = 30\n\n'
                       '[scenarios.home]\npath = "/"\ncontains = ["Welcome"]\napps = ["api"]\n')
    assert config.apps == (ProjectApp("api", (("wsgi", "api.wsgi:application"), ("asgi", "api.main:app")),
                                      ("-e .[prod]", "uvicorn"), ("alembic upgrade head",), (("MODE", "bench"),),
                                      ("postgres",)),)
    order, home = config.scenarios
    assert order == Scenario("order", "/orders", "text/plain", b"created", check="exact",
                             request=HttpRequest("PUT", (), b'{"n": 1}'), status=201, connections=10, timeout_s=30)
    assert home == Scenario("home", "/", "", b"", check="contains", contains=("Welcome",))
    assert config.scenarios_of("api") == (order, home)


def test_a_flow_becomes_steps_with_names_extractions_and_placeholders_kept(tmp_path):
    config = config_of(tmp_path, APP + '[scenarios.login_flow]\nflow = [\n'
                       '  { path = "/accounts/login/", contains = ["csrfmiddlewaretoken"], '
                       'extract = { csrf = "cookie:csrftoken" } },\n'
                       '  { name = "log in", method = "POST", path = "/accounts/login/", body = "t={csrf}", '
                       'status = 302 },\n'
                       '  { path = "/api/items?page=2", json_subset = { page = 2 } },\n]\n')
    (flow,) = config.scenarios
    assert flow.steps == (
        FlowStep("1 GET /accounts/login/", "/accounts/login/", check="contains", contains=("csrfmiddlewaretoken",),
                 extract=(("csrf", "cookie:csrftoken"),)),
        FlowStep("log in", "/accounts/login/", HttpRequest("POST", (), b"t={csrf}"), status=302),
        FlowStep("3 GET /api/items?page=2", "/api/items?page=2", content_type="application/json",
                 check="json-subset", body=b'{"page": 2}'))
    assert (flow.path, flow.check, flow.contains, flow.is_flow) == ("/accounts/login/", "contains",
                                                                    ("csrfmiddlewaretoken",), True)


@pytest.mark.parametrize("text, message", [
    (APP + '[scenarios.items]\npath = "/items"\njsn = { a = 1 }\n',
     "DIR/benchmatrix.toml, line 6: [scenarios.items] unknown key 'jsn'; a scenario takes: path, method, headers, "
     "body, body_file, status, content_type, json, json_subset, expect_body, contains, flow, apps, connections, "
     "timeout (see docs/own-app.md)"),
    (APP + '[scenarios.items]\npath = "/items"\nstatus = "200"\n',
     "DIR/benchmatrix.toml, line 6: [scenarios.items] 'status' must be an HTTP status (an integer from 100 to 599), "
     "not '200'; write it as an HTTP status (an integer from 100 to 599)"),
    (APP + '[scenarios.items]\npath = "/items"\nheaders = { Accept = 1 }\n',
     "DIR/benchmatrix.toml, line 6: [scenarios.items] 'headers' must be a table of strings, not {'Accept': 1}; "
     'write it as { NAME = "value" }'),
    (APP + '[scenarios.f]\nflow = [\n  { path = "/a" },\n  { path = "/b", stauts = 302 },\n]\n',
     "DIR/benchmatrix.toml, line 7: [scenarios.f flow step 2] unknown key 'stauts'; a flow step takes: name, path, "
     "method, headers, body, body_file, status, content_type, json, json_subset, expect_body, contains, extract "
     "(see docs/own-app.md)"),
    (APP + '[scenarios.f]\nflow = [ { path = "/a", extract = { t = "body:x" } } ]\n',
     "DIR/benchmatrix.toml, line 5: [scenarios.f flow step 1] 'extract' must be \"cookie:NAME\", \"header:NAME\" or "
     "\"regex:PATTERN\", not 'body:x'; write it as \"cookie:NAME\", \"header:NAME\" or \"regex:PATTERN\""),
    (APP + '[scenarios.items]\npath = "/items"\nconnections = 0\n',
     "DIR/benchmatrix.toml, line 6: [scenarios.items] 'connections' must be a positive integer, not 0; write it as a "
     "positive integer"),
    (APP + '[scenarios.items]\nmethod = "GET"\n',
     "DIR/benchmatrix.toml, line 4: [scenarios.items] 'path' is missing; write path = \"/your/endpoint\""),
    (APP + '[scenarios.items]\npath = "/items"\njson = [1]\ncontains = ["1"]\n',
     "DIR/benchmatrix.toml, line 7: [scenarios.items] both 'json' and 'contains'; keep one expectation per request"),
    (APP + '[scenarios.items]\npath = "/items"\nbody_file = "missing.json"\n',
     "DIR/benchmatrix.toml, line 6: [scenarios.items] cannot read body_file 'missing.json': No such file or "
     "directory; give a path relative to DIR"),
    ('[apps.shop]\nwsgi = "shop.create_app"\n\n[scenarios.items]\npath = "/items"\n',
     "DIR/benchmatrix.toml, line 2: [apps.shop] 'wsgi' must be \"module:attr\" or \"module:factory()\", not "
     "'shop.create_app'; write it as \"module:attr\" or \"module:factory()\""),
    ('[apps.shop]\ninstall = ["-e ."]\n\n[scenarios.items]\npath = "/items"\n',
     "DIR/benchmatrix.toml, line 1: [apps.shop] no entry point; add wsgi = \"module:attr\" or asgi = "
     "\"module:attr\" (\"module:factory()\" calls a factory)"),
    ('[apps.shop]\nwsgi = "shop:app"\nservices = ["redis"]\n\n[scenarios.items]\npath = "/items"\n',
     "DIR/benchmatrix.toml, line 3: [apps.shop] unknown service 'redis'; services are: postgres"),
    ('[apps.shop]\nwsgi = "shop:app"\ninstall = "-e ."\n\n[scenarios.items]\npath = "/items"\n',
     "DIR/benchmatrix.toml, line 3: [apps.shop] 'install' must be a list of strings, not '-e .'; write it as "
     '["...", "..."]'),
    (APP + '[scenarios.items]\npath = "/items"\n\n[servers.mine]\nrecipe = "x"\n',
     "DIR/benchmatrix.toml, line 7: unknown key 'servers'; the file's top level takes: apps, scenarios "
     "(see docs/own-app.md)"),
    (APP, "DIR/benchmatrix.toml, line 1: no [scenarios.NAME] table; declare at least one (see docs/own-app.md)"),
    (APP + '[scenarios."a b"]\npath = "/"\n',
     "DIR/benchmatrix.toml, line 4: [scenarios.a b] name 'a b' has characters a cell name cannot hold; use letters, "
     "digits, '_', '-' and '.' only"),
    (APP + '[scenarios.items]\npath = "/items\n',
     "DIR/benchmatrix.toml: not valid TOML: Illegal character '\\n' (at line 5, column 15); fix the syntax there"),
])
def test_each_bad_file_gives_one_error_naming_its_line(tmp_path, text, message):
    assert error_of(tmp_path, text) == message


def test_a_missing_file_says_where_to_write_one(tmp_path):
    with pytest.raises(ConfigError) as raised:
        read_config(tmp_path)
    assert str(raised.value) == "{}/benchmatrix.toml: not found; write one beside your noxfile (a complete " \
                                "example: docs/own-app.md)".format(tmp_path.resolve())


def test_scenarios_on_the_command_line_are_the_projects_own(tmp_path):
    config = config_of(tmp_path, CONFIG)
    assert [s.name for s in select_project_scenarios(config, "shop", "hello")] == ["items", "echo"]
    assert [s.name for s in select_project_scenarios(config, "shop", "all")] == ["items", "echo"]
    assert [s.name for s in select_project_scenarios(config, "shop", "echo,items")] == ["echo", "items"]
    with pytest.raises(ValueError) as raised:
        select_project_scenarios(config, "shop", "json")
    assert str(raised.value) == "app 'shop' of {}/benchmatrix.toml has no scenario 'json'; it has: items, echo".format(
        tmp_path.resolve())
