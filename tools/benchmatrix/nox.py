"""Bench sessions for a noxfile: the public entry point of benchmatrix under nox.

A noxfile declares the matrix's bench sessions with one call, and its other sessions
call the returned object's methods, each a line:

    import nox
    from benchmatrix.nox import bench_sessions

    matrix = bench_sessions()  # bench(server=..., app=...), bench-3.X(...) for every cell found here

    @nox.session(python=False)
    def smoke(session):
        matrix.smoke(session)

What `bench_sessions` declares:
- `bench(server='S', app='A')`: a cell on the newest Python it supports (tags: py3.X, the
  server, the app, its topology, interface, worker family, db);
- `bench-3.X(server='S', app='A')`, the cells of one Python (`nox -s bench-3.X` runs them
  all, `nox -p 3.X` alone selects them);
- `bench-3.X` for a Python of the matrix not found here, which says how to add it.

A matrix run (several bench sessions in one nox run) prepares every cell's environment
before measuring the first, shows each cell's place (i/N) and the time left, and skips
cells measured already with the same code, pins, options and machine (`-- --remeasure`
measures them again). The logic lives in benchmatrix.sessions; this module only wires
it into nox.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import nox

from benchmatrix import harness_env
from benchmatrix.matrix import interpreters
from benchmatrix.matrix.cells import MATRIX_FILE, constraints_file, version_key
from benchmatrix.matrix.listing import PLAIN_FAMILY, MatrixListing, discover
from benchmatrix.matrix.tags import cell_tags
from benchmatrix.sessions import groups, tests_session
from benchmatrix.sessions.bench import run_bench
from benchmatrix.sessions.harness_call import harness_python, run_harness
from benchmatrix.paths import PROJECT_VARIABLE
from benchmatrix.project_config.read import ConfigError
from benchmatrix.sessions.project import BenchProject, for_noxfile
from benchmatrix.sessions.selection import python_only_selection
from benchmatrix.sessions.standard import declare_standard_sessions
from benchmatrix.sessions.state import MatrixRun

__all__ = ["BenchSessions", "bench_sessions", "configure_nox"]

# results/report.py's RANKING_START and RANKING_END (a test holds them equal): that module needs tabulate,
# which nox's own environment does not have.
RANKING_MARKERS = ("<!-- benchmatrix:ranking:start -->", "<!-- benchmatrix:ranking:end -->")
LINTED = ("tools/benchmatrix", "tests", "noxfile.py", "toxfile.py")  # this checkout's: pass lint= elsewhere


def configure_nox() -> None:
    """nox's options for a benchmark project: reused virtualenvs, uv, no download, `nox` alone runs the tests."""
    # The harness and the cells it boots start once per cell: where the caller's shell forbids
    # writing bytecode (Docker's Python images do), each start compiles every module again
    # (measured: a Django smoke cell took 7.3 s instead of 5.0 s).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    nox.options.default_venv_backend = "uv|virtualenv"
    nox.options.reuse_venv = "yes"  # a cell's virtualenv is reused; installs re-check the pins
    nox.options.sessions = ["tests"]  # a bare `nox` must never start a long benchmark
    nox.options.download_python = "never"  # the interpreters are the ones found here, never a download


