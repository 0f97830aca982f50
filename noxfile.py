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

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nox

from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix import interpreters
from benchmatrix.matrix import shards as shard_plan
from benchmatrix.matrix.tags import cell_tags
from benchmatrix.results import smoke as smoke_table
from benchmatrix.matrix.cells import (
    all_cells, constraints_file, constraints_fingerprint, default_cells, find_cell, load_matrix, requirements,
    version_key)
from benchmatrix.run import resume

# The harness and the cells it boots start once per cell: where the caller's shell forbids
# writing bytecode (Docker's Python images do), each start compiles every module again
# (measured: a Django smoke cell took 7.3 s instead of 5.0 s).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"  # a cell's virtualenv is reused; installs re-check the pins
nox.options.sessions = ["tests"]  # a bare `nox` must never start a long benchmark
nox.options.download_python = "never"  # the interpreters are the ones found here, never a download

MATRIX = load_matrix()
FOUND = interpreters.find_interpreters(MATRIX.pythons)
CELLS = all_cells(MATRIX, sorted(FOUND, key=version_key))
NEWEST = max(FOUND, key=version_key) if FOUND else None
# Sessions name plain versions ("3.12", so `nox -p 3.12` selects them); nox finds each as
# python3.12 on PATH, linked here to the interpreter found on disk.
interpreters.expose_on_path(FOUND, Path(__file__).parent / ".nox" / "interpreters")


MATRIX_CLOCK = []  # when this nox run's first measured bench cell handed over to the harness
SKIPPED = []  # bench sessions of this nox run skipped as already measured
_RUN_SESSIONS = []  # the bench sessions this nox run selected, in order, once listed


