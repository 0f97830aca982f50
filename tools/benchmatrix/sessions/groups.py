"""Sessions that run a group of cells: smoke, a CI shard, an interleaved comparison."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Sequence, Tuple

from benchmatrix import harness_env
from benchmatrix.matrix import shards as shard_plan
from benchmatrix.matrix.cell_spec import EXAMPLE, parse_cell_spec
from benchmatrix.matrix.cells import Cell
from benchmatrix.matrix.listing import MatrixListing
from benchmatrix.matrix.overrides import EXAMPLE as OVERRIDE_EXAMPLE, Overrides, label, split_contender
from benchmatrix.results import smoke as smoke_table
from benchmatrix.sessions.bench import cell_key
from benchmatrix.sessions import versions
from benchmatrix.sessions.bisect import parse_bisect_arguments
from benchmatrix.sessions.harness_call import NESTED_STOP_WAITS, STOP_WAITS, run_harness
from benchmatrix.sessions.prepare import prepare_cells
from benchmatrix.sessions.project import BenchProject
from benchmatrix.sessions.selection import family_sessions, filtered_sessions
from benchmatrix.sessions.shard_arguments import parse_shard_arguments
from benchmatrix.sessions.state import PREPARED, PREPARING, RunTicket, ticket_arguments

ALL_PYTHONS = "--all-pythons"


def measure_prepared(session, project: BenchProject, names: Sequence[str], out: Path, options: Sequence[str],
                     **run_options) -> None:
    """One nested nox run over prepared cells, as `nox -s bench-3.X` runs a family: each cell gets its own
    virtualenv exactly as `nox -s bench(...)` builds it, and the ledger skips what was measured."""
    ticket = RunTicket(PREPARED).write(out / "measure-ticket.json")
    session.run(sys.executable, "-m", "nox", "--noxfile", str(project.noxfile), *run_options.pop("nox_args", ()),
                "-s", *names, "--", *options, *ticket_arguments(ticket), external=True, **NESTED_STOP_WAITS,
                **run_options)


def run_smoke(session, project: BenchProject, listing: MatrixListing) -> None:
    every_python = ALL_PYTHONS in session.posargs
    nox_filters = [arg for arg in session.posargs if arg != ALL_PYTHONS]
    families = ["bench-" + v for v in listing.found_versions] if every_python else ["bench"]
    out = project.new_logs_dir("smoke")
    started = time.monotonic()
    try:
        names = filtered_sessions(project, family_sessions(listing, families), nox_filters)
    except ValueError as error:
        session.error(str(error))
    if not names:
        session.error("no cell matches {}".format(" ".join(nox_filters)))
    prepare_cells(session, project, names, out)
    # The load generator's ceiling once, up front (the cells reuse it): no cell's time, and so
    # no time-left estimate, includes it.
    run_harness(session, listing, "ceiling", "--results-dir", str(out))
    # nox's --report says which sessions passed; failures are tabulated, not raised, so all run.
    report = out / "nox-report.json"
    measure_prepared(session, project, names, out, [*smoke_table.BENCH_OPTIONS, "--results-dir", str(out)],
                     nox_args=["--report", str(report)], success_codes=[0, 1])
    table, passed = smoke_table.summarize(report, out, time.monotonic() - started)
    (out / "smoke.md").write_text(table, encoding="utf-8")
    print(table)
    if not passed:
        session.error("some cells failed the smoke run; see the table above and {}".format(out))


def planned_shards(session, listing: MatrixListing, posargs: Sequence[str]):
    try:
        args, options = parse_shard_arguments(posargs)
    except SystemExit as exit_:
        session.error("see the usage above" if exit_.code else "")
    try:
        return args, options, shard_plan.split(listing.cells, args.count, args.load_shape)
    except ValueError as error:
        session.error(str(error))


def shard_session_names(shard) -> List[str]:
    return ["bench-{}({})".format(c.python, c.session_id) for c in shard.cells]


def print_shards(session, listing: MatrixListing) -> None:
    args, _, groups = planned_shards(session, listing, session.posargs)
    plan = {"count": len(groups), "cells": len(listing.cells), "shards": [
        {"index": g.index, "expected_minutes": round(g.expected_s / 60.0, 1), "cells": len(g.cells),
         "sessions": shard_session_names(g)} for g in groups]}
    print(json.dumps(plan, indent=2))
    if args.github_output:
        with open(str(args.github_output), "a", encoding="utf-8") as output:
            output.write("shards={}\n".format(json.dumps([g.index for g in groups])))


def run_shard(session, project: BenchProject, listing: MatrixListing) -> None:
    args, options, groups = planned_shards(session, listing, session.posargs)
    if args.index is None or not 1 <= args.index <= len(groups):
        session.error("--index: give 1..{} (the shard to run of --count {})".format(len(groups), args.count))
    group = groups[args.index - 1]
    names = shard_session_names(group)
    session.log("benchmatrix: shard {}/{}: {} cells, about {:.0f} min expected".format(
        args.index, len(groups), len(names), group.expected_s / 60.0))
    logs = project.new_logs_dir("shard")  # the preparation's logs; the results go where the options say
    prepare_cells(session, project, names, logs)
    measure_prepared(session, project, names, logs, options)


def contenders(session, listing: MatrixListing, arguments: Sequence[str]
               ) -> Tuple[List[Tuple[Cell, bool, Overrides]], List[str]]:
    """The leading SERVER/APP[/PYTHON][@PACKAGE==VERSION] arguments as cells (whether the Python was named,
    the package overrides); the rest."""
    cells, rest = [], list(arguments)
    while rest and not rest[0].startswith("-"):
        try:
            text, overrides = split_contender(rest.pop(0))
            spec = parse_cell_spec(text)
            cells.append((listing.resolve(spec), spec.python is not None, overrides))
        except ValueError as error:
            session.error(str(error))
    if len(cells) < 2:
        session.error("name at least two cells, e.g. nox -s interleave -- gunicorn/flask {} --scenarios json, or one "
                      "cell on two releases: uvicorn/raw uvicorn/raw@{}".format(EXAMPLE, OVERRIDE_EXAMPLE))
    return cells, rest


def prepare_contenders(session, project: BenchProject, listing: MatrixListing,
                       cells: Sequence[Tuple[Cell, bool, Overrides]]) -> List[str]:
    """Each contender's virtualenv as its bench session builds it (one `nox --install-only` per override set);
    the harness's --cell arguments for them."""
    uv = harness_env.find_uv()
    for cell, _, overrides in cells:  # a release PyPI lacks is refused before any virtualenv is built
        if overrides:
            try:
                versions.refuse_project_overrides(cell, overrides)
                versions.check_pinned(cell, overrides)
                if uv:
                    versions.check_releases_exist(uv, listing.found[cell.python].path, overrides)
            except ValueError as error:
                session.error(str(error))
    out = project.new_logs_dir("interleave")
    for overrides in dict.fromkeys(overrides for _, _, overrides in cells):
        names = list(dict.fromkeys(listing.session_name(cell, pinned) for cell, pinned, o in cells if o == overrides))
        session.log("benchmatrix: preparing {}{}".format(", ".join(names), " with " + label(overrides)
                                                          if overrides else ""))
        ticket = RunTicket(PREPARING).write(out / "prepare-ticket.json")
        given = ["--with", ",".join(map(str, overrides))] if overrides else []
        session.run(sys.executable, "-m", "nox", "--noxfile", str(project.noxfile), "--install-only", "-s", *names,
                    "--", *given, *ticket_arguments(ticket), external=True)
    arguments = []
    for cell, _, overrides in cells:
        venv = (project.cell_venvs / (cell_key(cell, overrides) + ".path")).read_text().strip()
        arguments += ["--cell", "{}/{}={}{}".format(cell.server.name, cell.app.name, venv,
                                                    "".join(",with={}".format(o) for o in overrides))]
    return arguments


