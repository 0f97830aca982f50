"""benchmatrix under tox 4: one environment per cell of the matrix nox lists, nothing else.

A project's toxfile.py (tox loads it as an inline plugin, no tox.ini needed) imports these
hooks, and tox finds them there:

    from benchmatrix.tox import tox_add_core_config, tox_add_env_config, tox_extend_envs, tox_on_install

Each environment holds only the cell's measured packages, pinned by the same constraints
file as nox's; its command hands over to the harness, which runs from its own environment
(.nox/harness, built by commands_pre on first use), so rows land where nox's would. Labels
are the nox tags: `tox -m asgi` selects what `nox -t asgi` does. Hooks: tox_extend_envs
(tox >= 4.29) names the environments, tox_add_core_config seeds their settings,
tox_add_env_config writes the command (it needs the env's directory and the arguments
after --), tox_on_install fills the wheelhouse before the install. Names and commands are
decided in benchmatrix.sessions.tox_cells.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.types import Command
from tox.plugin import impl
from tox.report import HandledError
from tox.tox_env.python.api import Python
from tox.tox_env.python.pip.req_file import PythonDeps

from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix.listing import discover
from benchmatrix.matrix.tags import cell_tags
from benchmatrix.paths import REPO_ROOT
from benchmatrix.sessions import tox_cells
from benchmatrix.sessions.install import install_arguments

__all__ = ["tox_add_core_config", "tox_add_env_config", "tox_extend_envs", "tox_on_install"]

# A plain "python3.12" per environment, found first on PATH as a link to what was found on
# disk (past pyenv shims): virtualenv and uv both resolve it there, so nothing is downloaded.
TOX_DIR = REPO_ROOT / ".tox"
LISTING = discover(links_dir=TOX_DIR / "interpreters")
CELLS = tox_cells.cells_by_env(LISTING, Python.extract_base_python)
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
if not (TOX_DIR / ".gitignore").exists():  # tox writes the same on its first environment
    (TOX_DIR / ".gitignore").write_text("*\n", encoding="utf-8")


@impl
def tox_extend_envs():
    return tuple(CELLS)


@impl
def tox_add_core_config(core_conf, state):
    uv = harness_env.find_uv()  # the wheelhouse is filled with uv (tox_on_install below)
    for name, cell in CELLS.items():
        state.conf.memory_seed_loaders[name].append(MemoryLoader(
            base=[],  # nothing inherited from [testenv]: the cell is defined here only
            description=tox_cells.cell_summary(cell),
            labels=cell_tags(cell),
            base_python=["python" + cell.python],
            skip_install=True,  # nothing of the repository enters the measured environment
            deps=PythonDeps("\n".join(tox_cells.deps_lines(LISTING, cell, uv)), root=REPO_ROOT),
            # Like nox, the harness sees the caller's environment (BENCH_DATABASE_URL, BENCHMATRIX_*).
            pass_env=["*"],
            allowlist_externals=[str(tox_cells.HARNESS_PYTHON), sys.executable],
            commands_pre=[Command(tox_cells.ensure_harness_argv(sys.executable, LISTING))],
            # On Ctrl-C the harness (in tox's process group, so it has the terminal's SIGINT)
            # needs up to its stop grace (10 s per service) to take the stack down. tox would
            # send a second SIGINT at once, SIGTERM 0.3 s later and SIGKILL 0.2 s after that;
            # these waits give the 60 s nox gives, then 30 s more before the kill, as nox does.
            suicide_timeout=60.0,
            interrupt_timeout=10.0,
            terminate_timeout=20.0,
        ))


@impl
def tox_add_env_config(env_conf, state):
    cell = CELLS.get(env_conf.name)
    if cell is None:
        reason = tox_cells.unlisted_reason(LISTING, env_conf.name)
        if reason:
            raise HandledError("{}: {}".format(env_conf.name, reason))
        return
    # A memory loader does no {env_dir} or {posargs} substitution: both are read here, once
    # tox has defined them, and the command is written out in full.
    posargs = state.conf.pos_args(Path(env_conf["change_dir"])) or ()
    command = tox_cells.harness_command(tox_cells.HARNESS_PYTHON, Path(env_conf["env_dir"]), cell, posargs)
    env_conf.loaders.insert(0, MemoryLoader(commands=[Command(command)]))


@impl
def tox_on_install(tox_env, arguments, section, of_type):
    cell = CELLS.get(tox_env.name)
    uv = harness_env.find_uv()
    if cell is None or of_type != "deps" or not uv:
        return
    # Packages with no wheel for this Python (uWSGI) are built once into the wheelhouse that
    # the deps name with --find-links, exactly as the bench sessions' install does.
    wheelhouse.prebuild(uv, str(tox_env.env_python()), cell.python, install_arguments(LISTING, cell),
                        lambda line: print(line, flush=True))
