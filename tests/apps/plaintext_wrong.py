"""The real Flask app, except that /plaintext answers the wrong body: only verification sees it."""

from apps.flask.app import app as real_app


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/plaintext":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello, Moon!"]
    return real_app(environ, start_response)
