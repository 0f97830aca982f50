"""`benchmatrix regressions`: change points of every cell's history since a baseline; exit 1 on a slowdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmatrix.run.option_specs import default

SLOWDOWN_EXIT = 1  # what a CI job gates on; 2 stays the exit code of bad input


def add_parsers(commands) -> None:
    parser = commands.add_parser(
        "regressions", help="change points in each cell's history since a baseline; exit 1 on a slowdown",
        usage="nox -s regressions -- [--since DATE | --baseline COMMIT] [--metric rps,p99] [--scenario json]",
        description="Each cell's closed-loop results over time (one series per cell, scenario, connections, "
                    "package overrides and machine) searched for change points with Apache Otava (e-divisive "
                    "means, Student's t-test, p < 0.001, a step of more than 5%%). Prints the change points from the "
                    "baseline on; exits 1 when one of them is a slowdown (a req/s drop or a latency rise), so a CI "
                    "job can gate on it, else 0.", allow_abbrev=False)
    since = parser.add_mutually_exclusive_group()
    since.add_argument("--since", metavar="DATE", help="report change points from this date on (YYYY-MM-DD, UTC)")
    since.add_argument("--baseline", metavar="COMMIT",
                       help="report change points after the first record measured at this commit (a sha prefix)")
    parser.add_argument("--metric", default="rps,p99",
                        help="the histories to search, comma-separated: rps (a drop is a slowdown), p50, p90, p99, "
                             "avg, max (in ms: a rise is a slowdown)")
    parser.add_argument("--scenario", action="append", default=None, help="only this scenario; repeatable")
    parser.add_argument("--results-dir", type=Path, default=default("--results-dir"))


def command_regressions(args: argparse.Namespace) -> int:
    from benchmatrix.results.records import load_records
    from benchmatrix.results.regressions import Baseline, find_regressions, parse_since

    results = args.results_dir / "results.jsonl"
    try:
        if not results.is_file():
            raise ValueError("{} does not exist; give --results-dir of a results folder".format(results))
        baseline = Baseline(since=parse_since(args.since) if args.since else None, commit=args.baseline)
        metrics = [name.strip() for name in args.metric.split(",") if name.strip()]
        regressions = find_regressions(load_records(results), baseline, metrics, args.scenario)
    except (ValueError, RuntimeError) as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    print(regressions.render())
    return SLOWDOWN_EXIT if regressions.slowdowns else 0


COMMANDS = {"regressions": command_regressions}
