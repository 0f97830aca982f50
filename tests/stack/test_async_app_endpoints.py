"""The aiohttp app's real-workload endpoints: real gunicorn (aiohttp's worker), PostgreSQL and upstream stub.

One worker serves every request, so the timing tests show that a handler waiting
on the database, a sleep or the upstream lets the worker serve others meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.endpoint_checks import (OVERLAPPING_WAITS, STUB_DELAY_MS, check_fanout_is_concurrent,
                                   check_ten_waits_overlap, get)
from benchmatrix.stack.postgres import AGENTS_QUERY, database, find_psql, run_psql
from benchmatrix.matrix.scenarios import AGENT_COLUMNS, SCENARIOS, agents_json
from benchmatrix.stack.process import HttpService, free_port
from benchmatrix.stack.upstream_stub import upstream_service
from benchmatrix.run.verify import check_response

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

REPO_ROOT = Path(__file__).resolve().parents[2]
POOL_SIZE = 3
APPLICATION_NAME = "aiohttp_tests"  # tells the app's connections apart in pg_stat_activity
SETTINGS = ("BENCHMATRIX_DATABASE_URL", "BENCHMATRIX_UPSTREAM_URL", "BENCHMATRIX_POOL_SIZE")

# The scenarios at test speed: the harness's paths and bodies assume 1 s waits.
FAST = {
    "sleep": ("/sleep?ms=50", {"slept_ms": 50}),
    "db_sleep": ("/db_sleep?s=0.1", {"db_slept_s": 0.1}),
    "upstream": ("/upstream", {"upstream": {"upstream": "ok", "delay_ms": STUB_DELAY_MS}}),
}


def fast_scenario(name):
    if name not in FAST:
        return SCENARIOS[name]
    path, body = FAST[name]
    return dataclasses.replace(SCENARIOS[name], path=path, body=json.dumps(body).encode())


def gunicorn(run_dir: Path, name: str, target: str, env: dict) -> HttpService:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "configs" / "gunicorn.conf.py"),
            "-k", "aiohttp.GunicornWebWorker", "-w", "1", "-b", "127.0.0.1:{}".format(port),
            target]
    return HttpService(name="gunicorn aiohttp " + name, argv=argv, port=port, log_path=run_dir / (name + ".log"),
                       ready_path="/json", cwd=REPO_ROOT, env=env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("async-endpoints")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(database(run_dir))
        stub = stack.enter_context(upstream_service(run_dir / "stub.log", delay_ms=STUB_DELAY_MS).running())
        env = {"BENCHMATRIX_DATABASE_URL": "{}?application_name={}".format(db.url, APPLICATION_NAME),
               "BENCHMATRIX_UPSTREAM_URL": stub.base_url + "/", "BENCHMATRIX_POOL_SIZE": str(POOL_SIZE)}
        # The factory, as the harness runs it; the last test serves the module-level app.
        yield db, stack.enter_context(gunicorn(run_dir, "app", "apps.aiohttp.app:create_app", env).running())


@pytest.fixture
def server(stack):
    return stack[1]


def test_the_app_runs_the_harness_query():
    from apps.aiohttp import app

    assert app.AGENTS_QUERY == AGENTS_QUERY


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_passes_verification(server, name):
    scenario = fast_scenario(name)
    assert check_response(scenario, *get(server, scenario.path)) is None


@pytest.mark.parametrize("path", ["/agents", "/agents_with_pool"])
def test_agents_body_is_the_sync_apps_compact_json_in_column_order(server, path):
    # Byte for byte what Django sends (Flask adds a final newline): load tools compare sizes.
    assert get(server, path)[2] == json.dumps(agents_json(), separators=(",", ":")).encode()


def test_template_renders_every_agent_with_empty_cells_for_nulls(server):
    header = "".join("<th>{}</th>".format(column) for column in AGENT_COLUMNS)
    rows = "".join("<tr><td>{number}</td><td></td><td></td><td></td><td>offline</td><td>-1</td><td>0</td></tr>"
                   .format(**agent) for agent in agents_json())
    expected = ("<!DOCTYPE html><html><head><title>Agents</title></head><body><table><tr>{}</tr>{}"
                "</table></body></html>".format(header, rows))
    status, content_type, body = get(server, "/template")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert re.sub(r">\s+<", "><", body.decode()).strip() == expected


@pytest.mark.parametrize("path, echoed", [("/db_sleep?s=0", {"db_slept_s": 0}), ("/sleep?ms=0", {"slept_ms": 0})])
def test_whole_numbers_are_echoed_as_integers(server, path, echoed):
    assert get(server, path)[2] == json.dumps(echoed, separators=(",", ":")).encode()


@pytest.mark.parametrize("path", ["/sleep", "/sleep?ms=abc", "/sleep?ms=-5", "/db_sleep", "/db_sleep?s=x",
                                  "/db_sleep?s=1e3"])
def test_bad_parameters_are_a_json_400(server, path):
    status, content_type, body = get(server, path)
    assert (status, content_type) == (400, "application/json")
    assert set(json.loads(body.decode())) == {"error"}


@pytest.mark.parametrize("path, serial_s", OVERLAPPING_WAITS)
def test_one_worker_waits_for_ten_requests_at_once(server, path, serial_s):
    check_ten_waits_overlap(server, path, serial_s)


def test_upstream_fanout_makes_its_ten_calls_concurrently(server):
    check_fanout_is_concurrent(server)


def test_the_pool_waits_when_exhausted_and_only_its_connections_stay_open(stack):
    db, server = stack
    # More requests at once than pooled connections: the surplus queue for one instead of failing.
    with ThreadPoolExecutor(4 * POOL_SIZE) as executor:
        paths = ["/agents_with_pool", "/template", "/agents", "/db_sleep?s=0"] * 3 * POOL_SIZE
        assert {answer[0] for answer in executor.map(lambda path: get(server, path), paths)} == {200}
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'".format(APPLICATION_NAME)
    deadline = time.monotonic() + 5  # the backends of closed connections take a moment to exit
    while True:
        count = run_psql(find_psql(), db.url, ["-c", sql], embedded=True).strip()
        if count == str(POOL_SIZE) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert count == str(POOL_SIZE)


def test_hello_endpoints_need_no_settings(tmp_path, monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)  # HttpService passes the test's environment on
    with gunicorn(tmp_path, "bare", "apps.aiohttp.app:app", {}).running() as bare:
        for name in ("json", "plaintext"):
            assert check_response(SCENARIOS[name], *get(bare, SCENARIOS[name].path)) is None
        assert get(bare, "/agents")[0] == 500
    assert "BENCHMATRIX_DATABASE_URL is not set" in (tmp_path / "bare.log").read_text()
