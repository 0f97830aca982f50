"""A user's app's cell: the project's own requirement lines, plus the server pinned where the project allows.

Chosen: the project's dependencies resolve as the project declares them (its app is measured
with its own versions, never benchmatrix's pins of Flask or Django); the server's own
packages (the names its requirements give: gunicorn, uwsgi, granian ...) are held to the
version of benchmatrix's pins that its recipes were measured with. When the project itself
asks for another version of one of those, the pins give way: the install is resolved again
without them, and the session says so.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import List, Sequence

from benchmatrix import harness_env
from benchmatrix.matrix.cells import Cell, constraints_file, package_name, requirements
from benchmatrix.matrix.listing import MatrixListing
from benchmatrix.matrix.overrides import normalized_name

CONFLICT = re.compile(r"unsatisfiable|no solution found|conflict|ResolutionImpossible|cannot install", re.I)


def server_pins(cell: Cell, folder: Path) -> Path:
    """A constraints file holding only the pins of the server's own packages (of its lock group's file)."""
    wanted = {normalized_name(package_name(spec)) for spec in cell.server.requirements}
    source = constraints_file(cell.python, cell.server.lock)
    lines = source.read_text(encoding="utf-8").splitlines() if source.is_file() else []
    kept = [line for line in lines if "==" in line and not line.lstrip().startswith("#")
            and normalized_name(line.split("==")[0].split("[")[0].strip()) in wanted]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "py{}-{}-server.txt".format(cell.python, cell.server.lock)
    path.write_text("# The server's pins of {}, for a project's cell (sessions/project_install.py)\n{}\n".format(
        source.name, "\n".join(kept)), encoding="utf-8")
    return path


def project_arguments(cell: Cell) -> List[str]:
    """The app's install lines as installer arguments ("-e ." -> "-e", ".")."""
    return [argument for line in cell.app.install for argument in shlex.split(line)]


def install_commands(uv: str, python: str, pins: Path, specs: Sequence[str], own: Sequence[str]) -> List[List[str]]:
    """With the server's pins, then without them (tried only when the first finds a conflict)."""
    base = [uv, "pip", "install", "--python", python]
    return [base + ["-c", str(pins)] + list(specs) + list(own), base + list(specs) + list(own)]


def install_project_cell(session, listing: MatrixListing, cell: Cell, work_dir: Path) -> None:
    specs = requirements(listing.matrix, cell)  # the server's: a project's app has no benchmatrix specifiers
    own = project_arguments(cell)
    pins = server_pins(cell, work_dir / "constraints")
    uv = harness_env.find_uv()
    if not uv:
        session.install("-c", str(pins), *specs, *own)
        return
    python = str(Path(session.bin) / "python")
    pinned, free = install_commands(uv, python, pins, specs, own)
    done = subprocess.run(pinned, cwd=str(cell.app.root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if done.returncode != 0 and CONFLICT.search(done.stdout):
        session.log("benchmatrix: the project's requirements conflict with benchmatrix's pins of {} ({}); "
                    "installing the versions the project asks for".format(", ".join(specs), pins))
        done = subprocess.run(free, cwd=str(cell.app.root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
    if done.returncode != 0:
        session.error("installing app {!r} with {} failed:\n  {}\n{}".format(
            cell.app.name, cell.server.name, " ".join(pinned), "\n".join(
                "    " + line for line in done.stdout.strip().splitlines()[-15:])))
    session.log("benchmatrix: installed {} and {}".format(" ".join(specs), " ".join(own)))
