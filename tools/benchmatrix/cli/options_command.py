"""`benchmatrix options --markdown [--write FILE]`: the run's options as the table docs/options.md holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmatrix.paths import REPO_ROOT
from benchmatrix.run.option_specs import render_options_table

DOCS_PAGE = REPO_ROOT / "docs" / "options.md"
PAGE_HEAD = ("# Options of a run\n\n"
             "What `nox -s \"bench(server='S', app='A')\" -- OPTIONS` and `benchmatrix run` take; `interleave` takes "
             "the measurement ones. Generated from tools/benchmatrix/run/option_specs.py by "
             "`benchmatrix options --markdown --write docs/options.md`: edit the declarations, not this page.\n\n"
             "Back to the [README](../README.md). The load plans that `--rate`, `--slo`, `--connections` and "
             "`--cross-check` ask for are explained in [load plans](load-plans.md), `--hosts` and `--link` in "
             "[hosts](hosts.md), and what each flag means in [trust](trust.md#flags). `interleave` also takes "
             "`--target-ci` and `--max-load` (`benchmatrix interleave --help`), and `calibrate` its "
             "`--runs`, `--slices`, `--budget`, `--at`, `--detect` and `--tries` (`benchmatrix calibrate --help`); "
             "how a sliced comparison stops and what its minimum detectable effect means is in "
             "[trust](trust.md#comparing-cells-on-a-noisy-machine).\n\n")


def options_page() -> str:
    return PAGE_HEAD + render_options_table()


def add_parsers(commands) -> None:
    parser = commands.add_parser("options", help="the options of a run, as the markdown table of docs/options.md")
    parser.add_argument("--markdown", action="store_true", help="print the page (the only format so far)")
    parser.add_argument("--write", type=Path, default=None, metavar="FILE",
                        help="write the page there (docs/options.md) instead of printing it")


def command_options(args: argparse.Namespace) -> int:
    if args.write:
        args.write.write_text(options_page(), encoding="utf-8")
        print("benchmatrix: wrote {}".format(args.write))
    else:
        print(options_page(), end="")
    return 0


COMMANDS = {"options": command_options}
