"""A bare RSGI app (granian's own interface) serving the benchmark endpoints, the same bodies as wsgi.py.

RSGI calls `app(scope, protocol)`: the scope carries the path, and the protocol object sends the whole
response in one call (response_bytes), headers as (name, value) string pairs.
"""

from apps.raw.wsgi import JSON_BODY, NOT_FOUND, TEXT_BODY

# Content-Length given by the app, as the WSGI and ASGI callables do, so no server falls back to chunked.
RESPONSES = {
    "/json": (200, [("content-type", "application/json"), ("content-length", str(len(JSON_BODY)))], JSON_BODY),
    "/plaintext": (200, [("content-type", "text/plain"), ("content-length", str(len(TEXT_BODY)))], TEXT_BODY),
}
MISSING = (404, [("content-type", "text/plain"), ("content-length", str(len(NOT_FOUND)))], NOT_FOUND)


async def app(scope, protocol):
    if scope.proto != "http":
        return  # websockets are not part of the benchmark (granian runs with --no-ws)
    status, headers, body = RESPONSES.get(scope.path, MISSING)
    protocol.response_bytes(status, headers, body)  # granian only reads the list
