"""The FastAPI, Starlette and Litestar apps on a real uvicorn, real PostgreSQL and upstream stub.

One test per app: the app of configs/matrix.json booted as the uvicorn recipe runs it (one
worker), then the scenarios at test speed through the harness's own check, the bodies that
must be byte for byte the other async apps', a 400, and the connections its lifespan's pool
keeps open. The I/O overlap of these apps is the harness's cooperative-I/O check's job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

import pytest

from tests.endpoint_checks import STUB_DELAY_MS, check_fanout_is_concurrent, get
from benchmatrix.matrix.cells import load_matrix
from benchmatrix.matrix.scenarios import SCENARIOS, agents_json
from benchmatrix.run.verify import check_response
from benchmatrix.stack.postgres import database, find_psql, run_psql
from benchmatrix.stack.process import HttpService, free_port
from benchmatrix.stack.upstream_stub import upstream_service

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = load_matrix().apps
FRAMEWORK_APPS = ("fastapi", "starlette", "litestar")
POOL_SIZE = 3

# The scenarios at test speed: the harness's paths and bodies assume 1 s waits.
FAST = {
    "sleep": ("/sleep?ms=50", {"slept_ms": 50}),
    "db_sleep": ("/db_sleep?s=0.1", {"db_slept_s": 0.1}),
    "upstream": ("/upstream", {"upstream": {"upstream": "ok", "delay_ms": STUB_DELAY_MS}}),
}
# Bodies every async app sends byte for byte (compact JSON), beyond what the checks compare.
EXACT = {
    "/agents": agents_json(),
    "/agents_with_pool": agents_json(),
    "/db_sleep?s=0": {"db_slept_s": 0},  # a whole number stays an integer
    "/db_sleep?s=0.5": {"db_slept_s": 0.5},
    "/sleep?ms=0": {"slept_ms": 0},
}


def rendered_template() -> bytes:
    """apps/templates/agents.html as Jinja2 renders it with autoescape on, as Flask and aiohttp-jinja2 do."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO_ROOT / "apps" / "templates")),
                                     autoescape=True)
    return environment.get_template("agents.html").render(agents=agents_json()).encode()


def fast_scenario(name):
    if name not in FAST:
        return SCENARIOS[name]
    path, body = FAST[name]
    return dataclasses.replace(SCENARIOS[name], path=path, body=json.dumps(body).encode())


def uvicorn(run_dir: Path, app: str, env: dict) -> HttpService:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            APPS[app].targets["asgi"]]
    return HttpService(name="uvicorn " + app, argv=argv, port=port, log_path=run_dir / (app + ".log"),
                       ready_path="/json", cwd=REPO_ROOT, env=dict(env, **APPS[app].environment))


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("asgi-apps")
    with database(run_dir) as db, upstream_service(run_dir / "stub.log", delay_ms=STUB_DELAY_MS).running() as stub:
        yield run_dir, db, stub


def app_connections(db, application_name: str) -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'".format(application_name)
    return int(run_psql(find_psql(), db.url, ["-c", sql], embedded=True).strip())


def test_the_framework_apps_are_asgi_apps_serving_every_scenario():
    for app in FRAMEWORK_APPS:
        assert set(APPS[app].targets) == {"asgi"} and APPS[app].scenarios == (), app


@pytest.mark.parametrize("app", FRAMEWORK_APPS)
def test_the_app_answers_every_scenario_right_and_keeps_only_its_pool_open(services, app):
    run_dir, db, stub = services
    application_name = app + "_tests"  # tells this app's connections apart in pg_stat_activity
    env = {"BENCHMATRIX_DATABASE_URL": "{}?application_name={}".format(db.url, application_name),
           "BENCHMATRIX_UPSTREAM_URL": stub.base_url + "/", "BENCHMATRIX_POOL_SIZE": str(POOL_SIZE)}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(uvicorn(run_dir, app, env).running())
        for name in sorted(SCENARIOS):
            scenario = fast_scenario(name)
            assert check_response(scenario, *get(server, scenario.path)) is None, name
        for path, value in EXACT.items():
            status, _, body = get(server, path)
            assert (status, body) == (200, json.dumps(value, separators=(",", ":")).encode()), path
        assert get(server, "/template") == (200, "text/html; charset=utf-8", rendered_template())
        status, content_type, body = get(server, "/sleep?ms=abc")
        assert (status, content_type, list(json.loads(body.decode()))) == (400, "application/json", ["error"])
        check_fanout_is_concurrent(server)
        # The lifespan opened the pool (POOL_SIZE connections); /agents and /db_sleep closed theirs.
        deadline = time.monotonic() + 3  # the backends of closed connections take a moment to exit
        while app_connections(db, application_name) != POOL_SIZE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app_connections(db, application_name) == POOL_SIZE
