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
from benchmatrix.matrix.versions import default_rank, is_free_threaded, version_key
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
    # What it can serve, in the order it prefers them: "wsgi", "asgi", "rsgi" (granian's own), "aiohttp"
    # (an aiohttp app), "api-hour" (a Container). A cell serves the first one its app has.
    interfaces: Tuple[str, ...]
    requirements: Tuple[str, ...]  # pip specifiers, e.g. "gunicorn[gevent]"
    lock: str  # which constraints file pins it: servers with conflicting pins differ
    summary: str
    front: Optional[Front] = None
    environment: Mapping[str, str] = field(default_factory=dict)  # e.g. which psycogreen patch gunicorn applies
    # What it can speak to a front ("http", "uwsgi"), each with the requirements that bring it in
    # (gunicorn speaks uwsgi from 24 on); a fronted server installs those of its front's protocol.
    protocols: Mapping[str, Tuple[str, ...]] = field(default_factory=lambda: {"http": ()})
    free_threaded: bool = False  # declared to run on free-threaded builds (configs/matrix.json says where from)
    # Earlier servers of the matrix launched the same way but for the interfaces they prefer, as
    # (name, interfaces): granian-asgi is granian made to serve ASGI, and where granian already
    # serves an app through ASGI the two would be one cell twice.
    same_launch_as: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()

    @property
    def base(self) -> str:
        """The app server's own name, without the topology."""
        return self.name.split("+")[0]

    def uses(self, package: str) -> bool:
        return requires(self.requirements, package)

    def launch_key(self) -> Tuple:
        """Everything that makes two servers launch differently, except the interfaces they prefer."""
        return (self.recipe, self.worker_class, self.requirements, self.lock, tuple(sorted(self.environment.items())),
                self.front)


@dataclass(frozen=True)
class App:
    name: str
    targets: Mapping[str, str]  # interface -> "module:attribute"
    environment: Mapping[str, str]
    requirements: Tuple[str, ...]
    scenarios: Tuple[str, ...] = ()  # the endpoints it serves (tools/benchmatrix/matrix/scenarios.py); () = all
    # A user's project's app (benchmatrix.toml; project_config/): its requirement lines, installed as the
    # project says, the commands run in the cell's environment before it boots, the services it uses
    # ("postgres"), and its folder, the server's working directory. None/() for benchmatrix's own apps.
    install: Tuple[str, ...] = ()
    setup: Tuple[str, ...] = ()
    services: Tuple[str, ...] = ()
    root: Optional[Path] = None

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
    def interface(self) -> str:
        """The interface the server serves the app through; "" when they share none."""
        return served_interface(self.server.interfaces, self.app)

    @property
    def target(self) -> str:
        return self.app.targets[self.interface]

    @property
    def free_threaded(self) -> bool:
        return is_free_threaded(self.python)


def served_interface(interfaces: Iterable[str], app: App) -> str:
    """The first of a server's interfaces (its preference order) the app has an entry point for."""
    return next((name for name in interfaces if name in app.targets), "")


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
    """(major, minor): a free-threaded build is the same version for the limits below."""
    return version_key(cell.python)[:2]


def _same_launch(cell: Cell) -> Optional[str]:
    """The earlier server that already serves this app through the same interface the same way."""
    return next((name for name, interfaces in cell.server.same_launch_as
                 if served_interface(interfaces, cell.app) == cell.interface), None)


