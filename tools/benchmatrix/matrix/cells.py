"""The benchmark matrix: which (python, server, app) cells exist and which can run.

The data lives in configs/matrix.json; this module turns it into frozen
dataclasses and applies the rules that drop combinations that cannot run.
Standard library only and no I/O at import, because nox imports it to list
sessions and listing must stay instant and offline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple
from benchmatrix.paths import REPO_ROOT

MATRIX_FILE = REPO_ROOT / "configs" / "matrix.json"
CONSTRAINTS_DIR = REPO_ROOT / "configs" / "constraints"


@dataclass(frozen=True)
class Front:
    """A reverse proxy in front of the app server: the part of a server name after "+"."""
    name: str  # "nginx", "nginx-unix", "nginx-uwsgi"
    upstream: str  # "tcp" or "unix": how nginx reaches the app server
    protocol: str  # "http" or "uwsgi": what the app server speaks to nginx
    summary: str


@dataclass(frozen=True)
class Server:
    name: str  # "gunicorn-gevent", or "gunicorn-gevent+nginx" when fronted
    recipe: str  # how it is launched: a function of that name in recipes.py
    worker_class: str
    interface: str  # what it can serve: "wsgi", "asgi", "aiohttp" (an aiohttp app), "api-hour" (a Container)
    requirements: Tuple[str, ...]  # pip specifiers, e.g. "gunicorn[gevent]"
    lock: str  # which constraints file pins it: servers with conflicting pins differ
    summary: str
    front: Optional[Front] = None
    environment: Mapping[str, str] = field(default_factory=dict)  # e.g. which psycogreen patch gunicorn applies

    @property
    def base(self) -> str:
        """The app server's own name, without the topology."""
        return self.name.split("+")[0]

    def uses(self, package: str) -> bool:
        return requires(self.requirements, package)


@dataclass(frozen=True)
class App:
    name: str
    targets: Mapping[str, str]  # interface -> "module:attribute"
    environment: Mapping[str, str]
    requirements: Tuple[str, ...]
    scenarios: Tuple[str, ...] = ()  # the endpoints it serves (tools/benchmatrix/matrix/scenarios.py); () = all

    def uses(self, package: str) -> bool:
        return requires(self.requirements, package)

    def serves(self, scenarios: Iterable[str]) -> bool:
        return not self.scenarios or all(name in self.scenarios for name in scenarios)


@dataclass(frozen=True)
class Cell:
    python: str  # "3.12": the interpreter's major.minor
    server: Server
    app: App

    @property
    def session_id(self) -> str:
        # The exact id users type: nox -s "bench(server='gunicorn', app='flask')".
        return "server='{}', app='{}'".format(self.server.name, self.app.name)

    @property
    def target(self) -> str:
        return self.app.targets[self.server.interface]


@dataclass(frozen=True)
class Matrix:
    pythons: Tuple[str, ...]
    servers: Mapping[str, Server]
    apps: Mapping[str, App]
    workers: str
    threads_per_worker: int

    def worker_count(self) -> int:
        if self.workers == "cpu_count":
            return os.cpu_count() or 1
        return int(self.workers)


@dataclass(frozen=True)
class Rule:
    reason: str  # said to the user when they ask for a dropped combination
    excludes: Callable[[Cell], bool]


def _py(cell: Cell) -> Tuple[int, ...]:
    return version_key(cell.python)


# Each rule drops the cells for which `excludes` is true; the reason says why. Python
# limits were measured on this project's machines (pip/uv install, boot, verified answers).
RULES: Tuple[Rule, ...] = (
    # A WSGI server cannot call an app that only exposes an ASGI callable, and so on.
    Rule("the app has no entry point for this server's interface",
         lambda cell: cell.server.interface not in cell.app.targets),
    Rule("meinheld 1.0.2 installs only with greenlet 0.4.x, which builds on Python 3.9 and older",
         lambda cell: cell.server.uses("meinheld") and _py(cell) > (3, 9)),
    Rule("api-hour 0.8.2 passes loop= to asyncio calls that Python 3.10 removed",
         lambda cell: cell.server.uses("api-hour") and _py(cell) > (3, 9)),
    Rule("psycogreen patches psycopg2, which this app does not use (measured: the worker fails to boot)",
         lambda cell: cell.server.uses("psycogreen") and not cell.app.uses("psycopg2-binary")),
    Rule("the uwsgi protocol is spoken by uWSGI only",
         lambda cell: cell.server.front is not None and cell.server.front.protocol == "uwsgi"
         and cell.server.recipe != "uwsgi"),
)


