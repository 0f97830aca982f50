"""The Python axis's values: "3.13" is a GIL build, "3.13t" the free-threaded build of the same version.

A free-threaded build is a value of its own (its own virtualenvs, pins and cells) because it runs
other code: extensions built for it, and servers that behave differently there (granian runs its
workers as threads). CPython names its binary `python3.13t`; nox and tox spell it "3.13t", py313t.
"""

from __future__ import annotations

import re
from typing import Tuple

_VERSION = re.compile(r"^(\d+)\.(\d+)(t?)$")


def parse_version(python: str) -> Tuple[int, int, bool]:
    """"3.13t" -> (3, 13, True); a ValueError names what a version looks like."""
    match = _VERSION.match(python)
    if match is None:
        raise ValueError("{!r} is not a Python version: write X.Y, or X.Yt for a free-threaded build".format(python))
    return int(match.group(1)), int(match.group(2)), bool(match.group(3))


def is_free_threaded(python: str) -> bool:
    return parse_version(python)[2]


def version_key(python: str) -> Tuple[int, ...]:
    """Sorts the axis: 3.9 < 3.13 < 3.13t < 3.14. (major, minor) for a GIL build, so limits
    written as `> (3, 9)` keep their meaning; a free-threaded build adds a 1."""
    major, minor, free_threaded = parse_version(python)
    return (major, minor, 1) if free_threaded else (major, minor)


def default_rank(python: str) -> Tuple[int, Tuple[int, ...]]:
    """Which of a pair's Pythons is its default: the newest GIL build, a free-threaded one only if alone."""
    return (0 if is_free_threaded(python) else 1, version_key(python))
