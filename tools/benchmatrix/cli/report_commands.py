"""`benchmatrix report`, `compare` and `merge`: what the results say, from results.jsonl alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmatrix.paths import PROJECT_ROOT
from benchmatrix.run.option_specs import default

DEFAULT_RESULTS_DIR = default("--results-dir")


def add_parsers(commands) -> None:
    add_report_parser(commands)
    add_compare_parser(commands)
    add_merge_parser(commands)


def add_report_parser(commands) -> None:
    report = commands.add_parser(
        "report", help="regenerate the README ranking, the tables page and the charts from results.jsonl",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    report.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    report.add_argument("--readme", type=Path, default=PROJECT_ROOT / "README.md")
    report.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                        help="show only matching records, e.g. server=uwsgi,gunicorn or status!=failed "
                             "(fields: python, app, server, scenario, mode, status, connections); repeatable")
    report.add_argument("--csv", type=Path, default=None, help="also export the shown records as CSV here")
    report.add_argument("--json", type=Path, default=None, help="also export the shown records as JSON here")
    report.add_argument("--tables", type=Path, default=None,
                        help="the generated page of every result table (default: reports/tables.md beside --readme)")
    report.add_argument("--charts-dir", type=Path, default=DEFAULT_RESULTS_DIR / "charts",
                        help="where the PNG charts the tables page shows go")
    report.add_argument("--no-charts", action="store_true", help="tables only (no matplotlib needed)")
    report.add_argument("--site-dir", type=Path, default=None,
                        help="where the static HTML site goes (default: site/ in --results-dir); it opens from "
                             "the file system with no server and no network")
    report.add_argument("--no-site", action="store_true", help="no HTML site (no plotly or jinja2 needed)")


def add_compare_parser(commands) -> None:
    compare = commands.add_parser(
        "compare", help="compare two result files, or two cells of one file",
        usage="nox -s compare -- A B [--results-dir DIR]",
        description="A and B are either two results.jsonl files (matched by scenario, python, app, "
                    "server, mode, connections) or two cells SERVER/APP[/PYTHON] of the results in "
                    "--results-dir. Prints a markdown table: ratio of median req/s (B / A) per "
                    "scenario and an exact permutation test on the trials.",
        allow_abbrev=False)
    compare.add_argument("baseline", metavar="A")
    compare.add_argument("candidate", metavar="B")
    compare.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)

def add_merge_parser(commands) -> None:
    merge = commands.add_parser(
        "merge", help="merge results folders of several machines or CI shards into one",
        description="Append to --into every record of the named results folders that it lacks (keyed by "
                    "record id and machine fingerprint), with their raw folders; nothing is rewritten.")
    merge.add_argument("sources", nargs="+", type=Path, metavar="DIR", help="results folders (with results.jsonl)")
    merge.add_argument("--into", type=Path, default=DEFAULT_RESULTS_DIR, help="the merged results folder")


def command_merge(args: argparse.Namespace) -> int:
    from benchmatrix.results.merge import merge_results

    try:
        report = merge_results(args.sources, args.into)
    except (ValueError, OSError) as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    print("benchmatrix: " + report.summary(args.into))
    if len(report.machines) > 1:
        print("benchmatrix: the report gives each machine its own tables (`nox -s report`)")
    return 0


def command_report(args: argparse.Namespace) -> int:
    from benchmatrix.results.export import export_csv, export_json, select_records
    from benchmatrix.results.records import load_records
    from benchmatrix.results.report import write_report
    from benchmatrix.results.site.writer import site_script

    try:
        records = select_records(load_records(args.results_dir / "results.jsonl"), args.filter)
        if args.csv:
            print("benchmatrix: exported {} records to {}".format(len(records), export_csv(records, args.csv)))
        if args.json:
            print("benchmatrix: exported {} records to {}".format(len(records), export_json(records, args.json)))
        # The site's packages are looked up first, so a harness without them fails before the README is touched.
        script = None if args.no_site else site_script()
        written = write_report(records, args.readme, None if args.no_charts else args.charts_dir, args.tables)
        print("benchmatrix: " + written.summary(len(records)))
        if script is not None:
            print("benchmatrix: " + write_report_site(records, args, script).summary())
    except (ValueError, OSError) as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    return 0


def write_report_site(records, args: argparse.Namespace, plotly_source: str):
    from benchmatrix.results.site import write_site

    results = (args.results_dir / "results.jsonl").resolve()
    # The pages name their source relative to the project, so the site reads the same on every machine.
    source = results.relative_to(PROJECT_ROOT) if PROJECT_ROOT in results.parents else Path(results.name)
    return write_site(records, args.site_dir or args.results_dir / "site", args.results_dir,
                      source=source.as_posix(), plotly_source=plotly_source)


def command_compare(args: argparse.Namespace) -> int:
    from benchmatrix.results.compare import compare, compare_cells, render_comparison_markdown
    from benchmatrix.results.records import load_records

    try:
        if Path(args.baseline).is_file() and Path(args.candidate).is_file():
            comparisons = compare(load_records(Path(args.baseline)), load_records(Path(args.candidate)))
        else:
            records = load_records(args.results_dir / "results.jsonl")
            comparisons = compare_cells(records, args.baseline, args.candidate)
    except ValueError as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    if not comparisons:
        print("benchmatrix: error: nothing to compare: no scenario was measured on both sides", file=sys.stderr)
        return 2
    print(render_comparison_markdown(comparisons))
    return 0


COMMANDS = {"report": command_report, "compare": command_compare, "merge": command_merge}
