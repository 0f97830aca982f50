"""Versions as an axis: the --with notation, its virtualenv's name and install, labels, contenders and bisect."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmatrix.cli.interleave_command import parse_contender
from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.matrix.overrides import (PackageOverride, check_overrides_installed, constraints_without,
                                          parse_overrides, pinned_names, split_contender, venv_suffix)
from benchmatrix.results.ratio import RatioEstimate
from benchmatrix.results.records import CELL_KEY_FIELDS, markdown_cells, newest_by, server_label
from benchmatrix.run.bisect import walk_releases
from benchmatrix.sessions.bench import cell_key
from benchmatrix.sessions.bisect import parse_bisect_arguments
from benchmatrix.sessions.state import parse_bench_arguments
from benchmatrix.sessions.versions import check_pinned, install_arguments, override_venv, overrides_of
from tests.record_factory import make_record

OLD = PackageOverride("uvicorn", "0.30.6")


def test_overrides_parse_normalized_in_name_order():
    assert parse_overrides("uvicorn==0.30.6") == (OLD,)
    assert parse_overrides(" Uvicorn_Worker==0.2.0 , h11==0.14.0") == (
        PackageOverride("h11", "0.14.0"), PackageOverride("uvicorn-worker", "0.2.0"))
    assert str(OLD) == "uvicorn==0.30.6"


@pytest.mark.parametrize("text, says", [
    ("uvicorn", "write PACKAGE==VERSION"), ("uvicorn>=0.30", "write PACKAGE==VERSION"),
    ("uvicorn==", "write PACKAGE==VERSION"), ("==0.30.6", "write PACKAGE==VERSION"),
    ("uvicorn==latest", "write PACKAGE==VERSION"), ("", "give at least one"),
    ("uvicorn==0.30.6,Uvicorn==0.31.0", "uvicorn given twice")])
def test_bad_overrides_say_how_to_write_one(text, says):
    with pytest.raises(ValueError, match=says):
        parse_overrides(text)


def test_each_override_set_has_its_own_virtualenv_name_whatever_the_order():
    assert venv_suffix((OLD,)) == venv_suffix(parse_overrides("uvicorn==0.30.6")) != venv_suffix(
        parse_overrides("uvicorn==0.31.0"))
    assert venv_suffix(parse_overrides("a==1,b==2")) == venv_suffix(parse_overrides("b==2,a==1"))
    assert len(venv_suffix((OLD,))) == len("with-") + 8
    nox_venv = Path("/x/.nox/bench-server-uvicorn-app-raw")
    assert override_venv(nox_venv, (OLD,)) == Path("/x/.nox/bench-server-uvicorn-app-raw-" + venv_suffix((OLD,)))
    cell = find_cell(load_matrix(), "3.13", "uvicorn", "raw")
    assert cell_key(cell) == "py3.13-uvicorn-raw"
    assert cell_key(cell, (OLD,)) == "py3.13-uvicorn-raw-" + venv_suffix((OLD,))


def test_the_bench_session_reads_with_from_its_options_and_passes_them_on():
    arguments = parse_bench_arguments(["--with", "uvicorn==0.30.6", "--scenarios", "json"])
    assert arguments.options == ("--with", "uvicorn==0.30.6", "--scenarios", "json")
    assert overrides_of(arguments.options) == (OLD,)
    assert overrides_of(["--with=uvicorn==0.30.6"]) == (OLD,)
    assert overrides_of(["--scenarios", "json"]) == ()


def test_the_install_drops_every_pin_of_the_package_and_adds_the_release():
    constraints = ("uvicorn==0.54.0 ; python_full_version >= '3.12'\nUvicorn==0.40.0 ; python_version < '3.9'\n"
                   "uvicorn-worker==0.4.0\nh11==0.16.0\n")
    assert constraints_without(constraints, (OLD,)) == "uvicorn-worker==0.4.0\nh11==0.16.0\n"
    assert pinned_names(constraints) == ["uvicorn", "uvicorn-worker", "h11"]
    assert install_arguments(["uvicorn[standard]"], Path("c.txt"), (OLD,)) == [
        "-c", "c.txt", "uvicorn[standard]", "uvicorn==0.30.6"]


def test_a_package_the_cell_does_not_pin_is_refused_with_the_ones_it_does():
    cell = find_cell(load_matrix(), "3.13", "uvicorn", "raw")
    with pytest.raises(ValueError, match=r"--with uvicorm==1.0: this cell installs no uvicorm \(it is not pinned in "
                                         r"configs/constraints/py3.13-default.txt\); give a package pinned there, "
                                         r"e.g. uvicorn"):
        check_pinned(cell, parse_overrides("uvicorm==1.0"))


def test_the_run_refuses_a_virtualenv_without_the_release():
    check_overrides_installed((OLD,), {"uvicorn": "0.30.6"})
    with pytest.raises(ValueError, match="the cell's virtualenv has uvicorn 0.54.0; run it through its bench"):
        check_overrides_installed((OLD,), {"uvicorn": "0.54.0"})


def test_records_with_overrides_are_their_own_row_and_label():
    pinned = make_record(record_id="pinned", server="uvicorn", app="raw")
    older = make_record(record_id="older", server="uvicorn", app="raw", meta={"overrides": {"uvicorn": "0.30.6"}})
    assert older.cell_label == "uvicorn · raw · py3.12 · uvicorn==0.30.6"
    assert pinned.cell_label == "uvicorn · raw · py3.12" and pinned.override_label == ""
    assert "override_label" in CELL_KEY_FIELDS
    assert sorted(r.record_id for r in newest_by([pinned, older], CELL_KEY_FIELDS)) == ["older", "pinned"]
    assert (server_label(pinned), server_label(older)) == ("uvicorn", "uvicorn (uvicorn==0.30.6)")
    assert markdown_cells(older)[3] == "uvicorn (uvicorn==0.30.6)"


def test_an_interleave_contender_names_its_release_after_at():
    assert split_contender("uvicorn/raw@uvicorn==0.30.6") == ("uvicorn/raw", (OLD,))
    assert split_contender("uvicorn/raw/3.13") == ("uvicorn/raw/3.13", ())
    with pytest.raises(ValueError, match=r"'uvicorn/raw@uvicorn': after '@' 'uvicorn' is not a package override"):
        split_contender("uvicorn/raw@uvicorn")
    contender = parse_contender("uvicorn/raw=/v,with=uvicorn==0.30.6,side-probe=off")
    assert (contender.overrides, contender.venv, contender.side_probe) == ((OLD,), Path("/v"), False)
    with pytest.raises(ValueError, match="the per-cell settings are side-probe=on|off and with=PACKAGE==VERSION"):
        parse_contender("uvicorn/raw=/v,uvicorn==0.30.6")


def ratio(value: float, half: float = 0.02) -> RatioEstimate:
    """A scripted step's ratio, its p-value consistent with its interval: tiny where 1 is outside it."""
    low, high = value * (1 - half), value * (1 + half)
    return RatioEstimate(ratio=value, low=low, high=high, p_value=0.5 if low <= 1 <= high else 0.001, rounds=5)


