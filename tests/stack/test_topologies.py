"""One real cell per topology: direct, nginx over TCP, nginx over a unix socket, nginx uwsgi_pass.

Plus the server families beyond WSGI (ASGI under uvicorn, aiohttp's gunicorn
worker), each run end to end by the harness with real nginx and real wrk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

RESPONSE_FLAGS = ("non-2xx", "socket-errors", "timeouts", "no-successful-responses", "verification-failed")


@pytest.mark.parametrize("server, app, topology", [
    ("gunicorn", "raw", None),
    ("gunicorn+nginx", "flask", "nginx"),
    ("gunicorn+nginx-unix", "django", "nginx-unix"),
    ("uwsgi+nginx-uwsgi", "flask", "nginx-uwsgi"),
    ("uvicorn", "raw", None),
    ("hypercorn", "django", None),  # Django's ASGI app, and hypercorn's recipe (uvicorn's is above)
    ("gunicorn-aiohttp", "aiohttp", None),
    ("aiohttp", "aiohttp", None),  # aiohttp's own server, one process
])
def test_each_topology_serves_verified_answers_under_load(harness, server, app, topology):
    # One scenario is enough to load each topology; that a cell loads every scenario it is given
    # is test_end_to_end.py's.
    result = harness.bench(server, app, "--scenarios", "json")
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [r["scenario"] for r in records] == ["json"]
    for record in records:
        assert record["rps"] > 0
        assert not [f for f in record["flags"] if f["code"] in RESPONSE_FLAGS], record["flags"]
        front = record["meta"]["front"]
        if topology is None:
            assert front is None
        else:
            assert front["topology"] == topology and front["version"]
            assert Path(front["config"]).is_file()  # the exact nginx.conf stays with the raw output
            # wrk hits nginx; the app server listens elsewhere, where only nginx reaches it
            assert record["meta"]["server"]["listens_on"] not in record["meta"]["load_command"][-1]
            # nginx's own count of the requests it read holds wrk's answers (and a few more in flight)
            (trial,) = record["trials"]
            assert trial["requests"] <= trial["front_requests"] <= trial["requests"] + 64, trial
            # and its CPU is part of what each request cost the stack
            assert trial["resources"]["support_cpu_s"]["nginx"] > 0
            assert record["resources"]["stack_cpu_ms_per_request"] > record["resources"]["server_cpu_ms_per_request"]
    listens_on = records[0]["meta"]["server"]["listens_on"]
    if listens_on.startswith("unix:"):
        assert not Path(listens_on[len("unix:"):]).parent.exists(), "the unix socket folder was left behind"
    if topology == "nginx-uwsgi":  # nginx talks uWSGI's binary protocol to its socket, not HTTP
        command = records[0]["meta"]["server"]["command"]
        assert "--socket" in command and "--http-socket" not in command
        assert records[0]["meta"]["server"]["protocol"] == "uwsgi"
