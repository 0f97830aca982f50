"""The django-async app on a real ASGI server (uvicorn), real PostgreSQL and upstream stub.

Each endpoint is compared with the sync Django app served by the same uvicorn, byte
for byte: the async variant exists for a sync/async comparison of one cell, which
means nothing unless both send the same answers. One worker serves every request,
so the timing tests show that each wait lets the worker serve others meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.endpoint_checks import (OVERLAPPING_WAITS, STUB_DELAY_MS, check_fanout_is_concurrent,
                                   check_ten_waits_overlap, get)
from benchmatrix.matrix.cells import load_matrix
from benchmatrix.matrix.scenarios import SCENARIOS, agents_json
from benchmatrix.run.verify import check_response
from benchmatrix.stack.postgres import database, find_psql, run_psql
from benchmatrix.stack.process import HttpService, free_port
from benchmatrix.stack.upstream_stub import upstream_service

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = load_matrix().apps
POOL_SIZE = 3
# application_name tells each app's connections apart in pg_stat_activity.
APPLICATION_NAMES = {"django": "django_sync_tests", "django-async": "django_async_tests"}
APPLICATION_NAME = APPLICATION_NAMES["django-async"]
SETTINGS = ("BENCHMATRIX_DATABASE_URL", "BENCHMATRIX_UPSTREAM_URL", "BENCHMATRIX_POOL_SIZE")

# The I/O scenarios at test speed: the harness's paths and bodies assume 1 s waits.
FAST = {
    "sleep": ("/sleep?ms=50", {"slept_ms": 50}),
    "db_sleep": ("/db_sleep?s=0.1", {"db_slept_s": 0.1}),
    "upstream": ("/upstream", {"upstream": {"upstream": "ok", "delay_ms": STUB_DELAY_MS}}),
}
# Answers that are not a scenario's but must match too: whole numbers, and the 400s.
OTHER_PATHS = ["/sleep?ms=0", "/db_sleep?s=0", "/sleep", "/sleep?ms=abc", "/sleep?ms=-5", "/db_sleep",
               "/db_sleep?s=x", "/db_sleep?s=1e3"]


def fast_scenario(name):
    if name not in FAST:
        return SCENARIOS[name]
    path, body = FAST[name]
    return dataclasses.replace(SCENARIOS[name], path=path, body=json.dumps(body).encode())


def served_scenarios():
    """What configs/matrix.json says django-async serves (no list: every scenario)."""
    return sorted(APPS["django-async"].scenarios or SCENARIOS)


def uvicorn(run_dir: Path, name: str, app: str, env: dict) -> HttpService:
    """The app of configs/matrix.json on one uvicorn process, as the harness's recipe runs it."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            APPS[app].targets["asgi"]]
    return HttpService(name="uvicorn " + name, argv=argv, port=port, log_path=run_dir / (name + ".log"),
                       ready_path="/json", cwd=REPO_ROOT, env=dict(env, **APPS[app].environment))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("django-async-endpoints")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(database(run_dir))
        stub = stack.enter_context(upstream_service(run_dir / "stub.log", delay_ms=STUB_DELAY_MS).running())
        env = {"BENCHMATRIX_UPSTREAM_URL": stub.base_url + "/", "BENCHMATRIX_POOL_SIZE": str(POOL_SIZE)}
        servers = {}
        for app, application_name in APPLICATION_NAMES.items():
            url = "{}?application_name={}".format(db.url, application_name)
            service = uvicorn(run_dir, app, app, dict(env, BENCHMATRIX_DATABASE_URL=url))
            servers[app] = stack.enter_context(service.running())
        yield db, servers


@pytest.fixture
def server(stack):
    return stack[1]["django-async"]


def app_connections(db) -> str:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'".format(APPLICATION_NAME)
    return run_psql(find_psql(), db.url, ["-c", sql], embedded=True).strip()


def test_the_variant_serves_only_asgi_and_every_scenario():
    assert set(APPS["django-async"].targets) == {"asgi"}
    assert served_scenarios() == sorted(SCENARIOS)


@pytest.mark.parametrize("name", served_scenarios())
def test_every_scenario_passes_verification(server, name):
    scenario = fast_scenario(name)
    assert check_response(scenario, *get(server, scenario.path)) is None


@pytest.mark.parametrize("path", [fast_scenario(name).path for name in served_scenarios()] + OTHER_PATHS)
def test_every_answer_is_the_sync_apps_byte_for_byte(stack, path):
    sync, async_ = (get(stack[1][app], path) for app in ("django", "django-async"))
    assert async_ == sync


@pytest.mark.parametrize("path", ["/agents", "/agents_with_pool"])
def test_agents_are_the_50_rows_as_the_sync_apps_compact_json(server, path):
    assert get(server, path)[2] == json.dumps(agents_json(), separators=(",", ":")).encode()


@pytest.mark.parametrize("path, serial_s", OVERLAPPING_WAITS)
def test_one_worker_waits_for_ten_requests_at_once(server, path, serial_s):
    check_ten_waits_overlap(server, path, serial_s)


def test_upstream_fanout_makes_its_ten_calls_concurrently(server):
    check_fanout_is_concurrent(server)


def test_the_pool_waits_when_exhausted_and_only_its_connections_stay_open(stack):
    db, servers = stack
    # More requests at once than pooled connections: the surplus queue for one instead of failing,
    # and /agents and /db_sleep close the connection each opened.
    with ThreadPoolExecutor(4 * POOL_SIZE) as executor:
        paths = ["/agents_with_pool", "/template", "/agents", "/db_sleep?s=0"] * 3 * POOL_SIZE
        statuses = {answer[0] for answer in executor.map(lambda path: get(servers["django-async"], path), paths)}
    assert statuses == {200}
    deadline = time.monotonic() + 5  # the backends of closed connections take a moment to exit
    while app_connections(db) != str(POOL_SIZE) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app_connections(db) == str(POOL_SIZE)


def test_a_new_connection_per_request_is_closed_when_the_request_ends(stack):
    db, servers = stack
    before = int(app_connections(db))  # the pool's, if an earlier test opened them
    for _ in range(5):
        assert get(servers["django-async"], "/agents")[0] == 200
    deadline = time.monotonic() + 5
    while int(app_connections(db)) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert int(app_connections(db)) == before


def test_the_database_url_becomes_django_settings_through_libpq():
    from apps.django.benchsite.settings_async import database_aliases

    aliases = database_aliases("postgresql://bench@/benchmatrix?host=/tmp/pg&port=5433&application_name=x")
    assert aliases["default"] == {"ENGINE": "django.db.backends.postgresql", "NAME": "benchmatrix", "USER": "bench",
                                  "HOST": "/tmp/pg", "PORT": "5433",
                                  "OPTIONS": {"application_name": "x", "options": "-c TimeZone=UTC"},
                                  "CONN_MAX_AGE": 0}
    assert aliases["pooled"]["CONN_MAX_AGE"] is None  # persistent: the pool's threads keep theirs


def test_hello_endpoints_need_no_settings(tmp_path, monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)  # HttpService passes the test's environment on
    with uvicorn(tmp_path, "bare", "django-async", {}).running() as bare:
        for name in ("json", "plaintext"):
            assert check_response(SCENARIOS[name], *get(bare, SCENARIOS[name].path)) is None
        assert get(bare, "/agents")[0] == 500
    assert "BENCHMATRIX_DATABASE_URL is not set" in (tmp_path / "bare.log").read_text()
