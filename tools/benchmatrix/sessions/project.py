"""Where a project's bench sessions keep their files: its noxfile, its data, nox's work folder.

Two kinds of project use the same sessions. benchmatrix's own checkout measures the apps
of configs/matrix.json. A user's project has a benchmatrix.toml beside its noxfile: its
apps and scenarios take the place of benchmatrix's, and its results, nox's virtualenvs and
the harness's environment stay in its own folder; benchmatrix's own data (the servers of
configs/matrix.json, their pins, the nginx templates) is read from where the package was
installed from (benchmatrix.paths), never written to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from benchmatrix.paths import REPO_ROOT
from benchmatrix.project_config.active import config_beside, load_project
from benchmatrix.project_config.model import ProjectConfig


@dataclass(frozen=True)
class BenchProject:
    noxfile: Path  # the noxfile that declares the sessions: nested nox runs (preparation, smoke, shard) load it
    root: Path = REPO_ROOT  # the project's folder: reports/ (and benchmatrix.toml for a user's project)
    work_dir: Path = REPO_ROOT / ".nox"  # nox's folder: virtualenvs, preparation logs, smoke outputs
    config: Optional[ProjectConfig] = None  # a user's project's benchmatrix.toml; None: benchmatrix's own apps

    @property
    def default_results_dir(self) -> Path:
        return self.root / "reports"

    @property
    def data_root(self) -> Path:
        """benchmatrix's own data: configs/matrix.json, the pins, the nginx templates."""
        return REPO_ROOT

    @property
    def harness_location(self) -> Path:
        """The harness's own virtualenv: in this project's nox folder."""
        return self.work_dir / "harness"

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
    """The project of a noxfile: a user's when a benchmatrix.toml is beside it (a ConfigError when that file is
    wrong), else benchmatrix's checkout; nox's folder beside the noxfile either way."""
    noxfile = Path(noxfile).resolve()
    root = config_beside(noxfile.parent)
    if root is None:
        return BenchProject(noxfile=noxfile, root=REPO_ROOT, work_dir=noxfile.parent / ".nox")
    return BenchProject(noxfile=noxfile, root=root, work_dir=root / ".nox", config=load_project(root))
