"""`benchmatrix calibrate`: this machine's A/A spread, false-positive rate and minimum detectable effect."""

from __future__ import annotations

import argparse

from benchmatrix.cli.guard import guarded
from benchmatrix.cli.interleave_command import comparison_settings, parse_contender
from benchmatrix.cli.run_command import measurement_options
from benchmatrix.matrix.scenarios import select_scenarios
from benchmatrix.run.option_specs import COMPARISON, MEASUREMENT, add_options, positive_int, whole_seconds


def seconds_list(text: str):
    try:
        values = tuple(whole_seconds(part) for part in text.split(","))
    except argparse.ArgumentTypeError:
        raise
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("{!r}: give whole seconds of 1 or more, comma-separated".format(text))
    return values


def share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError("{!r} is not a share such as 0.10 or 10%".format(text))
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("{!r}: give a share between 0 and 1 (0.10 = 10%)".format(text))
    return value


def add_parsers(commands) -> None:
    parser = commands.add_parser(
        "calibrate", help="A/A comparisons of one cell: this machine's false-positive rate and detectable effect",
        usage="nox -s calibrate -- [SERVER/APP[/PYTHON]] [options]\n"
              "       python -m benchmatrix calibrate --cell SERVER/APP[=VENV] [options]",
        description="Compare a cell with a second instance of itself (--runs times at each --slices length, "
                    "interleaved as `interleave` does), and print per slice length and method (req/s, CPU "
                    "per request; with and without the speed reference) the 95% interval reached after "
                    "--at seconds of load, the stopping rule's false positives at p <= 0.05 within --budget, "
                    "and the minimum detectable effect for --budget. Saves it for this machine in the results "
                    "folder's calibration.json: later undecided comparisons state it. --detect 0.10 then "
                    "compares the cell with a copy spending 10% more CPU per request, --tries times.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    parser.add_argument("--cell", required=True, metavar="SERVER/APP[=VENV]", help="the cell to calibrate on")
    parser.add_argument("--runs", type=int, default=argparse.SUPPRESS,
                        help="A/A comparisons per slice length (default: 10; with --detect, 0: the detection alone, "
                             "sized by the saved calibration's CPU per request)")
    parser.add_argument("--slices", type=seconds_list, default=(1,),
                        help="slice lengths to calibrate, comma-separated seconds (the first is the detection's)")
    parser.add_argument("--budget", type=whole_seconds, default=120,
                        help="load budget of a comparison, all contenders: the false positives and the MDE are "
                             "stated for it, and each A/A run lasts at least this long")
    parser.add_argument("--at", type=seconds_list, default=(30, 60, 120),
                        help="load times at which to report the A/A intervals' half-widths")
    parser.add_argument("--target-ci", type=float, default=0.05,
                        help="the stopping rule's target half-width, as interleave's")
    parser.add_argument("--detect", type=share, default=None,
                        help="also run the detection test: a copy of the cell with this share more CPU per request")
    parser.add_argument("--tries", type=positive_int, default=10, help="detection comparisons")
    parser.add_argument("--detect-budget", type=whole_seconds, default=300, help="load budget of each detection try")
    parser.add_argument("--extra-work-us", type=int, default=None,
                        help="the copy's extra CPU per request in microseconds, instead of --detect of the "
                             "measured cost")
    add_options(parser, MEASUREMENT, **{"--duration": {"default": None, "help": "not used: see --slices"}})
    add_options(parser, COMPARISON, **{"--slice": {"default": None, "help": "not used: see --slices"}})
    parser.set_defaults(scenarios="json")


def command_calibrate(args: argparse.Namespace) -> int:
    from benchmatrix.run.calibrate_run import CalibrateOptions, Calibration, detection_problem
    from benchmatrix.run.interleave_rule import budget_problem

    def run() -> int:
        contender = parse_contender(args.cell)
        scenarios = select_scenarios(args.scenarios.split(","), None)
        if len(scenarios) != 1:
            raise ValueError("calibrate measures one scenario; give --scenarios with one name (e.g. json)")
        if getattr(args, "runs", None) is None:
            args.runs = 0 if args.detect is not None else 10
        if args.runs < 0:
            raise ValueError("--runs: give 0 (detection only) or more A/A comparisons")
        if args.runs == 0 and args.detect is None:
            raise ValueError("--runs 0 leaves nothing to do: give --detect SHARE for the detection test alone")
        if args.runs == 1:
            raise ValueError("--runs 1: a false-positive rate and a spread need at least 2 A/A comparisons")
        if args.detect is not None and detection_problem(contender):
            raise ValueError(detection_problem(contender))
        args.duration = args.slices[0]
        base = measurement_options(args, contender.server, contender.app, scenarios)
        settings = comparison_settings(args)
        # The A/A runs are judged by the rule replayed within --budget, the detection tries by the live rule
        # within --detect-budget: a budget that holds fewer pairs than --min-pairs would never look.
        budgets = [("--budget", args.budget, s) for s in args.slices] + (
            [("--detect-budget", args.detect_budget, args.slices[0])] if args.detect is not None else [])
        for option, budget_s, slice_s in budgets:
            problem = budget_problem(settings["min_pairs"], budget_s, 2, slice_s)
            if problem:
                raise ValueError(problem.replace("--max-load", option))
        return Calibration(CalibrateOptions(
            base, contender, runs=args.runs, slices=args.slices, budget_s=args.budget,
            load_points=tuple(float(p) for p in args.at), min_pairs=settings["min_pairs"],
            target_half_width=args.target_ci, metric=settings["metric"], normalize=settings["normalize"],
            detect=args.detect, tries=args.tries, detect_budget_s=args.detect_budget,
            extra_work_us=args.extra_work_us)).execute()

    return guarded(run)


COMMANDS = {"calibrate": command_calibrate}
