"""`benchmatrix run`: one cell, and the measurement options it shares with `interleave`."""

from __future__ import annotations

import argparse

from benchmatrix.cli.guard import guarded
from benchmatrix.load.rates import parse_rates
from benchmatrix.matrix.cells import MATRIX_FILE, load_matrix
from benchmatrix.project_config.matrix import choose_scenarios
from benchmatrix.run.option_specs import MEASUREMENT, RUN, add_options
from benchmatrix.run.progress import parse_position


def add_parsers(commands) -> None:
    # Outside a checkout (the package installed elsewhere, no BENCHMATRIX_ROOT) there is no matrix to
    # offer choices from; --help still works and a run says what is missing.
    try:
        matrix = load_matrix() if MATRIX_FILE.is_file() else None
    except ValueError:  # a user's project's benchmatrix.toml is wrong: the run says so (guarded), --help still works
        matrix = None
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
    add_options(run, RUN)
    add_options(run, MEASUREMENT)


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
    from benchmatrix.pipeline import run_cell

    def run() -> int:
        return run_cell(measurement_options(
            args, args.server, args.app,
            choose_scenarios(args.app, args.scenarios),
            venv=args.venv, port=args.port, app_target=args.app_target, trials=args.trials, slo=args.slo,
            overrides=getattr(args, "with") or (),  # `with` is Python's keyword: no args.with
            cross_check=args.cross_check, hosts=args.hosts, link=args.link,
            rates=parse_rates(args.rate) if args.rate else (), position=parse_position(args.progress)))

    return guarded(run)


COMMANDS = {"run": command_run}
