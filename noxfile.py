"""benchmatrix sessions: bench cells, regenerate the report, run the tests.

A bench session's virtualenv is the cell's measured environment: the server, the
app and their dependencies, nothing else. The harness that boots, checks, loads
and records runs from its own environment (.nox/harness, on the newest Python
found; tools/benchmatrix/harness_env.py) and starts the server from the cell's.

`bench(server='S', app='A')` runs a cell on the newest Python it supports;
`bench-3.X(server='S', app='A')` pins the interpreter, and `bench-3.X` alone runs
every cell of that Python. Interpreters are found on disk (PATH past pyenv
shims, pyenv and uv version folders; see tools/benchmatrix/matrix/interpreters.py), so
listing needs no subprocess and no network.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))
from tools.benchmatrix import harness_env, wheelhouse  # noqa: E402
from tools.benchmatrix.matrix import interpreters  # noqa: E402
from tools.benchmatrix.results import smoke as smoke_table  # noqa: E402
from tools.benchmatrix.matrix.cells import (  # noqa: E402
    all_cells, constraints_file, default_cells, find_cell, load_matrix, requirements, version_key)

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"  # a cell's virtualenv is reused; installs re-check the pins
nox.options.sessions = ["tests"]  # a bare `nox` must never start a long benchmark

MATRIX = load_matrix()
FOUND = interpreters.find_interpreters(MATRIX.pythons)
CELLS = all_cells(MATRIX, sorted(FOUND, key=version_key))
NEWEST = max(FOUND, key=version_key) if FOUND else None


VERSION_OF_PATH = {found.path: version for version, found in FOUND.items()}


MATRIX_CLOCK = []  # when this nox run's first bench cell handed over to the harness


def matrix_position(session):
    """["--progress", "i/N@S"] among the bench sessions of this nox run, when nox lets us see them.

    S is the time since the first cell of the run started measuring: the harness turns it into
    the average the finished cells took, so its time-left estimate corrects itself.
    """
    try:  # nox has no public API for the queue; without it the run just shows no i/N
        manifest = session._runner.manifest
        done = [s for s in manifest._consumed if s.name.startswith("bench")]
        queued = [s for s in manifest._queue if s.name.startswith("bench")]
    except AttributeError:
        return []
    total = len(done) + len(queued)
    if total < 2:
        return []
    if not MATRIX_CLOCK:
        MATRIX_CLOCK.append(time.monotonic())
    return ["--progress", "{}/{}@{:.1f}".format(len(done), total, time.monotonic() - MATRIX_CLOCK[0])]


def harness_python(session):
    """The harness's interpreter, its environment built on first use and reused while its pins hold."""
    if NEWEST is None:
        session.error(interpreters.missing_message(MATRIX.pythons[-1]))
    return harness_env.ensure_harness_env(FOUND[NEWEST].path, say=session.log)


def harness(session, *args, **options):
    """Run `python -m tools.benchmatrix ARGS` from the harness's environment."""
    session.run(harness_python(session), "-m", "tools.benchmatrix", *args, external=True, **options)


def install_cell(session, cell):
    """The cell's measured packages; what has no wheel for its Python is built once into a wheelhouse."""
    install_args = ["-c", str(constraints_file(cell.python, cell.server.lock)), *requirements(MATRIX, cell)]
    uv = harness_env.find_uv()
    if uv:  # an installed cell resolves at once here, so a measuring run never builds
        house = wheelhouse.prebuild(uv, str(Path(session.bin) / "python"), cell.python, install_args, session.log)
        install_args = ["--find-links", str(house)] + install_args
    session.install(*install_args)


CELL_VENVS = Path(__file__).parent / ".nox" / "cell-venvs"  # cell -> its virtualenv, for `interleave`


def cell_key(cell):
    return "py{}-{}-{}".format(cell.python, cell.server.name, cell.app.name)


def run_bench(session, server, app):
    cell = find_cell(MATRIX, VERSION_OF_PATH[session.python], server, app)
    install_cell(session, cell)
    # Written on --install-only runs too: the interleave session prepares cells that way and
    # needs to know where nox put each one.
    CELL_VENVS.mkdir(parents=True, exist_ok=True)
    (CELL_VENVS / (cell_key(cell) + ".path")).write_text(str(Path(session.bin).parent), encoding="utf-8")
    # On Ctrl-C nox kills its child 0.5 s after the signal unless told to wait; the harness
    # needs up to its stop grace (10 s per service) to take the server down first.
    harness(session, "run", "--venv", str(Path(session.bin).parent), "--server", server, "--app", app,
            *matrix_position(session), *session.posargs, interrupt_timeout=60, terminate_timeout=30)


