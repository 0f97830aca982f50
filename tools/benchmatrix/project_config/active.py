"""Which project the harness works for: benchmatrix's own checkout, or a user's with a benchmatrix.toml.

A user's noxfile (benchmatrix.nox.bench_sessions) names its folder in BENCHMATRIX_PROJECT,
which every process it starts inherits (the harness, nested nox runs): the matrix then
holds that project's apps, its scenarios are the ones measured, and its reports/ is the
results folder. Unset, everything is benchmatrix's own, as before.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

from benchmatrix.project_config.model import CONFIG_NAME, ProjectConfig

from benchmatrix.paths import PROJECT_VARIABLE  # noqa: F401 (named here too: the module that reads it)


def config_beside(folder: Path) -> Optional[Path]:
    """The folder when it holds a benchmatrix.toml (a user's project), else None (benchmatrix's own)."""
    folder = Path(folder).resolve()
    return folder if (folder / CONFIG_NAME).is_file() else None


def active_root() -> Optional[Path]:
    named = os.environ.get(PROJECT_VARIABLE)
    return Path(named).resolve() if named else None


@functools.lru_cache(maxsize=None)
def _load(root: Path, stamp: float) -> ProjectConfig:
    from benchmatrix.project_config.read import read_config

    return read_config(root)


def load_project(root: Path) -> ProjectConfig:
    """The project's config, read again only when the file changed (ConfigError when it is wrong)."""
    path = Path(root) / CONFIG_NAME
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = 0.0
    return _load(Path(root).resolve(), stamp)


def active_project() -> Optional[ProjectConfig]:
    root = active_root()
    return load_project(root) if root is not None else None