def run_sessions():
    """The bench sessions this nox run will run, in order, as nox itself lists them.

    nox has no public API for its queue, but its listing is public: the same command line
    with `-l --json` prints the selected sessions in run order. Listed once per nox run.
    """
    if not _RUN_SESSIONS:
        argv = sys.argv[1:]
        own = argv[:argv.index("--")] if "--" in argv else argv
        listed = subprocess.run([sys.executable, "-m", "nox", *own, "-l", "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, universal_newlines=True, cwd=str(Path(__file__).parent))
        try:
            names = [entry["session"] for entry in json.loads(listed.stdout)]
        except (ValueError, KeyError, TypeError):
            names = []  # an unusual command line: the run just shows no i/N
        _RUN_SESSIONS.append([name for name in names if name.startswith("bench")])
    return _RUN_SESSIONS[0]


def matrix_position(session):
    """(i, N) of this bench session among the bench sessions of this nox run; None outside a matrix run."""
    names = run_sessions()
    if len(names) < 2 or session.name not in names:
        return None
    return names.index(session.name) + 1, len(names)


def progress_argument(position):
    """["--progress", "i/N@S:K"]: S is the time since the first measured cell of the run started, K the
    cells skipped before this one, so the harness's time-left estimate averages measured cells only."""
    if position is None:
        return []
    if not MATRIX_CLOCK:
        MATRIX_CLOCK.append(time.monotonic())
    return ["--progress", "{}/{}@{:.1f}:{}".format(position[0], position[1], time.monotonic() - MATRIX_CLOCK[0],
                                                   len(SKIPPED))]


def harness_python(session):
    """The harness's interpreter, its environment built on first use and reused while its pins hold."""
    if NEWEST is None:
        session.error(interpreters.missing_message(MATRIX.pythons[-1]))
    return harness_env.ensure_harness_env(FOUND[NEWEST].path, say=session.log)


def harness(session, *args, **options):
    """Run `python -m benchmatrix ARGS` from the harness's environment."""
    session.run(harness_python(session), "-m", "benchmatrix", *args, external=True, **options)


def install_cell(session, cell):
    """The cell's measured packages; what has no wheel for its Python is built once into a wheelhouse.

    False when the cell was left for later: a preparing job met the other job's build of a
    package this cell needs (prepare_cells installs it after both jobs).
    """
    install_args = ["-c", str(constraints_file(cell.python, cell.server.lock)), *requirements(MATRIX, cell)]
    uv = harness_env.find_uv()
    if not uv:
        session.install(*install_args)
        return True
    house = wheelhouse.wheelhouse_for(cell.python)
    house.mkdir(parents=True, exist_ok=True)
    python = str(Path(session.bin) / "python")
    state = os.environ.get(PREPARED_VARIABLE)
    stamp = Path(session.bin).parent / ".benchmatrix-installed"
    wanted = wheelhouse.install_stamp(python, install_args)
    if state == "prepared" and stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        # This run's preparation installed exactly this moments ago; asking uv again (a
        # resolution, ~0.5 s) would only say so, in the time between measured cells.
        session.log("benchmatrix: installed by this run's preparation")
        return True
    # Most cells have a wheel for everything: installing with building forbidden is one
    # resolution, where asking first what lacks a wheel would be two.
    if not wheelhouse.install_wheels_only(uv, python, install_args, house, session.log):
        try:
            wheelhouse.prebuild(uv, python, cell.python, install_args, session.log, wait=state != "preparing")
        except wheelhouse.BuildBusy as busy:
            # A preparing job does not wait for the other job's build: it goes on with the next cell.
            with open(os.environ[DEFERRED_VARIABLE], "a", encoding="utf-8") as deferred:
                deferred.write(session.name + "\n")
            session.log("benchmatrix: {} is being built by the other preparing job; this cell is installed "
                        "after it".format(busy))
            return False
        session.install("--find-links", str(house), *install_args)
    stamp.write_text(wanted, encoding="utf-8")
    return True


CELL_VENVS = Path(__file__).parent / ".nox" / "cell-venvs"  # cell -> its virtualenv, for `interleave`


def cell_key(cell):
    return "py{}-{}-{}".format(cell.python, cell.server.name, cell.app.name)


REMEASURE = "--remeasure"  # a matrix run's posarg: measure cells again even when already measured


def results_dir_of(posargs):
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--results-dir", type=Path, default=Path(__file__).parent / "reports")
    return parser.parse_known_args(posargs)[0].results_dir


def cell_fingerprint(cell, options):
    """The run's fingerprint (run/resume.py): the cell, its pins, the options, the source tree, the machine."""
    return resume.run_fingerprint(
        {"python": cell.python, "server": cell.server.name, "app": cell.app.name},
        {"constraints": constraints_fingerprint(cell.python, cell.server.lock),
         "requirements": requirements(MATRIX, cell)},
        options, resume.source_state(Path(__file__).parent))


def skipped_as_measured(session, position, fingerprint, options):
    """In a matrix run, True (and said) when this cell was measured already with the same fingerprint."""
    if position is None or REMEASURE in session.posargs:
        return False
    entry = resume.measured_entry(results_dir_of(options), fingerprint)
    if entry is None:
        return False
    SKIPPED.append(session.name)
    session.log("benchmatrix: [cell {}/{}] already measured with the same code, pins, options and machine "
                "(run {}, {}); skipped ({} skipped so far). `-- {}` measures it again".format(
                    position[0], position[1], entry.get("run_id"), entry.get("status"), len(SKIPPED), REMEASURE))
    return True


# Set by a matrix run for the nox processes it starts: "preparing" for those that install its
# cells (a cell whose build the other job is running is left for later), "finishing" for the
# one that installs those, "prepared" for the one that then measures them.
PREPARED_VARIABLE = "BENCHMATRIX_CELLS_PREPARED"
DEFERRED_VARIABLE = "BENCHMATRIX_CELLS_DEFERRED"  # the file where preparing jobs list the cells left for later
_PREPARED_HERE = []  # this nox run prepared its remaining cells already


def prepare_group_first(session, position):
    """In a matrix run of bench sessions (`nox -s bench-3.13`, `-t db`, `-p 3.9` ...) the first cell
    to be measured first prepares itself and every cell after it, so no build runs once measuring
    has begun. smoke and shard prepare before they start their nox run, and the preparing nox
    processes must not prepare again: both set PREPARED_VARIABLE."""
    if position is None or _PREPARED_HERE or os.environ.get(PREPARED_VARIABLE):
        return
    _PREPARED_HERE.append(True)
    names = run_sessions()[position[0] - 1:]
    logs = Path(__file__).parent / ".nox" / "prepare" / time.strftime("%Y%m%dT%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    prepare_cells(session, names, logs)
    os.environ[PREPARED_VARIABLE] = "prepared"  # for this run's later cells (install_cell)


def run_bench(session, server, app):
    cell = find_cell(MATRIX, session.python, server, app)
    options = [arg for arg in session.posargs if arg != REMEASURE]
    position = matrix_position(session)
    fingerprint = cell_fingerprint(cell, options)
    if skipped_as_measured(session, position, fingerprint, options):
        return
    prepare_group_first(session, position)
    if not install_cell(session, cell):
        return  # left for after the other preparing job's build (prepare_cells)
    # Written on --install-only runs too: the interleave session prepares cells that way and
    # needs to know where nox put each one.
    CELL_VENVS.mkdir(parents=True, exist_ok=True)
    (CELL_VENVS / (cell_key(cell) + ".path")).write_text(str(Path(session.bin).parent), encoding="utf-8")
    # On Ctrl-C nox kills its child 0.5 s after the signal unless told to wait; the harness
    # needs up to its stop grace (10 s per service) to take the server down first.
    # The harness writes the fingerprint to the results folder's ledger when the cell's run ends.
    harness(session, "run", "--venv", str(Path(session.bin).parent), "--server", server, "--app", app,
            *progress_argument(position), *options, env={resume.FINGERPRINT_VARIABLE: fingerprint},
            interrupt_timeout=60, terminate_timeout=30)


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
                success_codes=[0, 1], external=True, interrupt_timeout=120, terminate_timeout=60,
                env={PREPARED_VARIABLE: "prepared"})
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
    are dealt round-robin to PREPARE_JOBS nox processes that install side by side, and the
    cells either left for the other's build install once both end. Nothing measures
    meanwhile, so the builds disturb no number.
    """
    groups = [names[job::PREPARE_JOBS] for job in range(PREPARE_JOBS) if names[job::PREPARE_JOBS]]
    began = time.monotonic()
    session.log("benchmatrix: preparing the {} cell environment(s) first ({} nox process(es), logs in {})".format(
        len(names), len(groups), out))
    deferred_file = out / "prepare-deferred.txt"
    deferred_file.write_text("", encoding="utf-8")
    env = dict(os.environ, **{PREPARED_VARIABLE: "preparing", DEFERRED_VARIABLE: str(deferred_file)})
    codes = install_only(groups, env, [out / "prepare-{}.log".format(n) for n in range(1, len(groups) + 1)])
    # Cells that met the other job's build: that build is done now, so these only install.
    deferred = [name for name in dict.fromkeys(deferred_file.read_text(encoding="utf-8").split("\n")) if name]
    if deferred:
        env[PREPARED_VARIABLE] = "finishing"
        halves = [half for half in (deferred[0::2], deferred[1::2]) if half]  # nothing left to build: side by side
        codes += install_only(halves, env, [out / "prepare-deferred-{}.log".format(n) for n in (1, 2)])
    session.log("benchmatrix: prepared in {:.0f} s ({} cell(s) after another's build){}; now measuring, one cell "
                "at a time".format(time.monotonic() - began, len(deferred), "" if not any(codes) else
                                   " (some installs failed: their cells will say why)"))


def install_only(groups, env, logs):
    """One `nox --install-only` per group of sessions, side by side; their exit codes."""
    jobs = []
    try:
        for group, log_path in zip(groups, logs):
            with open(str(log_path), "w") as log:
                jobs.append(subprocess.Popen([sys.executable, "-m", "nox", "--noxfile", __file__, "--install-only",
                                              "-s", *group], stdout=log, stderr=subprocess.STDOUT, env=env))
        return [job.wait() for job in jobs]
    finally:
        for job in jobs:  # an interrupt must not leave an install running
            if job.poll() is None:
                job.terminate()
                job.wait()


def cell_params(cells):
    # The python value sets the interpreter without entering the name, which is
    # what keeps nox -s "bench(server='S', app='A')" typeable as is.
    return [nox.param(c.python, c.server.name, c.app.name, id=c.session_id,
                      tags=cell_tags(c)) for c in cells]


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


def python_only_selection(argv):
    """The versions of `nox -p X.Y` given with no session, keyword or tag selection, else [].

    nox applies -p to the default sessions, which here are only the tests (a bare `nox` must
    never start a benchmark), so `nox -p 3.9 -l` would select nothing. Given alone, -p means
    "the cells of these Pythons": the bench-X.Y families become the default. Read from the
    command line, the one public place nox's selection is visible at import.
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-p", "--python", "--pythons", "-P", "--force-python", "--force-pythons",
                        dest="pythons", nargs="*", action="extend", default=[])
    parser.add_argument("-s", "-e", "--session", "--sessions", dest="sessions", nargs="*")
    parser.add_argument("-k", "--keywords", dest="keywords")
    parser.add_argument("-t", "--tags", dest="tags", nargs="*")
    own = argv[:argv.index("--")] if "--" in argv else argv
    args, _ = parser.parse_known_args(own)
    if args.sessions is not None or args.keywords or args.tags is not None or os.environ.get("NOX_SESSION"):
        return []
    return [version for version in args.pythons if version in MATRIX.pythons]


_python_only = python_only_selection(sys.argv[1:])
if _python_only:
    nox.options.sessions = ["bench-" + version for version in _python_only]

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
    session.run(sys.executable, "-m", "nox", "--noxfile", __file__, "--install-only", "-s", *names, external=True,
                env={PREPARED_VARIABLE: "preparing"})
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


@nox.session(python=NEWEST)
def tests(session):
    """Run the test suite (real servers and wrk on 127.0.0.1); pytest options after --."""
    # The tests run the harness from this environment, and the servers they boot from it too.
    session.install("-c", str(harness_env.CONSTRAINTS), "-r", str(harness_env.REQUIREMENTS), "-e", ".")
    session.install("-c", str(constraints_file(NEWEST)), "-r", "configs/requirements/tests.txt")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "tests", *session.posargs)