# Each rule drops the cells for which `excludes` is true; the reason says why. Python
# limits were measured on this project's machines (pip/uv install, boot, verified answers).
RULES: Tuple[Rule, ...] = (
    # A WSGI server cannot call an app that only exposes an ASGI callable, and so on.
    Rule("the app has no entry point for this server's interface",
         lambda cell: not cell.interface),
    Rule("another server of the matrix already serves this app through this interface, launched the same way",
         lambda cell: _same_launch(cell) is not None),
    Rule("meinheld 1.0.2 installs only with greenlet 0.4.x, which builds on Python 3.9 and older",
         lambda cell: cell.server.uses("meinheld") and _py(cell) > (3, 9)),
    Rule("api-hour 0.8.2 passes loop= to asyncio calls that Python 3.10 removed",
         lambda cell: cell.server.uses("api-hour") and _py(cell) > (3, 9)),
    Rule("psycogreen patches psycopg2, which this app does not use (measured: the worker fails to boot)",
         lambda cell: cell.server.uses("psycogreen") and not cell.app.uses("psycopg2-binary")),
    # What a server speaks to its front is declared with it (`protocols` in configs/matrix.json).
    Rule("the server does not speak its front's protocol (its `protocols` in configs/matrix.json)",
         lambda cell: cell.server.front is not None and cell.server.front.protocol not in cell.server.protocols),
    # gunicorn 24.0.0 brought the asgi worker and the uwsgi protocol; gunicorn 24 and newer declare
    # Requires-Python >=3.10 (the pins of 3.8 and 3.9 hold 23.0.0).
    Rule("gunicorn 24 and newer (its asgi worker, its uwsgi protocol) need Python 3.10 or newer",
         lambda cell: requires_at_least(cell.server.requirements, "gunicorn", (24,)) and _py(cell) < (3, 10)),
    # granian 2.6 dropped Python 3.9 (requires-python >=3.10; resolved for 3.9, `granian` gives 2.5.7); the
    # matrix asks for granian>=2.6, the releases its recipe was measured with.
    Rule("granian 2.6 and newer need Python 3.10 or newer",
         lambda cell: requires_at_least(cell.server.requirements, "granian", (2, 6)) and _py(cell) < (3, 10)),
    # Free-threaded builds, kept conservative: a server runs there only where it declares support
    # (configs/matrix.json `free_threaded`, with its source), and only the stdlib-only raw app: the
    # other apps' compiled dependencies (psycopg2, asyncpg, ...) are not measured there.
    Rule("the server does not declare support for free-threaded builds (`free_threaded` in configs/matrix.json)",
         lambda cell: cell.free_threaded and not cell.server.free_threaded),
    Rule("on free-threaded builds only the stdlib-only raw app runs: the others' compiled dependencies are "
         "unmeasured there",
         lambda cell: cell.free_threaded and bool(cell.app.requirements or cell.app.install)),
    # uvloop's first free-threaded wheels are 0.22.0's, for 3.14t (MagicStack/uvloop#693); there is none for 3.13t.
    Rule("uvloop has no free-threaded wheels before Python 3.14t",
         lambda cell: cell.free_threaded and cell.server.uses("uvloop") and _py(cell) < (3, 14)),
)


def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    """The matrix of `path`; for a user's project (BENCHMATRIX_PROJECT, project_config/active.py) its apps
    take the place of benchmatrix's own (a ConfigError, a ValueError, when its benchmatrix.toml is wrong)."""
    from benchmatrix.project_config.active import active_root, load_project
    from benchmatrix.project_config.matrix import with_project

    root = active_root()
    return read_matrix(Path(path)) if root is None else with_project(read_matrix(Path(path)), load_project(root))


@functools.lru_cache(maxsize=None)
def read_matrix(path: Path = MATRIX_FILE) -> Matrix:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    fronts = {name: Front(name=name, upstream=f["upstream"], protocol=f["protocol"], summary=f["summary"])
              for name, f in data.get("fronts", {}).items()}
    servers: Dict[str, Server] = {}
    for name, s in data["servers"].items():
        protocols = {"http": ()} if "protocols" not in s else {
            protocol: tuple(specs) for protocol, specs in s["protocols"].items()}
        server = Server(name=name, recipe=s["recipe"], worker_class=s["worker_class"],
                        interfaces=tuple(s["interfaces"]), requirements=tuple(s["requirements"]),
                        lock=s["lock"], summary=s["summary"], environment=dict(s.get("environment", {})),
                        protocols=protocols, free_threaded=bool(s.get("free_threaded", False)))
        variants = [server]
        for front_name in s.get("fronts", ()):
            front = fronts[front_name]  # KeyError: configs/matrix.json names an undefined front
            extra = protocols.get(front.protocol, ())  # none: the protocol rule drops its cells, with the reason
            variants.append(replace(
                server, name=name + "+" + front_name, front=front,
                requirements=tuple(dict.fromkeys(server.requirements + extra)),
                summary="{}; {}".format(server.summary, front.summary)))
        for variant in variants:
            earlier = tuple((other.name, other.interfaces) for other in servers.values()
                            if other.launch_key() == variant.launch_key())
            servers[variant.name] = replace(variant, same_launch_as=earlier)
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


def default_cells(cells: Iterable[Cell]) -> List[Cell]:
    """One cell per (server, app): the newest Python that pair runs on, a GIL build where it has one
    (a free-threaded build is asked for by name: bench-3.14t)."""
    newest: Dict[Tuple[str, str], Cell] = {}
    for cell in cells:
        key = (cell.server.name, cell.app.name)
        if key not in newest or default_rank(cell.python) > default_rank(newest[key].python):
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


def requires_at_least(specs: Iterable[str], package: str, version: Tuple[int, ...]) -> bool:
    """Whether a specifier asks for `package` at `version` or newer ("gunicorn>=24" for (24,))."""
    for spec in specs:
        match = re.match(r"[A-Za-z0-9._-]+(?:\[[^]]*\])?\s*>=\s*([0-9.]+)", spec)
        if match and package_name(spec) == package:
            if tuple(int(part) for part in match.group(1).strip(".").split(".")) >= version:
                return True
    return False


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
