"""The cells as tox environments: their names, what each installs and runs. Pure: no tox import here.

benchmatrix.tox wires this into tox's hooks; the names and commands are decided here, from
the same listing the nox sessions use (matrix/listing.py), so `tox l` and `nox -l` list
the same cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix import interpreters
from benchmatrix.matrix.cells import Cell, constraints_file, exclusion_reason, requirements
from benchmatrix.matrix.listing import MatrixListing


def env_name(cell: Cell) -> str:
    """py312-gunicorn-flask: tox's Python factor, then the server and the app as nox names them."""
    return "py{}-{}-{}".format(cell.python.replace(".", ""), cell.server.name, cell.app.name)


def cell_summary(cell: Cell) -> str:
    return "{}; app {} on Python {}".format(cell.server.summary, cell.app.name, cell.python)


def cells_by_env(listing: MatrixListing, base_python_of: Callable[[str], Optional[str]]) -> Dict[str, Cell]:
    """Every cell by its tox name; base_python_of is tox's reading of a name's Python factor."""
    cells: Dict[str, Cell] = {}
    for cell in listing.cells:
        name = env_name(cell)
        # tox reads every factor of a name that looks like a Python (py3, pypy, cpython, 3.12) as
        # one: a server or app named like that would make the name claim two interpreters.
        if base_python_of(name) != "py" + cell.python.replace(".", ""):
            raise ValueError("tox would read {!r} as another Python: rename the server or the app".format(name))
        if name in cells:
            raise ValueError("two cells share the tox name {!r}".format(name))
        cells[name] = cell
    return cells


def unlisted_reason(listing: MatrixListing, name: str) -> Optional[str]:
    """Why a name that spells a matrix cell has no environment here, or None if it spells none.

    tox accepts any name made of known factors (py313, meinheld, flask) and would run it as an
    empty environment that passes; a dropped cell must say why instead, as nox's lookup does.
    """
    matrix = listing.matrix
    for python in matrix.pythons:
        for server in matrix.servers.values():
            for app in matrix.apps.values():
                cell = Cell(python=python, server=server, app=app)
                if env_name(cell) != name:
                    continue
                if python not in listing.found:
                    return interpreters.missing_message(python)
                return "server {!r} with app {!r} on Python {} cannot run: {}".format(
                    server.name, app.name, python, exclusion_reason(cell))
    return None


def deps_lines(listing: MatrixListing, cell: Cell, uv: Optional[str]) -> List[str]:
    """The environment's deps: the cell's requirements under its pins, and the wheelhouse when uv fills it."""
    lines = ["--find-links {}".format(wheelhouse.wheelhouse_for(cell.python))] if uv else []
    lines.append("-c {}".format(constraints_file(cell.python, cell.server.lock)))
    return lines + requirements(listing.matrix, cell)


def harness_command(harness_python: Path, venv: Path, cell: Cell, posargs: Sequence[str]) -> List[str]:
    """The environment's command: the harness, from its own environment, on the cell's virtualenv."""
    return [str(harness_python), "-m", "benchmatrix", "run", "--venv", str(venv), "--server", cell.server.name,
            "--app", cell.app.name, *posargs]


def ensure_harness_argv(python: str, listing: MatrixListing) -> List[str]:
    """commands_pre: build or check the harness's environment, as the nox sessions do before handing over."""
    script = ("import sys; from benchmatrix import harness_env; "
              "harness_env.ensure_harness_env(sys.argv[1], say=lambda line: print(line, flush=True))")
    return [python, "-c", script, listing.found[listing.newest].path]


HARNESS_PYTHON = harness_env.python_of(harness_env.DEFAULT_LOCATION)