@nox.session(python=False, default=False)
def lock(session):
    """Re-resolve the pins in configs/constraints/ for every Python found (needs PyPI)."""
    # uv is in nox's own environment (configs/requirements/tools.txt); the harness finds it on PATH.
    session.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    harness(session, "lock")


def shard_arguments(session):
    parser = argparse.ArgumentParser(prog="nox -s shards --", allow_abbrev=False)
    parser.add_argument("--count", type=int, required=True, help="runners to split the matrix across")
    parser.add_argument("--index", type=int, default=None, help="(shard) which group to run, 1..count")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per trial, for the estimate")
    parser.add_argument("--trials", type=int, default=3, help="trials per scenario, for the estimate")
    parser.add_argument("--github-output", type=Path, default=None,
                        help="also append shards=[1,...,N] to this file ($GITHUB_OUTPUT)")
    own = session.posargs[:session.posargs.index("--")] if "--" in session.posargs else session.posargs
    rest = session.posargs[len(own) + 1:] if "--" in session.posargs else []
    try:
        return parser.parse_args(own), rest
    except SystemExit as exit_:
        session.error("see the usage above" if exit_.code else "")


def planned_shards(session, args):
    try:
        groups = shard_plan.split(CELLS, args.count, shard_plan.LoadShape(duration_s=args.duration, trials=args.trials))
    except ValueError as error:
        session.error(str(error))
    return groups