def run_smoke(session):
    every_python = "--all-pythons" in session.posargs
    nox_args = [arg for arg in session.posargs if arg != "--all-pythons"]
    families = ["bench-" + v for v in sorted(FOUND, key=version_key)] if every_python else ["bench"]
    out = Path(__file__).parent / ".nox" / "smoke" / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True)
    started = time.monotonic()
    try:
        names = selected_sessions(families, nox_args)
    except ValueError as error:
        session.error(str(error))
    if not names:
        session.error("no cell matches {}".format(" ".join(nox_args)))
    prepare_cells(session, names, out)
    # The load generator's ceiling once, up front (the cells reuse it): no cell's time, and so
    # no time-left estimate, includes it.
    harness(session, "ceiling", "--results-dir", str(out))
    # A nested nox gives each cell its own virtualenv exactly as `nox -s bench(...)` would, and
    # its --report says which sessions passed; failures are tabulated, not raised, so all run.
    # On Ctrl-C nox kills its child 0.5 s later unless told to wait: the nested nox needs the
    # harness's own stop time (see run_bench) or the cell's server would outlive it.
    session.run(sys.executable, "-m", "nox", "--noxfile", __file__, "--report", str(out / "nox-report.json"),
                "-s", *names, "--", *smoke_table.BENCH_OPTIONS, "--results-dir", str(out),
                success_codes=[0, 1], external=True, interrupt_timeout=120, terminate_timeout=60)
    table, passed = smoke_table.summarize(out / "nox-report.json", out, time.monotonic() - started)
    (out / "smoke.md").write_text(table, encoding="utf-8")
    print(table)
    if not passed:
        session.error("some cells failed the smoke run; see the table above and {}".format(out))


PREPARE_JOBS = max(1, min(2, os.cpu_count() or 1))  # installs are mostly I/O; builds use every core


def family_sessions(families):
    """The bench session names of these families, as nox spells them."""
    names = []
    for family in families:
        cells = DEFAULTS if family == "bench" else [c for c in CELLS if "bench-" + c.python == family]
        names += ["{}({})".format(family, cell.session_id) for cell in cells]
    return names


