"""Where things live: benchmatrix's own data, and the project a run works for.

benchmatrix's own data (configs/matrix.json, the pins in configs/constraints/, the nginx
templates, the server configs, its apps/) is in the checkout the package comes from:
- installed from it in editable mode (the harness environment, `uv tool install nox
  --with-editable CHECKOUT`), the folder two levels above the package;
- installed from it as a plain package (`pip install CHECKOUT`, a noxfile's inline
  `dependencies = ["benchmatrix @ file:///CHECKOUT"]`), the folder the installer recorded
  in the distribution's direct_url.json (PEP 610);
- else BENCHMATRIX_ROOT names it, and the current folder is the last guess.
BENCHMATRIX_ROOT, when set, wins over all of these.

The project is where results, nox's folders and benchmatrix.toml are: benchmatrix's own
checkout, or a user's project named by BENCHMATRIX_PROJECT (project_config/active.py).
Nothing here touches the disk at import beyond a few stats and one small file read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlparse

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_VARIABLE = "BENCHMATRIX_ROOT"
PROJECT_VARIABLE = "BENCHMATRIX_PROJECT"  # project_config/active.py reads the same


def _is_checkout(folder: Path) -> bool:
    return (folder / "configs" / "matrix.json").is_file()


def _installed_from() -> Optional[Path]:
    """The local folder a plain install of benchmatrix was made from (PEP 610's direct_url.json), if any."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # pragma: no cover - Python 3.7
        return None
    try:
        text = distribution("benchmatrix").read_text("direct_url.json")
    except (PackageNotFoundError, OSError):
        return None
    if not text:
        return None
    try:
        url = urlparse(json.loads(text).get("url", ""))
    except ValueError:
        return None
    return Path(unquote(url.path)) if url.scheme == "file" else None


def _find_root() -> Path:
    named = os.environ.get(ROOT_VARIABLE)
    if named:
        return Path(named).resolve()
    checkout = PACKAGE_DIR.parents[1]
    if _is_checkout(checkout):
        return checkout
    source = _installed_from()
    if source is not None and _is_checkout(source):
        return source
    return Path.cwd()


REPO_ROOT = _find_root()  # benchmatrix's own data (and its own project, when it measures its own apps)


def _project_root() -> Path:
    named = os.environ.get(PROJECT_VARIABLE)
    return Path(named).resolve() if named else REPO_ROOT


PROJECT_ROOT = _project_root()  # where results go by default: reports/ of the project a run works for
