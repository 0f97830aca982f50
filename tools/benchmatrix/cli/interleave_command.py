"""`benchmatrix interleave`: cells compared in one run, their trials alternating."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmatrix.cli.guard import guarded
from benchmatrix.cli.run_command import measurement_options
from benchmatrix.matrix.cell_spec import parse_cell_spec
from benchmatrix.matrix.cells import load_matrix
from benchmatrix.matrix.overrides import parse_overrides
from benchmatrix.matrix.scenarios import SCENARIOS, select_scenarios
from benchmatrix.project_config.active import active_project
from benchmatrix.project_config.matrix import select_project_scenarios
from benchmatrix.run.option_specs import COMPARISON, MEASUREMENT, add_options, positive_int, whole_seconds


def add_parsers(commands) -> None:
    parser = commands.add_parser(
        "interleave", help="compare cells in one run, their trials in alternating order",
        usage='nox -s interleave -- SERVER/APP[/PYTHON] SERVER/APP[/PYTHON] ... [-- options]\n'
              '       python -m benchmatrix interleave --cell SERVER/APP[=VENV] --cell ... [options]',
        description="Boot every cell's stack, verify each, then alternate the load between them in "
                    "--slice slices, A B | B A | A B | B A ..., until each ratio to the first cell differs "
                    "from 1 (p <= 0.05, corrected for the looks) or is known to within --target-ci (at least "
                    "--min-pairs ABBA pairs, at most --max-load of load per scenario). Prints each ratio of "
                    "req/s and of CPU time per request with its 95% interval and p-value, and for an "
                    "undecided one the smallest difference it could have seen; appends one record per cell "
                    "and scenario, marked with the comparison's group.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    add_interleave_arguments(parser)


def add_interleave_arguments(parser: argparse.ArgumentParser) -> None:
    """--cell, the stopping rule's settings and the measurement options (interleave and bisect take them)."""
    from benchmatrix.run import interleave

    parser.add_argument("--cell", action="append", required=True,
                        metavar="SERVER/APP[=VENV][,side-probe=off][,app-target=MODULE:CALLABLE]"
                                "[,with=PACKAGE==VERSION]",
                        help="a contender, in order (the first is the baseline); VENV is its virtualenv "
                             "(default: the harness's own); side-probe=off measures it without the side "
                             "probe (to measure the probe's cost); app-target serves that callable instead "
                             "of the app's own; with=PACKAGE==VERSION says VENV holds that release instead of "
                             "the pin (checked, recorded, labelled; repeatable; it builds nothing: the nox "
                             "session writes it for the virtualenv it built from SERVER/APP@PACKAGE==VERSION); "
                             "repeat, at least twice")
    parser.add_argument("--min-trials", type=positive_int, default=None,
                        help="the older form of --min-pairs: trials a side, two to a pair")
    parser.add_argument("--target-ci", type=float, default=interleave.TARGET_HALF_WIDTH,
                        help="stop adding pairs once every ratio's 95%% interval is within +- this share")
    parser.add_argument("--max-load", type=whole_seconds, default=interleave.MAX_LOAD_S,
                        help="load time per scenario, all cells together, after which no round is added")
    add_options(parser, MEASUREMENT, **{"--duration": {"default": None, "help": "the older name of --slice"}})
    add_options(parser, COMPARISON)


def parse_contender(text: str):
    """SERVER/APP[=VENV][,side-probe=on|off][,app-target=M:C][,with=P==V] as a Contender (its Python is its VENV's)."""
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
    side_probe, app_target, overrides = None, None, []
    for setting in settings:
        if setting.startswith("with="):
            overrides.append(setting[len("with="):])
        elif setting in ("side-probe=on", "side-probe=off"):
            side_probe = setting == "side-probe=on"
        elif setting.startswith("app-target=") and ":" in setting:
            app_target = setting.partition("=")[2]
        else:
            raise ValueError("--cell {!r}: the per-cell settings are side-probe=on|off, app-target=MODULE:CALLABLE "
                             "and with=PACKAGE==VERSION".format(text))
    return Contender(server=named.server, app=named.app, venv=Path(venv) if venv else None, side_probe=side_probe,
                     app_target=app_target, overrides=parse_overrides(",".join(overrides)) if overrides else ())


def comparison_settings(args: argparse.Namespace) -> dict:
    """The COMPARISON options as InterleaveOptions' fields (interleave, bisect and calibrate share them)."""
    min_trials = getattr(args, "min_trials", None)
    return dict(min_pairs=args.min_pairs if min_trials is None else (min_trials + 1) // 2, metric=args.metric,
                normalize=args.normalize == "speed-reference",
                speed_reference=args.speed_reference == "on" or args.normalize == "speed-reference")


def interleave_options(args: argparse.Namespace, contenders):
    """InterleaveOptions for these contenders from the command line; ValueError on what cannot be compared."""
    from benchmatrix.run.interleave import InterleaveOptions

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
    if args.duration is None:
        args.duration = args.slice  # a slice is one trial of the cell's measurement
    base = measurement_options(args, contenders[0].server, contenders[0].app, scenarios)
    if base.sweep:
        raise ValueError("interleave compares cells at one connection count; give --connections once "
                         "(sweep each cell with `run --connections {}`)".format(",".join(map(str, base.sweep))))
    return InterleaveOptions(base, contenders, target_half_width=args.target_ci, max_load_s=args.max_load,
                             **comparison_settings(args))


def command_interleave(args: argparse.Namespace) -> int:
    from benchmatrix.run.interleave import InterleavedRun

    def run() -> int:
        contenders = [parse_contender(text) for text in args.cell]
        return InterleavedRun(interleave_options(args, contenders)).execute()

    return guarded(run)


COMMANDS = {"interleave": command_interleave}