@functools.lru_cache(maxsize=None)
def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    fronts = {name: Front(name=name, upstream=f["upstream"], protocol=f["protocol"], summary=f["summary"])
              for name, f in data.get("fronts", {}).items()}
    servers: Dict[str, Server] = {}
    for name, s in data["servers"].items():
        server = Server(name=name, recipe=s["recipe"], worker_class=s["worker_class"],
                        interface=s["interface"], requirements=tuple(s["requirements"]),
                        lock=s["lock"], summary=s["summary"], environment=dict(s.get("environment", {})))
        servers[name] = server
        for front_name in s.get("fronts", ()):
            front = fronts[front_name]  # KeyError: configs/matrix.json names an undefined front
            servers[name + "+" + front_name] = replace(
                server, name=name + "+" + front_name, front=front,
                summary="{}; {}".format(server.summary, front.summary))
    apps = {
        name: App(name=name, targets=dict(a["interfaces"]),
                  environment=dict(a.get("environment", {})),
                  requirements=tuple(a["requirements"]), scenarios=tuple(a.get("scenarios", ())))
        for name, a in data["apps"].items()
    }
    return Matrix(pythons=tuple(data["pythons"]), servers=servers, apps=apps,
                  workers=str(data["workers"]),
                  threads_per_worker=int(data["threads_per_worker"]))


def exclusion_reason(cell: Cell) -> Optional[str]:
    """The reason the first matching rule gives, or None if the cell can run."""
    for rule in RULES:
        if rule.excludes(cell):
            return rule.reason
    return None


def all_cells(matrix: Matrix, pythons: Iterable[str]) -> List[Cell]:
    """Every runnable cell for the given interpreter versions, in a stable order."""
    cells = []
    for python in pythons:
        for server in matrix.servers.values():
            for app in matrix.apps.values():
                cell = Cell(python=python, server=server, app=app)
                if exclusion_reason(cell) is None:
                    cells.append(cell)
    return cells


def version_key(python: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in python.split("."))


def default_cells(cells: Iterable[Cell]) -> List[Cell]:
    """One cell per (server, app): the newest Python that pair runs on."""
    newest: Dict[Tuple[str, str], Cell] = {}
    for cell in cells:
        key = (cell.server.name, cell.app.name)
        if key not in newest or version_key(cell.python) > version_key(newest[key].python):
            newest[key] = cell
    return list(newest.values())


def find_cell(matrix: Matrix, python: str, server: str, app: str) -> Cell:
    """The named cell, or a ValueError that says what to type instead."""
    if server not in matrix.servers:
        raise ValueError("unknown server {!r}; choose one of: {}".format(
            server, ", ".join(matrix.servers)))
    if app not in matrix.apps:
        raise ValueError("unknown app {!r}; choose one of: {}".format(
            app, ", ".join(matrix.apps)))
    if python not in matrix.pythons:
        raise ValueError("Python {} is not in the matrix (configs/matrix.json lists {})".format(
            python, ", ".join(matrix.pythons)))
    cell = Cell(python=python, server=matrix.servers[server], app=matrix.apps[app])
    reason = exclusion_reason(cell)
    if reason is not None:
        raise ValueError("server {!r} with app {!r} on Python {} cannot run: {}".format(
            server, app, python, reason))
    return cell


def requirements(matrix: Matrix, cell: Cell) -> List[str]:
    """Requirement specifiers the cell's virtualenv needs: what is measured, nothing of the harness's."""
    specs = list(cell.server.requirements) + list(cell.app.requirements)
    return list(dict.fromkeys(specs))


def requires(specs: Iterable[str], package: str) -> bool:
    """Whether any of the pip specifiers installs `package`."""
    return any(package_name(spec) == package for spec in specs)


def package_name(spec: str) -> str:
    """"gunicorn[gevent]<26" -> "gunicorn": the distribution a specifier installs."""
    return re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower()


def lock_groups(matrix: Matrix, python: str) -> Dict[str, List[str]]:
    """Every lock group that has cells on this Python, with the specifiers it must resolve together.

    Only runnable cells count: the API-Hour app's old aiohttp must not drag the
    default group down, and meinheld has no group on Pythons it does not build on.
    """
    groups: Dict[str, List[str]] = {}
    for cell in all_cells(matrix, [python]):
        groups.setdefault(cell.server.lock, []).extend(requirements(matrix, cell))
    return {name: list(dict.fromkeys(specs)) for name, specs in groups.items()}


def constraints_file(python: str, lock: str = "default") -> Path:
    return CONSTRAINTS_DIR / "py{}-{}.txt".format(python, lock)


def constraints_fingerprint(python: str, lock: str) -> Dict[str, Optional[str]]:
    """Which pins file a cell installed from, and a hash of its content (None if absent)."""
    path = constraints_file(python, lock)
    try:
        digest: Optional[str] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = None
    return {"file": path.name, "sha": digest}
