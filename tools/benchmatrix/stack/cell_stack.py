"""Everything a cell runs besides the load generator, started in order and stopped in reverse.

PostgreSQL and the upstream stub come first (when a scenario or the cooperative
check needs them), then the app server from the cell's own virtualenv, then
nginx when the cell is fronted. All of them go on one ExitStack, so they stop
in reverse order however the run ends. The stack derives where everything
listens from the cell, and returns what it learned instead of writing into its
caller's state.
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
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from benchmatrix.hosts.roles import HostsPlan
from benchmatrix.matrix.cells import REPO_ROOT, Cell, Front
from benchmatrix.matrix.scenarios import UPSTREAM_DELAY_MS
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.probe import Endpoint
from benchmatrix.project_config.model import SERVICES
from benchmatrix.stack.process import HttpService, free_port
from benchmatrix.stack.project_app import check_import, entry_target, run_setup, write_entry
from benchmatrix.stack.recipes import Bind, LaunchPlan, launch_plan
from benchmatrix.stack.work_counters import CombinedCounter, UpstreamCallCounter, WorkCounter

POOL_SIZE_PER_WORKER = 10  # /agents_with_pool's connections per worker process: the seeds' concurrency


def new_socket_dir() -> Path:
    # AF_UNIX paths are limited to 107 bytes, too short for the raw folder; a short temp path it is.
    return Path(tempfile.gettempdir()) / "benchmatrix-{}".format(secrets.token_hex(4))


def server_bind(front: Optional[Front], port: int, socket_dir: Path, address: str = "127.0.0.1") -> Bind:
    """Where the app server listens: wrk's port (on the server host's address) when direct, else
    where its front, on the same host, reaches it."""
    if front is None:
        return Bind(port=port, host=address)
    if front.upstream == "tcp":
        return Bind(port=free_port(), protocol=front.protocol)
    return Bind(socket_path=str(socket_dir / "app.sock"), protocol=front.protocol)


@dataclass(frozen=True)
class StackConditions:
    """What the started stack was: for the record, and for whoever samples the server."""
    server_pid: int  # the server's master (its process tree is the server)
    server_log: Path
    front: Optional[Dict[str, Any]]
    database: Optional[Dict[str, Any]]
    upstream: Optional[Dict[str, Any]]
    # What the database and the stub count of each request's promised work (stack/work_counters.py).
    work_counter: CombinedCounter = field(default_factory=CombinedCounter)
    # The roots of the process trees the cell started beside the server ("nginx", "postgres",
    # "upstream stub"), whose CPU is part of what a request cost the whole stack.
    support_pids: Dict[str, int] = field(default_factory=dict)
    # nginx's own count of the requests it read, for fronted cells: the answers the server side saw.
    front_requests: Optional[Callable[[], int]] = None


@dataclass(frozen=True)
class StackSettings:
    """How one cell's stack is run: where it listens, how many workers, on which CPUs and hosts."""
    port: int  # where wrk connects: the server, or nginx in front of it
    workers: int
    threads: int  # per worker, for threaded worker classes
    target: str  # the app's entry point the server loads
    raw_dir: Path  # the run's raw folder: logs and generated configs
    ready_path: str  # what readiness asks for: the first scenario's path
    boot_timeout_s: float
    server_prefix: Sequence[str] = ()  # the server's CPUs (taskset)
    support_prefix: Sequence[str] = ()  # the database's and the stub's: the load generator's CPUs
    front_workers: Optional[int] = None  # nginx's worker_processes; None: one per CPU
    hosts: HostsPlan = field(default_factory=lambda: HostsPlan(kind="local"))


