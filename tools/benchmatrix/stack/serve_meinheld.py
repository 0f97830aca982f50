"""Run a WSGI app on meinheld's own server with N worker processes.

meinheld has no command line of its own; its README listens once and calls
server.run(app). To use every core the way the other servers do, this listens
once and forks N workers that share the socket, the pre-fork model gunicorn uses.
The harness stops the whole process group, so the parent only waits.

Usage: python .../stack/serve_meinheld.py --bind 127.0.0.1:8000|unix:PATH --workers N module:app
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from meinheld import server

KEEPALIVE_S = 5  # the same idle keep-alive as configs/gunicorn.conf.py


def load_app(target: str):
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "application")


def listen(bind: str) -> None:
    if bind.startswith("unix:"):
        server.listen(bind[len("unix:"):])
    else:
        host, _, port = bind.rpartition(":")
        server.listen((host, int(port)))


def serve_in_worker(app) -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: server.stop())
    server.run(app)
    os._exit(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="serve_meinheld")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("target")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    app = load_app(args.target)  # imported before forking, so a broken app fails once, at boot
    server.set_access_logger(None)
    server.set_keepalive(KEEPALIVE_S)
    listen(args.bind)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            serve_in_worker(app)
        children.append(pid)
    # A worker that dies takes the server down with it: better than a silently smaller pool.
    os.wait()
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