@nox.session(python=False, default=False)
def shards(session):
    """The matrix split into N groups of equal expected time, as JSON for a CI matrix: -- --count N."""
    args, _ = shard_arguments(session)
    groups = planned_shards(session, args)
    plan = {"count": len(groups), "cells": len(CELLS), "shards": [
        {"index": g.index, "expected_minutes": round(g.expected_s / 60.0, 1), "cells": len(g.cells),
         "sessions": ["bench-{}({})".format(c.python, c.session_id) for c in g.cells]} for g in groups]}
    print(json.dumps(plan, indent=2))
    if args.github_output:
        with open(str(args.github_output), "a", encoding="utf-8") as output:
            output.write("shards={}\n".format(json.dumps([g.index for g in groups])))


@nox.session(python=False, default=False)
def shard(session):
    """Run one group of the split matrix: -- --count N --index I [-- harness options]; resumable."""
    args, options = shard_arguments(session)
    groups = planned_shards(session, args)
    if args.index is None or not 1 <= args.index <= len(groups):
        session.error("--index: give 1..{} (the shard to run of --count {})".format(len(groups), args.count))
    group = groups[args.index - 1]
    names = ["bench-{}({})".format(c.python, c.session_id) for c in group.cells]
    session.log("benchmatrix: shard {}/{}: {} cells, about {:.0f} min expected".format(
        args.index, len(groups), len(names), group.expected_s / 60.0))
    logs = Path(__file__).parent / ".nox" / "shard" / time.strftime("%Y%m%dT%H%M%S")
    logs.mkdir(parents=True)  # the preparation's logs; the results go where the options say
    prepare_cells(session, names, logs)
    # One nox run over the group, as `nox -s bench-3.X` runs a family: cells measured already
    # (the ledger in the results folder) are skipped, so a re-run continues where it stopped.
    session.run(sys.executable, "-m", "nox", "--noxfile", __file__, "-s", *names, "--", *options,
                external=True, interrupt_timeout=120, terminate_timeout=60, env={PREPARED_VARIABLE: "prepared"})


@nox.session(python=False, default=False)
def merge(session):
    """Merge results folders of several machines or shards into one: -- DIR... [--into reports/]."""
    harness(session, "merge", *session.posargs)


@nox.session(python=False, default=False)
def smoke(session):
    """One 1 s measurement of every listed (server, app) pair on its default Python; a pass/fail table.

    `-- --all-pythons` runs every cell of every Python; other arguments go to nox (e.g. `-- -k nginx`).
    """
    run_smoke(session)
