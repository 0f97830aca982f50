"""The upstream stub as the harness runs it: a real process on 127.0.0.1, real HTTP clients."""

from __future__ import annotations

import http.client
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmatrix.stack.upstream_stub import upstream_service


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    service = upstream_service(tmp_path_factory.mktemp("stub") / "upstream.log", delay_ms=300)
    with service.running():
        yield service
    assert service.process.poll() is not None


def get(service, path: str, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        started = time.monotonic()
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, json.loads(body.decode()), time.monotonic() - started, answer
    finally:
        if own:
            connection.close()


def test_the_default_delay_applies_and_ms_overrides_it(stub):
    status, body, elapsed, answer = get(stub, "/")
    assert (status, body) == (200, {"upstream": "ok", "delay_ms": 300})
    assert 0.3 <= elapsed < 0.6
    assert int(answer.getheader("Content-Length")) > 0

    status, body, elapsed, _ = get(stub, "/some/path?ms=50")
    assert (status, body["delay_ms"]) == (200, 50)
    assert 0.05 <= elapsed < 0.25


def test_concurrent_requests_sleep_side_by_side(stub):
    with ThreadPoolExecutor(max_workers=20) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: get(stub, "/?ms=500"), range(20)))
        elapsed = time.monotonic() - started
    assert [status for status, *_ in results] == [200] * 20
    assert 0.5 <= elapsed < 1.2, "20 requests of 500 ms took {:.2f} s: they were served one by one".format(elapsed)


def test_over_a_hundred_connections_at_once(stub):
    # More than asyncio's default listen backlog of 100: without a larger one, a
    # dropped SYN would add a whole second to some of these.
    with ThreadPoolExecutor(max_workers=150) as pool:
        started = time.monotonic()
        statuses = [status for status, *_ in pool.map(lambda _: get(stub, "/?ms=300"), range(150))]
        elapsed = time.monotonic() - started
    assert statuses == [200] * 150
    assert elapsed < 1.2


def test_keep_alive_serves_several_requests_on_one_connection(stub):
    connection = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=10)
    try:
        get(stub, "/?ms=0", connection)
        first_socket = connection.sock
        status, body, _, answer = get(stub, "/?ms=10", connection)
        assert (status, body["delay_ms"]) == (200, 10)
        assert connection.sock is first_socket and answer.getheader("Connection") == "keep-alive"
    finally:
        connection.close()


def test_a_bad_delay_is_refused(stub):
    status, body, _, _ = get(stub, "/?ms=soon")
    assert status == 400 and "ms" in body["error"]


def test_stopping_it_leaves_no_process(tmp_path: Path):
    service = upstream_service(tmp_path / "upstream.log", delay_ms=1000)
    idle_client = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    with service.running():
        pid = service.process.pid
        get(service, "/?ms=0", idle_client)  # a keep-alive client still connected at stop time
        started = time.monotonic()
    idle_client.close()
    assert time.monotonic() - started < 2, "SIGTERM should end the stub at once"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
