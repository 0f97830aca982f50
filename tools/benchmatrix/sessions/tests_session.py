"""The test session's commands: the linter first, then pytest on the paths given (else the whole suite)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

RUFF = "ruff==0.17.5"  # pinned: a new rule set must not fail the suite on a day nothing changed


def names_a_path(argument: str, root: Path) -> bool:
    """Whether a pytest argument is a test path (tests/test_x.py, tests/test_x.py::test_y), not an option."""
    if argument.startswith("-"):
        return False
    return (root / argument.split("::", 1)[0]).exists()


def pytest_arguments(posargs: Sequence[str], root: Path, default_paths: Sequence[str] = ("tests",)) -> List[str]:
    """The posargs, after the default paths unless a posarg names a path (then those paths alone run)."""
    if any(names_a_path(argument, root) for argument in posargs):
        return list(posargs)
    return [*default_paths, *posargs]


def ruff_command(paths: Sequence[str]) -> List[str]:
    return ["ruff", "check", *paths]
