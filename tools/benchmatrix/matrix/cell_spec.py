"""`SERVER/APP[/PYTHON]`: how a user names a cell on a command line, parsed in one place.

The nox sessions (interleave, ranking), the harness's `--cell` contenders and `compare`'s
cells all take this spelling. Parsing is pure text work; whether the names exist in the
matrix is for the caller, which knows the matrix (matrix/listing.py resolves them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

EXAMPLE = "meinheld/flask/3.9"


@dataclass(frozen=True)
class CellSpec:
    server: str
    app: str
    python: Optional[str] = None  # None: the caller's default Python for the pair

    def __str__(self) -> str:
        return "/".join(part for part in (self.server, self.app, self.python) if part)

    def selects(self, server: str, app: str, python: str) -> bool:
        """Whether a cell (or a record of one) with these names is the one spelled."""
        return (server, app) == (self.server, self.app) and self.python in (None, python)


def parse_cell_spec(text: str) -> CellSpec:
    """"gunicorn/flask" or "gunicorn/flask/3.13" as a CellSpec; a ValueError says how to write one."""
    parts = [part.strip() for part in text.split("/")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError("{!r} is not a cell: write SERVER/APP or SERVER/APP/PYTHON, e.g. {}".format(text, EXAMPLE))
    return CellSpec(*parts)
