"""A cell's measured packages into its nox virtualenv; what has no wheel is built once into a wheelhouse."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix.cells import Cell, constraints_file, requirements
from benchmatrix.matrix.listing import MatrixListing
from benchmatrix.sessions.state import RunTicket, waits_for_builds

STAMP_NAME = ".benchmatrix-installed"


def install_arguments(listing: MatrixListing, cell: Cell) -> List[str]:
    """The cell's requirements under its lock group's pins (tox installs the same)."""
    return ["-c", str(constraints_file(cell.python, cell.server.lock)), *requirements(listing.matrix, cell)]


def install_cell(session, listing: MatrixListing, cell: Cell, trust_stamp: bool, ticket: Optional[RunTicket]) -> bool:
    """Install the cell; False when a preparing job left it for later (the other job builds what it needs)."""
    install_args = install_arguments(listing, cell)
    uv = harness_env.find_uv()
    if not uv:
        session.install(*install_args)
        return True
    house = wheelhouse.wheelhouse_for(cell.python)
    house.mkdir(parents=True, exist_ok=True)
    python = str(Path(session.bin) / "python")
    stamp = Path(session.bin).parent / STAMP_NAME
    wanted = wheelhouse.install_stamp(python, install_args)
    if trust_stamp and stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        # This run's preparation installed exactly this moments ago; asking uv again (a
        # resolution, ~0.5 s) would only say so, in the time between measured cells.
        session.log("benchmatrix: installed by this run's preparation")
        return True
    # Most cells have a wheel for everything: installing with building forbidden is one
    # resolution, where asking first what lacks a wheel would be two.
    if not wheelhouse.install_wheels_only(uv, python, install_args, house, session.log):
        try:
            wheelhouse.prebuild(uv, python, cell.python, install_args, session.log, wait=waits_for_builds(ticket))
        except wheelhouse.BuildBusy as busy:
            ticket.defer(session.name)
            session.log("benchmatrix: {} is being built by the other preparing job; this cell is installed "
                        "after it".format(busy))
            return False
        session.install("--find-links", str(house), *install_args)
    stamp.write_text(wanted, encoding="utf-8")
    return True