def test_bisect_names_the_first_release_whose_ratio_is_significant():
    scripted = {("0.30.6", "0.31.0"): {"json": ratio(1.0)}, ("0.31.0", "0.32.0"): {"json": ratio(0.85)},
                ("0.32.0", "0.33.0"): {"json": ratio(0.7)}}
    asked = []

    def compare(before, after):
        asked.append((before, after))
        return scripted[(before, after)]

    outcome = walk_releases("uvicorn", ["0.30.6", "0.31.0", "0.32.0", "0.33.0"], compare)
    assert asked == [("0.30.6", "0.31.0"), ("0.31.0", "0.32.0")]  # it stops at the first that differs
    assert outcome.first_different.after == "0.32.0" and outcome.first_different.significant == ["json"]
    assert outcome.render().splitlines()[-1] == (
        "first release whose ratio to its predecessor is significant: uvicorn 0.32.0 (0.32.0 vs 0.31.0: json)")


def test_bisect_says_none_differs_or_where_it_could_not_measure():
    same = walk_releases("uvicorn", ["a1", "a2", "a3", "a4"], lambda b, a: {"json": ratio(1.01)})
    assert len(same.steps) == 3 and same.first_different is None
    assert same.render().splitlines()[-1] == "none of these releases differs from its predecessor at p <= 0.017"
    # An interval without 1 after too few rounds for the permutation test (p 0.33) is no verdict either.
    few_rounds = RatioEstimate(ratio=0.7, low=0.68, high=0.72, p_value=0.333, rounds=2)
    assert walk_releases("uvicorn", ["a1", "a2"], lambda b, a: {"json": few_rounds}).first_different is None
    failed = walk_releases("uvicorn", ["a1", "a2", "a3"], lambda b, a: {"json": None})
    assert len(failed.steps) == 1 and failed.incomplete
    with pytest.raises(ValueError, match="at least two releases"):
        walk_releases("uvicorn", ["a1"], lambda b, a: {})


def test_bisect_arguments():
    parsed = parse_bisect_arguments(["uvicorn/raw", "--package", "Uvicorn", "--releases", "0.30.6,0.31.0",
                                     "--scenarios", "json"])
    assert (parsed.cell, parsed.package, parsed.releases, parsed.options) == (
        "uvicorn/raw", "uvicorn", ("0.30.6", "0.31.0"), ("--scenarios", "json"))
    assert parsed.contender_overrides() == [(OLD,), (PackageOverride("uvicorn", "0.31.0"),)]
    for bad, says in ((["--package", "uvicorn", "--releases", "1,2"], "give the cell first"),
                      (["uvicorn/raw", "--releases", "1,2"], "give the cell first"),
                      (["uvicorn/raw", "--package", "uvicorn", "--releases", "1,1"], "at least two different"),
                      (["uvicorn/raw", "--package", "uvicorn", "--releases", "1,next"], "not a package override"),
                      (["uvicorn", "--package", "uvicorn", "--releases", "1,2"], "is not a cell")):
        with pytest.raises(ValueError, match=says):
            parse_bisect_arguments(bad)


def test_bisect_releases_between_two_bounds_are_the_final_ones_in_version_order():
    released = ["0.9.0", "0.30.6", "0.31.0rc1", "0.31.0", "0.32.0.dev1", "0.32.0", "0.33.0", "0.34.0", "1.0.0"]
    asked = []

    def listed(package):
        asked.append(package)
        return list(reversed(released))

    parsed = parse_bisect_arguments(["uvicorn/raw", "--package", "uvicorn", "--releases", "0.30.6..0.33.0"], listed)
    assert asked == ["uvicorn"] and parsed.releases == ("0.30.6", "0.31.0", "0.32.0", "0.33.0")
    for bounds, says in (("0.33.0..0.30.6", "the older first"), ("0.30.7..0.33.0", "0.30.7 is not a release"),
                         ("x..0.33.0", "give two releases")):
        with pytest.raises(ValueError, match=says):
            parse_bisect_arguments(["uvicorn/raw", "--package", "uvicorn", "--releases", bounds], listed)
