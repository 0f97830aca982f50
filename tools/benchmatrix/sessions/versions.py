"""A cell `--with` another release of one of its packages: checked, then built as a virtualenv of its own.

The pinned cell's virtualenv (nox's, .nox/<session>) stays as it is; the overridden one
sits beside it, named after it plus a short hash of the overrides, and holds the cell's
requirements under its constraints minus the overridden packages' pins, plus the
overrides. Everything a user can get wrong (the notation, a package the cell does not
pin, a release PyPI does not have) is refused before anything is built or started.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
from pathlib import Path
from typing import Callable, List, Sequence

from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix.cells import Cell, constraints_file
from benchmatrix.matrix.overrides import (Overrides, constraints_without, label, parse_overrides, pinned_names,
                                          venv_suffix)
from benchmatrix.run.option_specs import option

STAMP_NAME = ".benchmatrix-installed"
WITH = option("--with")  # declared once, with the harness's run options


def overrides_of(options: Sequence[str]) -> Overrides:
    """The `--with` of a bench session's options (the harness gets them too, to check and record them)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument(WITH.flag, dest="overrides", default=None)
    given = parser.parse_known_args(list(options))[0].overrides
    return parse_overrides(given) if given is not None else ()


def override_venv(nox_venv: Path, overrides: Overrides) -> Path:
    """.nox/bench-server-uvicorn-app-raw -> .nox/bench-server-uvicorn-app-raw-with-1a2b3c4d."""
    return nox_venv.parent / "{}-{}".format(nox_venv.name, venv_suffix(overrides))


def refuse_project_overrides(cell: Cell, overrides: Overrides) -> None:
    """A ValueError for another release of a package in a user's project's cell: its packages resolve as
    the project declares them (sessions/project_install.py), not from pins a release could stand in for."""
    if overrides and cell.app.root is not None:
        raise ValueError("--with is for benchmatrix's own apps: for your project's app, put the release in its "
                         "benchmatrix.toml install lines (e.g. \"{}\") and measure it as another app".format(
                             overrides[0]))


def check_pinned(cell: Cell, overrides: Overrides) -> str:
    """The cell's constraints text, once every overridden package is known to be one of its pins."""
    path = constraints_file(cell.python, cell.server.lock)
    text = path.read_text(encoding="utf-8")
    pinned = pinned_names(text)
    for override in overrides:
        if override.name not in pinned:
            near = difflib.get_close_matches(override.name, pinned, n=3)
            raise ValueError("--with {}: this cell installs no {} (it is not pinned in configs/constraints/{}); give "
                             "a package pinned there{}".format(override, override.name, path.name,
                                                               ", e.g. " + ", ".join(near) if near else ""))
    return text


def check_releases_exist(uv: str, python: str, overrides: Overrides) -> None:
    """Ask the package index (through uv) whether each release exists for this interpreter."""
    for override in overrides:
        done = subprocess.run([uv, "pip", "compile", "--quiet", "--no-deps", "--no-header", "--python", python, "-"],
                              input=str(override) + "\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if done.returncode != 0:
            said = [line.strip() for line in done.stdout.splitlines() if line.strip()]
            raise ValueError("--with {}: the package index has no such release installable here ({}); see the "
                             "releases at https://pypi.org/project/{}/#history".format(
                                 override, said[-1].replace("cause: ", "") if said else "uv failed", override.name))


def install_arguments(cell_requirements: Sequence[str], constraints: Path, overrides: Overrides) -> List[str]:
    return ["-c", str(constraints), *cell_requirements, *map(str, overrides)]


def build_override_venv(base_python: str, location: Path, cell: Cell, cell_requirements: Sequence[str],
                        overrides: Overrides, say: Callable[[str], None]) -> Path:
    """The cell's virtualenv with the overrides, built or reused at `location`; checked first."""
    uv = harness_env.find_uv()
    if uv is None:
        raise ValueError("--with needs uv (configs/requirements/tools.txt; `tools/setup.sh` installs it)")
    constraints_text = check_pinned(cell, overrides)
    check_releases_exist(uv, base_python, overrides)
    python = location / "bin" / "python"
    if not python.exists():
        say("benchmatrix: {}/{}/{} with {}: a virtualenv of its own, {}".format(
            cell.server.name, cell.app.name, cell.python, label(overrides), location))
        _run([uv, "venv", "--quiet", "--python", base_python, str(location)])
    constraints = location / "constraints-with.txt"
    constraints.write_text(constraints_without(constraints_text, overrides), encoding="utf-8")
    arguments = install_arguments(cell_requirements, constraints, overrides)
    stamp, wanted = location / STAMP_NAME, wheelhouse.install_stamp(str(python), arguments)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return location
    house = wheelhouse.wheelhouse_for(cell.python)
    house.mkdir(parents=True, exist_ok=True)
    _run([uv, "pip", "install", "--quiet", "--python", str(python), "--find-links", str(house), *arguments])
    stamp.write_text(wanted, encoding="utf-8")
    return location


def _run(argv: List[str]) -> None:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if done.returncode != 0:
        raise ValueError("{} failed:\n{}".format(" ".join(argv), done.stdout.strip()))
