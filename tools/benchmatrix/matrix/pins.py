"""Regenerate the constraints files that pin every cell's packages, per Python and lock group.

Pins make a rerun install the same versions. They are resolved per interpreter
because the newest release differs (Django 5 needs Python 3.10, for one), and
per lock group because some servers need versions the others have left behind.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

from benchmatrix import harness_env
from benchmatrix.matrix import interpreters
from benchmatrix.matrix.cells import REPO_ROOT, constraints_file, load_matrix, lock_groups

HARNESS_MIN_PYTHON = "3.10"  # the oldest Python the harness may find as the newest one here
SESSION_REQUIREMENTS = [REPO_ROOT / "configs" / "requirements" / "tests.txt"]


def requirement_specs(path: Path) -> List[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def lock_inputs(python: str) -> Dict[str, List[str]]:
    groups = lock_groups(load_matrix(), python)
    # The tests and report sessions install from the default group, so their tools are pinned there too.
    extra = [spec for path in SESSION_REQUIREMENTS for spec in requirement_specs(path)]
    groups["default"] = list(dict.fromkeys(groups.get("default", []) + extra))
    return groups


def compile_constraints(uv: str, python_path: str, specs: List[str], output: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".in") as inputs:
        inputs.write("\n".join(specs) + "\n")
        inputs.flush()
        subprocess.run([uv, "pip", "compile", "--quiet", "--python", python_path,
                        "--no-header", "--no-annotate", inputs.name, "-o", str(output)],
                       check=True)


def compile_harness_constraints(uv: str) -> None:
    """The harness's pins hold on whichever Python is newest where it runs, so they are universal."""
    subprocess.run([uv, "pip", "compile", "--quiet", "--universal", "--python-version", HARNESS_MIN_PYTHON,
                    "--no-header", "--no-annotate", str(harness_env.REQUIREMENTS), "-o", str(harness_env.CONSTRAINTS)],
                   check=True)


def lock_all() -> int:
    uv = shutil.which("uv")
    if uv is None:
        print("benchmatrix: error: uv is needed to resolve pins; run `nox -s lock`, which installs it")
        return 2
    compile_harness_constraints(uv)
    print("benchmatrix: pinned the harness environment in {}".format(harness_env.CONSTRAINTS.name))
    matrix = load_matrix()
    for version in matrix.pythons:
        found = interpreters.find_interpreter(version)
        if found is None:
            print("benchmatrix: skipping {}: {}".format(version, interpreters.missing_message(version)))
            continue
        for group, specs in lock_inputs(version).items():
            output = constraints_file(version, group)
            compile_constraints(uv, found.path, specs, output)
            print("benchmatrix: pinned {} for Python {} in {}".format(group, version, output.name))
    return 0
