"""Answers every request with 500, fast: the failure mode that inflates req/s."""


def app(environ, start_response):
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"boom"]
