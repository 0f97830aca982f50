"""The matrix rules, pinned: what is listed can run, and nothing runnable is lost."""

from __future__ import annotations

import pytest

from tools.benchmatrix.matrix import (App, Cell, all_cells, constraints_file, default_cells,
                                      exclusion_reason, find_cell, load_matrix, package_name,
                                      requirements)

MATRIX = load_matrix()


def test_every_server_and_app_of_the_matrix_appears_in_some_cell():
    cells = all_cells(MATRIX, MATRIX.pythons)
    assert {c.server.name for c in cells} == set(MATRIX.servers)
    assert {c.app.name for c in cells} == set(MATRIX.apps)


def test_no_listed_cell_is_excluded_by_a_rule():
    assert all(exclusion_reason(c) is None for c in all_cells(MATRIX, MATRIX.pythons))


def test_this_slice_is_the_full_product_of_wsgi_servers_and_apps():
    cells = all_cells(MATRIX, ["3.12"])
    assert len(cells) == len(MATRIX.servers) * len(MATRIX.apps) == 10


def test_a_wsgi_server_cannot_serve_an_asgi_only_app():
    asgi_only = App("starlette", {"asgi": "x:app"}, {}, ("starlette",))
    cell = Cell("3.12", MATRIX.servers["gunicorn"], asgi_only)
    assert "interface" in exclusion_reason(cell)


def test_the_default_cell_of_a_pair_is_its_newest_python():
    cells = all_cells(MATRIX, ["3.9", "3.13", "3.10"])
    defaults = default_cells(cells)
    assert len(defaults) == 10 and {c.python for c in defaults} == {"3.13"}


@pytest.mark.parametrize("server, app, python, message", [
    ("tornado", "flask", "3.12", "unknown server 'tornado'; choose one of: gunicorn"),
    ("gunicorn", "rails", "3.12", "unknown app 'rails'"),
    ("gunicorn", "flask", "2.7", "Python 2.7 is not in the matrix"),
])
def test_find_cell_says_what_to_type_instead(server, app, python, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        find_cell(MATRIX, python, server, app)


def test_a_cell_installs_harness_server_and_app_packages_once_each():
    cell = find_cell(MATRIX, "3.12", "gunicorn-gevent", "django")
    assert requirements(MATRIX, cell) == ["tabulate", "gunicorn[gevent]", "django"]
    assert [package_name(spec) for spec in requirements(MATRIX, cell)] == ["tabulate", "gunicorn", "django"]


def test_every_cell_has_every_package_pinned_in_its_lock_group():
    for cell in all_cells(MATRIX, MATRIX.pythons):
        pins = "\n" + constraints_file(cell.python, cell.server.lock).read_text()
        for spec in requirements(MATRIX, cell):
            assert "\n{}==".format(package_name(spec)) in pins, (cell.python, cell.server.lock, spec)


def test_the_eventlet_worker_keeps_a_gunicorn_that_still_ships_it():
    # gunicorn 26 removed the eventlet worker; the eventlet lock group must stay below it.
    for python in MATRIX.pythons:
        pins = constraints_file(python, "eventlet").read_text()
        gunicorn = [line for line in pins.splitlines() if line.startswith("gunicorn==")][0]
        assert int(gunicorn.split("==")[1].split(".")[0]) < 26
