"""The sessions a user's project gets from its two-line noxfile besides the bench cells.

benchmatrix's own noxfile declares these one by one (each a line calling the BenchSessions
object); a project's noxfile is `bench_sessions()` alone, so they are declared for it here,
with the same names and the same bodies.
"""

from __future__ import annotations

import nox


def declare_standard_sessions(matrix) -> None:
    """report, compare, interleave, ranking, regressions, bisect (which refuses a project's app, saying what to
    do instead), smoke, system, harness, shards, shard, merge for `matrix`."""

    def harness_command(name: str, doc: str):
        def body(session):
            matrix.harness(session, name)

        body.__doc__ = doc
        nox.session(name=name, python=False, default=False)(body)

    for name, doc in (("compare", "Compare two result files or two cells: -- A B (ratio of medians, p-value)"),
                      ("system", "This machine's state for benchmarking: show, tune or reset"),
                      ("merge", "Merge results folders of several machines or shards into one: -- DIR..."),
                      ("regressions", "Change points of each cell's history since a baseline; exit 1 on a slowdown: "
                                      "-- [--since DATE | --baseline SHA]")):
        harness_command(name, doc)

    def method_session(name: str, method, doc: str):
        def body(session):
            method(session)

        body.__doc__ = doc
        nox.session(name=name, python=False, default=False)(body)

    method_session("report", matrix.report, "The tables and charts from reports/results.jsonl, the ranking in "
                   "reports/ranking.md")
    method_session("interleave", matrix.interleave, "Compare cells in one run, trials alternating: "
                   "-- gunicorn/APP uwsgi/APP [options]")
    method_session("ranking", matrix.ranking, "The cells of configs/ranking.json interleaved on its scenarios "
                   "(then nox -s report)")
    method_session("bisect", matrix.bisect, "Not for a project's app (it says what to do instead): the first "
                   "release of a package that differs")
    method_session("smoke", matrix.smoke, "One 1 s measurement of every listed (server, app) pair; a pass/fail table")
    method_session("shards", matrix.shards, "The matrix split into N groups for CI: -- --count N")
    method_session("shard", matrix.shard, "One group of the split matrix: -- --count N --index I")
    method_session("harness", lambda session: print(matrix.harness_python(session)),
                   "Build (or check) the harness's environment and print its interpreter")
