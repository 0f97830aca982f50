"""Find Python interpreters by looking at the file system only.

nox lists sessions on every call, so this must not run subprocesses. pyenv
shims are skipped on purpose: a shim for a version pyenv has not activated
exists on PATH but fails when run, which is how nox ends up "not finding"
interpreters that are installed.

Any X.Y is looked for the same way, and "X.Yt" is the free-threaded build of X.Y
(matrix/versions.py): its binary is `pythonX.Yt`, pyenv installs it as `X.Y.Zt`,
uv as `cpython-X.Y.Z+freethreaded-...`. A GIL build is never taken for a
free-threaded one, nor the other way round.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from benchmatrix.matrix.versions import is_free_threaded, version_key

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


# Released CPython builds only (no "-dev", "a1", "rc1", "+debug"): pyenv's "3.13.1" and "3.13.1t",
# uv's "cpython-3.13.1-linux-..." and "cpython-3.13.1+freethreaded-linux-...".
_PATCH_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)(t|\+freethreaded)?$")
_BINARY = re.compile(r"^python(\d+\.\d+t?)$")


def version_dir_name(entry_name: str) -> Optional[Tuple[str, Tuple[int, int, int]]]:
    """The axis value ("3.13t") and release of a pyenv or uv version folder's name, None if not a release."""
    match = _PATCH_DIR.match(entry_name.replace("cpython-", "", 1).split("-")[0])
    if match is None:
        return None
    release = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return "{}.{}{}".format(release[0], release[1], "t" if match.group(4) else ""), release


def _from_version_dirs(root: Path, version: str, source: str) -> Optional[Interpreter]:
    """The newest patch release of `version` under a pyenv- or uv-style versions dir."""
    candidates: List[Tuple[Tuple[int, ...], Path]] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return None
    for entry in entries:
        named = version_dir_name(entry.name)
        if named is None or named[0] != version:
            continue
        binary = entry / "bin" / "python{}".format(version)
        if _executable(binary):
            candidates.append((named[1], binary))
    if not candidates:
        return None
    return Interpreter(version, str(max(candidates)[1]), source)


def _override_matches(name: str, version: str) -> bool:
    """Whether an override binary's name ends in the version, whole: "python3.13t" is 3.13t, not 3.13."""
    return name.endswith(version) and not name[:-len(version)][-1:].isdigit()


def _path_entries() -> List[str]:
    return [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]


def _versions_dirs() -> List[Tuple[Path, str]]:
    """pyenv's and uv's version folders, with the source named in the record."""
    dirs = [(root / "versions", "pyenv") for root in _pyenv_roots(_path_entries())]
    uv_home = Path(os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share")))
    return dirs + [(uv_home / "uv" / "python", "uv")]


def _candidates(version: str) -> Iterator[Interpreter]:
    for raw in os.environ.get(OVERRIDE_VARIABLE, "").split(os.pathsep):
        if raw and _executable(Path(raw)) and _override_matches(Path(raw).name, version):
            yield Interpreter(version, raw, OVERRIDE_VARIABLE)
    for entry in _path_entries():
        if (Path(entry) / LINKS_MARKER).exists():
            continue  # our own links (a nox run started by another one inherits them on PATH)
        binary = Path(entry) / "python{}".format(version)
        if _executable(binary) and not _is_pyenv_shim(binary):
            yield Interpreter(version, str(binary), "PATH")
    for root, source in _versions_dirs():
        found = _from_version_dirs(root, version, source)
        if found:
            yield found


def versions_on_disk() -> List[str]:
    """Every axis value ("3.14", "3.14t") with an interpreter where find_interpreter looks, whatever its
    minor version: what the machine has beyond the matrix's list is said, not ignored."""
    names = set()
    for raw in os.environ.get(OVERRIDE_VARIABLE, "").split(os.pathsep):
        match = _BINARY.match(Path(raw).name) if raw else None
        if match and _executable(Path(raw)):
            names.add(match.group(1))
    for entry in _path_entries():
        if (Path(entry) / LINKS_MARKER).exists():
            continue
        try:
            children = list(Path(entry).iterdir())
        except OSError:
            continue
        for child in children:
            match = _BINARY.match(child.name)
            if match and _executable(child) and not _is_pyenv_shim(child):
                names.add(match.group(1))
    for root, _ in _versions_dirs():
        try:
            entries = list(root.iterdir())
        except OSError:
            continue
        for entry in entries:
            named = version_dir_name(entry.name)
            if named and _executable(entry / "bin" / "python{}".format(named[0])):
                names.add(named[0])
    return sorted(names, key=version_key)


def undeclared_versions(declared: Iterable[str]) -> List[str]:
    """Interpreters found here that the matrix does not list and that are newer than all it lists: a
    Python released after the matrix was written, to be added to configs/matrix.json and pinned."""
    declared = list(declared)
    newest = max(version_key(version)[:2] for version in declared)
    return [version for version in versions_on_disk()
            if version not in declared and version_key(version)[:2] > newest]


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
    if is_free_threaded(version):
        return ("Python {v} (the free-threaded build of {base}, binary python{v}) was not found (looked in "
                "${var}, on PATH past pyenv shims, in pyenv's and uv's version folders; a GIL build of {base} "
                "does not count). Install it, e.g. `uv python install {v}` or `pyenv install {base}t`, or "
                "point {var} at its binary.").format(v=version, base=version[:-1], var=OVERRIDE_VARIABLE)
    return ("Python {v} was not found (looked in ${var}, on PATH past pyenv shims, in pyenv's "
            "and uv's version folders). Install it, e.g. `pyenv install {v}` or "
            "`apt-get install python{v}`, or point {var} at its binary."
            ).format(v=version, var=OVERRIDE_VARIABLE)


def undeclared_message(version: str, interpreter_path: str) -> str:
    return ("Python {v} was found ({path}) but configs/matrix.json does not list it: add \"{v}\" to its "
            "\"pythons\", then `nox -s lock` pins its packages.").format(v=version, path=interpreter_path)


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
