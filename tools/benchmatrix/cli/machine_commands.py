"""`benchmatrix ceiling`, `lock` and `system`: the machine, the pins and the load generator's ceiling."""

from __future__ import annotations

import argparse

from benchmatrix.cli.guard import guarded
from benchmatrix.run.option_specs import DEFAULT_CONNECTIONS, option, positive_int


def add_parsers(commands) -> None:
    add_ceiling_parser(commands)
    commands.add_parser("lock", help="re-resolve configs/constraints/ for every Python found (needs uv)")
    from benchmatrix.hosts.system_command import add_system_parser

    add_system_parser(commands)


def add_ceiling_parser(commands) -> None:
    parser = commands.add_parser(
        "ceiling", help="measure (or show the fresh cached) load generator ceiling for a placement and load",
        description="What `run` does before a cell boots, on its own: a matrix run calls it first so that "
                    "no cell's time includes it.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    option("--pin").add_to(parser)
    parser.add_argument("--connections", type=positive_int, default=DEFAULT_CONNECTIONS)
    option("--threads").add_to(parser)
    parser.add_argument("--remeasure", action="store_true", help="measure even if a fresh one is cached")
    option("--results-dir").add_to(parser, help="its wrk outputs go to RESULTS_DIR/raw/ceiling-<time>/")


def command_ceiling(args: argparse.Namespace) -> int:
    def run() -> int:
        import time

        from benchmatrix.load import ceiling

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


def command_lock(args: argparse.Namespace) -> int:
    from benchmatrix.matrix.pins import lock_all

    return lock_all()


def command_system(args: argparse.Namespace) -> int:
    from benchmatrix.hosts import system_command

    return system_command.command_system(args)



COMMANDS = {"ceiling": command_ceiling, "lock": command_lock, "system": command_system}
