"""Everything a cell runs besides the load generator, started in order and stopped in reverse.

PostgreSQL and the upstream stub come first (when a scenario or the cooperative
check needs them), then the app server, then nginx when the cell is fronted. All
of them go on one ExitStack, so they stop in reverse order however the run ends.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

from tools.benchmatrix.matrix.cells import REPO_ROOT, Front
from tools.benchmatrix.stack.recipes import Bind
from tools.benchmatrix.matrix.scenarios import UPSTREAM_DELAY_MS
from tools.benchmatrix.stack.process import RUN_MARKER_VARIABLE, HttpService, free_port

POOL_SIZE_PER_WORKER = 10  # /agents_with_pool's connections per worker process: the seeds' concurrency


def new_socket_dir() -> Path:
    # AF_UNIX paths are limited to 107 bytes, too short for the raw folder; a short temp path it is.
    return Path(tempfile.gettempdir()) / "benchmatrix-{}".format(secrets.token_hex(4))


def server_bind(front: Optional[Front], port: int, socket_dir: Path) -> Bind:
    """Where the app server listens: wrk's port when direct, else where its front reaches it."""
    if front is None:
        return Bind(port=port)
    if front.upstream == "tcp":
        return Bind(port=free_port(), protocol=front.protocol)
    return Bind(socket_path=str(socket_dir / "app.sock"), protocol=front.protocol)


@dataclass
class CellServices:
    """The processes of one cell; `meta` collects what each one was (versions, settings, addresses)."""
    name: str  # the server's name, for messages
    front: Optional[Front]
    bind: Bind
    port: int  # where wrk connects: the server, or nginx in front of it
    socket_dir: Path
    server_argv: List[str]
    server_env: Dict[str, str]
    run_id: str
    raw_dir: Path
    ready_path: str
    boot_timeout_s: float
    say: Callable[[str], None]
    meta: Dict[str, Any] = field(default_factory=dict)
    server_pgid: int = 0

    @property
    def server_log(self) -> Path:
        return self.raw_dir / "server.log"

    def start(self, stack: contextlib.ExitStack, needs: Iterable[str]) -> None:
        env = dict(self.server_env)
        env[RUN_MARKER_VARIABLE] = self.run_id
        env.update(self._backing_services(stack, set(needs)))
        if self.bind.is_unix:
            self.socket_dir.mkdir(mode=0o755)
            stack.callback(shutil.rmtree, str(self.socket_dir), True)
        server = HttpService(name=self.name, argv=self.server_argv, port=self.bind.port,
                             socket_path=self.bind.socket_path, protocol=self.bind.protocol,
                             log_path=self.server_log, ready_path=self.ready_path, env=env, cwd=REPO_ROOT,
                             boot_timeout_s=self.boot_timeout_s)
        started = time.monotonic()
        self.say("booting on {}".format(self.bind.address()))
        stack.enter_context(server.running())
        self.server_pgid = server.process.pid
        self.say("ready after {:.2f} s".format(time.monotonic() - started))
        if self.front is not None:
            self.meta["front"] = stack.enter_context(self._front_running())

    def _backing_services(self, stack: contextlib.ExitStack, needs: set) -> Dict[str, str]:
        """PostgreSQL and the upstream stub; the app finds them through the variables returned."""
        env = {}
        if "database" in needs:
            from tools.benchmatrix.stack.postgres import database  # cells without a database need no psql
            external = os.environ.get("BENCH_DATABASE_URL") or None
            self.say("database: {}".format("BENCH_DATABASE_URL" if external else "embedded PostgreSQL, throwaway"))
            db = stack.enter_context(database(self.raw_dir / "postgres", external_url=external))
            self.meta["database"] = dict(db.metadata(), pool_size_per_worker=POOL_SIZE_PER_WORKER)
            env["BENCHMATRIX_DATABASE_URL"] = db.url
            env["BENCHMATRIX_POOL_SIZE"] = str(POOL_SIZE_PER_WORKER)
        if "upstream" in needs:
            from tools.benchmatrix.stack.upstream_stub import upstream_service
            stub = upstream_service(self.raw_dir / "upstream.log", delay_ms=UPSTREAM_DELAY_MS)
            stack.enter_context(stub.running())
            self.meta["upstream"] = {"url": stub.base_url, "delay_ms": UPSTREAM_DELAY_MS}
            env["BENCHMATRIX_UPSTREAM_URL"] = stub.base_url + "/"
        return env

    @contextlib.contextmanager
    def _front_running(self) -> Iterator[Dict[str, Any]]:
        from tools.benchmatrix.stack.nginx import NginxFront  # only fronted cells need nginx installed
        upstream = self.bind.socket_path if self.bind.is_unix else self.bind.address()
        front = NginxFront(self.front.name, self.port, upstream, self.raw_dir / "nginx",
                           worker_processes=os.cpu_count() or 1, ready_path=self.ready_path,
                           boot_timeout_s=self.boot_timeout_s)
        self.say("starting {} on 127.0.0.1:{}".format(self.front.name, self.port))
        with front.running():
            yield front.conditions()
