"""The cells as tox environments (sessions/tox_cells.py), decided without starting tox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmatrix.matrix.cells import Cell, exclusion_reason
from benchmatrix.matrix.listing import discover
from benchmatrix.sessions import tox_cells


def tox_reading(name: str) -> str:
    """tox's own reading of a plain pyXY factor (tox.tox_env.python.api.Python.extract_base_python)."""
    match = re.match(r"py(\d+)-", name)
    return "py" + match.group(1) if match else None


@pytest.fixture(scope="module")
def listing():
    found = discover()
    if not found.found:
        pytest.skip("no interpreter of the matrix here")
    return found


def test_every_cell_is_one_environment_named_by_python_server_and_app(listing):
    cells = tox_cells.cells_by_env(listing, tox_reading)
    assert list(cells.values()) == listing.cells
    cell = next(c for c in listing.cells if c.server.name == "gunicorn+nginx-unix")
    assert tox_cells.env_name(cell) == "py{}-gunicorn+nginx-unix-{}".format(cell.python.replace(".", ""),
                                                                            cell.app.name)


def test_a_name_tox_would_read_as_another_python_is_refused(listing):
    with pytest.raises(ValueError, match="tox would read"):
        tox_cells.cells_by_env(listing, lambda name: "py27")


def test_a_dropped_cell_and_a_missing_python_say_why(listing):
    matrix = listing.matrix
    python = listing.found_versions[0]
    dropped = next(Cell(python, s, a) for s in matrix.servers.values() for a in matrix.apps.values()
                   if exclusion_reason(Cell(python, s, a)))
    assert exclusion_reason(dropped) in tox_cells.unlisted_reason(listing, tox_cells.env_name(dropped))
    assert tox_cells.unlisted_reason(listing, "py313-nosuch-flask") is None
    missing = [p for p in matrix.pythons if p not in listing.found]
    if missing:
        cell = Cell(missing[0], matrix.servers["gunicorn"], matrix.apps["flask"])
        assert "was not found" in tox_cells.unlisted_reason(listing, tox_cells.env_name(cell))


def test_an_environment_installs_the_cells_pins_and_hands_over_to_the_harness(listing, tmp_path):
    cell = next(c for c in listing.cells if (c.server.name, c.app.name) == ("gunicorn", "flask"))
    deps = tox_cells.deps_lines(listing, cell, uv="/bin/uv")
    assert deps[0].startswith("--find-links ") and deps[1].endswith("py{}-default.txt".format(cell.python))
    assert "gunicorn" in deps and "flask" in " ".join(deps)
    assert not tox_cells.deps_lines(listing, cell, uv=None)[0].startswith("--find-links")
    command = tox_cells.harness_command(Path("/h/python"), tmp_path, cell, ["--duration", "3s"])
    assert command == ["/h/python", "-m", "benchmatrix", "run", "--venv", str(tmp_path), "--server", "gunicorn",
                       "--app", "flask", "--duration", "3s"]
