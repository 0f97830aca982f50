"""Requests and checks that the endpoint tests of every app share (real servers, real answers)."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

from benchmatrix.stack.process import HttpService

STUB_DELAY_MS = 100  # ten concurrent calls take ~0.1 s, ten in a row ~1 s
# (path, seconds ten requests take one after another): the waits an async worker must overlap.
OVERLAPPING_WAITS = [("/db_sleep?s=0.3", 3.0), ("/sleep?ms=300", 3.0), ("/upstream", 10 * STUB_DELAY_MS / 1000)]


def get(service: HttpService, path: str):
    """(status, Content-Type, body) of one GET on a new connection; the body's length must be declared."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.getheader("Content-Length") == str(len(body)), path
    return answer.status, answer.getheader("Content-Type", ""), body


def ten_at_once(service: HttpService, path: str):
    """The statuses of ten concurrent requests and the seconds until the last answered."""
    started = time.monotonic()
    with ThreadPoolExecutor(10) as executor:
        statuses = [answer[0] for answer in executor.map(lambda _: get(service, path), range(10))]
    return statuses, time.monotonic() - started


def check_ten_waits_overlap(service: HttpService, path: str, serial_s: float) -> None:
    statuses, elapsed = ten_at_once(service, path)
    assert statuses == [200] * 10
    assert elapsed < serial_s / 2, "took {:.2f} s: the waits ran one after another".format(elapsed)


def check_fanout_is_concurrent(service: HttpService) -> None:
    started = time.monotonic()
    status, _, body = get(service, "/upstream_fanout")
    elapsed = time.monotonic() - started
    assert (status, json.loads(body.decode())) == (200, {"calls": 10, "ok": 10})
    assert elapsed < 5 * STUB_DELAY_MS / 1000, "took {:.2f} s: the calls ran one after another".format(elapsed)
