"""Packages without a wheel for a Python are built once, into a wheelhouse, and reused by every cell.

uWSGI ships only a source distribution, and uv rebuilt it for every cell that
installs it (measured: about 19-40 s a cell, the same build each time). A cell
first installs with building forbidden (install_wheels_only); when that fails, uv
is asked which package has no usable wheel, that package is built once with pip
into .nox/wheelhouse/py<X.Y>/ (prebuild), and the install then finds it there
(--find-links). Standard library only: the noxfile runs this under nox's own
interpreter.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterator, List, Sequence

from benchmatrix.harness_env import REPO_ROOT

ROOT = REPO_ROOT / ".nox" / "wheelhouse"
MAX_BUILDS = 10  # per install: a cell whose dependencies need more is resolved by the install itself
NO_WHEEL = re.compile(r"Because (?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+) has no usable wheels")


def wheelhouse_for(python_version: str, root: Path = ROOT) -> Path:
    return root / "py{}".format(python_version)


class BuildBusy(Exception):
    """Another preparation is building this package now (raised only when told not to wait)."""


@contextlib.contextmanager
def _building(wheelhouse: Path, name: str, wait: bool) -> Iterator[None]:
    # One lock per package, taken only to build: two preparations never build the same
    # package side by side, and neither waits while the other builds something it does not need.
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with open(str(wheelhouse / ".lock-{}".format(name.lower())), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise BuildBusy(name) from None
        yield


def missing_wheel(uv: str, python: str, install_args: Sequence[str], wheelhouse: Path) -> List[str]:
    """[name, version] of the first package uv could not install without building, or []."""
    argv = [uv, "pip", "install", "--dry-run", "--no-build", "--python", python, "--find-links", str(wheelhouse),
            *install_args]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    match = NO_WHEEL.search(done.stdout) if done.returncode != 0 else None
    return [match.group("name"), match.group("version")] if match else []


def install_wheels_only(uv: str, python: str, install_args: Sequence[str], wheelhouse: Path,
                        say: Callable[[str], None]) -> bool:
    """Install from wheels alone (the wheelhouse's too); False, with nothing installed, when one is missing."""
    argv = [uv, "pip", "install", "--no-build", "--python", python, "--find-links", str(wheelhouse), *install_args]
    say(" ".join(argv))
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if done.returncode != 0:
        say("benchmatrix: not every package has a wheel here yet")
    return done.returncode == 0


def install_stamp(python: str, install_args: Sequence[str]) -> str:
    """What an install was asked for: the same stamp, the same packages (the pins are in the constraints)."""
    return hashlib.sha256("\0".join([python, *install_args]).encode("utf-8")).hexdigest()


def build_wheel(uv: str, python: str, name: str, version: str, wheelhouse: Path) -> None:
    """`pip wheel` of one pinned source distribution for this interpreter, into the wheelhouse.

    Built beside it and moved in whole: another preparation resolving against the wheelhouse
    meanwhile sees either no wheel or a complete one.
    """
    with tempfile.TemporaryDirectory(prefix=".build-", dir=str(wheelhouse)) as scratch:
        argv = [uv, "tool", "run", "--quiet", "--python", python, "--from", "pip", "pip", "wheel", "--quiet",
                "--no-deps", "--no-binary", name, "--wheel-dir", scratch, "{}=={}".format(name, version)]
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if done.returncode != 0:
            raise RuntimeError("building a wheel of {}=={} failed: {}\n{}".format(
                name, version, " ".join(argv), done.stdout.strip()[-3000:]))
        for wheel in Path(scratch).glob("*.whl"):
            os.replace(str(wheel), str(wheelhouse / wheel.name))


def prebuild(uv: str, python: str, python_version: str, install_args: Sequence[str],
             say: Callable[[str], None], wait: bool = True, root: Path = ROOT) -> Path:
    """Fill the Python's wheelhouse with what this install would build; returns the wheelhouse.

    With wait=False, BuildBusy says another preparation is building a package this install
    needs, so the caller can do other work first and come back.
    """
    wheelhouse = wheelhouse_for(python_version, root)
    wheelhouse.mkdir(parents=True, exist_ok=True)
    built: List[List[str]] = []
    for _ in range(MAX_BUILDS):
        missing = missing_wheel(uv, python, install_args, wheelhouse)
        if not missing or missing in built:  # a wheel uv still cannot use: the install says why
            break
        built.append(missing)
        with _building(wheelhouse, missing[0], wait):
            if missing_wheel(uv, python, install_args, wheelhouse) != missing:
                continue  # built by another preparation while this one waited
            say("benchmatrix: building {}=={} once for Python {} into {}".format(
                missing[0], missing[1], python_version, wheelhouse))
            build_wheel(uv, python, missing[0], missing[1], wheelhouse)
    return wheelhouse
