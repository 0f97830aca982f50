"""The shard sessions' arguments: how many runners, which one, and the load the estimate assumes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Sequence, Tuple

from benchmatrix.matrix.shards import LoadShape
from benchmatrix.run.option_specs import option


def shard_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nox -s shards --", allow_abbrev=False)
    parser.add_argument("--count", type=int, required=True, help="runners to split the matrix across")
    parser.add_argument("--index", type=int, default=None, help="(shard) which group to run, 1..count")
    # The run's own declarations: the estimate assumes what the cells will be given.
    option("--duration").add_to(parser, help="seconds per trial, for the estimate")
    option("--trials").add_to(parser, help="trials per scenario, for the estimate")
    parser.add_argument("--github-output", type=Path, default=None,
                        help="also append shards=[1,...,N] to this file ($GITHUB_OUTPUT)")
    return parser


def parse_shard_arguments(posargs: Sequence[str]) -> Tuple[argparse.Namespace, List[str]]:
    """The shard's own arguments (before a second `--`) with their load shape; the cells' options (after it).
    A usage error exits as argparse does (SystemExit)."""
    posargs = list(posargs)
    own = posargs[:posargs.index("--")] if "--" in posargs else posargs
    rest = posargs[len(own) + 1:] if "--" in posargs else []
    args = shard_parser().parse_args(own)
    args.load_shape = LoadShape(duration_s=args.duration, trials=args.trials)
    return args, rest
