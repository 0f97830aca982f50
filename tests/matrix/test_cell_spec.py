"""SERVER/APP[/PYTHON]: one parser, and the cell the matrix listing resolves it to."""

from __future__ import annotations

import pytest

from benchmatrix.cli.interleave_command import parse_contender
from benchmatrix.matrix.cell_spec import CellSpec, parse_cell_spec
from benchmatrix.matrix.listing import discover


@pytest.mark.parametrize("text, spec", [
    ("gunicorn/flask", CellSpec("gunicorn", "flask")),
    ("meinheld/flask/3.9", CellSpec("meinheld", "flask", "3.9")),
    (" uwsgi / raw /3.13", CellSpec("uwsgi", "raw", "3.13")),
    ("gunicorn+nginx-unix/django", CellSpec("gunicorn+nginx-unix", "django")),
])
def test_a_cell_is_read_from_its_spelling(text, spec):
    assert parse_cell_spec(text) == spec
    assert parse_cell_spec(str(spec)) == spec


@pytest.mark.parametrize("text", ["gunicorn", "gunicorn/", "/flask", "a/b/c/d", "a//3.9"])
def test_anything_else_says_how_to_write_a_cell(text):
    with pytest.raises(ValueError, match="write SERVER/APP or SERVER/APP/PYTHON, e.g. meinheld/flask/3.9"):
        parse_cell_spec(text)


def test_a_spec_selects_a_cell_with_or_without_its_python():
    assert CellSpec("gunicorn", "flask").selects("gunicorn", "flask", "3.9")
    assert CellSpec("gunicorn", "flask", "3.13").selects("gunicorn", "flask", "3.13")
    assert not CellSpec("gunicorn", "flask", "3.13").selects("gunicorn", "flask", "3.9")


def test_the_listing_resolves_a_pair_to_its_default_cell_and_a_python_to_that_one():
    listing = discover()
    if not listing.found:
        pytest.skip("no interpreter of the matrix here")
    cell = listing.resolve(parse_cell_spec("gunicorn/flask"))
    assert cell in listing.defaults and cell.python == listing.newest
    assert listing.session_name(cell, pinned=False) == "bench(server='gunicorn', app='flask')"
    pinned = listing.resolve(parse_cell_spec("gunicorn/flask/" + listing.newest))
    assert listing.session_name(pinned) == "bench-{}(server='gunicorn', app='flask')".format(listing.newest)
    with pytest.raises(ValueError, match="Python 3.99 was not found"):
        listing.resolve(parse_cell_spec("gunicorn/flask/3.99"))
    with pytest.raises(ValueError, match="unknown server"):
        listing.resolve(parse_cell_spec("nosuch/flask"))


def test_an_interleave_contender_is_a_cell_with_its_virtualenv(tmp_path):
    contender = parse_contender("gunicorn/flask={},side-probe=off".format(tmp_path))
    assert (contender.server, contender.app, contender.venv, contender.side_probe) == ("gunicorn", "flask", tmp_path,
                                                                                      False)
    for wrong in ("gunicorn", "gunicorn/flask/3.13", "nosuch/flask", "gunicorn/flask,probe=off"):
        with pytest.raises(ValueError, match="--cell"):
            parse_contender(wrong)
