"""The bisect session: one cell on each of a list of releases, adjacent ones compared interleaved.

`nox -s bisect -- uvicorn/raw --package uvicorn --releases 0.30.6,0.31.0,0.32.0,0.33.0 [harness options]`
builds a virtualenv per release (as `--with` does), then hands the walk to the harness's
`bisect` command (run/bisect.py), which names the first release that differs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from benchmatrix.matrix.cell_spec import parse_cell_spec
from benchmatrix.matrix.overrides import Overrides, normalized_name, parse_override

USAGE = ("nox -s bisect -- SERVER/APP[/PYTHON] --package PACKAGE --releases V1,V2,V3[,...] [harness options], "
         "e.g. nox -s bisect -- uvicorn/raw --package uvicorn --releases 0.30.6,0.31.0,0.32.0,0.33.0 --scenarios json")


@dataclass(frozen=True)
class BisectArguments:
    cell: str  # SERVER/APP[/PYTHON]
    package: str  # normalized
    releases: Tuple[str, ...]  # in the order to walk
    options: Tuple[str, ...]  # for the harness's interleaved runs

    def contender_overrides(self) -> List[Overrides]:
        return [(parse_override("{}=={}".format(self.package, release)),) for release in self.releases]


def parse_bisect_arguments(posargs: Sequence[str]) -> BisectArguments:
    """A ValueError that shows the usage on anything missing or malformed."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--package")
    parser.add_argument("--releases")
    known, rest = parser.parse_known_args(list(posargs))
    cells = [word for word in rest if not word.startswith("-")][:1]
    if not cells or rest.index(cells[0]) != 0 or not known.package or not known.releases:
        raise ValueError("give the cell first, then --package and --releases: " + USAGE)
    parse_cell_spec(cells[0])  # ValueError: how to write a cell
    releases = tuple(release.strip() for release in known.releases.split(",") if release.strip())
    if len(releases) < 2 or len(set(releases)) != len(releases):
        raise ValueError("--releases {!r}: give at least two different releases, in order: {}".format(
            known.releases, USAGE))
    package = normalized_name(known.package)
    for release in releases:
        parse_override("{}=={}".format(package, release))  # ValueError: not a package or release
    return BisectArguments(cells[0], package, releases, tuple(rest[1:]))