class BenchSessions:
    """The bench sessions of one noxfile, and what its other sessions call: each method takes the nox session."""

    def __init__(self, project: BenchProject, listing: MatrixListing):
        self.project = project
        self.listing = listing
        self.run = MatrixRun()  # this nox process's matrix run

    @property
    def newest_python(self) -> Optional[str]:
        return self.listing.newest

    def declare(self) -> "BenchSessions":
        """Declare the bench families in nox's registry (done by bench_sessions)."""
        pythons = sorted({c.python for c in self.listing.defaults}, key=version_key)
        self._declare_family(PLAIN_FAMILY, self.listing.defaults, "Benchmark a cell on Python {} (its py tag); options "
                             "after --".format(" or ".join(pythons) if pythons else "(none found)"))
        for version in self.listing.matrix.pythons:
            if version in self.listing.found:
                self._declare_family("bench-" + version, self.listing.family_cells("bench-" + version),
                                     "Benchmark a cell on Python {} ({})".format(version,
                                                                                  self.listing.found[version].path))
            else:
                self._declare_missing_python(version)
        for version, interpreter in self.listing.undeclared.items():
            self._declare_unavailable(version, interpreters.undeclared_message(version, interpreter.path),
                                      "Unavailable: Python {} found here but not in configs/matrix.json".format(version))
        only = python_only_selection(sys.argv[1:], self.listing.matrix.pythons, os.environ.get("NOX_SESSION"))
        if only:
            nox.options.sessions = ["bench-" + version for version in only]
        return self

    def _declare_family(self, name: str, cells, doc: str) -> None:
        # The python value sets the interpreter without entering the name, which is
        # what keeps nox -s "bench(server='S', app='A')" typeable as is.
        params = [nox.param(c.python, c.server.name, c.app.name, id=c.session_id, tags=cell_tags(c)) for c in cells]

        @nox.parametrize(("python", "server", "app"), params)
        def bench(session, server, app):
            run_bench(session, self.project, self.listing, self.run, server, app)

        bench.__doc__ = doc
        nox.session(name=name)(bench)

    @classmethod
    def _declare_missing_python(cls, version: str) -> None:
        cls._declare_unavailable(version, interpreters.missing_message(version),
                                 "Unavailable: Python {} not found here (run it to see how to add it)".format(version))

    @staticmethod
    def _declare_unavailable(version: str, message: str, doc: str) -> None:
        def bench_missing(session):
            session.error(message)

        bench_missing.__doc__ = doc
        nox.session(name="bench-" + version, python=False, default=False)(bench_missing)

    def harness(self, session, *args: str) -> None:
        """`python -m benchmatrix ARGS SESSION-POSARGS` from the harness's environment (report, compare, merge...)."""
        run_harness(session, self.listing, *args, *session.posargs)

    def report(self, session) -> None:
        """The tables and charts from the project's reports/results.jsonl; a user's project gets its ranking in
        reports/ranking.md (created with its markers), benchmatrix's own in its README."""
        if self.project.config is None:
            run_harness(session, self.listing, "report", *session.posargs)
            return
        ranking = ranking_page(self.project.default_results_dir)
        run_harness(session, self.listing, "report", "--readme", str(ranking), "--tables",
                    str(self.project.default_results_dir / "tables.md"), *session.posargs)

    def harness_python(self, session) -> str:
        """Build (or check) the harness's environment; its interpreter."""
        return harness_python(session, self.listing)

    def smoke(self, session) -> None:
        """One short measurement of every listed pair (`-- --all-pythons`: every cell); a pass/fail table."""
        groups.run_smoke(session, self.project, self.listing)

    def interleave(self, session) -> None:
        """posargs: SERVER/APP[/PYTHON] cells, then the harness's options."""
        groups.run_interleaved(session, self.project, self.listing, session.posargs)

    def bisect(self, session) -> None:
        """posargs: SERVER/APP[/PYTHON] --package P --releases V1,V2,...: the first release that differs."""
        groups.run_bisect(session, self.project, self.listing, session.posargs)

    def calibrate(self, session) -> None:
        """posargs: [SERVER/APP[/PYTHON]] (default gunicorn/flask), then `benchmatrix calibrate`'s options."""
        groups.run_calibrate(session, self.project, self.listing, session.posargs)

    def ranking(self, session, config: Optional[Path] = None) -> None:
        """The cells of a ranking config (default configs/ranking.json) interleaved on its scenarios."""
        config = config or self.project.root / "configs" / "ranking.json"
        groups.run_ranking(session, self.project, self.listing, config)

    def shards(self, session) -> None:
        """posargs --count N [--github-output FILE]: the matrix split for N runners, printed as JSON."""
        groups.print_shards(session, self.listing)

    def shard(self, session) -> None:
        """posargs --count N --index I [-- harness options]: prepare, then measure one shard; resumable."""
        groups.run_shard(session, self.project, self.listing)

    def lock(self, session) -> None:
        """Re-resolve configs/constraints/ for every Python found."""
        # uv is in nox's own environment (configs/requirements/tools.txt); the harness finds it on PATH.
        session.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        run_harness(session, self.listing, "lock")

    def tests(self, session, lint: Sequence[str] = LINTED, default_paths: Sequence[str] = ("tests",)) -> None:
        """ruff over `lint`, then pytest on the paths among the posargs, or on default_paths with the posargs."""
        root = self.project.root
        # The tests run the harness from this environment, and the servers they boot from it too.
        session.install("-c", str(harness_env.CONSTRAINTS), "-r", str(harness_env.REQUIREMENTS), "-e", str(root))
        session.install("-c", str(constraints_file(self.newest_python)), "-r",
                        str(root / "configs" / "requirements" / "tests.txt"), tests_session.RUFF)
        if lint:
            session.run(*tests_session.ruff_command(lint))
        session.run("python", "-m", "pytest", "-p", "no:cacheprovider",
                    *tests_session.pytest_arguments(session.posargs, root, default_paths))


def ranking_page(results_dir: Path) -> Path:
    """reports/ranking.md, with the markers the report writes the ranking between (results/report.py)."""
    page = results_dir / "ranking.md"
    if not page.is_file():
        results_dir.mkdir(parents=True, exist_ok=True)
        page.write_text("# Ranking\n\n{}\n{}\n".format(*RANKING_MARKERS), encoding="utf-8")
    return page


def _caller_file(depth: int = 2) -> Path:
    """The file of the code `depth` frames up: the noxfile that called bench_sessions."""
    return Path(sys._getframe(depth).f_code.co_filename)


def bench_sessions(noxfile: Optional[Path] = None, matrix_file: Path = MATRIX_FILE,
                   project: Optional[BenchProject] = None, standard_sessions: Optional[bool] = None) -> BenchSessions:
    """Declare the bench sessions of `matrix_file`'s cells on the Pythons found here, in the calling noxfile.

    noxfile: the noxfile nested nox runs load (default: the caller's file); project: where the
    data and nox's folder are (default: a user's project when a benchmatrix.toml is beside the
    noxfile, else benchmatrix's checkout; .nox beside the noxfile). standard_sessions: also
    declare report, compare, interleave, ranking, regressions, bisect (refused for a project's app),
    smoke, system, harness, shards, shard and merge
    (default: for a user's project, whose noxfile is this call alone).
    """
    try:
        project = project or for_noxfile(noxfile or _caller_file())
    except ConfigError as error:  # said before nox lists or runs anything, without a traceback
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        raise SystemExit(2)
    if project.config is not None:
        # The project's apps replace benchmatrix's in the matrix, here and in every process started from
        # here (the harness, nested nox runs): project_config/active.py.
        os.environ[PROJECT_VARIABLE] = str(project.root)
    # Sessions name plain versions ("3.12", so `nox -p 3.12` selects them); nox finds each as
    # python3.12 on PATH, linked there to the interpreter found on disk.
    listing = discover(matrix_file, links_dir=project.interpreter_links)
    sessions = BenchSessions(project, listing).declare()
    if standard_sessions if standard_sessions is not None else project.config is not None:
        configure_nox()
        nox.options.sessions = ["harness"]  # the project has no tests session; a bare `nox` only builds the harness
        declare_standard_sessions(sessions)
    return sessions
