"""A user's project's app before its server boots: its entry point, its setup commands, its import.

Each step fails with a ServiceError that says what went wrong and shows the tail of what
the command printed (the traceback of an import, the output of a migration), before any
load; the caller's ExitStack then stops what was started (the database).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict

from benchmatrix.matrix.cells import App
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.process import run_captured
from benchmatrix.stack.readiness import ServiceError

ENTRY_MODULE = "benchmatrix_entry"  # written into the run's raw folder for a "module:factory()" target
TAIL_LINES = 15
SETUP_TIMEOUT_S = 600
IMPORT_TIMEOUT_S = 120


def tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) or "    (no output)"


def entry_target(target: str) -> str:
    """What the server loads for a project's target.

    Servers spell a factory differently (gunicorn "m:f()", uvicorn --factory, uWSGI not at
    all); a one-line module that calls the factory once at import (write_entry) gives all of
    them a plain "module:attr", and the project's import errors surface the same way on every server.
    """
    return ENTRY_MODULE + ":application" if target.endswith("()") else target


def write_entry(target: str, folder: Path) -> None:
    """The entry module of a "module:factory()" target, in `folder` (which goes on PYTHONPATH)."""
    module, factory = target[:-2].split(":")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (ENTRY_MODULE + ".py")).write_text(
        "# Written by benchmatrix: the project's factory {}, called once per worker process.\n"
        "from {} import {} as _factory\n\napplication = _factory()\n".format(target, module, factory),
        encoding="utf-8")


def cell_variables(env: CellEnvironment, variables: Dict[str, str]) -> Dict[str, str]:
    """The process environment of the project's commands: the cell's virtualenv first on PATH."""
    merged = dict(os.environ)
    merged.update(variables)
    merged["VIRTUAL_ENV"] = str(env.prefix)
    merged["PATH"] = os.pathsep.join([str(env.prefix / "bin"), merged.get("PATH", "")])
    return merged


def run_setup(app: App, env: CellEnvironment, variables: Dict[str, str], say: Callable[[str], None],
              timeout_s: float = SETUP_TIMEOUT_S) -> None:
    """Each setup command through a shell, in a session of its own: whatever it started is stopped with it."""
    for command in app.setup:
        say("setup: {}".format(command))
        done = run_captured(command, timeout_s, env=cell_variables(env, variables), cwd=app.root, shell=True)
        if done.returncode is None:
            raise ServiceError("setup command of app {!r} did not finish within {:g} s (stopped, with what it "
                               "started): {}\n  last lines of its output:\n{}".format(
                                   app.name, timeout_s, command, tail(done.output)))
        if done.returncode != 0:
            raise ServiceError("setup command of app {!r} failed (exit code {}): {}\n  in {}\n  last lines of its "
                               "output:\n{}\n  fix the command in benchmatrix.toml's [apps.{}] setup, or what it "
                               "runs".format(app.name, done.returncode, command, app.root, tail(done.output),
                                             app.name))


def check_import(app: App, env: CellEnvironment, target: str, declared: str, variables: Dict[str, str],
                 timeout_s: float = IMPORT_TIMEOUT_S) -> None:
    """Import the entry point the way the server will (same interpreter, folder and variables)."""
    module, attribute = target.split(":")
    code = "import {m}\nif not callable(getattr({m}, {a!r})): raise TypeError({msg!r})".format(
        m=module, a=attribute, msg="{} is not callable".format(target))
    done = run_captured([str(env.python), "-c", code], timeout_s, env=cell_variables(env, variables), cwd=app.root)
    if done.returncode is None:
        raise ServiceError("app {!r}: importing {} took over {:g} s (stopped)\n  last lines of its output:\n{}"
                           .format(app.name, target, timeout_s, tail(done.output)))
    if done.returncode != 0:
        raise ServiceError("app {!r} failed to import ({}, from {} with {}):\n{}\n  fix the error above, or the "
                           "target in benchmatrix.toml's [apps.{}]".format(
                               app.name, declared, app.root,
                               env.python, tail(done.output), app.name))