def selected_sessions(families, nox_args):
    """The families' sessions that the user's nox filters (-k, -t) also select.

    Given beside `-s`, nox adds what -k or -t select from every family (measured: `-s bench
    -k raw` also ran bench-3.8's raw cells), so the filters are listed alone and intersected.
    """
    names = family_sessions(families)
    if not nox_args:
        return names
    listed = subprocess.run([sys.executable, "-m", "nox", "--noxfile", __file__, "-l", "--json", *nox_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if listed.returncode != 0:
        raise ValueError("nox could not list {}: {}".format(" ".join(nox_args), listed.stderr.strip()))
    chosen = {entry["session"] for entry in json.loads(listed.stdout)}
    return [name for name in names if name in chosen]


def prepare_cells(session, names, out):
    """Build every cell environment of the matrix run before any cell is measured.

    `nox --install-only` creates and installs each session without running it; the sessions
    are dealt round-robin to PREPARE_JOBS nox processes that install side by side. Nothing
    measures meanwhile, so the builds disturb no number.
    """
    groups = [["-s", *names[job::PREPARE_JOBS]] for job in range(PREPARE_JOBS) if names[job::PREPARE_JOBS]]
    began = time.monotonic()
    session.log("benchmatrix: preparing the cell environments first ({} nox process(es), logs in {})".format(
        len(groups), out))
    jobs = []
    try:
        for number, group in enumerate(groups, start=1):
            with open(str(out / "prepare-{}.log".format(number)), "w") as log:
                jobs.append(subprocess.Popen([sys.executable, "-m", "nox", "--noxfile", __file__, "--install-only",
                                              *group], stdout=log, stderr=subprocess.STDOUT))
        codes = [job.wait() for job in jobs]
    finally:
        for job in jobs:  # an interrupt must not leave an install running
            if job.poll() is None:
                job.terminate()
                job.wait()
    session.log("benchmatrix: prepared in {:.0f} s{}; now measuring, one cell at a time".format(
        time.monotonic() - began, "" if not any(codes) else " (some installs failed: their cells will say why)"))


def cell_params(cells):
    # The python value sets the interpreter without entering the name, which is
    # what keeps nox -s "bench(server='S', app='A')" typeable as is.
    return [nox.param(FOUND[c.python].path, c.server.name, c.app.name, id=c.session_id,
                      tags=["py" + c.python, c.server.name, c.app.name]) for c in cells]


def define_bench_family(name, cells, doc):
    @nox.parametrize(("python", "server", "app"), cell_params(cells))
    def bench(session, server, app):
        run_bench(session, server, app)

    bench.__doc__ = doc
    nox.session(name=name)(bench)


def define_missing_python(version):
    def bench_missing(session):
        session.error(interpreters.missing_message(version))

    bench_missing.__doc__ = "Unavailable: Python {} not found here (run it to see how to add it)".format(version)
    nox.session(name="bench-" + version, python=False, default=False)(bench_missing)


DEFAULTS = default_cells(CELLS)
_default_pythons = sorted({c.python for c in DEFAULTS}, key=version_key)
define_bench_family("bench", DEFAULTS, "Benchmark a cell on Python {} (its py tag); options after --".format(
    " or ".join(_default_pythons) if _default_pythons else "(none found)"))
for _version in MATRIX.pythons:
    if _version in FOUND:
        define_bench_family("bench-" + _version, [c for c in CELLS if c.python == _version],
                            "Benchmark a cell on Python {} ({})".format(_version, FOUND[_version].path))
    else:
        define_missing_python(_version)


@nox.session(python=False)
def report(session):
    """Regenerate the README tables and charts from reports/results.jsonl (--filter, --csv, --json)."""
    harness(session, "report", *session.posargs)


@nox.session(python=False, default=False)
def compare(session):
    """Compare two result files or two cells: nox -s compare -- A B (ratio of medians, p-value)."""
    harness(session, "compare", *session.posargs)


@nox.session(python=False, default=False)
def interleave(session):
    """Compare cells in one run, trials alternating: nox -s interleave -- gunicorn/flask meinheld/flask/3.9 [options]."""
    cells, options = interleave_arguments(session, session.posargs)
    run_interleaved(session, cells, options)


@nox.session(python=False, default=False)
def ranking(session):
    """The README's rankings: the cells of configs/ranking.json interleaved on its scenarios, into reports/."""
    config = json.loads((Path(__file__).parent / "configs" / "ranking.json").read_text(encoding="utf-8"))
    cells, _ = interleave_arguments(session, config["cells"])
    run_interleaved(session, cells, ["--scenarios", config["scenarios"], *session.posargs])


def run_interleaved(session, cells, options):
    """Prepare each cell's virtualenv as its bench session would, then measure them interleaved."""
    names = [bench_session_name(cell, explicit) for cell, explicit in cells]
    session.log("benchmatrix: preparing {}".format(", ".join(names)))
    session.run(sys.executable, "-m", "nox", "--noxfile", __file__, "--install-only", "-s", *names, external=True)
    arguments = []
    for cell, _ in cells:
        venv = CELL_VENVS / (cell_key(cell) + ".path")
        arguments += ["--cell", "{}/{}={}".format(cell.server.name, cell.app.name, venv.read_text().strip())]
    harness(session, "interleave", *arguments, *options, interrupt_timeout=60, terminate_timeout=30)


def interleave_arguments(session, arguments):
    """The leading SERVER/APP[/PYTHON] arguments as cells (and whether the Python was named); the rest."""
    cells, rest = [], list(arguments)
    while rest and not rest[0].startswith("-"):
        parts = rest.pop(0).split("/")
        if len(parts) not in (2, 3):
            session.error("{!r} is not a cell: write SERVER/APP or SERVER/APP/PYTHON, e.g. meinheld/flask/3.9"
                          .format("/".join(parts)))
        server, app = parts[:2]
        python = parts[2] if len(parts) == 3 else None
        try:
            if python is None:
                cell = next((c for c in DEFAULTS if (c.server.name, c.app.name) == (server, app)), None)
                cell = cell or find_cell(MATRIX, NEWEST, server, app)
            else:
                if python not in FOUND:
                    session.error(interpreters.missing_message(python))
                cell = find_cell(MATRIX, python, server, app)
        except ValueError as error:
            session.error(str(error))
        cells.append((cell, python is not None))
    if len(cells) < 2:
        session.error("name at least two cells, e.g. nox -s interleave -- gunicorn/flask meinheld/flask/3.9 "
                      "--scenarios json")
    return cells, rest


def bench_session_name(cell, explicit_python):
    family = "bench-" + cell.python if explicit_python or cell not in DEFAULTS else "bench"
    return "{}({})".format(family, cell.session_id)


@nox.session(python=False, default=False)
def system(session):
    """This machine's state for benchmarking (governor, turbo, isolated CPUs, ASLR, load): show, tune or reset."""
    harness(session, "system", *session.posargs)


@nox.session(python=False, default=False, name="harness")
def harness_session(session):
    """Build (or check) the harness's own environment and print its interpreter, for runs by hand."""
    print(harness_python(session))


@nox.session(python=FOUND[NEWEST].path if NEWEST else None)
def tests(session):
    """Run the test suite (real servers and wrk on 127.0.0.1); pytest options after --."""
    # The tests run the harness from this environment, and the servers they boot from it too.
    session.install("-c", str(harness_env.CONSTRAINTS), "-r", str(harness_env.REQUIREMENTS))
    session.install("-c", str(constraints_file(NEWEST)), "-r", "configs/requirements/tests.txt")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "tests", *session.posargs)


@nox.session(python=False, default=False)
def lock(session):
    """Re-resolve the pins in configs/constraints/ for every Python found (needs PyPI)."""
    # uv is in nox's own environment (configs/requirements/tools.txt); the harness finds it on PATH.
    session.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    harness(session, "lock")


@nox.session(python=False, default=False)
def smoke(session):
    """One 1 s measurement of every listed (server, app) pair on its default Python; a pass/fail table.

    `-- --all-pythons` runs every cell of every Python; other arguments go to nox (e.g. `-- -k nginx`).
    """
    run_smoke(session)
