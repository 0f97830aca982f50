"""A login flow in plain WSGI, as seed 001's Django app has it, plus a JSON echo for POST scenarios.

GET  /login/            the form: a csrftoken cookie and the same token in a hidden field
POST /login/            form body username=bench&password=bench&csrfmiddlewaretoken=<token>, the csrftoken
                        cookie sent back: 302 to /api/items with a sessionid cookie; else 403. With
                        ?rotate=1 the 302 also sets a new csrftoken after the sessionid (two Set-Cookie
                        headers, the session's not last: what wrk's Lua cannot keep)
GET  /api/items?page=N  with the session: {"page": N, "items": [{"id": ...}, ...]} (5 per page); else 403
POST /api/echo          a JSON object: {"echo": <its "word">, "length": <body bytes>}; else 400
"""

import json
import secrets
from urllib.parse import parse_qs

SESSIONS = set()  # one process (the tests run one worker): sessions live in memory


def _cookies(environ):
    pairs = (part.strip().partition("=") for part in environ.get("HTTP_COOKIE", "").split(";"))
    return {name: value for name, _, value in pairs if name}


def _answer(start_response, status, body, content_type="application/json", headers=()):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))] + list(headers))
    return [body]


def _body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    cookies = _cookies(environ)
    if path == "/login/" and method == "GET":
        token = secrets.token_hex(16)
        page = '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="{}"></form>'.format(token)
        return _answer(start_response, "200 OK", page.encode(), "text/html; charset=utf-8",
                       [("Set-Cookie", "csrftoken={}; Path=/; SameSite=Lax".format(token))])
    if path == "/login/" and method == "POST":
        form = parse_qs(_body(environ).decode())
        token = form.get("csrfmiddlewaretoken", [""])[0]
        if token and token == cookies.get("csrftoken") and form.get("username") == ["bench"] \
                and form.get("password") == ["bench"]:
            session = secrets.token_hex(16)
            SESSIONS.add(session)
            cookies = [("Set-Cookie", "sessionid={}; Path=/".format(session))]
            if "rotate=1" in environ.get("QUERY_STRING", ""):
                cookies.append(("Set-Cookie", "csrftoken={}; Path=/".format(secrets.token_hex(16))))
            return _answer(start_response, "302 Found", b"", "text/html; charset=utf-8",
                           [("Location", "/api/items?page=1")] + cookies)
        return _answer(start_response, "403 Forbidden", b'{"error": "bad login or CSRF token"}')
    if path == "/api/items" and method == "GET":
        if cookies.get("sessionid") not in SESSIONS:
            return _answer(start_response, "403 Forbidden", b'{"error": "log in first"}')
        page = int(parse_qs(environ.get("QUERY_STRING", "")).get("page", ["1"])[0])
        items = [{"id": (page - 1) * 5 + n, "name": "item {}".format((page - 1) * 5 + n)} for n in range(5)]
        return _answer(start_response, "200 OK", json.dumps({"page": page, "items": items, "pages": 4}).encode())
    if path == "/api/echo" and method == "POST":
        raw = _body(environ)
        try:
            word = json.loads(raw.decode())["word"]
        except (ValueError, KeyError, TypeError):
            return _answer(start_response, "400 Bad Request", b'{"error": "send {\\"word\\": ...}"}')
        return _answer(start_response, "200 OK", json.dumps({"echo": word, "length": len(raw)}).encode())
    return _answer(start_response, "404 Not Found", b'{"error": "no such page"}')
