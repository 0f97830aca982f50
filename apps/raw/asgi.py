"""A bare ASGI 3 callable serving the benchmark endpoints (tools/benchmatrix/matrix/scenarios.py)."""

JSON_BODY = b'{"message": "Hello, World!"}'
TEXT_BODY = b"Hello, World!"
NOT_FOUND = b"Not Found"


def _start(status, body, content_type):
    return {
        "type": "http.response.start",
        "status": status,
        # Content-Length up front, so servers never fall back to chunked encoding.
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }


RESPONSES = {
    "/json": (_start(200, JSON_BODY, b"application/json"), {"type": "http.response.body", "body": JSON_BODY}),
    "/plaintext": (_start(200, TEXT_BODY, b"text/plain"), {"type": "http.response.body", "body": TEXT_BODY}),
}
MISSING = (_start(404, NOT_FOUND, b"text/plain"), {"type": "http.response.body", "body": NOT_FOUND})


async def _lifespan(receive, send):
    # uvicorn and hypercorn open this scope first; answering lets their startup
    # finish without a "lifespan unsupported" warning, and shutdown without a wait.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return  # websockets are not part of the benchmark; returning closes them
    start, body = RESPONSES.get(scope["path"], MISSING)
    await send(start)
    await send(body)
