"""The bisect session: one cell on each of a list of releases, adjacent ones compared interleaved.

`nox -s bisect -- uvicorn/raw --package uvicorn --releases 0.30.6,0.31.0,0.32.0,0.33.0 [harness options]`
builds a virtualenv per release (as `--with` does), then hands the walk to the harness's
`bisect` command (run/bisect.py), which names the first release that differs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from benchmatrix.matrix.cell_spec import parse_cell_spec
from benchmatrix.matrix.overrides import Overrides, normalized_name, parse_override

USAGE = ("nox -s bisect -- SERVER/APP[/PYTHON] --package PACKAGE --releases V1,V2,V3[,...]|LOW..HIGH [harness "
         "options], e.g. nox -s bisect -- uvicorn/raw --package uvicorn --releases 0.30.6,0.31.0,0.32.0,0.33.0 "
         "--scenarios json, or --releases 0.30.6..0.33.0 (every final release between, from PyPI)")
RANGE = ".."
PYPI_JSON = "https://pypi.org/pypi/{}/json"  # the index's JSON API: every release of a project


def releases_between(released: Sequence[str], low: str, high: str) -> Tuple[str, ...]:
    """The final releases from LOW to HIGH (both included), in version order; pre- and dev releases left out."""
    from packaging.version import InvalidVersion, Version

    def version(text: str) -> Optional[Version]:
        try:
            return Version(text)
        except InvalidVersion:
            return None

    bounds = version(low), version(high)
    if None in bounds or bounds[0] >= bounds[1]:
        raise ValueError("--releases {}{}{}: give two releases, the older first".format(low, RANGE, high))
    chosen = sorted((v, text) for text in released for v in [version(text)]
                    if v is not None and not v.is_prerelease and not v.is_devrelease and bounds[0] <= v <= bounds[1])
    found = [text for _, text in chosen]
    for bound in (low, high):
        if bound not in found:
            raise ValueError("--releases {}{}{}: {} is not a release on PyPI".format(low, RANGE, high, bound))
    return tuple(found)


def pypi_releases(package: str) -> List[str]:
    """Every release PyPI lists for the package (its JSON API)."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(PYPI_JSON.format(package), timeout=30) as answer:
            return [text for text, files in json.load(answer)["releases"].items() if files]
    except urllib.error.HTTPError as error:
        raise ValueError("--package {}: PyPI does not know it ({})".format(package, error))
    except (urllib.error.URLError, OSError) as error:
        raise ValueError("could not list {}'s releases from PyPI ({}); give them with --releases V1,V2,...".format(
            package, error))


@dataclass(frozen=True)
class BisectArguments:
    cell: str  # SERVER/APP[/PYTHON]
    package: str  # normalized
    releases: Tuple[str, ...]  # in the order to walk
    options: Tuple[str, ...]  # for the harness's interleaved runs

    def contender_overrides(self) -> List[Overrides]:
        return [(parse_override("{}=={}".format(self.package, release)),) for release in self.releases]


def parse_bisect_arguments(posargs: Sequence[str],
                           list_releases: Callable[[str], List[str]] = pypi_releases) -> BisectArguments:
    """A ValueError that shows the usage on anything missing or malformed; LOW..HIGH asks list_releases."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--package")
    parser.add_argument("--releases")
    known, rest = parser.parse_known_args(list(posargs))
    cells = [word for word in rest if not word.startswith("-")][:1]
    if not cells or rest.index(cells[0]) != 0 or not known.package or not known.releases:
        raise ValueError("give the cell first, then --package and --releases: " + USAGE)
    parse_cell_spec(cells[0])  # ValueError: how to write a cell
    package = normalized_name(known.package)
    if RANGE in known.releases:
        low, _, high = known.releases.partition(RANGE)
        releases = releases_between(list_releases(package), low.strip(), high.strip())
    else:
        releases = tuple(release.strip() for release in known.releases.split(",") if release.strip())
    if len(releases) < 2 or len(set(releases)) != len(releases):
        raise ValueError("--releases {!r}: give at least two different releases, in order: {}".format(
            known.releases, USAGE))
    for release in releases:
        parse_override("{}=={}".format(package, release))  # ValueError: not a package or release
    return BisectArguments(cells[0], package, releases, tuple(rest[1:]))
