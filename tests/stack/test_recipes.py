"""The launch commands of the new recipes, built without starting anything: exact options per interface."""

from __future__ import annotations

from pathlib import Path

from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.recipes import Bind, launch_plan

MATRIX = load_matrix()
ENV = CellEnvironment(Path("/venv"))


def plan(server: str, app: str, bind: Bind = Bind(port=8000), workers: int = 2):
    cell = find_cell(MATRIX, "3.13", server, app)
    return launch_plan(cell, ENV, bind, workers, MATRIX.threads_per_worker, cell.target)


def test_granian_on_wsgi_takes_its_own_blocking_thread_default_and_no_loop():
    launch = plan("granian", "flask")
    assert launch.argv == ["/venv/bin/granian", "--host", "127.0.0.1", "--port", "8000", "--interface", "wsgi",
                           "--workers", "2", "--backlog", "1024", "--runtime-threads", "1", "--blocking-threads", "256",
                           "--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning", "--working-dir",
                           launch.argv[-2], "apps.flask.app:app"]
    assert (launch.workers, launch.threads, launch.io_threads, launch.loop) == (2, 256, 1, None)
    assert "(backlog 1024 // workers) // 2 on WSGI" in launch.threads_rule


def test_granian_on_asgi_and_rsgi_runs_one_blocking_thread_on_uvloop_and_binds_a_unix_socket():
    launch = plan("granian+nginx-unix", "django-async", Bind(socket_path="/tmp/s/app.sock"), workers=1)
    assert launch.argv[1:3] == ["--uds", "/tmp/s/app.sock"] and "--host" not in launch.argv
    assert launch.argv[launch.argv.index("--interface") + 1] == "asgi" and launch.argv[-3:-1] == ["--loop", "uvloop"]
    assert (launch.threads, launch.io_threads, launch.loop) == (1, 1, "uvloop")
    rsgi = plan("granian-rsgi", "raw").argv
    assert rsgi[rsgi.index("--interface") + 1] == "rsgi" and rsgi[-3:] == ["--loop", "uvloop", "apps.raw.rsgi:app"]


def test_gunicorns_asgi_worker_names_its_loop_and_its_uwsgi_topology_the_protocol():
    launch = plan("gunicorn-asgi", "raw")
    assert launch.argv[launch.argv.index("--worker-class") + 1] == "asgi"
    assert launch.argv[launch.argv.index("--asgi-loop") + 1] == "uvloop" and launch.loop == "uvloop"
    fronted = plan("gunicorn+nginx-uwsgi", "flask", Bind(socket_path="/tmp/s/app.sock", protocol="uwsgi"))
    assert fronted.argv[fronted.argv.index("--bind") + 1] == "unix:/tmp/s/app.sock"
    assert fronted.argv[fronted.argv.index("--protocol") + 1] == "uwsgi" and fronted.loop is None
    assert "--protocol" not in plan("gunicorn+nginx-unix", "flask", Bind(socket_path="/tmp/s/app.sock")).argv
