"""One HTTP probe for every service and check: a GET (or a scenario's own request) over loopback TCP or a
unix socket.

Readiness, verification, the cooperative-I/O check and the settle request all ask
the same question (what does GET path answer here?), so they share this answer.
Standard library only: it runs in the harness and in tests alike.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from benchmatrix.matrix.scenarios import HttpRequest

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Endpoint:
    """Where a service listens: a TCP port on a host, or a unix socket path."""
    port: Optional[int] = None
    socket_path: Optional[str] = None
    host: str = LOOPBACK

    def __post_init__(self) -> None:
        if (self.port is None) == (self.socket_path is None):
            raise ValueError("an endpoint is a port or a socket path, not both or neither")

    @property
    def url(self) -> str:
        return "unix:" + self.socket_path if self.socket_path else "http://{}:{}".format(self.host, self.port)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Dict[str, str]  # lower-cased names; a repeated header keeps its last value
    body: bytes
    set_cookies: Tuple[str, ...] = ()  # every Set-Cookie header, in order: a flow needs each of them

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def connection(endpoint: Endpoint, timeout_s: float) -> http.client.HTTPConnection:
    if endpoint.socket_path:
        return _UnixHTTPConnection(endpoint.socket_path, timeout_s)
    return http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout_s)


def get(endpoint: Endpoint, path: str, timeout_s: float = 2.0,
        headers: Optional[Mapping[str, str]] = None) -> Answer:
    """GET path on a fresh connection; raises OSError or http.client.HTTPException when it fails."""
    conn = connection(endpoint, timeout_s)
    try:
        return exchange(conn, "GET", path, dict(headers or {}), b"")
    finally:
        conn.close()


def send(endpoint: Endpoint, request: HttpRequest, path: str, timeout_s: float = 2.0) -> Answer:
    """A scenario's request (method, headers, body) on a fresh connection, with the Host header the checks
    have always sent unless the request names its own; raises like get()."""
    conn = connection(endpoint, timeout_s)
    try:
        return exchange(conn, request.method, path, request_headers(endpoint, request), request.body)
    finally:
        conn.close()


def request_headers(endpoint: Endpoint, request: HttpRequest) -> Dict[str, str]:
    headers = {"Host": endpoint.host}
    for name, value in request.headers:
        headers.pop(next((key for key in headers if key.lower() == name.lower()), name), None)
        headers[name] = value
    return headers


def exchange(conn: http.client.HTTPConnection, method: str, path: str, headers: Dict[str, str],
             body: bytes) -> Answer:
    """One request on `conn` (opened again by http.client when the server closed it) and its answer."""
    # http.client adds Content-Length for a body, as wrk.format does, and 0 for a body-less POST, PUT or PATCH.
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    body = response.read()
    pairs = response.getheaders()
    return Answer(response.status, {k.lower(): v for k, v in pairs}, body,
                  tuple(v for k, v in pairs if k.lower() == "set-cookie"))


def wire_sizes(endpoint: Endpoint, path: str, count: int = 3, timeout_s: float = 10.0,
               headers: Optional[Mapping[str, str]] = None, sent: HttpRequest = HttpRequest()
               ) -> Tuple[List[int], bool]:
    """The bytes on the wire (status line, headers, body and any chunk framing) of up to `count`
    answers to `sent` (a GET unless given) on path on one connection, asked exactly as wrk asks (HTTP/1.1,
    a Host header, then `headers`, the request's own and its body's Content-Length), and whether the server
    closed the connection after an answer."""
    family = socket.AF_UNIX if endpoint.socket_path else socket.AF_INET
    host = "localhost" if endpoint.socket_path else "{}:{}".format(endpoint.host, endpoint.port)
    pairs = list((headers or {}).items()) + list(sent.headers)
    if sent.body:
        pairs.append(("Content-Length", str(len(sent.body))))
    extra = "".join("{}: {}\r\n".format(name, value) for name, value in pairs)
    request = "{} {} HTTP/1.1\r\nHost: {}\r\n{}\r\n".format(sent.method, path, host, extra).encode(
        "latin-1") + sent.body
    sizes, closes = [], False
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(endpoint.socket_path or (endpoint.host, endpoint.port))
        reader = sock.makefile("rb")
        for _ in range(count):
            sock.sendall(request)
            size, closes = _read_one_answer(reader)
            sizes.append(size)
            if closes:  # a server that closes after each answer (uWSGI's http-socket): one is all we get
                break
    return sizes, closes


def _read_one_answer(reader) -> Tuple[int, bool]:
    """(bytes read, whether the server closes the connection after it) for one HTTP/1.1 answer."""
    size, headers = 0, {}
    status = reader.readline()
    if not status:
        raise http.client.RemoteDisconnected("the connection closed before an answer")
    size += len(status)
    while True:
        line = reader.readline()
        size += len(line)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = reader.readline()
            size += len(line)
            length = int(line.split(b";")[0].strip() or b"0", 16)
            size += len(reader.read(length + 2))  # the chunk and its CRLF (the last: the final CRLF)
            if length == 0:
                break
    else:
        size += len(reader.read(int(headers.get("content-length", "0"))))
    return size, headers.get("connection", "").lower() == "close"


def status_or_none(endpoint: Endpoint, path: str, timeout_s: float = 2.0) -> Optional[int]:
    """The status GET path answers, or None when nothing answers HTTP there yet."""
    try:
        return get(endpoint, path, timeout_s).status
    except (OSError, http.client.HTTPException):
        return None


def accepts(endpoint: Endpoint, timeout_s: float = 2.0) -> bool:
    """Whether a connection is accepted: readiness for servers that do not speak HTTP (uwsgi protocol)."""
    family = socket.AF_UNIX if endpoint.socket_path else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout_s)
            probe.connect(endpoint.socket_path or (endpoint.host, endpoint.port))
        return True
    except OSError:
        return False
