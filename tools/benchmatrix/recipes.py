"""How each server is launched: one function per recipe named in configs/matrix.json.

Each returns the argv and extra environment for one cell, bound to a loopback
port. Servers run from the cell's own virtualenv, i.e. next to sys.executable,
because the harness runs inside that virtualenv.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from tools.benchmatrix.matrix import REPO_ROOT, Cell

CONFIGS = REPO_ROOT / "configs"


@dataclass(frozen=True)
class LaunchPlan:
    argv: List[str]
    env: Dict[str, str]
    workers: int
    threads: int  # per worker; 1 where the server has no thread setting


def _venv_script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def gunicorn(cell: Cell, port: int, workers: int, threads: int, target: str) -> LaunchPlan:
    threads = threads if cell.server.worker_class == "gthread" else 1
    argv = [sys.executable, "-m", "gunicorn", "--config", str(CONFIGS / "gunicorn.conf.py"),
            "--bind", "127.0.0.1:{}".format(port), "--workers", str(workers),
            "--worker-class", cell.server.worker_class, "--threads", str(threads),
            "--chdir", str(REPO_ROOT), target]
    return LaunchPlan(argv, dict(cell.app.environment), workers, threads)


def uwsgi(cell: Cell, port: int, workers: int, threads: int, target: str) -> LaunchPlan:
    argv = [_venv_script("uwsgi"), "--ini", str(CONFIGS / "uwsgi.ini"),
            "--http-socket", "127.0.0.1:{}".format(port), "--processes", str(workers),
            "--home", sys.prefix, "--chdir", str(REPO_ROOT), "--pythonpath", str(REPO_ROOT),
            "--module", target]
    return LaunchPlan(argv, dict(cell.app.environment), workers, 1)


RECIPES = {"gunicorn": gunicorn, "uwsgi": uwsgi}


def launch_plan(cell: Cell, port: int, workers: int, threads: int, target: str) -> LaunchPlan:
    return RECIPES[cell.server.recipe](cell, port, workers, threads, target)