@dataclass(frozen=True)
class ServerLaunch:
    """How the app server was started, as every record states it (meta.server)."""
    command: List[str]
    workers: int
    threads_per_worker: int
    worker_class: Optional[str]
    async_cores: Optional[int]
    listens_on: str
    protocol: str
    interface: Optional[str] = None  # what the app is served through: "wsgi", "asgi", "rsgi" ...
    loop: Optional[str] = None  # the event loop the workers run, where the server has a choice
    io_threads_per_worker: Optional[int] = None  # network I/O threads apart from the app's (granian's runtime)
    threads_rule: Optional[str] = None  # why threads_per_worker and io_threads_per_worker, where a recipe chose

    def to_json(self) -> Dict[str, Any]:
        return {"command": self.command, "workers": self.workers, "threads_per_worker": self.threads_per_worker,
                "worker_class": self.worker_class, "async_cores": self.async_cores,
                "listens_on": self.listens_on, "protocol": self.protocol, "interface": self.interface,
                "loop": self.loop, "io_threads_per_worker": self.io_threads_per_worker,
                "threads_rule": self.threads_rule}


class CellStack:
    """The processes of one cell, planned from the cell and started on an ExitStack."""

    def __init__(self, cell: Cell, env: CellEnvironment, settings: StackSettings, say: Callable[[str], None]):
        self.cell = cell
        self.port = settings.port
        self.raw_dir = settings.raw_dir
        self.ready_path = settings.ready_path
        self.boot_timeout_s = settings.boot_timeout_s
        self.say = say
        self.socket_dir = new_socket_dir()
        self.hosts = settings.hosts
        self.bind = server_bind(cell.server.front, settings.port, self.socket_dir, self.hosts.server_address)
        self.env = env
        self.declared_target = settings.target
        # A project's "module:factory()" becomes a plain "module:attr" every server loads (stack/project_app.py).
        target = entry_target(settings.target) if cell.app.root else settings.target
        self.target = target
        self.launch: LaunchPlan = launch_plan(cell, env, self.bind, settings.workers, settings.threads, target)
        # nginx in front shares the server's host and CPUs: it is part of what is measured. The
        # database and the upstream stub serve the server; they go with the load generator's CPUs,
        # and on the database's host when the roles have hosts of their own.
        self.server_prefix = self.hosts.server_prefix() + list(settings.server_prefix)
        self.server_argv = self.server_prefix + self.launch.argv
        self.support_prefix = list(settings.support_prefix)
        self.database_endpoint: Optional[Tuple[str, int]] = None  # the embedded database, once started
        self.front_workers = settings.front_workers or os.cpu_count() or 1
        self.work_counters: List[WorkCounter] = []
        self.support_pids: Dict[str, int] = {}
        self.front_requests: Optional[Callable[[], int]] = None

    @property
    def endpoint(self) -> Endpoint:
        """What the load and every check hit: the server, or nginx in front of it."""
        return Endpoint(port=self.port, host=self.hosts.server_address)

    def server_launch(self) -> ServerLaunch:
        return ServerLaunch(command=self.server_argv, workers=self.launch.workers,
                            threads_per_worker=self.launch.threads, worker_class=self.cell.server.worker_class,
                            async_cores=self.launch.async_cores or None, listens_on=self.bind.address(),
                            protocol=self.bind.protocol, interface=self.cell.interface, loop=self.launch.loop,
                            io_threads_per_worker=self.launch.io_threads, threads_rule=self.launch.threads_rule)

    def start(self, stack: contextlib.ExitStack, needs: Iterable[str]) -> StackConditions:
        needs = set(needs)
        env = dict(self.launch.env)
        database = self._database(stack, env) if "database" in needs else None
        upstream = self._upstream(stack, env) if "upstream" in needs else None
        if self.cell.app.root:
            self._prepare_project_app(stack, env)
        if self.bind.is_unix:
            self.socket_dir.mkdir(mode=0o755)
            stack.callback(shutil.rmtree, str(self.socket_dir), True)
        server = HttpService(name=self.cell.server.name, argv=self.server_argv, port=self.bind.port,
                             socket_path=self.bind.socket_path, protocol=self.bind.protocol,
                             log_path=self.raw_dir / "server.log", ready_path=self.ready_path, env=env,
                             cwd=self.cell.app.root or REPO_ROOT, boot_timeout_s=self.boot_timeout_s, host=self.bind.host,
                             stop_signal=self.launch.stop_signal)
        started = time.monotonic()
        self.say("booting on {}".format(self.bind.address()))
        stack.enter_context(server.running())
        self.say("ready after {:.2f} s".format(time.monotonic() - started))
        front = stack.enter_context(self._front_running()) if self.cell.server.front else None
        return StackConditions(server_pid=server.process.pid, server_log=server.log_path, front=front,
                               database=database, upstream=upstream,
                               work_counter=CombinedCounter(self.work_counters),
                               support_pids=dict(self.support_pids), front_requests=self.front_requests)

    def _prepare_project_app(self, stack: contextlib.ExitStack, env: Dict[str, str]) -> None:
        """A user's app: its folder (and the factory's entry module) importable, its setup commands run,
        its import checked; each failure a ServiceError with the output's tail, before the server starts."""
        app = self.cell.app
        entry_dir = ""
        if self.target != self.declared_target:  # a factory: its entry module, in a folder removed at the end
            entry_dir = tempfile.mkdtemp(prefix="benchmatrix-entry-")
            stack.callback(shutil.rmtree, entry_dir, True)
            write_entry(self.declared_target, Path(entry_dir))
        env["PYTHONPATH"] = os.pathsep.join(part for part in (entry_dir, str(app.root), env.get("PYTHONPATH")) if part)
        if "BENCHMATRIX_DATABASE_URL" in env:
            env[SERVICES["postgres"]] = env["BENCHMATRIX_DATABASE_URL"]
        run_setup(app, self.env, env, self.say)
        check_import(app, self.env, self.target, self.declared_target, env)

    def _database(self, stack: contextlib.ExitStack, env: Dict[str, str]) -> Dict[str, Any]:
        from benchmatrix.stack.postgres import DatabaseHost, database  # cells without one need no psql
        external = os.environ.get("BENCH_DATABASE_URL") or None
        listen = DatabaseHost(self.hosts.database_address, self.hosts.database_namespace, self.hosts.database_clients)
        self.say("database: {}".format("BENCH_DATABASE_URL" if external else "embedded PostgreSQL, throwaway, on "
                                       + listen.address))
        db = stack.enter_context(database(self.raw_dir / "postgres", external_url=external,
                                          prefix=self.support_prefix, listen=listen))
        self.database_endpoint = None if external else (listen.address, int(db.settings["port"]))
        self.work_counters.append(db.work_counter())
        if db.pid is not None:  # an external server's CPU is not ours to read
            self.support_pids["postgres"] = db.pid
        env["BENCHMATRIX_DATABASE_URL"] = db.url
        env["BENCHMATRIX_POOL_SIZE"] = str(POOL_SIZE_PER_WORKER)
        return dict(db.metadata(), pool_size_per_worker=POOL_SIZE_PER_WORKER)

    def _upstream(self, stack: contextlib.ExitStack, env: Dict[str, str]) -> Dict[str, Any]:
        from benchmatrix.stack.upstream_stub import upstream_service
        stub = upstream_service(self.raw_dir / "upstream.log", delay_ms=UPSTREAM_DELAY_MS,
                                prefix=self.hosts.support_prefix() + self.support_prefix,
                                host=self.hosts.database_address)
        stack.enter_context(stub.running())
        self.work_counters.append(UpstreamCallCounter(stub.base_url))
        self.support_pids["upstream stub"] = stub.process.pid
        env["BENCHMATRIX_UPSTREAM_URL"] = stub.base_url + "/"
        return {"url": stub.base_url, "delay_ms": UPSTREAM_DELAY_MS}

    @contextlib.contextmanager
    def _front_running(self) -> Iterator[Dict[str, Any]]:
        from benchmatrix.stack.nginx import NginxFront  # only fronted cells need nginx installed
        upstream = self.bind.socket_path if self.bind.is_unix else self.bind.address()
        front = NginxFront(self.cell.server.front.name, self.port, upstream, self.raw_dir / "nginx",
                           worker_processes=self.front_workers, ready_path=self.ready_path,
                           boot_timeout_s=self.boot_timeout_s, prefix=tuple(self.server_prefix),
                           listen_address=self.hosts.server_address)
        self.say("starting {} on {}:{}".format(self.cell.server.front.name, self.hosts.server_address, self.port))
        with front.running():
            self.support_pids["nginx"] = front.process.pid
            self.front_requests = front.requests_read
            yield front.conditions()
