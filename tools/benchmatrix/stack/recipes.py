"""How each server is launched: one function per recipe named in configs/matrix.json.

Each returns the argv and extra environment for one cell, bound where the cell's
topology wants it: a loopback port when wrk or nginx connects over TCP, a unix
socket when nginx does. Servers run from the cell's own virtualenv (a CellEnvironment),
never from the harness's: the harness only starts them.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from benchmatrix.matrix.cells import REPO_ROOT, Cell
from benchmatrix.stack.cell_env import CellEnvironment

CONFIGS = REPO_ROOT / "configs"
UWSGI_ASYNC_CORES = 100  # uWSGI's documented example value for --gevent: greenlets per process


@dataclass(frozen=True)
class Bind:
    """Where the app server listens: a loopback TCP port or a unix socket path."""
    port: Optional[int] = None
    socket_path: Optional[str] = None
    protocol: str = "http"  # or "uwsgi" (uWSGI's binary protocol, for nginx's uwsgi_pass)
    host: str = "127.0.0.1"

    @property
    def is_unix(self) -> bool:
        return self.socket_path is not None

    def address(self, unix_prefix: str = "unix:") -> str:
        """"127.0.0.1:PORT" or "<unix_prefix>PATH", the form most servers' --bind takes."""
        if self.is_unix:
            return unix_prefix + self.socket_path
        return "{}:{}".format(self.host, self.port)


@dataclass(frozen=True)
class LaunchPlan:
    argv: List[str]
    env: Dict[str, str]
    workers: int
    threads: int  # per worker; 1 where the server has no thread setting
    async_cores: int = 0  # greenlets per worker where the server has such a setting
    # How the harness stops it when the cell is done: nothing is in flight then, so the
    # server's quick shutdown, not a graceful one that waits out idle keep-alive connections.
    stop_signal: int = signal.SIGTERM


def _environment(cell: Cell) -> Dict[str, str]:
    env = dict(cell.app.environment)
    env.update(cell.server.environment)
    return env


def _python_module(env: CellEnvironment, module: str) -> List[str]:
    return [str(env.python), "-m", module]


def gunicorn(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    threads = threads if cell.server.worker_class == "gthread" else 1
    argv = _python_module(env, "gunicorn") + [
        "--config", str(CONFIGS / "gunicorn.conf.py"), "--bind", bind.address(),
        "--workers", str(workers), "--worker-class", cell.server.worker_class, "--threads", str(threads),
        "--chdir", str(REPO_ROOT), target]
    # SIGTERM is gunicorn's graceful stop: measured, its eventlet workers then waited out
    # graceful_timeout (4 s of a 10 s smoke cell); SIGINT is its documented quick shutdown.
    return LaunchPlan(argv, _environment(cell), workers, threads, stop_signal=signal.SIGINT)


def uwsgi(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    socket_option = "--socket" if bind.protocol == "uwsgi" else "--http-socket"
    argv = [env.script("uwsgi"), "--ini", str(CONFIGS / "uwsgi.ini"),
            socket_option, bind.address(unix_prefix=""), "--processes", str(workers),
            "--home", str(env.prefix), "--chdir", str(REPO_ROOT), "--pythonpath", str(REPO_ROOT),
            "--module", target]
    cores = 0
    if cell.server.worker_class == "gevent":
        cores = UWSGI_ASYNC_CORES
        argv += ["--gevent", str(cores)]
    return LaunchPlan(argv, _environment(cell), workers, 1, cores)


def meinheld(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # meinheld ships no command line; a small launcher does what its README shows, once per worker.
    # Run by path: the cell's virtualenv holds only what is measured, never benchmatrix itself.
    argv = [str(env.python), str(Path(__file__).with_name("serve_meinheld.py"))] + [
        "--bind", bind.address(), "--workers", str(workers), target]
    return LaunchPlan(argv, _environment(cell), workers, 1)


def uvicorn(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    where = ["--uds", bind.socket_path] if bind.is_unix else ["--host", bind.host, "--port", str(bind.port)]
    argv = _python_module(env, "uvicorn") + where + [
        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", target]
    return LaunchPlan(argv, _environment(cell), workers, 1)


def hypercorn(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # Hypercorn writes no access log unless --access-logfile is given.
    argv = _python_module(env, "hypercorn") + [
        "--bind", bind.address(), "--workers", str(workers), "--worker-class", cell.server.worker_class,
        "--log-level", "warning", target]
    return LaunchPlan(argv, _environment(cell), workers, 1)


def aiohttp(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # aiohttp's own server is one process: its docs scale out with gunicorn (gunicorn-aiohttp) instead.
    where = ["-U", bind.socket_path] if bind.is_unix else ["-H", bind.host, "-P", str(bind.port)]
    argv = _python_module(env, "aiohttp.web") + where + [target]
    return LaunchPlan(argv, _environment(cell), 1, 1)


def api_hour(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # API-Hour is gunicorn underneath: the shared gunicorn config keeps its stop within the harness grace.
    argv = [env.script("api_hour"), "-c", str(CONFIGS / "gunicorn.conf.py"), "-b", bind.address(),
            "-w", str(workers), target]
    return LaunchPlan(argv, _environment(cell), workers, 1, stop_signal=signal.SIGINT)  # gunicorn underneath


RECIPES = {"gunicorn": gunicorn, "uwsgi": uwsgi, "meinheld": meinheld, "uvicorn": uvicorn,
           "hypercorn": hypercorn, "aiohttp": aiohttp, "api-hour": api_hour}


def launch_plan(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int,
                target: str) -> LaunchPlan:
    return RECIPES[cell.server.recipe](cell, env, bind, workers, threads, target)
