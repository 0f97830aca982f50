"""Command line of the harness: `benchmatrix run|interleave|calibrate|bisect|report|compare|merge|regressions|
ceiling|lock|system|options`.

It runs from the harness's own environment (.nox/harness, built by the noxfile).
nox sessions call `run --venv <the cell's virtualenv>` after installing that
virtualenv; by hand, point --venv at any virtualenv that holds the cell's packages.
Without --venv the server runs from the harness's own environment (the tests do that).
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from benchmatrix.cli import (bisect_command, calibrate_command, interleave_command, machine_commands,
                             options_command, regressions_command, report_commands, run_command)

GROUPS = (run_command, report_commands, machine_commands, interleave_command, calibrate_command,
          options_command, regressions_command, bisect_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmatrix", allow_abbrev=False,
                                     description="benchmatrix: reproducible Python web server benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {name: command for group in GROUPS for name, command in group.COMMANDS.items()}
    return commands[args.command](args)
