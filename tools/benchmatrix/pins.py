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

from tools.benchmatrix import interpreters
from tools.benchmatrix.matrix import REPO_ROOT, constraints_file, load_matrix, lock_groups

TEST_REQUIREMENTS = REPO_ROOT / "configs" / "requirements" / "tests.txt"


def test_specs() -> List[str]:
    lines = TEST_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def lock_inputs() -> Dict[str, List[str]]:
    groups = lock_groups(load_matrix())
    # The tests session installs from the default group, so its tools are pinned there too.
    groups["default"] = list(dict.fromkeys(groups["default"] + test_specs()))
    return groups


def compile_constraints(uv: str, python_path: str, specs: List[str], output: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".in") as inputs:
        inputs.write("\n".join(specs) + "\n")
        inputs.flush()
        subprocess.run([uv, "pip", "compile", "--quiet", "--python", python_path,
                        "--no-header", "--no-annotate", inputs.name, "-o", str(output)],
                       check=True)


def lock_all() -> int:
    uv = shutil.which("uv")
    if uv is None:
        print("benchmatrix: error: uv is needed to resolve pins; run `nox -s lock`, which installs it")
        return 2
    matrix = load_matrix()
    for version in matrix.pythons:
        found = interpreters.find_interpreter(version)
        if found is None:
            print("benchmatrix: skipping {}: {}".format(version, interpreters.missing_message(version)))
            continue
        for group, specs in lock_inputs().items():
            output = constraints_file(version, group)
            compile_constraints(uv, found.path, specs, output)
            print("benchmatrix: pinned {} for Python {} in {}".format(group, version, output.name))
    return 0
