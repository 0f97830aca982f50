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
    threads: int  # per worker, the threads that run the app; 1 where the server has no thread setting
    async_cores: int = 0  # greenlets per worker where the server has such a setting
    loop: Optional[str] = None  # the event loop each worker runs the app on, where the server has a choice
    io_threads: Optional[int] = None  # per worker, threads that only do network I/O (granian's Rust runtime)
    threads_rule: Optional[str] = None  # why `threads` and `io_threads` are what they are, where a recipe chose
    # How the harness stops it when the cell is done: nothing is in flight then, so the
    # server's quick shutdown, not a graceful one that waits out idle keep-alive connections.
    stop_signal: int = signal.SIGTERM


def app_dir(cell: Cell) -> Path:
    """The server's working directory: the user's project for its apps, else this checkout (apps/...)."""
    return cell.app.root or REPO_ROOT


def _environment(cell: Cell) -> Dict[str, str]:
    env = dict(cell.app.environment)
    env.update(cell.server.environment)
    return env


def _python_module(env: CellEnvironment, module: str) -> List[str]:
    return [str(env.python), "-m", module]


def _loop(cell: Cell) -> str:
    """uvloop where the server's requirements install it, else asyncio's own loop."""
    return "uvloop" if cell.server.uses("uvloop") else "asyncio"


def gunicorn(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    threads = threads if cell.server.worker_class == "gthread" else 1
    argv = _python_module(env, "gunicorn") + [
        "--config", str(CONFIGS / "gunicorn.conf.py"), "--bind", bind.address(),
        "--workers", str(workers), "--worker-class", cell.server.worker_class, "--threads", str(threads)]
    if bind.protocol == "uwsgi":
        argv += ["--protocol", "uwsgi"]  # gunicorn 24+: nginx's uwsgi_pass (unix sockets are always allowed)
    loop = None
    if cell.server.worker_class == "asgi":
        # Its default "auto" picks uvloop when importable and falls back silently: named, the record is exact
        # (and gunicorn warns in the server log if it is missing).
        loop = _loop(cell)
        argv += ["--asgi-loop", loop]
    argv += ["--chdir", str(app_dir(cell)), target]
    # SIGTERM is gunicorn's graceful stop: measured, its eventlet workers then waited out
    # graceful_timeout (4 s of a 10 s smoke cell); SIGINT is its documented quick shutdown.
    return LaunchPlan(argv, _environment(cell), workers, threads, loop=loop, stop_signal=signal.SIGINT)


def uwsgi(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    socket_option = "--socket" if bind.protocol == "uwsgi" else "--http-socket"
    argv = [env.script("uwsgi"), "--ini", str(CONFIGS / "uwsgi.ini"),
            socket_option, bind.address(unix_prefix=""), "--processes", str(workers),
            "--home", str(env.prefix), "--chdir", str(app_dir(cell)), "--pythonpath", str(app_dir(cell)),
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
    return LaunchPlan(argv, _environment(cell), workers, 1, loop="uvloop")


def hypercorn(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # Hypercorn writes no access log unless --access-logfile is given.
    argv = _python_module(env, "hypercorn") + [
        "--bind", bind.address(), "--workers", str(workers), "--worker-class", cell.server.worker_class,
        "--log-level", "warning", target]
    return LaunchPlan(argv, _environment(cell), workers, 1, loop=cell.server.worker_class)  # asyncio or uvloop


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


# granian's own defaults, passed explicitly so the record states them and a granian release that
# changes them changes no cell silently (granian/server/common.py): a backlog of 1024 connections,
# shared by the workers as each one's backpressure; 1 Rust runtime thread per worker, which its README
# calls fine for the vast majority of applications (more only for many websockets or HTTP/2); blocking
# threads, the ones that call the app, fixed at 1 on ASGI and RSGI (the event loop runs the app), and
# half the backpressure on WSGI, spawned on demand as requests wait for the GIL. Its README advises
# against tuning either from other servers' numbers, so none of the matrix's threads_per_worker.
GRANIAN_BACKLOG = 1024
GRANIAN_RUNTIME_THREADS = 1
GRANIAN_THREADS_RULE = ("granian's defaults: 1 runtime thread per worker; blocking threads 1 on ASGI/RSGI, "
                        "(backlog {} // workers) // 2 on WSGI").format(GRANIAN_BACKLOG)


def granian_blocking_threads(interface: str, workers: int) -> int:
    if interface != "wsgi":
        return 1
    return max(1, (GRANIAN_BACKLOG // max(1, workers)) // 2)


def granian(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int, target: str) -> LaunchPlan:
    # granian's own process manager, one worker per server CPU, the interface the app is served through.
    interface = cell.interface
    blocking = granian_blocking_threads(interface, workers)
    where = ["--uds", bind.socket_path] if bind.is_unix else ["--host", bind.host, "--port", str(bind.port)]
    argv = [env.script("granian")] + where + [
        "--interface", interface, "--workers", str(workers), "--backlog", str(GRANIAN_BACKLOG),
        "--runtime-threads", str(GRANIAN_RUNTIME_THREADS), "--blocking-threads", str(blocking),
        "--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning",
        "--working-dir", str(app_dir(cell))]
    loop = None
    if interface != "wsgi":  # WSGI has no event loop: blocking threads call the app
        loop = _loop(cell)
        argv += ["--loop", loop]  # granian fails to start if it is not importable: never a silent fallback
    argv.append(target)
    return LaunchPlan(argv, _environment(cell), workers, blocking, loop=loop, io_threads=GRANIAN_RUNTIME_THREADS,
                      threads_rule=GRANIAN_THREADS_RULE)


RECIPES = {"gunicorn": gunicorn, "uwsgi": uwsgi, "meinheld": meinheld, "uvicorn": uvicorn,
           "hypercorn": hypercorn, "aiohttp": aiohttp, "api-hour": api_hour, "granian": granian}


def launch_plan(cell: Cell, env: CellEnvironment, bind: Bind, workers: int, threads: int,
                target: str) -> LaunchPlan:
    return RECIPES[cell.server.recipe](cell, env, bind, workers, threads, target)
