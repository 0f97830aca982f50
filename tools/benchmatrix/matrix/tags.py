"""The tags a cell carries in nox (`nox -t asgi -l`) and tox: what users filter the matrix by.

Beside the cell's Python, server and app: the server's family (its recipe: `-t granian` is every
granian server and topology), its topology (how the load reaches the server), the interface the
app is served through, the family of the server's workers, and whether its app has database
endpoints. One function per kind, so a new kind is one more line.
"""

from __future__ import annotations

from typing import List

from benchmatrix.matrix.cells import Cell
from benchmatrix.matrix.scenarios import SCENARIOS

# worker_class (configs/matrix.json) -> how a worker waits for I/O. Unknown classes get no
# family tag rather than a wrong one; test_matrix checks every server of the matrix has one.
WORKER_FAMILIES = {
    "sync": "sync", "processes": "sync",
    "gthread": "threads",
    "gevent": "greenlet", "eventlet": "greenlet", "meinheld": "greenlet",
    "meinheld.gmeinheld.MeinheldWorker": "greenlet",
    "asyncio": "async", "uvloop": "async", "uvloop+httptools": "async", "aiohttp.GunicornWebWorker": "async",
    "uvicorn_worker.UvicornWorker": "async", "api-hour": "async", "asgi": "async",
    "granian": None,  # by interface: below
}
# Where the worker class alone does not say it: granian calls a WSGI app from a pool of blocking
# threads, and runs ASGI and RSGI apps on one event loop per worker.
INTERFACE_FAMILIES = {"wsgi": "threads", "asgi": "async", "rsgi": "async"}
DATABASE_SCENARIOS = tuple(name for name, s in SCENARIOS.items() if "database" in s.needs)


def topology_tag(cell: Cell) -> str:
    """"direct" (wrk to the server), or the front: "nginx", "nginx-unix", "nginx-uwsgi"."""
    return cell.server.front.name if cell.server.front else "direct"


def worker_family_tag(cell: Cell) -> List[str]:
    family = WORKER_FAMILIES.get(cell.server.worker_class)
    if family is None and cell.server.worker_class in WORKER_FAMILIES:
        family = INTERFACE_FAMILIES.get(cell.interface)
    return ["workers-" + family] if family else []


def database_tag(cell: Cell) -> List[str]:
    """"db" when the app serves endpoints that need PostgreSQL (the raw app has none)."""
    # A user's project's app says so itself (services = ["postgres"] in its benchmatrix.toml).
    uses = "postgres" in cell.app.services or any(cell.app.serves([name]) for name in DATABASE_SCENARIOS)
    return ["db"] if uses else []


def cell_tags(cell: Cell) -> List[str]:
    tags = ["py" + cell.python, cell.server.name, cell.app.name, cell.server.recipe, topology_tag(cell),
            cell.interface]
    tags += worker_family_tag(cell) + database_tag(cell)
    return list(dict.fromkeys(tags))  # a server named like its interface or recipe ("aiohttp") is tagged once
