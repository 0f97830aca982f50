"""`benchmatrix bisect`: the first release of a package whose cell differs from its predecessor's, interleaved."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Dict, Optional

from benchmatrix.cli.guard import guarded
from benchmatrix.cli.interleave_command import add_interleave_arguments, interleave_options, parse_contender
from benchmatrix.results.ratio import RatioEstimate


def add_parsers(commands) -> None:
    parser = commands.add_parser(
        "bisect", help="walk releases of one package, each interleaved with its predecessor",
        usage="nox -s bisect -- SERVER/APP[/PYTHON] --package P --releases V1,V2,V3[,...] [-- options]\n"
              "       python -m benchmatrix bisect --package P --cell S/A=VENV1,with=P==V1 --cell ... [options]",
        description="Each --cell is the same cell on one release of --package, in release order (the bisect "
                    "session builds their virtualenvs). Adjacent releases are compared in interleaved runs, "
                    "in order, until one's ratio to its predecessor differs: its p-value (the paired t-test on the "
                    "ABBA pairs, corrected for the run's looks) at most 0.05 / (steps x scenarios), Bonferroni, "
                    "so the chance of naming a release when none differs stays at most 5%%. That release is "
                    "named. Every run's records are appended as interleave's are.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    parser.add_argument("--package", required=True, help="the package whose releases the cells run")
    add_interleave_arguments(parser)


def release_of(contender, package: str) -> str:
    versions = {o.name: o.version for o in contender.overrides}
    if package not in versions:
        raise ValueError("--cell {}/{}: give each cell's release with ,with={}==VERSION".format(
            contender.server, contender.app, package))
    return versions[package]


def judged(ratio: Optional[RatioEstimate], outcome) -> Optional[RatioEstimate]:
    """The ratio as the walk may judge it: a run that stopped on its target between its looks tested no
    p-value its correction counted (run/interleave_rule.py), so none is passed on and the step cannot be
    called significant on it."""
    if ratio is None or outcome is None or outcome.at_look:
        return ratio
    return dataclasses.replace(ratio, p_value=None)


def command_bisect(args: argparse.Namespace) -> int:
    from benchmatrix.matrix.overrides import normalized_name
    from benchmatrix.run.bisect import per_test_alpha, walk_releases
    from benchmatrix.run.interleave import InterleavedRun

    def run() -> int:
        package = normalized_name(args.package)
        contenders = [parse_contender(text) for text in args.cell]
        releases = [release_of(c, package) for c in contenders]
        options = interleave_options(args, contenders)  # every user error before the first run
        scenarios = len(options.base.scenarios)
        # Each run stops on the level the walk judges it by, not on 0.05: a difference at 0.05 would
        # otherwise end a run the walk then cannot call significant.
        options = dataclasses.replace(options, alpha=per_test_alpha(len(releases), scenarios))
        by_release = dict(zip(releases, contenders))

        def compare(before: str, after: str) -> Dict[str, Optional[RatioEstimate]]:
            pair = InterleavedRun(dataclasses.replace(options, contenders=[by_release[before], by_release[after]]))
            pair.execute()
            return {scenario: judged(ratios[0] if ratios else None, pair.outcomes.get(scenario))
                    for scenario, (_, ratios) in pair.estimates.items()}

        outcome = walk_releases(package, releases, compare, scenarios)
        print()
        print(outcome.render())
        return 1 if outcome.incomplete else 0

    return guarded(run)


COMMANDS = {"bisect": command_bisect}
