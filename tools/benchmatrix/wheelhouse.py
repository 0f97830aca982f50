"""Packages without a wheel for a Python are built once, into a wheelhouse, and reused by every cell.

uWSGI ships only a source distribution, and uv rebuilt it for every cell that
installs it (measured: about 19-40 s a cell, the same build each time). Before a
cell's install, uv is asked to resolve the cell with building forbidden; each
package it names as having no usable wheel is built once with pip into
.nox/wheelhouse/py<X.Y>/, and the install then finds it there (--find-links).
Standard library only: the noxfile runs this under nox's own interpreter.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import subprocess
from pathlib import Path
from typing import Callable, Iterator, List, Sequence

from tools.benchmatrix.harness_env import REPO_ROOT

ROOT = REPO_ROOT / ".nox" / "wheelhouse"
MAX_BUILDS = 10  # per install: a cell whose dependencies need more is resolved by the install itself
NO_WHEEL = re.compile(r"Because (?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+) has no usable wheels")


def wheelhouse_for(python_version: str) -> Path:
    return ROOT / "py{}".format(python_version)


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    # Two preparations at once must not build the same package side by side.
    directory.mkdir(parents=True, exist_ok=True)
    with open(str(directory / ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def missing_wheel(uv: str, python: str, install_args: Sequence[str], wheelhouse: Path) -> List[str]:
    """[name, version] of the first package uv could not install without building, or []."""
    argv = [uv, "pip", "install", "--dry-run", "--no-build", "--python", python, "--find-links", str(wheelhouse),
            *install_args]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    match = NO_WHEEL.search(done.stdout) if done.returncode != 0 else None
    return [match.group("name"), match.group("version")] if match else []


def build_wheel(uv: str, python: str, name: str, version: str, wheelhouse: Path) -> None:
    """`pip wheel` of one pinned source distribution for this interpreter, into the wheelhouse."""
    argv = [uv, "tool", "run", "--quiet", "--python", python, "--from", "pip", "pip", "wheel", "--quiet",
            "--no-deps", "--no-binary", name, "--wheel-dir", str(wheelhouse), "{}=={}".format(name, version)]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if done.returncode != 0:
        raise RuntimeError("building a wheel of {}=={} failed: {}\n{}".format(
            name, version, " ".join(argv), done.stdout.strip()[-3000:]))


def prebuild(uv: str, python: str, python_version: str, install_args: Sequence[str],
             say: Callable[[str], None]) -> Path:
    """Fill the Python's wheelhouse with what this install would build; returns the wheelhouse."""
    wheelhouse = wheelhouse_for(python_version)
    built: List[List[str]] = []
    with _exclusive(wheelhouse):
        for _ in range(MAX_BUILDS):
            missing = missing_wheel(uv, python, install_args, wheelhouse)
            if not missing or missing in built:  # a wheel uv still cannot use: the install says why
                break
            built.append(missing)
            say("benchmatrix: building {}=={} once for Python {} into {}".format(
                missing[0], missing[1], python_version, wheelhouse))
            build_wheel(uv, python, missing[0], missing[1], wheelhouse)
    return wheelhouse
