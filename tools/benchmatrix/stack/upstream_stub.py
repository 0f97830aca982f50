"""A slow remote API on 127.0.0.1: every GET is answered after a delay.

    python -m benchmatrix.stack.upstream_stub --port 8900 --delay-ms 1000
    curl 'http://127.0.0.1:8900/anything?ms=250'   ->  {"upstream": "ok", "delay_ms": 250}
    curl 'http://127.0.0.1:8900/_benchmatrix/calls' ->  {"calls": 1}   (answered at once, not counted)

The "call a slow upstream" scenarios measure how a server copes while its
handlers wait; the stub must never be the bottleneck, so it is one asyncio loop
(a sleeping request costs a coroutine, not a thread) with keep-alive. Standard
library only, so it runs under whichever Python (3.8+) the cell uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

MAX_DELAY_MS = 600000
MAX_HEADER_LINES = 100
# How many calls the stub has received: the harness reads it around each trial to hold the
# upstream scenarios to the calls they promise per request (checks/work_done.py).
CALLS_PATH = "/_benchmatrix/calls"


class CallCount:
    """Calls received since the stub started, counted on arrival: a call the app made counts even
    if the app stops waiting for it."""

    def __init__(self) -> None:
        self.calls = 0


def delay_for(target: str, default_ms: int) -> int:
    """The delay a request asks for with ?ms=N, else the default; ValueError if N is unusable."""
    values = parse_qs(urlsplit(target).query).get("ms")
    if not values:
        return default_ms
    try:
        delay_ms = int(values[-1])
    except ValueError:
        raise ValueError("ms must be a whole number of milliseconds")
    if not 0 <= delay_ms <= MAX_DELAY_MS:
        raise ValueError("ms must be between 0 and {}".format(MAX_DELAY_MS))
    return delay_ms


def response(status: str, body: Dict[str, object], keep_alive: bool, head_only: bool = False,
             extra: str = "") -> bytes:
    payload = json.dumps(body).encode()
    head = ("HTTP/1.1 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
            "Connection: {}\r\n{}\r\n").format(status, len(payload), "keep-alive" if keep_alive else "close", extra)
    return head.encode("latin-1") + (b"" if head_only else payload)


async def read_head(reader: asyncio.StreamReader) -> Optional[Tuple[str, str, str, Dict[str, str]]]:
    """Method, target, version and lower-cased headers of the next request; None at end of stream."""
    request_line = await reader.readline()
    while request_line in (b"\r\n", b"\n"):  # tolerated between pipelined requests
        request_line = await reader.readline()
    if not request_line:
        return None
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3:
        raise ValueError("malformed request line")
    headers = {}
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return parts[0], parts[1], parts[2], headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ValueError("too many header lines")


def wants_keep_alive(version: str, headers: Dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, default_ms: int,
                           count: CallCount) -> None:
    try:
        while True:
            try:
                head = await read_head(reader)
            except (ValueError, asyncio.LimitOverrunError):
                writer.write(response("400 Bad Request", {"error": "malformed request"}, keep_alive=False))
                break
            if head is None:
                break
            method, target, version, headers = head
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)  # a body nobody reads would be parsed as the next request
            keep_alive = wants_keep_alive(version, headers)
            if urlsplit(target).path == CALLS_PATH:
                writer.write(response("200 OK", {"calls": count.calls}, keep_alive))
            elif method not in ("GET", "HEAD"):
                writer.write(response("405 Method Not Allowed", {"error": "GET only"}, keep_alive,
                                      extra="Allow: GET, HEAD\r\n"))
            else:
                try:
                    delay_ms = delay_for(target, default_ms)
                except ValueError as error:
                    writer.write(response("400 Bad Request", {"error": str(error)}, keep_alive))
                else:
                    count.calls += 1
                    await asyncio.sleep(delay_ms / 1000.0)
                    writer.write(response("200 OK", {"upstream": "ok", "delay_ms": delay_ms}, keep_alive,
                                          head_only=method == "HEAD"))
            await writer.drain()
            if not keep_alive:
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the client left; nothing to answer
    except asyncio.CancelledError:
        # Shutdown cancels open connections. Ending normally rather than cancelled
        # keeps Python 3.12.1 from logging a spurious traceback for each of them.
        pass
    finally:
        writer.close()


async def serve(host: str, port: int, default_ms: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The default backlog of 100 drops SYNs when a load generator opens hundreds of
    # connections at once, and a dropped SYN costs the client a 1 s retransmit.
    count = CallCount()
    server = await asyncio.start_server(lambda r, w: serve_connection(r, w, default_ms, count),
                                        host, port, backlog=4096)
    print("upstream stub on http://{}:{}/ answering after {} ms (?ms=N per request)".format(
        host, port, default_ms), flush=True)
    await stop.wait()
    # Not `async with server`: since 3.12 that waits for every idle keep-alive
    # client to hang up. asyncio.run cancels the open connections instead.
    server.close()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmatrix.stack.upstream_stub", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=1000, help="delay before each answer (default 1000)")
    options = parser.parse_args(argv)
    asyncio.run(serve(options.host, options.port, options.delay_ms))
    return 0


def upstream_service(log_path: Path, port: Optional[int] = None, delay_ms: int = 1000,
                     python: str = sys.executable, prefix: Sequence[str] = (), host: str = "127.0.0.1"):
    """The stub as a supervised HttpService (use its .running()); the readiness probe asks for no delay."""
    from benchmatrix.paths import REPO_ROOT  # the harness's side only
    from benchmatrix.stack.process import HttpService, free_port

    port = port if port is not None else free_port()

    return HttpService(
        name="upstream stub",
        argv=[*prefix, python, "-m", "benchmatrix.stack.upstream_stub", "--host", host, "--port", str(port),
              "--delay-ms", str(delay_ms)],
        port=port, host=host, log_path=log_path, ready_path="/?ms=0",
        cwd=REPO_ROOT, boot_timeout_s=15.0)


if __name__ == "__main__":
    sys.exit(main())
