"""benchmatrix under tox 4: one environment per cell of the matrix nox lists, nothing else.

tox loads this file as an inline plugin (it needs no tox.ini). The cells come from the same
discovery as noxfile.py (benchmatrix.matrix.listing: configs/matrix.json on the interpreters found
on disk), so `tox l` and `nox -l` list the same cells:

    nox -s "bench-3.13(server='gunicorn+nginx-unix', app='flask')"
    tox -e py313-gunicorn+nginx-unix-flask

Each environment holds only the cell's measured packages, pinned by the same constraints file;
its command hands over to the harness, which runs from its own environment (.nox/harness,
built by commands_pre on first use), so the rows land in reports/ exactly as nox's would.
Labels are the nox tags: `tox -m asgi` selects what `nox -t asgi` does. Hooks used:
tox_extend_envs (tox >= 4.29) to name the environments, tox_add_core_config to seed their
settings, tox_add_env_config for the command (it needs the env's directory and the
arguments after --), tox_on_install to fill the wheelhouse before the install.
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

# benchmatrix is installed in tox's own environment (tools/setup.sh), without its dependencies.
from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix import interpreters
from benchmatrix.matrix.cells import Cell, constraints_file, exclusion_reason, requirements
from benchmatrix.matrix.listing import discover
from benchmatrix.matrix.tags import cell_tags
from benchmatrix.sessions.install import install_arguments

REPO = Path(__file__).resolve().parent
# The cells nox lists, from the same discovery. A plain "python3.12" per environment, found
# first on PATH as a link to what was found on disk (past pyenv shims): virtualenv and uv
# both resolve it there, so nothing is downloaded.
LISTING = discover(links_dir=REPO / ".tox" / "interpreters")
MATRIX = LISTING.matrix
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
if not (REPO / ".tox" / ".gitignore").exists():  # tox writes the same on its first environment
    (REPO / ".tox" / ".gitignore").write_text("*\n", encoding="utf-8")
HARNESS_PYTHON = harness_env.python_of(harness_env.DEFAULT_LOCATION)


def env_name(cell) -> str:
    """py312-gunicorn-flask: tox's Python factor, then the server and the app as nox names them."""
    return "py{}-{}-{}".format(cell.python.replace(".", ""), cell.server.name, cell.app.name)


def cell_summary(cell) -> str:
    return "{}; app {} on Python {}".format(cell.server.summary, cell.app.name, cell.python)


def _cells_by_env():
    cells = {}
    for cell in LISTING.cells:
        name = env_name(cell)
        # tox reads every factor of a name that looks like a Python (py3, pypy, cpython, 3.12) as
        # one: a server or app named like that would make the name claim two interpreters.
        if Python.extract_base_python(name) != "py" + cell.python.replace(".", ""):
            raise ValueError("tox would read {!r} as another Python: rename the server or the app".format(name))
        if name in cells:
            raise ValueError("two cells share the tox name {!r}".format(name))
        cells[name] = cell
    return cells


CELLS = _cells_by_env()


def unlisted_reason(name):
    """Why a name that spells a matrix cell has no environment here, or None if it spells none.

    tox accepts any name made of known factors (py313, meinheld, flask) and would run it as an
    empty environment that passes; a dropped cell must say why instead, as nox's lookup does.
    """
    for python in MATRIX.pythons:
        for server in MATRIX.servers.values():
            for app in MATRIX.apps.values():
                cell = Cell(python=python, server=server, app=app)
                if env_name(cell) != name:
                    continue
                if python not in LISTING.found:
                    return interpreters.missing_message(python)
                return "server {!r} with app {!r} on Python {} cannot run: {}".format(
                    server.name, app.name, python, exclusion_reason(cell))
    return None


def deps_lines(cell):
    lines = []
    if harness_env.find_uv():  # the wheelhouse is filled with uv (tox_on_install below)
        lines.append("--find-links {}".format(wheelhouse.wheelhouse_for(cell.python)))
    lines.append("-c {}".format(constraints_file(cell.python, cell.server.lock)))
    return lines + requirements(MATRIX, cell)


def ensure_harness_command():
    """commands_pre: build or check the harness's environment, as nox's harness() does first."""
    script = ("import sys; from benchmatrix import harness_env; "
              "harness_env.ensure_harness_env(sys.argv[1], say=lambda line: print(line, flush=True))")
    return Command([sys.executable, "-c", script, LISTING.found[LISTING.newest].path])


@impl
def tox_extend_envs():
    return tuple(CELLS)


@impl
def tox_add_core_config(core_conf, state):
    for name, cell in CELLS.items():
        state.conf.memory_seed_loaders[name].append(MemoryLoader(
            base=[],  # nothing inherited from [testenv]: the cell is defined here only
            description=cell_summary(cell),
            labels=cell_tags(cell),
            base_python=["python" + cell.python],
            skip_install=True,  # nothing of the repository enters the measured environment
            deps=PythonDeps("\n".join(deps_lines(cell)), root=REPO),
            # Like nox, the harness sees the caller's environment (BENCH_DATABASE_URL, BENCHMATRIX_*).
            pass_env=["*"],
            allowlist_externals=[str(HARNESS_PYTHON), sys.executable],
            commands_pre=[ensure_harness_command()],
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
        reason = unlisted_reason(env_conf.name)
        if reason:
            raise HandledError("{}: {}".format(env_conf.name, reason))
        return
    # A memory loader does no {env_dir} or {posargs} substitution: both are read here, once
    # tox has defined them, and the command is written out in full.
    venv = Path(env_conf["env_dir"])
    posargs = state.conf.pos_args(Path(env_conf["change_dir"])) or ()
    command = [str(HARNESS_PYTHON), "-m", "benchmatrix", "run", "--venv", str(venv),
               "--server", cell.server.name, "--app", cell.app.name, *posargs]
    env_conf.loaders.insert(0, MemoryLoader(commands=[Command(command)]))


@impl
def tox_on_install(tox_env, arguments, section, of_type):
    cell = CELLS.get(tox_env.name)
    uv = harness_env.find_uv()
    if cell is None or of_type != "deps" or not uv:
        return
    # Packages with no wheel for this Python (uWSGI) are built once into the wheelhouse that
    # the deps name with --find-links, exactly as the bench sessions' install does (sessions/install.py).
    wheelhouse.prebuild(uv, str(tox_env.env_python()), cell.python, install_arguments(LISTING, cell),
                        lambda line: print(line, flush=True))
