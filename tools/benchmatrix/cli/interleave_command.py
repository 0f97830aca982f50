"""`benchmatrix interleave`: cells compared in one run, their trials alternating."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmatrix.cli.guard import guarded
from benchmatrix.cli.run_command import measurement_options
from benchmatrix.matrix.cell_spec import parse_cell_spec
from benchmatrix.matrix.cells import load_matrix
from benchmatrix.matrix.scenarios import SCENARIOS, select_scenarios
from benchmatrix.project_config.active import active_project
from benchmatrix.project_config.matrix import select_project_scenarios
from benchmatrix.run.option_specs import MEASUREMENT, add_options, positive_int, whole_seconds


def add_parsers(commands) -> None:
    from benchmatrix.run import interleave

    parser = commands.add_parser(
        "interleave", help="compare cells in one run, their trials in alternating order",
        usage='nox -s interleave -- SERVER/APP[/PYTHON] SERVER/APP[/PYTHON] ... [-- options]\n'
              '       python -m benchmatrix interleave --cell SERVER/APP[=VENV] --cell ... [options]',
        description="Boot every cell's stack, verify each, then run their trials in alternating order "
                    "(A B, B A, ...) until each ratio to the first cell is known to within --target-ci "
                    "(at least --min-trials a side, at most --max-load of load per scenario). Prints each "
                    "ratio with its 95%% confidence interval and permutation p-value; appends one record "
                    "per cell and scenario, marked with the comparison's group.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    parser.add_argument("--cell", action="append", required=True, metavar="SERVER/APP[=VENV][,side-probe=off]",
                        help="a contender, in order (the first is the baseline); VENV is its virtualenv "
                             "(default: the harness's own); side-probe=off measures it without the side "
                             "probe (to measure the probe's cost); repeat, at least twice")
    parser.add_argument("--min-trials", type=positive_int, default=interleave.MIN_ROUNDS,
                        help="trials per cell and scenario at least (5 lets the permutation test reach p <= 0.05)")
    parser.add_argument("--target-ci", type=float, default=interleave.TARGET_HALF_WIDTH,
                        help="stop adding rounds once every ratio's 95%% interval is within +- this share")
    parser.add_argument("--max-load", type=whole_seconds, default=interleave.MAX_LOAD_S,
                        help="load time per scenario, all cells together, after which no round is added")
    add_options(parser, MEASUREMENT)
    parser.set_defaults(duration=5)


def parse_contender(text: str):
    """SERVER/APP[=VENV][,side-probe=on|off] as a Contender (the cell's Python is its VENV's)."""
    from benchmatrix.run.interleave import Contender

    spec, *settings = text.split(",")
    cell, _, venv = spec.partition("=")
    matrix = load_matrix()
    try:
        named = parse_cell_spec(cell)
    except ValueError:
        named = None
    if named is None or named.python is not None or named.server not in matrix.servers or named.app not in matrix.apps:
        raise ValueError("--cell {!r}: give SERVER/APP[=VENV] with a server from {} and an app from {}".format(
            text, ", ".join(matrix.servers), ", ".join(matrix.apps)))
    side_probe = None
    for setting in settings:
        if setting not in ("side-probe=on", "side-probe=off"):
            raise ValueError("--cell {!r}: the only per-cell setting is side-probe=on or side-probe=off".format(text))
        side_probe = setting == "side-probe=on"
    return Contender(server=named.server, app=named.app, venv=Path(venv) if venv else None, side_probe=side_probe)


def command_interleave(args: argparse.Namespace) -> int:
    from benchmatrix.run.interleave import InterleaveOptions, InterleavedRun

    def run() -> int:
        contenders = [parse_contender(text) for text in args.cell]
        matrix = load_matrix()
        served = [set(matrix.apps[c.app].scenarios or SCENARIOS) for c in contenders]
        # A scenario is compared among the cells whose app serves it (a raw callable has no database
        # endpoint, yet belongs in the json ranking); each needs two of them.
        supported = [name for name in SCENARIOS if any(name in s for s in served)]
        project = active_project()
        # A user's project: its own scenarios (those of the first contender's app), never benchmatrix's.
        scenarios = (select_project_scenarios(project, contenders[0].app, args.scenarios) if project else
                     select_scenarios(args.scenarios.split(","), supported))
        for scenario in scenarios if len(contenders) > 1 else ():
            serving = ["{}/{}".format(c.server, c.app) for c, s in zip(contenders, served) if scenario.name in s]
            if len(serving) < 2:
                missing = sorted({c.app for c, s in zip(contenders, served) if scenario.name not in s})
                raise ValueError("scenario {!r} is served only by {} ({} does not serve it): an interleaved "
                                 "comparison of it needs two cells that serve it".format(
                                     scenario.name, " ".join(serving) or "none of the cells", ", ".join(missing)))
        base = measurement_options(args, contenders[0].server, contenders[0].app, scenarios)
        if base.sweep:
            raise ValueError("interleave compares cells at one connection count; give --connections once "
                             "(sweep each cell with `run --connections {}`)".format(",".join(map(str, base.sweep))))
        return InterleavedRun(InterleaveOptions(base, contenders, min_rounds=args.min_trials,
                                                target_half_width=args.target_ci,
                                                max_load_s=args.max_load)).execute()

    return guarded(run)


COMMANDS = {"interleave": command_interleave}
