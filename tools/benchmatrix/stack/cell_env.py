"""The measured environment of a cell: the virtualenv its server runs from, seen from outside.

The harness never imports from it. It starts the server with the environment's
interpreter or scripts, and asks that interpreter once, before anything is
measured, what it is and what it holds (stack/describe_python.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict
from benchmatrix.paths import REPO_ROOT



@dataclass(frozen=True)
class CellEnvironment:
    prefix: Path  # the virtualenv's root: bin/python, bin/uwsgi ...

    @classmethod
    def at(cls, prefix: Path) -> "CellEnvironment":
        """The virtualenv at prefix; a ValueError says what to do when it is not one."""
        env = cls(Path(os.path.abspath(str(prefix))))
        if not os.access(str(env.python), os.X_OK):
            raise ValueError("--venv {}: no interpreter at {}; give the cell's virtualenv (nox builds it as "
                             ".nox/<session>; see README 'Running the harness by hand')".format(prefix, env.python))
        return env

    @classmethod
    def harness_own(cls) -> "CellEnvironment":
        """The harness's own environment, for runs without --venv (the tests, a hand-made venv)."""
        return cls(Path(sys.prefix))

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    def script(self, name: str) -> str:
        return str(self.prefix / "bin" / name)

    def describe(self) -> Dict[str, Any]:
        """Interpreter version and build, installed packages and the freeze hash, from the cell's python."""
        completed = subprocess.run([str(self.python), str(Path(__file__).with_name("describe_python.py"))],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT),
                                   universal_newlines=True, timeout=60)
        if completed.returncode != 0:
            raise ValueError("the cell's interpreter {} could not describe itself:\n{}".format(
                self.python, completed.stdout.strip()))
        return json.loads(completed.stdout.strip().splitlines()[-1])