def run_interleaved(session, project: BenchProject, listing: MatrixListing, arguments: Sequence[str]) -> None:
    """Prepare each cell's virtualenv as its bench session would, then measure them interleaved."""
    cells, options = contenders(session, listing, arguments)
    run_harness(session, listing, "interleave", *prepare_contenders(session, project, listing, cells), *options,
                **STOP_WAITS)


# A bisect builds each release with --with, which a project's cell refuses (sessions/versions.py): said at once.
PROJECT_BISECT = ("bisect walks the releases of one of benchmatrix's pinned packages (--with), and a project's app "
                  "installs its packages as its benchmatrix.toml says: to compare releases of a package for your "
                  "app, declare an app per release (install = [\"-e .\", \"uvicorn==0.30.6\"]) and compare them "
                  "with nox -s interleave -- uvicorn/shop_old uvicorn/shop_new")


def run_bisect(session, project: BenchProject, listing: MatrixListing, arguments: Sequence[str]) -> None:
    """One virtualenv per release of the package, then the harness walks adjacent pairs interleaved."""
    try:
        bisect = parse_bisect_arguments(arguments)
        spec = parse_cell_spec(bisect.cell)
        cell = listing.resolve(spec)
        if cell.app.root is not None:
            raise ValueError(PROJECT_BISECT)
    except ValueError as error:
        session.error(str(error))
    cells = [(cell, spec.python is not None, overrides) for overrides in bisect.contender_overrides()]
    run_harness(session, listing, "bisect", "--package", bisect.package,
                *prepare_contenders(session, project, listing, cells), *bisect.options, **STOP_WAITS)


