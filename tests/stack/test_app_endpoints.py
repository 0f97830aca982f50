"""The real-workload endpoints of the Flask and Django apps: real gunicorn, PostgreSQL and upstream stub."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import sys
import time
from pathlib import Path

import pytest

from benchmatrix.stack.postgres import AGENTS_QUERY, database, find_psql, run_psql
from benchmatrix.stack.process import HttpService, free_port
from benchmatrix.stack.upstream_stub import upstream_service

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = {"flask": "apps.flask.app:app", "django": "apps.django.benchsite.wsgi:application"}
POOL_SIZE = 3
STUB_DELAY_MS = 100  # long enough to tell ten concurrent calls (~0.1 s) from ten in a row (~1 s)
NUMBERS = [str(1000 + n) for n in range(1, 51)]
COLUMNS = ("number", "extension", "context", "state_interface", "status", "extension_status", "paused")


def expected_agents():
    return [{"number": number, "extension": None, "context": None, "state_interface": None,
             "status": "offline", "extension_status": "-1", "paused": "0"} for number in NUMBERS]


def expected_html():
    header = "".join("<th>{}</th>".format(column) for column in COLUMNS)
    rows = "".join("<tr><td>{}</td><td></td><td></td><td></td><td>offline</td><td>-1</td><td>0</td></tr>".format(n)
                   for n in NUMBERS)
    return ("<!DOCTYPE html><html><head><title>Agents</title></head><body><table><tr>{}</tr>{}"
            "</table></body></html>".format(header, rows))


def gunicorn(app: str, run_dir: Path, db_url: str, upstream_url: str) -> HttpService:
    port = free_port()
    return HttpService(
        name="gunicorn " + app,
        argv=[sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "configs" / "gunicorn.conf.py"),
              "-k", "sync", "-w", "1", "-b", "127.0.0.1:{}".format(port), APPS[app]],
        port=port, log_path=run_dir / "{}.log".format(app), ready_path="/json", cwd=REPO_ROOT,
        # application_name tells each app's connections apart in pg_stat_activity
        env={"BENCHMATRIX_DATABASE_URL": "{}?application_name={}".format(db_url, app),
             "BENCHMATRIX_UPSTREAM_URL": upstream_url, "BENCHMATRIX_POOL_SIZE": str(POOL_SIZE)})


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("endpoints")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(database(run_dir))
        stub = stack.enter_context(upstream_service(run_dir / "stub.log", delay_ms=STUB_DELAY_MS).running())
        servers = {app: stack.enter_context(gunicorn(app, run_dir, db.url, stub.base_url + "/").running())
                   for app in APPS}
        yield db, servers


@pytest.fixture(params=sorted(APPS))
def server(request, stack):
    return stack[1][request.param]


def get(service: HttpService, path: str):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        started = time.monotonic()
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
        elapsed = time.monotonic() - started
    finally:
        connection.close()
    assert answer.getheader("Content-Length") == str(len(body)), path
    return answer.status, answer.getheader("Content-Type"), body, elapsed


def get_json(service: HttpService, path: str, status: int = 200):
    answer_status, content_type, body, elapsed = get(service, path)
    assert (answer_status, content_type) == (status, "application/json"), body
    return json.loads(body.decode()), elapsed


def test_the_sync_apps_run_the_harness_query():
    from apps import workloads

    assert workloads.AGENTS_QUERY == AGENTS_QUERY


@pytest.mark.parametrize("path", ["/agents", "/agents_with_pool"])
def test_agents_are_the_50_rows_in_query_order(server, path):
    assert get_json(server, path)[0] == expected_agents()


@pytest.mark.parametrize("path", ["/agents", "/agents_with_pool"])
def test_both_apps_send_the_same_payload(stack, path):
    bodies = {app: get(service, path)[2] for app, service in stack[1].items()}
    assert bodies["flask"].rstrip(b"\n") == bodies["django"]  # Flask ends JSON with a newline


def test_template_renders_every_agent_with_empty_cells_for_nulls(server):
    status, content_type, body, _ = get(server, "/template")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert re.sub(r">\s+<", "><", body.decode()).strip() == expected_html()


def test_sleep_waits_in_the_handler(server):
    body, elapsed = get_json(server, "/sleep?ms=50")
    assert body == {"slept_ms": 50} and elapsed >= 0.05


@pytest.mark.parametrize("seconds, echoed", [("0.2", 0.2), ("0", 0)])
def test_db_sleep_waits_in_postgres(server, seconds, echoed):
    body, elapsed = get_json(server, "/db_sleep?s=" + seconds)
    assert body == {"db_slept_s": echoed} and type(body["db_slept_s"]) is type(echoed)
    assert elapsed >= echoed


def test_upstream_relays_the_stub_answer(server):
    body, elapsed = get_json(server, "/upstream")
    assert body == {"upstream": {"upstream": "ok", "delay_ms": STUB_DELAY_MS}}
    assert elapsed >= STUB_DELAY_MS / 1000


def test_upstream_fanout_makes_ten_concurrent_calls(server):
    body, elapsed = get_json(server, "/upstream_fanout")
    assert body == {"calls": 10, "ok": 10}
    assert elapsed < 5 * STUB_DELAY_MS / 1000, "the ten calls ran one after another"


@pytest.mark.parametrize("path", ["/sleep", "/sleep?ms=abc", "/sleep?ms=-5", "/db_sleep", "/db_sleep?s=x",
                                  "/db_sleep?s=1e3"])
def test_bad_parameters_are_a_json_400(server, path):
    body, _ = get_json(server, path, status=400)
    assert set(body) == {"error"}


def test_the_pool_keeps_its_connections_and_the_others_close(stack):
    db, servers = stack
    for service in servers.values():
        for path in ["/agents", "/agents_with_pool", "/template"] * 3 * POOL_SIZE:
            assert get(service, path)[0] == 200
    sql = ("SELECT application_name, count(*) FROM pg_stat_activity WHERE application_name IN ({}) "
           "GROUP BY 1 ORDER BY 1".format(", ".join("'{}'".format(app) for app in APPS)))
    expected = "".join("{}|{}\n".format(app, POOL_SIZE) for app in sorted(APPS))
    deadline = time.monotonic() + 5  # the backends of closed connections take a moment to exit
    while True:
        counts = run_psql(find_psql(), db.url, ["-c", sql], embedded=True)
        if counts == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counts == expected
