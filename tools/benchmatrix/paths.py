"""Where the project's data lives: the checkout holding configs/, apps/, nginx/ and reports/.

The package sits in that checkout's tools/ folder and is installed from it in editable
mode (the harness environment, nox's own environment), so the folder two levels above
the package is the checkout. Installed as a plain package elsewhere, that folder is
site-packages' parent; BENCHMATRIX_ROOT names the checkout then, and the current
folder is the last guess. Nothing here touches the disk at import beyond one stat.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_VARIABLE = "BENCHMATRIX_ROOT"


def _find_root() -> Path:
    named = os.environ.get(ROOT_VARIABLE)
    if named:
        return Path(named).resolve()
    checkout = PACKAGE_DIR.parents[1]
    if (checkout / "configs" / "matrix.json").is_file():
        return checkout
    return Path.cwd()


REPO_ROOT = _find_root()