CALIBRATED_CELL = "gunicorn/flask"  # the acceptance cell, when none is named


def run_calibrate(session, project: BenchProject, listing: MatrixListing, arguments: Sequence[str]) -> None:
    """posargs: [SERVER/APP[/PYTHON]] then calibrate's options: A/A comparisons of the cell in its bench
    session's virtualenv (and, with --detect, the detection test)."""
    arguments = list(arguments)
    named = [arguments.pop(0)] if arguments and not arguments[0].startswith("-") else [CALIBRATED_CELL]
    try:
        spec = parse_cell_spec(named[0])
        cell = listing.resolve(spec)
    except ValueError as error:
        session.error(str(error))
    run_harness(session, listing, "calibrate", *prepare_contenders(session, project, listing,
                                                                   [(cell, spec.python is not None, ())]),
                *arguments, **STOP_WAITS)


RANKING_SHAPE = '{"cells": ["gunicorn/shop", "uwsgi/shop"], "scenarios": "items,echo"}'


def ranking_config(config: Path) -> Tuple[List[str], str]:
    """The cells and scenarios of a ranking config; a ValueError saying what to write when it is missing or wrong."""
    if not config.is_file():
        raise ValueError("{} does not exist: `nox -s ranking` interleaves the cells it names on its scenarios; write "
                         "it as {} (or compare cells at once: nox -s interleave -- CELL CELL ...)".format(
                             config, RANKING_SHAPE))
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        cells, scenarios = data["cells"], data["scenarios"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError("{}: not a ranking config ({}); write it as {}".format(config, error, RANKING_SHAPE))
    if not (isinstance(cells, list) and all(isinstance(c, str) for c in cells) and isinstance(scenarios, str)):
        raise ValueError("{}: \"cells\" is a list of SERVER/APP names and \"scenarios\" one comma-separated "
                         "string, as in {}".format(config, RANKING_SHAPE))
    return cells, scenarios


def run_ranking(session, project: BenchProject, listing: MatrixListing, config: Path) -> None:
    """The cells of a ranking config (configs/ranking.json) interleaved on its scenarios; posargs after them."""
    try:
        cells, scenarios = ranking_config(config)
    except ValueError as error:
        session.error(str(error))
    run_interleaved(session, project, listing, [*cells, "--scenarios", scenarios, *session.posargs])
