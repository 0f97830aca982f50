"""Versions as an axis: a cell run with another release of one of its packages than its pins.

`--with uvicorn==0.30.6` (a bench session's option) and `uvicorn/raw@uvicorn==0.30.6` (an
interleave contender) both name PACKAGE==VERSION overrides, parsed here and only here.
A cell with overrides is its own virtualenv (the nox one's name plus a short hash of the
overrides, so the pinned cell's stays as it is), installed from the cell's constraints
without the overridden packages' lines, then the overrides; it is recorded with them
(meta.overrides) and shown as its own series, labelled "uvicorn==0.30.6".

Standard library only: the noxfile's interpreter parses these.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Tuple

EXAMPLE = "uvicorn==0.30.6"
CONTENDER_SEPARATOR = "@"  # uvicorn/raw@uvicorn==0.30.6
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!_-]*$")  # a release as PyPI spells it (PEP 440, loosely)


def normalized_name(name: str) -> str:
    """PEP 503's form: "Uvicorn_Worker" and "uvicorn-worker" are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PackageOverride:
    name: str  # normalized (PEP 503)
    version: str

    def __str__(self) -> str:
        return "{}=={}".format(self.name, self.version)


Overrides = Tuple[PackageOverride, ...]


def parse_override(text: str) -> PackageOverride:
    """"uvicorn==0.30.6" as a PackageOverride; a ValueError says how to write one."""
    name, separator, version = text.strip().partition("==")
    if not separator or not _NAME.match(name.strip()) or not _VERSION.match(version.strip()):
        raise ValueError("{!r} is not a package override: write PACKAGE==VERSION, an exact release (e.g. {}); "
                         "several are separated by commas".format(text, EXAMPLE))
    return PackageOverride(normalized_name(name.strip()), version.strip())


def parse_overrides(text: str) -> Overrides:
    """"uvicorn==0.30.6,h11==0.14.0": each package once, in name order (so the hash does not depend on order)."""
    overrides = [parse_override(part) for part in text.split(",") if part.strip()]
    if not overrides:
        raise ValueError("{!r}: give at least one PACKAGE==VERSION (e.g. {})".format(text, EXAMPLE))
    names = [o.name for o in overrides]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError("{!r}: {} given twice; give each package one version".format(text, ", ".join(twice)))
    return tuple(sorted(overrides, key=lambda o: o.name))


def label(overrides: Iterable[PackageOverride]) -> str:
    """"uvicorn==0.30.6" (several joined by spaces), as records and tables show them; "" for none."""
    return " ".join(str(o) for o in sorted(overrides, key=lambda o: o.name))


def venv_suffix(overrides: Sequence[PackageOverride]) -> str:
    """"with-1a2b3c4d": a short hash of the overrides, so each version set is a virtualenv of its own."""
    return "with-" + hashlib.sha256(label(overrides).encode("utf-8")).hexdigest()[:8]


def split_contender(text: str) -> Tuple[str, Overrides]:
    """"uvicorn/raw/3.13@uvicorn==0.30.6" -> ("uvicorn/raw/3.13", overrides); without "@", no overrides."""
    cell, separator, spec = text.partition(CONTENDER_SEPARATOR)
    if not separator:
        return text, ()
    try:
        return cell, parse_overrides(spec)
    except ValueError as error:
        raise ValueError("{!r}: after '@' {}".format(text, error))


def constraints_without(constraints: str, overrides: Sequence[PackageOverride]) -> str:
    """The constraints file's text without the overridden packages' pins (every marker variant of each)."""
    names = {o.name for o in overrides}
    kept: List[str] = []
    for line in constraints.splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and normalized_name(match.group(1)) in names:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def pinned_names(constraints: str) -> List[str]:
    """The packages a constraints file pins, normalized, in file order."""
    names = [normalized_name(m.group(1)) for m in (re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
                                                 for line in constraints.splitlines()) if m]
    return list(dict.fromkeys(names))


def check_overrides_installed(overrides: Sequence[PackageOverride], installed: Dict[str, str]) -> None:
    """A run `--with` a release measures that release or nothing: its virtualenv must hold it."""
    for override in overrides:
        found = installed.get(override.name)
        if found != override.version:
            raise ValueError("--with {}: the cell's virtualenv has {} {}; run it through its bench session "
                             "(nox -s \"bench(server='S', app='A')\" -- --with {}), which builds a virtualenv with "
                             "that release".format(override, override.name, found or "not installed", override))
