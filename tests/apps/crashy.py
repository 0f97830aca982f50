"""Serves the real endpoints, but each worker process exits after 300 requests.

gunicorn's master replaces the worker, as it would after a crash or a leak guard:
the harness must notice that the processes it measured changed under load.
"""

import json
import os

_served = 0


def app(environ, start_response):
    global _served
    _served += 1
    if _served > 300:
        os._exit(1)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"message": "Hello, World!"}).encode()]
