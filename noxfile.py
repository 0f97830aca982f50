"""benchmatrix sessions: bench cells, regenerate the report, run the tests.

A bench session's virtualenv is the cell's measured environment: the server, the
app and their dependencies, nothing else. The harness that boots, checks, loads
and records runs from its own environment (.nox/harness, on the newest Python
found; tools/benchmatrix/harness_env.py) and starts the server from the cell's.

`bench(server='S', app='A')` runs a cell on the newest Python it supports;
`bench-3.X(server='S', app='A')` pins the interpreter, and `bench-3.X` alone runs
every cell of that Python. Interpreters are found on disk (PATH past pyenv
shims, pyenv and uv version folders; see tools/benchmatrix/matrix/interpreters.py), so
listing needs no subprocess and no network. The sessions are declared and run by
benchmatrix.nox (tools/benchmatrix/nox.py), the module another project's noxfile uses.
"""

import nox

from benchmatrix.nox import bench_sessions, configure_nox

configure_nox()
matrix = bench_sessions()


@nox.session(python=False)
def report(session):
    """Regenerate the README ranking, reports/tables.md, the charts and the site reports/site/ from results.jsonl.

    Options after --: --filter, --csv, --json, --site-dir, --no-site (`nox -s report -- --help`)."""
    matrix.harness(session, "report")


@nox.session(python=False, default=False)
def compare(session):
    """Compare two result files or two cells: nox -s compare -- A B (ratio of medians, p-value)."""
    matrix.harness(session, "compare")


@nox.session(python=False, default=False)
def interleave(session):
    """Compare cells in one run, their load alternating in ABBA slices: nox -s interleave -- gunicorn/flask meinheld/flask/3.9 [options]."""
    matrix.interleave(session)


@nox.session(python=False, default=False)
def calibrate(session):
    """This machine's A/A spread, false positives and smallest detectable difference: nox -s calibrate -- gunicorn/flask --runs 10."""
    matrix.calibrate(session)


@nox.session(python=False, default=False)
def ranking(session):
    """The README's rankings: the cells of configs/ranking.json interleaved on its scenarios, into reports/."""
    matrix.ranking(session)


@nox.session(python=False, default=False)
def system(session):
    """This machine's state for benchmarking (governor, turbo, isolated CPUs, ASLR, load): show, tune or reset."""
    matrix.harness(session, "system")


@nox.session(python=False, default=False, name="harness")
def harness_session(session):
    """Build (or check) the harness's own environment and print its interpreter, for runs by hand."""
    print(matrix.harness_python(session))


@nox.session(python=matrix.newest_python)
def tests(session):
    """Run the test suite (real servers and wrk on 127.0.0.1); pytest options after --."""
    matrix.tests(session)


@nox.session(python=False, default=False)
def lock(session):
    """Re-resolve the pins in configs/constraints/ for every Python found (needs PyPI)."""
    matrix.lock(session)


@nox.session(python=False, default=False)
def shards(session):
    """The matrix split into N groups of equal expected time, as JSON for a CI matrix: -- --count N."""
    matrix.shards(session)


@nox.session(python=False, default=False)
def shard(session):
    """Run one group of the split matrix: -- --count N --index I [-- harness options]; resumable."""
    matrix.shard(session)


@nox.session(python=False, default=False)
def merge(session):
    """Merge results folders of several machines or shards into one: -- DIR... [--into reports/]."""
    matrix.harness(session, "merge")


@nox.session(python=False, default=False)
def smoke(session):
    """One 1 s measurement of every listed (server, app) pair on its default Python; a pass/fail table.

    `-- --all-pythons` runs every cell of every Python; other arguments go to nox (e.g. `-- -k nginx`).
    """
    matrix.smoke(session)


@nox.session(python=False, default=False)
def regressions(session):
    """Change points in each cell's history (Apache Otava); fails on a slowdown: -- [--since DATE | --baseline SHA]."""
    matrix.harness(session, "regressions")


@nox.session(python=False, default=False)
def bisect(session):
    """The first release that changed a cell: -- uvicorn/raw --package uvicorn --releases 0.30.6,0.31.0,0.32.0."""
    matrix.bisect(session)
