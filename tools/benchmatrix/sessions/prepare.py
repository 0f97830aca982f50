"""Build every cell environment of a matrix run before any cell is measured.

`nox --install-only` creates and installs each session without running it; the sessions
are dealt round-robin to PREPARE_JOBS nox processes that install side by side, and the
cells either left for the other's build install once both end. Nothing measures
meanwhile, so the builds disturb no number.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence

from benchmatrix.sessions.project import BenchProject
from benchmatrix.sessions.state import FINISHING, PREPARING, RunTicket, ticket_arguments

PREPARE_JOBS = max(1, min(2, os.cpu_count() or 1))  # installs are mostly I/O; builds use every core


def deal(names: Sequence[str], jobs: int) -> List[List[str]]:
    """The sessions dealt round-robin to at most `jobs` groups, none empty."""
    return [list(names[job::jobs]) for job in range(jobs) if names[job::jobs]]


def prepare_cells(session, project: BenchProject, names: Sequence[str], out: Path) -> None:
    groups = deal(names, PREPARE_JOBS)
    began = time.monotonic()
    session.log("benchmatrix: preparing the {} cell environment(s) first ({} nox process(es), logs in {})".format(
        len(names), len(groups), out))
    deferred_file = out / "prepare-deferred.txt"
    deferred_file.write_text("", encoding="utf-8")
    preparing = RunTicket(PREPARING, deferred_file).write(out / "prepare-ticket.json")
    codes = install_only(project, groups, preparing, [out / "prepare-{}.log".format(n)
                                                      for n in range(1, len(groups) + 1)])
    # Cells that met the other job's build: that build is done now, so these only install.
    deferred = RunTicket.read(preparing).deferred()
    if deferred:
        finishing = RunTicket(FINISHING).write(out / "finish-ticket.json")
        codes += install_only(project, deal(deferred, 2), finishing,
                              [out / "prepare-deferred-{}.log".format(n) for n in (1, 2)])
    session.log("benchmatrix: prepared in {:.0f} s ({} cell(s) after another's build){}; now measuring, one cell "
                "at a time".format(time.monotonic() - began, len(deferred), "" if not any(codes) else
                                   " (some installs failed: their cells will say why)"))


def install_only_command(project: BenchProject, names: Sequence[str], ticket: Path) -> List[str]:
    return [sys.executable, "-m", "nox", "--noxfile", str(project.noxfile), "--install-only", "-s", *names,
            "--", *ticket_arguments(ticket)]


def install_only(project: BenchProject, groups: Sequence[Sequence[str]], ticket: Path,
                 logs: Sequence[Path]) -> List[int]:
    """One `nox --install-only` per group of sessions, side by side; their exit codes."""
    jobs = []
    try:
        for group, log_path in zip(groups, logs):
            with open(str(log_path), "w") as log:
                jobs.append(subprocess.Popen(install_only_command(project, group, ticket), stdout=log,
                                             stderr=subprocess.STDOUT))
        return [job.wait() for job in jobs]
    finally:
        for job in jobs:  # an interrupt must not leave an install running
            if job.poll() is None:
                job.terminate()
                job.wait()
