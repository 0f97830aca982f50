"""One bench session: skip it if measured, prepare the run's rest if first, install, hand over to the harness."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Optional, Sequence

from benchmatrix.matrix.cells import Cell, constraints_fingerprint, find_cell, requirements
from benchmatrix.matrix.listing import MatrixListing
from benchmatrix.matrix.overrides import Overrides, venv_suffix
from benchmatrix.run import resume
from benchmatrix.sessions import versions
from benchmatrix.sessions.harness_call import STOP_WAITS, run_harness
from benchmatrix.sessions.install import install_cell
from benchmatrix.sessions.project_install import install_project_cell
from benchmatrix.sessions.prepare import prepare_cells
from benchmatrix.sessions.project import BenchProject
from benchmatrix.sessions.queue import nox_queue
from benchmatrix.sessions.state import REMEASURE, BenchArguments, MatrixRun, parse_bench_arguments, trusts_preparation


def cell_key(cell: Cell, overrides: Overrides = ()) -> str:
    """The name of the file that says where the cell's virtualenv is (one per override set)."""
    key = "py{}-{}-{}".format(cell.python, cell.server.name, cell.app.name)
    return key + "-" + venv_suffix(overrides) if overrides else key


def results_dir_of(options: Sequence[str], default: Path) -> Path:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--results-dir", type=Path, default=default)
    return parser.parse_known_args(list(options))[0].results_dir


def cell_fingerprint(project: BenchProject, listing: MatrixListing, cell: Cell, options: Sequence[str]) -> str:
    """The run's fingerprint (run/resume.py): the cell, its pins, the options, the source tree, the machine."""
    return resume.run_fingerprint(
        {"python": cell.python, "server": cell.server.name, "app": cell.app.name},
        {"constraints": constraints_fingerprint(cell.python, cell.server.lock),
         "requirements": requirements(listing.matrix, cell) + list(cell.app.install) + list(cell.app.setup)},
        list(options), resume.source_state(project.root))


def measured_before(run: MatrixRun, name: str, arguments: BenchArguments, results_dir: Path,
                    fingerprint: str) -> Optional[str]:
    """In a matrix run, what to say when this cell was measured already with the same fingerprint; else None."""
    position = run.position(name)
    if position is None or arguments.remeasure or arguments.ticket is not None and arguments.ticket.phase != "prepared":
        return None  # a preparing job installs every cell it is given
    entry = resume.measured_entry(results_dir, fingerprint)
    if entry is None:
        return None
    skipped = run.skip_as_measured(name)
    return ("benchmatrix: [cell {}/{}] already measured with the same code, pins, options and machine (run {}, {}); "
            "skipped ({} skipped so far). `-- {}` measures it again".format(
                position[0], position[1], entry.get("run_id"), entry.get("status"), skipped, REMEASURE))


def run_bench(session, project: BenchProject, listing: MatrixListing, run: MatrixRun, server: str, app: str) -> None:
    cell = find_cell(listing.matrix, session.python, server, app)
    arguments = parse_bench_arguments(session.posargs)
    run.learn_queue(nox_queue(session) or [])
    fingerprint = cell_fingerprint(project, listing, cell, arguments.options)
    said = measured_before(run, session.name, arguments, results_dir_of(arguments.options,
                                                                         project.default_results_dir), fingerprint)
    if said:
        session.log(said)
        return
    if run.should_prepare(session.name, arguments.ticket):
        run.prepared = True  # before the preparation: its nox processes carry their own ticket
        prepare_cells(session, project, run.remaining(session.name), project.new_logs_dir("prepare"))
    try:
        overrides = versions.overrides_of(arguments.options)
        versions.refuse_project_overrides(cell, overrides)
        venv = versions.build_override_venv(str(Path(session.bin) / "python"), versions.override_venv(
            Path(session.bin).parent, overrides), cell, requirements(listing.matrix, cell), overrides,
            session.log) if overrides else Path(session.bin).parent
    except ValueError as error:
        session.error(str(error))
    if cell.app.root is not None:  # a user's project's app (benchmatrix.toml)
        install_project_cell(session, listing, cell, project.work_dir)
    elif not overrides and not install_cell(session, listing, cell, trusts_preparation(run, arguments.ticket),
                                            arguments.ticket):
        return  # left for after the other preparing job's build (prepare.prepare_cells)
    # Written on --install-only runs too: the interleave session prepares cells that way and
    # needs to know where nox put each one.
    project.cell_venvs.mkdir(parents=True, exist_ok=True)
    (project.cell_venvs / (cell_key(cell, overrides) + ".path")).write_text(str(venv), encoding="utf-8")
    # The harness writes the fingerprint to the results folder's ledger when the cell's run ends.
    run_harness(session, listing, "run", "--venv", str(venv), "--server", server, "--app", app,
                *run.progress_arguments(session.name, time.monotonic()), *arguments.options,
                env={resume.FINGERPRINT_VARIABLE: fingerprint}, **STOP_WAITS)
