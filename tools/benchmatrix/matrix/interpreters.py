"""Find Python interpreters by looking at the file system only.

nox lists sessions on every call, so this must not run subprocesses. pyenv
shims are skipped on purpose: a shim for a version pyenv has not activated
exists on PATH but fails when run, which is how nox ends up "not finding"
interpreters that are installed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

OVERRIDE_VARIABLE = "BENCHMATRIX_PYTHONS"  # os.pathsep-separated interpreter paths
LINKS_MARKER = ".benchmatrix-interpreter-links"  # in the folder expose_on_path fills: never a place to find one


@dataclass(frozen=True)
class Interpreter:
    version: str  # "3.12"
    path: str
    source: str  # where it was found, for the "missing" message and the record


def _is_pyenv_shim(path: Path) -> bool:
    try:
        with open(str(path), "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and b"pyenv" in head


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(str(path), os.X_OK)


def _pyenv_roots(path_entries: List[str]) -> List[Path]:
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    # A shims directory on PATH reveals its pyenv root even if PYENV_ROOT is unset.
    roots += [Path(entry).parent for entry in path_entries if Path(entry).name == "shims"]
    roots.append(Path.home() / ".pyenv")
    return list(dict.fromkeys(roots))


_PATCH_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")  # plain CPython builds: no "t", no "-dev"


def _from_version_dirs(root: Path, version: str, source: str) -> Optional[Interpreter]:
    """The newest patch release of `version` under a pyenv- or uv-style versions dir."""
    candidates: List[Tuple[Tuple[int, ...], Path]] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return None
    for entry in entries:
        name = entry.name.replace("cpython-", "").split("-")[0]
        match = _PATCH_DIR.match(name)
        if not match or "{}.{}".format(match.group(1), match.group(2)) != version:
            continue
        binary = entry / "bin" / "python{}".format(version)
        if _executable(binary):
            candidates.append((tuple(int(g) for g in match.groups()), binary))
    if not candidates:
        return None
    return Interpreter(version, str(max(candidates)[1]), source)


def _candidates(version: str) -> Iterator[Interpreter]:
    for raw in os.environ.get(OVERRIDE_VARIABLE, "").split(os.pathsep):
        if raw and _executable(Path(raw)) and Path(raw).name.endswith(version):
            yield Interpreter(version, raw, OVERRIDE_VARIABLE)
    path_entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    for entry in path_entries:
        if (Path(entry) / LINKS_MARKER).exists():
            continue  # our own links (a nox run started by another one inherits them on PATH)
        binary = Path(entry) / "python{}".format(version)
        if _executable(binary) and not _is_pyenv_shim(binary):
            yield Interpreter(version, str(binary), "PATH")
    for root in _pyenv_roots(path_entries):
        found = _from_version_dirs(root / "versions", version, "pyenv")
        if found:
            yield found
    uv_home = Path(os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share")))
    found = _from_version_dirs(uv_home / "uv" / "python", version, "uv")
    if found:
        yield found


def find_interpreter(version: str) -> Optional[Interpreter]:
    return next(_candidates(version), None)


def find_interpreters(versions: Iterable[str]) -> Dict[str, Interpreter]:
    """Found interpreters by version; versions with none found are absent."""
    found = {}
    for version in versions:
        interpreter = find_interpreter(version)
        if interpreter is not None:
            found[version] = interpreter
    return found


def missing_message(version: str) -> str:
    return ("Python {v} was not found (looked in ${var}, on PATH past pyenv shims, in pyenv's "
            "and uv's version folders). Install it, e.g. `pyenv install {v}` or "
            "`apt-get install python{v}`, or point {var} at its binary."
            ).format(v=version, var=OVERRIDE_VARIABLE)


def expose_on_path(found: Dict[str, Interpreter], directory: Path) -> Path:
    """`pythonX.Y` links to the interpreters found, in `directory`, first on this process's PATH.

    nox and tox resolve a session's "3.12" by looking for `python3.12` on PATH (and would
    try to download one they miss); a pyenv shim there fails when its version is not
    activated. With the links first on PATH, sessions carry plain versions, so `nox -p 3.12`
    and `nox -l --json` work as nox users expect, and still run what was found here.
    Links are (re)written only when they point elsewhere: listing stays file-system only.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LINKS_MARKER).touch()
    for version, interpreter in found.items():
        link = directory / "python{}".format(version)
        # The real file, so every process writes the same link whatever its PATH held (a virtualenv's
        # python is a link to its base), and a link can never point into this folder.
        target = os.path.realpath(interpreter.path)
        if os.path.dirname(target) == os.path.realpath(str(directory)):
            raise ValueError("{} resolves into {}; point {} at a real interpreter".format(
                interpreter.path, directory, OVERRIDE_VARIABLE))
        if os.path.islink(str(link)) and os.readlink(str(link)) == target:
            continue
        if os.path.lexists(str(link)):
            link.unlink()
        link.symlink_to(target)
    entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry and entry != str(directory)]
    os.environ["PATH"] = os.pathsep.join([str(directory)] + entries)
    return directory
