"""Which bench sessions a command line selects, where nox's own selection does not say it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import List, Optional, Sequence

from benchmatrix.matrix.listing import MatrixListing
from benchmatrix.sessions.project import BenchProject


def nox_arguments(argv: Sequence[str]) -> List[str]:
    """nox's own arguments: those before `--`."""
    argv = list(argv)
    return argv[:argv.index("--")] if "--" in argv else argv


def python_only_selection(argv: Sequence[str], pythons: Sequence[str], session_variable: Optional[str]) -> List[str]:
    """The versions of `nox -p X.Y` given with no session, keyword or tag selection, else [].

    nox applies -p to the default sessions, which here are only the tests (a bare `nox` must
    never start a benchmark), so `nox -p 3.9 -l` would select nothing. Given alone, -p means
    "the cells of these Pythons": the bench-X.Y families become the default. Read from the
    command line, the one public place nox's selection is visible at import.
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-p", "--python", "--pythons", "-P", "--force-python", "--force-pythons",
                        dest="pythons", nargs="*", action="extend", default=[])
    parser.add_argument("-s", "-e", "--session", "--sessions", dest="sessions", nargs="*")
    parser.add_argument("-k", "--keywords", dest="keywords")
    parser.add_argument("-t", "--tags", dest="tags", nargs="*")
    args, _ = parser.parse_known_args(nox_arguments(argv))
    if args.sessions is not None or args.keywords or args.tags is not None or session_variable:
        return []
    return [version for version in args.pythons if version in pythons]


def family_sessions(listing: MatrixListing, families: Sequence[str]) -> List[str]:
    """The bench session names of these families, as nox spells them."""
    return ["{}({})".format(family, cell.session_id) for family in families for cell in listing.family_cells(family)]


def filtered_sessions(project: BenchProject, names: Sequence[str], nox_filters: Sequence[str]) -> List[str]:
    """The names that the user's nox filters (-k, -t) also select.

    Given beside `-s`, nox adds what -k or -t select from every family (measured: `-s bench
    -k raw` also ran bench-3.8's raw cells), so the filters are listed alone, in a nox run of
    their own (a keyword expression is nox's to evaluate), and intersected.
    """
    if not nox_filters:
        return list(names)
    listed = subprocess.run([sys.executable, "-m", "nox", "--noxfile", str(project.noxfile), "-l", "--json",
                             *nox_filters], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if listed.returncode != 0:
        raise ValueError("nox could not list {}: {}".format(" ".join(nox_filters), listed.stderr.strip()))
    chosen = {entry["session"] for entry in json.loads(listed.stdout)}
    return [name for name in names if name in chosen]
