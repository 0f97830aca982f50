"""The harness's own virtualenv: built once on the newest Python found, reused while its pins hold.

The harness (verification, load, sampling, records, reports) runs from here and
starts each cell's server from the cell's own virtualenv, the way TechEmpower's
toolset runs outside the containers it measures: nothing the harness imports
enters the measured environment or its freeze hash. Standard library only,
because the noxfile imports this under nox's own interpreter.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Optional
from benchmatrix.paths import PROJECT_VARIABLE, REPO_ROOT

REQUIREMENTS = REPO_ROOT / "configs" / "requirements" / "harness.txt"
CONSTRAINTS = REPO_ROOT / "configs" / "constraints" / "harness.txt"  # uv pip compile --universal
PYPROJECT = REPO_ROOT / "pyproject.toml"  # the package's own dependencies and entry points
DEFAULT_LOCATION = REPO_ROOT / ".nox" / "harness"
STAMP_NAME = "benchmatrix-harness.stamp"


def find_uv() -> Optional[str]:
    """uv beside the running interpreter (benchmatrix's tool environment), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if os.access(str(beside), os.X_OK):
        return str(beside)
    return shutil.which("uv")


def wanted_stamp(interpreter: str) -> str:
    """What the environment was built from: a change of interpreter or pins rebuilds it."""
    digest = hashlib.sha256()
    for part in (interpreter.encode(), REQUIREMENTS.read_bytes(), CONSTRAINTS.read_bytes(), PYPROJECT.read_bytes()):
        digest.update(part + b"\0")
    return digest.hexdigest()


def python_of(location: Path) -> Path:
    return location / "bin" / "python"


@contextlib.contextmanager
def _exclusive(location: Path) -> Iterator[None]:
    # Two nox sessions started at once must not build the same environment over each other.
    location.parent.mkdir(parents=True, exist_ok=True)
    with open(str(location.parent / ".harness.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_commands(interpreter: str, location: Path, uv: Optional[str]) -> List[List[str]]:
    python = str(python_of(location))
    # The package itself, editable: the harness runs the checkout's code as it is edited.
    install = ["-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS), "-e", str(REPO_ROOT)]
    if uv:
        return [[uv, "venv", "--quiet", "--clear", "--python", interpreter, str(location)],
                [uv, "pip", "install", "--quiet", "--python", python] + install]
    return [[interpreter, "-m", "venv", "--clear", str(location)],
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + install]


def default_location() -> Path:
    """benchmatrix's own .nox/harness; a user's project's (BENCHMATRIX_PROJECT) in that project's .nox."""
    project = os.environ.get(PROJECT_VARIABLE)
    return Path(project) / ".nox" / "harness" if project else DEFAULT_LOCATION


def ensure_harness_env(interpreter: str, location: Optional[Path] = None, say=print) -> str:
    """The harness's python, building or rebuilding the environment when its stamp is stale."""
    location = location or default_location()
    stamp = wanted_stamp(interpreter)
    with _exclusive(location):
        stamp_path = location / STAMP_NAME
        if python_of(location).exists() and stamp_path.is_file() and stamp_path.read_text() == stamp:
            return str(python_of(location))
        say("benchmatrix: building the harness environment in {} from {} on {}".format(
            location, REQUIREMENTS.name, interpreter))
        for argv in _build_commands(interpreter, location, find_uv()):
            completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       universal_newlines=True)
            if completed.returncode != 0:
                raise RuntimeError("building the harness environment failed: {}\n{}".format(
                    " ".join(argv), completed.stdout.strip()))
        stamp_path.write_text(stamp)
    return str(python_of(location))
