"""The cells this machine can run: the matrix on the interpreters found here, shared by nox and tox.

Both front ends list the same cells from the same discovery (interpreters found on disk,
never a subprocess or the network, so listing stays instant and offline), name the same
default cell per (server, app), and resolve a user's `SERVER/APP[/PYTHON]` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from benchmatrix.matrix import interpreters
from benchmatrix.matrix.cell_spec import CellSpec
from benchmatrix.matrix.cells import (
    MATRIX_FILE, Cell, Matrix, all_cells, default_cells, find_cell, load_matrix, version_key)
from benchmatrix.matrix.versions import default_rank

PLAIN_FAMILY = "bench"  # each (server, app) on its newest Python; "bench-3.X" pins the interpreter


@dataclass(frozen=True)
class MatrixListing:
    matrix: Matrix
    found: Dict[str, interpreters.Interpreter]  # version -> the interpreter found on disk
    cells: List[Cell]  # every runnable cell on the Pythons found, in the matrix's order
    defaults: List[Cell]  # one per (server, app): its newest Python
    # Interpreters found here, newer than every Python the matrix lists: said, never silently left out.
    undeclared: Dict[str, interpreters.Interpreter] = field(default_factory=dict)

    @property
    def newest(self) -> Optional[str]:
        """The newest GIL build found (the harness's own Python); a free-threaded one only if alone."""
        return max(self.found, key=default_rank) if self.found else None

    @property
    def found_versions(self) -> List[str]:
        return sorted(self.found, key=version_key)

    def family_cells(self, family: str) -> List[Cell]:
        """The cells of a bench session family: "bench" (the defaults) or "bench-3.X"."""
        if family == PLAIN_FAMILY:
            return list(self.defaults)
        return [cell for cell in self.cells if family_of(cell, pinned=True) == family]

    def session_name(self, cell: Cell, pinned: bool = True) -> str:
        """The bench session that runs the cell: bench-3.X(...), or bench(...) for a default cell not pinned."""
        return "{}({})".format(family_of(cell, pinned or cell not in self.defaults), cell.session_id)

    def resolve(self, spec: CellSpec) -> Cell:
        """The cell a spec names: its Python if given (it must be found here), else the pair's default."""
        if spec.python is not None:
            if spec.python not in self.found:
                raise ValueError(interpreters.missing_message(spec.python))
            return find_cell(self.matrix, spec.python, spec.server, spec.app)
        default = next((c for c in self.defaults if (c.server.name, c.app.name) == (spec.server, spec.app)), None)
        if default is not None:
            return default
        if self.newest is None:
            raise ValueError(interpreters.missing_message(self.matrix.pythons[-1]))
        return find_cell(self.matrix, self.newest, spec.server, spec.app)  # raises with the reason


def family_of(cell: Cell, pinned: bool) -> str:
    return "bench-" + cell.python if pinned else PLAIN_FAMILY


def discover(matrix_file: Path = MATRIX_FILE, links_dir: Optional[Path] = None) -> MatrixListing:
    """The matrix on the interpreters found here; with links_dir, each found as pythonX.Y first on PATH
    (how nox and tox resolve a plain "3.12" to what was found, past pyenv shims, with no download)."""
    matrix = load_matrix(matrix_file)
    found = interpreters.find_interpreters(matrix.pythons)
    if links_dir is not None:
        interpreters.expose_on_path(found, links_dir)
    cells = all_cells(matrix, sorted(found, key=version_key))
    undeclared = interpreters.find_interpreters(interpreters.undeclared_versions(matrix.pythons))
    return MatrixListing(matrix=matrix, found=found, cells=cells, defaults=default_cells(cells), undeclared=undeclared)
