"""One real cell per new server recipe: granian (WSGI over nginx's unix socket, and RSGI), gunicorn's own
asgi worker, and gunicorn speaking the uwsgi protocol to nginx's uwsgi_pass. Each is run end to end by the
harness, and its record must say how the server ran: interface, loop, threads and the rule for them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

RESPONSE_FLAGS = ("non-2xx", "socket-errors", "timeouts", "no-successful-responses", "verification-failed")


def only_record(harness, server: str, app: str) -> dict:
    # The ceiling is not what these test: off, a noisy machine does not cost each test 10 s to measure it.
    result = harness.bench(server, app, "--scenarios", "json", "--workers", "1", "--ceiling", "off")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["rps"] > 0 and record["scenario"] == "json"
    assert not [f for f in record["flags"] if f["code"] in RESPONSE_FLAGS], record["flags"]
    return record


def option(command, name: str) -> str:
    return command[command.index(name) + 1]


def test_granian_serves_flask_through_wsgi_behind_nginx_on_a_unix_socket(harness):
    record = only_record(harness, "granian+nginx-unix", "flask")
    server = record["meta"]["server"]
    command = server["command"]
    assert option(command, "--interface") == "wsgi" and option(command, "--uds") == server["listens_on"][5:]
    assert option(command, "--http") == "1" and "--no-ws" in command and "--no-access-log" in command
    # One worker, granian's own defaults stated: on WSGI (backlog 1024 // 1) // 2 blocking threads, one
    # Rust runtime thread, and no event loop.
    assert (server["workers"], server["threads_per_worker"], server["io_threads_per_worker"]) == (1, 512, 1)
    assert option(command, "--blocking-threads") == "512" and option(command, "--runtime-threads") == "1"
    assert server["loop"] is None and "--loop" not in command and "granian's defaults" in server["threads_rule"]
    assert server["interface"] == "wsgi" and record["meta"]["front"]["topology"] == "nginx-unix"


def test_granian_serves_the_raw_rsgi_app_on_uvloop(harness):
    record = only_record(harness, "granian-rsgi", "raw")
    server = record["meta"]["server"]
    command = server["command"]
    assert option(command, "--interface") == "rsgi" and command[-1] == "apps.raw.rsgi:app"
    assert option(command, "--loop") == "uvloop" and server["loop"] == "uvloop"
    assert (server["threads_per_worker"], server["io_threads_per_worker"]) == (1, 1)  # the loop runs the app
    assert record["meta"]["packages"]["granian"]
    # The cell's interpreter says whether it is a free-threaded build and whether the GIL was on (3.13+).
    assert record["meta"]["python"]["free_threaded"] is False and record["meta"]["python"]["gil_enabled"] in (True, None)


def test_gunicorns_own_asgi_worker_states_its_loop(harness):
    record = only_record(harness, "gunicorn-asgi", "raw")
    server = record["meta"]["server"]
    assert option(server["command"], "--worker-class") == "asgi" and server["worker_class"] == "asgi"
    assert option(server["command"], "--asgi-loop") == "uvloop" and server["loop"] == "uvloop"
    assert server["interface"] == "asgi" and int(record["meta"]["packages"]["gunicorn"].split(".")[0]) >= 24


def test_gunicorn_speaks_the_uwsgi_protocol_to_nginx_uwsgi_pass(harness):
    record = only_record(harness, "gunicorn+nginx-uwsgi", "flask")
    server = record["meta"]["server"]
    assert option(server["command"], "--protocol") == "uwsgi" and server["protocol"] == "uwsgi"
    assert server["listens_on"].startswith("unix:") and record["meta"]["front"]["topology"] == "nginx-uwsgi"
    (trial,) = record["trials"]
    # nginx read every answer wrk got: gunicorn answered them over the uwsgi protocol, none over HTTP
    assert trial["requests"] <= trial["front_requests"] <= trial["requests"] + 64, trial
