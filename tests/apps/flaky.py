"""Serves the real endpoints but fails every fifth request, as an overloaded app might.

The first requests succeed, so verification passes and only the load shows the errors.
"""

import itertools
import json

_requests = itertools.count(1)


def app(environ, start_response):
    if next(_requests) % 5 == 0:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"busy"]
    if environ["PATH_INFO"] == "/json":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"message": "Hello, World!"}).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]
