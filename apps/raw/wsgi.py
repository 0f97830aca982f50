"""A bare WSGI callable serving the benchmark endpoints (tools/benchmatrix/matrix/scenarios.py)."""

JSON_BODY = b'{"message": "Hello, World!"}'
TEXT_BODY = b"Hello, World!"

# Bodies and headers are built once so a request costs only a dict lookup.
ROUTES = {
    "/json": (JSON_BODY, "application/json"),
    "/plaintext": (TEXT_BODY, "text/plain"),
}
RESPONSES = {
    path: [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    for path, (body, content_type) in ROUTES.items()
}
NOT_FOUND = b"Not Found"
NOT_FOUND_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(NOT_FOUND)))]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    route = ROUTES.get(path)
    if route is None:
        start_response("404 Not Found", list(NOT_FOUND_HEADERS))
        return [NOT_FOUND]
    # A fresh list each time: servers may append their own headers to it.
    start_response("200 OK", list(RESPONSES[path]))
    return [route[0]]
