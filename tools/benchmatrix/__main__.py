"""Command line of the harness: `python -m benchmatrix run|report|compare|lock ...`.

It runs from the harness's own environment (.nox/harness, built by the noxfile).
nox sessions call `run --venv <the cell's virtualenv>` after installing that
virtualenv; by hand, point --venv at any virtualenv that holds the cell's packages.
Without --venv the server runs from the harness's own environment (the tests do that).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from benchmatrix.load import ceiling
from benchmatrix.matrix.cells import MATRIX_FILE, REPO_ROOT, load_matrix
from benchmatrix.load.parse import parse_duration_s
from benchmatrix.run.progress import parse_position
from benchmatrix.load.rates import parse_rates
from benchmatrix.matrix.scenarios import GROUPS, IO_CONNECTIONS, IO_TIMEOUT_S, SCENARIOS, select_scenarios
from benchmatrix.run.options import DEFAULT_RESULTS_DIR, DEFAULT_SCENARIOS, default


def whole_seconds(text: str) -> int:
    """wrk only takes whole seconds, so refuse anything else up front."""
    try:
        seconds = parse_duration_s(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError(
            "{!r}: wrk runs in whole seconds; give e.g. 1s, 10s or 2m".format(text))
    return int(seconds)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("{!r} is not a whole number".format(text))
    if value < 1:
        raise argparse.ArgumentTypeError("{!r} must be 1 or more".format(text))
    return value


def connection_counts(text: str) -> Tuple[int, ...]:
    """"64", or "16,32,64" for a concurrency sweep."""
    counts = tuple(positive_int(part.strip()) for part in text.split(","))
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError("{!r}: give each connection count once".format(text))
    return counts


def latency_target(text: str):
    from benchmatrix.load.latency_target import parse_latency_target

    try:
        return parse_latency_target(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def cross_check_tool(text: str) -> str:
    from benchmatrix.load.cross_check import KNOWN_TOOLS

    if text not in KNOWN_TOOLS:
        raise argparse.ArgumentTypeError("{!r} is not a known second load generator; known: {}".format(
            text, ", ".join(KNOWN_TOOLS)))
    return text


def add_run_parser(commands) -> None:
    # Outside a checkout (the package installed elsewhere, no BENCHMATRIX_ROOT) there is no matrix to
    # offer choices from; --help still works and a run says what is missing.
    matrix = load_matrix() if MATRIX_FILE.is_file() else None
    run = commands.add_parser(
        "run", help="benchmark one cell on this interpreter",
        usage='nox -s "bench(server=\'S\', app=\'A\')" -- [options]\n'
              '       python -m benchmatrix run --server S --app A [options]',
        description="Boot the cell's server on a free loopback port, verify every endpoint, "
                    "then per scenario run a primer, a warmup and the measured wrk run, and "
                    "append one record per scenario to results.jsonl and results.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    run.add_argument("--server", required=True, choices=list(matrix.servers) if matrix else None,
                     help="server to boot")
    run.add_argument("--app", required=True, choices=list(matrix.apps) if matrix else None,
                     help="app to serve")
    run.add_argument("--venv", type=Path, default=None, metavar="DIR",
                     help="the cell's virtualenv: the server runs from its interpreter, and its version "
                          "picks the cell's Python (nox passes .nox/<session>); default: the harness's own")
    run.add_argument("--trials", type=positive_int, default=default("trials"),
                     help="measured runs per scenario; the record holds their median and spread")
    run.add_argument("--rate", default=None,
                     help="also run fixed-rate (open-loop) trials at these rates: req/s (2000) or "
                          "shares of this cell's closed-loop maximum (50%%,90%%); uses wrk2 when "
                          "installed, else the built-in driver on wrk; latency counts from each "
                          "request's planned send time")
    run.add_argument("--slo", type=latency_target, default=None, metavar="pNN=TIME",
                     help="after the closed-loop trials, search the highest fixed rate whose percentile stays "
                          "within TIME (p99=50ms, p99.9=0.2s, max=1s) and whose achieved rate holds to 5%%: "
                          "fixed-rate probes between 0 and the closed-loop peak, each --duration long, every "
                          "probe kept in raw/; one record per scenario says the rate")
    run.add_argument("--cross-check", type=cross_check_tool, default=default("cross_check"), metavar="TOOL",
                     help="after each closed-loop record's wrk trials, one more trial with a second load generator "
                          "(h2load, HTTP/1.1) at the same connections, threads and duration; the record keeps its "
                          "req/s and the ratio to wrk's median, and more than 15%% apart flags the row "
                          "generators-disagree (needs `apt-get install nghttp2-client`)")
    run.add_argument("--port", type=positive_int, default=None,
                     help="loopback port for the server (default: a free one)")
    run.add_argument("--hosts", default=default("hosts"), metavar="local|netns|FILE.toml",
                     help="where the server, the load generator and the database run: all here over loopback "
                          "(local), each in its own network namespace on 198.18.0.0/15 joined by a bridge "
                          "(netns, needs root), or as a hosts file names them (the load on an SSH host; see "
                          "the README); the record names each role's host and the round-trip times")
    run.add_argument("--link", default=default("link"), metavar="rate=RATE,delay=DELAY",
                     help="with --hosts netns, shape every role's link: e.g. rate=1gbit,delay=1ms (each packet "
                          "leaving a role is paced at RATE by tc and waits DELAY, by netem or, on a kernel without "
                          "it, the delay line; a round trip takes twice DELAY)")
    run.add_argument("--progress", default=None, metavar="CELL/CELLS",
                     help="this cell's place in a matrix run, optionally with the seconds the matrix has spent "
                          "(3/10@42.5; the bench sessions pass it), for the "
                          "'[cell 3/10, ~4m10s left]' prefix")
    run.add_argument("--app-target", default=None, metavar="MODULE:CALLABLE",
                     help="serve this importable callable instead of the app's own "
                          "(benchmark your own app with the same servers and checks)")
    add_measurement_options(run)


def add_measurement_options(parser) -> None:
    """The options of how a cell is measured, shared by `run` and `interleave`."""
    from benchmatrix.hosts.pinning import resolve_pinning

    matrix = load_matrix()
    auto = resolve_pinning("auto")
    auto_workers = auto.server_cpu_count if auto else matrix.worker_count()
    parser.add_argument("--duration", type=whole_seconds, default=default("duration_s"),
                        help="measured load per scenario (wrk takes whole seconds: 10s, 2m)")
    parser.add_argument("--warmup", type=whole_seconds, default=default("warmup_s"),
                        help="discarded load before each measurement; 0 skips it")
    parser.add_argument("--primer", type=whole_seconds, default=default("primer_s"),
                        help="short checked burst before the warmup; a scenario that gets no "
                             "successful response in it fails at once; 0 skips it")
    parser.add_argument("--max-cv", type=float, default=default("max_cv"),
                        help="flag a scenario whose req/s varies more than this between trials (0.10 = 10%%); "
                             "by default the spread is tested against this machine's known noise (the load "
                             "generator ceiling's own spread, at least the typical 8%%)")
    parser.add_argument("--max-busy", type=float, default=default("max_busy"),
                        help="flag the cell when more than this share of all CPUs is busy in the "
                             "0.5 s before its server starts (0.25 = 25%%)")
    parser.add_argument("--machine-sample", type=float, default=default("machine_sample_s"), metavar="SECONDS",
                        help="how long the machine is watched before the server starts, for --max-busy and the "
                             "busiest other processes (default 0.5); 0 skips it and records both as unknown "
                             "(nox -s smoke: its cells prove they work, they measure nothing worth keeping)")
    parser.add_argument("--pin", default=default("pin"),
                        help="CPU placement: auto (on 2+ CPUs, the first half to the server and nginx in front "
                             "of it, the rest to wrk, the database and the upstream stub; workers default to one "
                             "per server CPU); SERVER:LOAD CPU lists, e.g. 0:1; or off (everything shares every CPU)")
    parser.add_argument("--ceiling", choices=("auto", "measure", "off"), default=default("ceiling"),
                        help="the load generator's ceiling (wrk against nginx's fixed body on the server's CPUs, "
                             "same connections and threads): auto reuses one measured here in the last {} h "
                             "under the same conditions, measure measures again, off skips it (the records "
                             "then cannot say whether wrk set the pace); a cell at {}%% of it or more is "
                             "flagged load-generator-bound".format(ceiling.MAX_AGE_S // 3600,
                                                                   round(ceiling.BOUND_SHARE * 100)))
    parser.add_argument("--side-probe", choices=("on", "off"), default="on",
                        help="check answers on the side while the load runs (under 1%% of the requests); "
                             "off only to measure what the probe costs")
    parser.add_argument("--connection-mode", choices=("keep-alive", "close"), default=default("connection_mode"),
                        help="keep-alive: wrk reuses each connection; close: every request asks for a new one "
                             "(Connection: close), as a client behind a non-pooling proxy does")
    parser.add_argument("--no-wait", action="store_true",
                        help="refuse at once (exit 3) when another benchmark holds this machine, instead of "
                             "waiting for it to finish")
    parser.add_argument("--connections", type=connection_counts, default=None, metavar="N[,N...]",
                        help="open connections wrk keeps busy (default: 64, or {} for I/O-bound scenarios, "
                             "as the seeds ran them); several (16,32,64,128,256) sweep them: one closed-loop "
                             "record per count, and the report draws req/s and p99 against connections and "
                             "names the knee".format(IO_CONNECTIONS))
    parser.add_argument("--threads", type=positive_int, default=default("threads"),
                        help="wrk threads (capped at --connections)")
    parser.add_argument("--timeout", type=whole_seconds, default=None,
                        help="a response slower than this counts as a timeout error (default: 2s, or "
                             "{}s for I/O-bound scenarios)".format(IO_TIMEOUT_S))
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                        help="comma-separated endpoints to measure, from: {}; or groups: {}".format(
                         ", ".join(SCENARIOS), "; ".join("{} = {}".format(g, ",".join(names))
                                                         for g, names in GROUPS.items() if g != "all") + "; all"))
    parser.add_argument("--measure-first", type=int, metavar="N", default=None,
                        help="put load on only the first N of --scenarios; the others are still verified before "
                             "the load (nox -s smoke: 1)")
    parser.add_argument("--coop-check", choices=("auto", "on", "off"), default=default("coop_check"),
                        help="send N concurrent requests to /db_sleep?s=1 and /upstream before the load and "
                             "record whether the stack overlapped them (~1 s) or queued them (~N s per worker); "
                             "auto: when a chosen scenario needs the database or the upstream")
    parser.add_argument("--coop-requests", type=positive_int, default=default("coop_requests"), metavar="N",
                        help="concurrent requests of the cooperative-I/O check")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="server workers (default: one per CPU the server gets: {} with --pin auto "
                             "here, {} with --pin off)".format(auto_workers, matrix.worker_count()))
    parser.add_argument("--boot-timeout", type=whole_seconds, default=default("boot_timeout_s"),
                        help="how long the server may take to answer before the cell fails")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR,
                        help="where results.jsonl, results.md and raw/ live")


def add_report_parser(commands) -> None:
    report = commands.add_parser(
        "report", help="regenerate the README tables from results.jsonl",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    report.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    report.add_argument("--readme", type=Path, default=REPO_ROOT / "README.md")
    report.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                        help="show only matching records, e.g. server=uwsgi,gunicorn or status!=failed "
                             "(fields: python, app, server, scenario, mode, status, connections); repeatable")
    report.add_argument("--csv", type=Path, default=None, help="also export the shown records as CSV here")
    report.add_argument("--json", type=Path, default=None, help="also export the shown records as JSON here")
    report.add_argument("--charts-dir", type=Path, default=DEFAULT_RESULTS_DIR / "charts",
                        help="where the PNG charts embedded in the README go")
    report.add_argument("--no-charts", action="store_true", help="tables only (no matplotlib needed)")


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


def add_interleave_parser(commands) -> None:
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
    add_measurement_options(parser)
    parser.set_defaults(duration=5)


def add_ceiling_parser(commands) -> None:
    parser = commands.add_parser(
        "ceiling", help="measure (or show the fresh cached) load generator ceiling for a placement and load",
        description="What `run` does before a cell boots, on its own: a matrix run calls it first so that "
                    "no cell's time includes it.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--pin", default=default("pin"))
    parser.add_argument("--connections", type=positive_int, default=64)
    parser.add_argument("--threads", type=positive_int, default=default("threads"))
    parser.add_argument("--remeasure", action="store_true", help="measure even if a fresh one is cached")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR,
                        help="its wrk outputs go to RESULTS_DIR/raw/ceiling-<time>/")


def command_ceiling(args: argparse.Namespace) -> int:
    def run() -> int:
        import time

        from benchmatrix.hosts.machine_lock import machine_lock
        from benchmatrix.hosts.pinning import resolve_pinning
        from benchmatrix.load.wrk import LoadSettings, require_wrk
        from benchmatrix.run.metadata import service_versions, wrk_version

        pinning = resolve_pinning(args.pin)
        wrk = require_wrk()
        settings = LoadSettings(threads=min(args.threads, args.connections), connections=args.connections,
                                duration_s=ceiling.TRIAL_S, timeout_s=2)
        raw_dir = args.results_dir.resolve() / "raw" / time.strftime("ceiling-%Y%m%dT%H%M%SZ", time.gmtime())
        say = lambda line: print("benchmatrix: " + line, flush=True)  # noqa: E731
        with machine_lock("load generator ceiling", say=say):
            ceiling.find_or_measure(wrk, settings, pinning, raw_dir, wrk_version(wrk), service_versions().get("nginx"),
                                    remeasure=args.remeasure, say=say)
        return 0

    return guarded(run)


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


def add_lock_parser(commands) -> None:
    commands.add_parser("lock", help="re-resolve configs/constraints/ for every Python found (needs uv)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmatrix", allow_abbrev=False,
                                     description="benchmatrix: reproducible Python web server benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    add_run_parser(commands)
    add_report_parser(commands)
    add_lock_parser(commands)
    add_merge_parser(commands)
    add_compare_parser(commands)
    add_interleave_parser(commands)
    add_ceiling_parser(commands)
    from benchmatrix.hosts.system_command import add_system_parser

    add_system_parser(commands)
    return parser


def measurement_options(args: argparse.Namespace, server: str, app: str, scenarios, **cell):
    """RunOptions from the shared measurement options; `cell` holds what only `run` has."""
    from benchmatrix.run.options import RunOptions

    options = RunOptions(
        server=server, app=app, scenarios=scenarios,
        duration_s=args.duration, warmup_s=args.warmup, primer_s=args.primer,
        connections=args.connections[0] if args.connections and len(args.connections) == 1 else None,
        sweep=args.connections if args.connections and len(args.connections) > 1 else (),
        threads=args.threads, timeout_s=args.timeout,
        workers=args.workers, boot_timeout_s=args.boot_timeout, results_dir=args.results_dir.resolve(),
        max_cv=args.max_cv, max_busy=args.max_busy, pin=args.pin, coop_check=args.coop_check,
        coop_requests=args.coop_requests, ceiling=args.ceiling, wait_for_machine=not args.no_wait,
        connection_mode=args.connection_mode, side_probe=args.side_probe == "on",
        measure_first=args.measure_first, machine_sample_s=args.machine_sample, **cell)
    if options.duration_s < 1:
        raise ValueError("--duration must be at least 1s")
    if options.machine_sample_s < 0:
        raise ValueError("--machine-sample must be 0 (no sample) or more seconds")
    if options.measure_first is not None and options.measure_first < 1:
        raise ValueError("--measure-first must be at least 1 (leave it out to measure every scenario)")
    return options


def command_run(args: argparse.Namespace) -> int:
    from benchmatrix.run.cell_run import run_cell

    def run() -> int:
        return run_cell(measurement_options(
            args, args.server, args.app,
            select_scenarios(args.scenarios.split(","), load_matrix().apps[args.app].scenarios or None),
            venv=args.venv, port=args.port, app_target=args.app_target, trials=args.trials, slo=args.slo,
            cross_check=args.cross_check, hosts=args.hosts, link=args.link,
            rates=parse_rates(args.rate) if args.rate else (), position=parse_position(args.progress)))

    return guarded(run)


CHART_KINDS = ("rps", "latency", "percentiles", "sweep")  # file name prefixes the report owns in --charts-dir


def render_charts(records, charts_dir: Path, readme: Path):
    """Charts per scenario, as links relative to the README; charts no longer made are removed."""
    from benchmatrix.results.charts import chart_file_name, render_all
    from benchmatrix.results.sweep import newest_sweeps
    from benchmatrix.results.sweep_chart import render_sweep_chart

    paths = render_all(records, charts_dir) if records else []
    for scenario in sorted({r["scenario"] for r in records}):
        drawn = render_sweep_chart(newest_sweeps(records, scenario), scenario,
                                   charts_dir / chart_file_name("sweep", scenario))
        paths += [drawn] if drawn else []
    for kind in CHART_KINDS:
        for old in charts_dir.glob(kind + "-*.png"):
            if old not in paths:
                old.unlink()
    links = {}
    for path in sorted(paths, key=lambda p: (p.stem.split("-", 1)[1], not p.stem.startswith("rps"))):
        scenario = path.stem.split("-", 1)[1]
        links.setdefault(scenario, []).append(os.path.relpath(str(path), str(readme.parent)))
    return links


def command_report(args: argparse.Namespace) -> int:
    from benchmatrix.results.export import export_csv, export_json, select_records
    from benchmatrix.results.records import load_records
    from benchmatrix.results.report import update_readme

    try:
        records = select_records(load_records(args.results_dir / "results.jsonl"), args.filter)
        if args.csv:
            print("benchmatrix: exported {} records to {}".format(len(records), export_csv(records, args.csv)))
        if args.json:
            print("benchmatrix: exported {} records to {}".format(len(records), export_json(records, args.json)))
        links = {} if args.no_charts else render_charts(records, args.charts_dir, args.readme)
        changed = update_readme(args.readme, records, links)
    except (ValueError, OSError) as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    print("benchmatrix: {} from {} records".format(
        "README tables updated" if changed else "README tables already up to date", len(records)))
    return 0


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


def parse_contender(text: str):
    """SERVER/APP[=VENV][,side-probe=on|off] as a Contender."""
    from benchmatrix.run.interleave import Contender

    spec, *settings = text.split(",")
    cell, _, venv = spec.partition("=")
    server, _, app = cell.partition("/")
    matrix = load_matrix()
    if server not in matrix.servers or app not in matrix.apps:
        raise ValueError("--cell {!r}: give SERVER/APP[=VENV] with a server from {} and an app from {}".format(
            text, ", ".join(matrix.servers), ", ".join(matrix.apps)))
    side_probe = None
    for setting in settings:
        if setting not in ("side-probe=on", "side-probe=off"):
            raise ValueError("--cell {!r}: the only per-cell setting is side-probe=on or side-probe=off".format(text))
        side_probe = setting == "side-probe=on"
    return Contender(server=server, app=app, venv=Path(venv) if venv else None, side_probe=side_probe)


def command_interleave(args: argparse.Namespace) -> int:
    from benchmatrix.run.interleave import InterleaveOptions, InterleavedRun

    def run() -> int:
        contenders = [parse_contender(text) for text in args.cell]
        matrix = load_matrix()
        served = [set(matrix.apps[c.app].scenarios or SCENARIOS) for c in contenders]
        supported = [name for name in SCENARIOS if all(name in s for s in served)]
        scenarios = select_scenarios(args.scenarios.split(","), supported)
        base = measurement_options(args, contenders[0].server, contenders[0].app, scenarios)
        if base.sweep:
            raise ValueError("interleave compares cells at one connection count; give --connections once "
                             "(sweep each cell with `run --connections {}`)".format(",".join(map(str, base.sweep))))
        return InterleavedRun(InterleaveOptions(base, contenders, min_rounds=args.min_trials,
                                                target_half_width=args.target_ci,
                                                max_load_s=args.max_load)).execute()

    return guarded(run)


def guarded(run) -> int:
    """A measuring command, with its user errors and interrupts turned into one line and an exit code."""
    from benchmatrix.hosts.machine_lock import MachineBusy
    from benchmatrix.hosts.netns import NamespaceError
    from benchmatrix.hosts.ssh import RemoteHostError
    from benchmatrix.load.wrk import LoadToolMissing
    from benchmatrix.stack.process import Interrupted, raise_on_sigterm
    from benchmatrix.stack.readiness import ServiceError

    raise_on_sigterm()
    try:
        return run()
    except MachineBusy as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 3
    except (ValueError, LoadToolMissing, ServiceError, NamespaceError, RemoteHostError) as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("benchmatrix: interrupted; every process this run started has been stopped",
              file=sys.stderr)
        return 130


def command_lock(args: argparse.Namespace) -> int:
    from benchmatrix.matrix.pins import lock_all

    return lock_all()


def command_system(args: argparse.Namespace) -> int:
    from benchmatrix.hosts import system_command

    return system_command.command_system(args)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"run": command_run, "report": command_report, "lock": command_lock,
                "compare": command_compare, "interleave": command_interleave, "system": command_system,
                "ceiling": command_ceiling, "merge": command_merge}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
