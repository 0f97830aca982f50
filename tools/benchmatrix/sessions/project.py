"""Where a project's bench sessions keep their files: its noxfile, its data, nox's work folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchmatrix.paths import REPO_ROOT


@dataclass(frozen=True)
class BenchProject:
    noxfile: Path  # the noxfile that declares the sessions: nested nox runs (preparation, smoke, shard) load it
    root: Path = REPO_ROOT  # the checkout holding configs/ and reports/
    work_dir: Path = REPO_ROOT / ".nox"  # nox's folder: virtualenvs, preparation logs, smoke outputs

    @property
    def default_results_dir(self) -> Path:
        return self.root / "reports"

    @property
    def cell_venvs(self) -> Path:
        """cell -> the virtualenv nox built for it, written by each bench session, for `interleave`."""
        return self.work_dir / "cell-venvs"

    @property
    def interpreter_links(self) -> Path:
        return self.work_dir / "interpreters"

    def new_logs_dir(self, kind: str) -> Path:
        """A fresh folder for one run of `kind` (prepare, smoke, shard), named by its start time."""
        folder = self.work_dir / kind / time.strftime("%Y%m%dT%H%M%S")
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def for_noxfile(noxfile: Path) -> BenchProject:
    """The project of a noxfile: this checkout's data (benchmatrix.paths), nox's folder beside the noxfile."""
    noxfile = Path(noxfile).resolve()
    return BenchProject(noxfile=noxfile, root=REPO_ROOT, work_dir=noxfile.parent / ".nox")
