"""Apps that answer correctly at first and wrongly once each worker has served some requests.

Verification before the load sees only correct answers, and wrk counts all of
these as successes (it only counts statuses of 400 and above as errors): only
checks made during and after the load can catch them. One app per way of
going wrong: a different body with status 200, a 302 redirect, a wrong
Content-Type. The counter is per worker process, as a leak or a cache would be.
"""

import itertools
import json

CORRECT_FOR = 200  # requests per worker answered correctly: enough for readiness and verification

_served = itertools.count(1)


def _correct(environ, start_response):
    if environ["PATH_INFO"] == "/json":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"message": "Hello, World!"}).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]


def changed_body(environ, start_response):
    if next(_served) <= CORRECT_FOR:
        return _correct(environ, start_response)
    start_response("200 OK", [("Content-Type", "application/json" if environ["PATH_INFO"] == "/json"
                                else "text/plain")])
    return [b'{"message": "Goodbye"}' if environ["PATH_INFO"] == "/json" else b"Goodbye, World"]


def redirect(environ, start_response):
    if next(_served) <= CORRECT_FOR:
        return _correct(environ, start_response)
    start_response("302 Found", [("Location", "/elsewhere"), ("Content-Type", "text/plain"),
                                 ("Content-Length", "0")])
    return [b""]


def wrong_content_type(environ, start_response):
    if next(_served) <= CORRECT_FOR:
        return _correct(environ, start_response)
    body = _correct(environ, lambda status, headers: None)
    start_response("200 OK", [("Content-Type", "text/html")])
    return body
