"""The matrix rules, pinned: what is listed can run, and nothing runnable is lost."""

from __future__ import annotations

import pytest

from dataclasses import replace

from benchmatrix.matrix.cells import (App, Cell, all_cells, constraints_file, default_cells,
                                      exclusion_reason, find_cell, load_matrix, lock_groups, package_name,
                                      requirements, requires_at_least)

MATRIX = load_matrix()


def test_every_server_and_app_of_the_matrix_appears_in_some_cell():
    cells = all_cells(MATRIX, MATRIX.pythons)
    assert {c.server.name for c in cells} == set(MATRIX.servers)
    assert {c.app.name for c in cells} == set(MATRIX.apps)


def test_no_listed_cell_is_excluded_by_a_rule():
    assert all(exclusion_reason(c) is None for c in all_cells(MATRIX, MATRIX.pythons))


# What the issue asks to be benchmarkable; a rename or a dropped entry must be deliberate.
REQUIRED_SERVERS = {"gunicorn", "gunicorn-gthread", "gunicorn-gevent", "gunicorn-eventlet", "gunicorn-meinheld",
                    "gunicorn-uvicorn", "gunicorn-aiohttp", "meinheld", "uwsgi", "uwsgi-gevent", "uvicorn",
                    "hypercorn", "hypercorn-uvloop", "aiohttp", "api-hour",
                    "gunicorn-gevent-psycogreen", "gunicorn-eventlet-psycogreen",
                    "gunicorn-asgi", "granian", "granian-asgi", "granian-rsgi"}
REQUIRED_APPS = {"django", "django-async", "flask", "aiohttp", "api-hour", "raw", "fastapi", "starlette",
                 "litestar"}
REQUIRED_TOPOLOGIES = {"gunicorn-gevent+nginx", "gunicorn-gevent+nginx-unix", "uwsgi+nginx-uwsgi",
                       "gunicorn+nginx-uwsgi", "granian+nginx", "granian+nginx-unix"}
GIL_PYTHONS = [python for python in MATRIX.pythons if not python.endswith("t")]
PINNED_PYTHONS = [python for python in MATRIX.pythons if constraints_file(python, "default").is_file()]


def test_every_server_app_and_topology_of_the_issue_is_listed():
    listed = {c.server.name for c in all_cells(MATRIX, MATRIX.pythons)}
    assert REQUIRED_SERVERS | REQUIRED_TOPOLOGIES <= listed
    assert REQUIRED_APPS <= {c.app.name for c in all_cells(MATRIX, MATRIX.pythons)}
    assert {"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"} <= set(MATRIX.pythons)


def test_django_is_wsgi_under_wsgi_servers_and_asgi_under_asgi_servers():
    assert find_cell(MATRIX, "3.12", "gunicorn", "django").target.endswith("wsgi:application")
    assert find_cell(MATRIX, "3.12", "uvicorn", "django").target.endswith("asgi:application")
    assert find_cell(MATRIX, "3.12", "hypercorn", "raw").target == "apps.raw.asgi:app"


ASGI_SERVERS = {"gunicorn-uvicorn", "uvicorn", "uvicorn+nginx-unix", "hypercorn", "hypercorn-uvloop"}
# gunicorn 24+ and granian 2.6+ need Python 3.10; granian serves an ASGI-only app through ASGI (granian-asgi
# would be the same launch); free-threaded builds run the raw app only.
NEWER_ASGI_SERVERS = {"gunicorn-asgi", "granian", "granian+nginx", "granian+nginx-unix"}


def test_async_django_runs_on_every_asgi_server_and_python_and_nowhere_else():
    cells = [c for c in all_cells(MATRIX, MATRIX.pythons) if c.app.name == "django-async"]
    assert {s.name for s in MATRIX.servers.values() if s.interfaces == ("asgi",)} == (
        ASGI_SERVERS | {"gunicorn-asgi", "granian-asgi"})
    # Django's async ORM is 4.1+; every Python's pins have 4.2 or newer, so no GIL build is dropped.
    expected = {(p, s) for p in GIL_PYTHONS for s in ASGI_SERVERS}
    expected |= {(p, s) for p in GIL_PYTHONS if p not in ("3.8", "3.9") for s in NEWER_ASGI_SERVERS}
    assert {(c.python, c.server.name) for c in cells} == expected
    assert {c.target for c in cells} == {"apps.django.benchsite.async_asgi:application"}
    assert MATRIX.apps["django-async"].environment == {
        "DJANGO_SETTINGS_MODULE": "apps.django.benchsite.settings_async"}


def test_async_django_serves_every_scenario_with_aiohttp_as_its_upstream_client():
    app = MATRIX.apps["django-async"]
    assert app.scenarios == () and app.requirements == ("django", "psycopg2-binary", "aiohttp")
    cell = find_cell(MATRIX, "3.8", "gunicorn-uvicorn", "django-async")
    assert requirements(MATRIX, cell) == ["gunicorn", "uvicorn-worker", "uvicorn[standard]", "django",
                                          "psycopg2-binary", "aiohttp"]


def test_the_pins_give_async_django_an_orm_with_async_querysets():
    for python in PINNED_PYTHONS:
        pins = constraints_file(python, "default").read_text().splitlines()
        django = [line for line in pins if line.startswith("django==")][0]
        assert tuple(int(part) for part in django.split("==")[1].split(".")[:2]) >= (4, 1), python


@pytest.mark.parametrize("server, app, python, reason", [
    ("meinheld", "flask", "3.10", "greenlet 0.4"),
    ("gunicorn-meinheld", "django", "3.13", "greenlet 0.4"),
    ("api-hour", "api-hour", "3.10", "loop="),
    ("uvicorn", "flask", "3.12", "interface"),
    ("gunicorn", "aiohttp", "3.12", "interface"),
    ("aiohttp", "django", "3.12", "interface"),
    ("api-hour", "flask", "3.9", "interface"),
    ("gunicorn-gevent-psycogreen", "raw", "3.12", "psycogreen"),
    ("gunicorn", "django-async", "3.12", "interface"),
    ("gunicorn-gevent-psycogreen", "django-async", "3.12", "interface"),
    ("uwsgi+nginx-uwsgi", "django-async", "3.12", "interface"),
    ("meinheld", "django-async", "3.9", "interface"),
    ("gunicorn-aiohttp", "django-async", "3.12", "interface"),
])
def test_measured_incompatibilities_are_dropped_with_their_reason(server, app, python, reason):
    cell = Cell(python, MATRIX.servers[server], MATRIX.apps[app])
    assert reason in exclusion_reason(cell)
    with pytest.raises(ValueError, match="cannot run"):
        find_cell(MATRIX, python, server, app)


@pytest.mark.parametrize("server, app, python", [
    ("meinheld", "django", "3.9"), ("meinheld", "flask", "3.8"), ("api-hour", "api-hour", "3.9"),
    ("api-hour+nginx-unix", "api-hour", "3.8"), ("uwsgi-gevent", "flask", "3.13"),
])
def test_old_stacks_keep_the_pythons_they_run_on(server, app, python):
    assert exclusion_reason(Cell(python, MATRIX.servers[server], MATRIX.apps[app])) is None


def test_a_pair_defaults_to_the_newest_python_it_runs_on():
    defaults = {(c.server.name, c.app.name): c.python for c in default_cells(all_cells(MATRIX, PINNED_PYTHONS))}
    assert defaults[("meinheld", "django")] == "3.9"
    assert defaults[("api-hour", "api-hour")] == "3.9"
    assert defaults[("gunicorn", "flask")] == "3.13"


def test_fronted_servers_inherit_the_server_and_name_their_topology():
    fronted = MATRIX.servers["gunicorn-gevent+nginx-unix"]
    assert fronted.base == "gunicorn-gevent" and fronted.front.name == "nginx-unix"
    assert fronted.front.upstream == "unix" and fronted.front.protocol == "http"
    assert MATRIX.servers["uwsgi+nginx-uwsgi"].front.protocol == "uwsgi"
    assert fronted.requirements == MATRIX.servers["gunicorn-gevent"].requirements


def test_a_front_speaking_a_protocol_the_server_does_not_declare_is_dropped():
    uwsgi_fronted = MATRIX.servers["uwsgi+nginx-uwsgi"]
    impostor = replace(MATRIX.servers["uvicorn"], name="uvicorn+nginx-uwsgi", front=uwsgi_fronted.front)
    assert "does not speak its front's protocol" in exclusion_reason(Cell("3.12", impostor, MATRIX.apps["raw"]))


def test_gunicorn_speaks_uwsgi_from_24_on_so_its_uwsgi_topology_needs_python_3_10():
    fronted = MATRIX.servers["gunicorn+nginx-uwsgi"]
    assert fronted.front.protocol == "uwsgi" and set(MATRIX.servers["gunicorn"].protocols) == {"http", "uwsgi"}
    # The fronted server installs what brings the protocol; the plain one keeps every Python.
    assert fronted.requirements == ("gunicorn", "gunicorn>=24")
    assert MATRIX.servers["gunicorn+nginx"].requirements == ("gunicorn",)
    assert "Python 3.10" in exclusion_reason(Cell("3.9", fronted, MATRIX.apps["flask"]))
    assert exclusion_reason(Cell("3.10", fronted, MATRIX.apps["flask"])) is None
    assert exclusion_reason(Cell("3.9", MATRIX.servers["gunicorn"], MATRIX.apps["flask"])) is None
    assert "interface" in exclusion_reason(Cell("3.12", fronted, MATRIX.apps["django-async"]))


def test_requires_at_least_reads_lower_bounds_only():
    assert requires_at_least(["gunicorn>=24"], "gunicorn", (24,))
    assert requires_at_least(["gunicorn[gevent] >= 24.1"], "gunicorn", (24,))
    assert not requires_at_least(["gunicorn>=23.0"], "gunicorn", (24,))
    assert not requires_at_least(["gunicorn", "gunicorn<26"], "gunicorn", (24,))
    assert not requires_at_least(["gunicorn-x>=30"], "gunicorn", (24,))


def test_granian_serves_the_first_interface_its_app_has_and_each_launch_once():
    granian = MATRIX.servers["granian"]
    assert granian.interfaces == ("wsgi", "asgi")
    assert find_cell(MATRIX, "3.13", "granian", "flask").target == "apps.flask.app:app"
    assert find_cell(MATRIX, "3.13", "granian", "django").interface == "wsgi"
    assert find_cell(MATRIX, "3.13", "granian", "django-async").interface == "asgi"
    assert find_cell(MATRIX, "3.13", "granian-asgi", "raw").target == "apps.raw.asgi:app"
    assert find_cell(MATRIX, "3.13", "granian-rsgi", "raw").target == "apps.raw.rsgi:app"
    # granian-asgi on an ASGI-only app is granian on it: the same launch, listed once, under granian.
    assert "already serves this app" in exclusion_reason(Cell("3.13", MATRIX.servers["granian-asgi"],
                                                               MATRIX.apps["django-async"]))
    assert MATRIX.servers["granian-asgi"].same_launch_as == (("granian", ("wsgi", "asgi")),)
    assert MATRIX.servers["granian+nginx"].same_launch_as == ()  # another topology is another launch
    assert "interface" in exclusion_reason(Cell("3.13", MATRIX.servers["granian-rsgi"], MATRIX.apps["flask"]))
    assert "Python 3.10" in exclusion_reason(Cell("3.9", granian, MATRIX.apps["flask"]))


@pytest.mark.parametrize("server, app, python, reason", [
    ("gunicorn", "raw", "3.13t", "does not declare support for free-threaded builds"),
    ("uvicorn", "raw", "3.14t", "does not declare support for free-threaded builds"),
    ("granian", "flask", "3.14t", "only the stdlib-only raw app"),
    ("granian-rsgi", "raw", "3.13t", "uvloop has no free-threaded wheels before Python 3.14t"),
])
def test_free_threaded_builds_keep_only_what_is_declared_to_run_there(server, app, python, reason):
    assert reason in exclusion_reason(Cell(python, MATRIX.servers[server], MATRIX.apps[app]))


def test_free_threaded_cells_are_granian_on_the_raw_app_from_3_14t():
    cells = {(c.python, c.server.name, c.interface) for c in all_cells(MATRIX, MATRIX.pythons) if c.free_threaded}
    assert cells == {("3.14t", server, interface) for server, interface in [
        ("granian", "wsgi"), ("granian-asgi", "asgi"), ("granian-rsgi", "rsgi"),
        ("granian+nginx", "wsgi"), ("granian+nginx-unix", "wsgi")]}
    # A pair's default is a GIL build: the free-threaded one is asked for by name (bench-3.14t).
    defaults = {(c.server.name, c.app.name): c.python for c in default_cells(all_cells(MATRIX, MATRIX.pythons))}
    assert defaults[("granian-rsgi", "raw")] == "3.14"


def test_a_wsgi_server_cannot_serve_an_asgi_only_app():
    asgi_only = App("starlette", {"asgi": "x:app"}, {}, ("starlette",))
    cell = Cell("3.12", MATRIX.servers["gunicorn"], asgi_only)
    assert "interface" in exclusion_reason(cell)


@pytest.mark.parametrize("server, app, python, message", [
    ("tornado", "flask", "3.12", "unknown server 'tornado'; choose one of: gunicorn"),
    ("gunicorn", "rails", "3.12", "unknown app 'rails'"),
    ("gunicorn", "flask", "2.7", "Python 2.7 is not in the matrix"),
])
def test_find_cell_says_what_to_type_instead(server, app, python, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        find_cell(MATRIX, python, server, app)


def test_a_cell_installs_its_server_and_app_packages_once_each_and_nothing_of_the_harness():
    cell = find_cell(MATRIX, "3.12", "gunicorn-gevent", "django")
    assert requirements(MATRIX, cell) == ["gunicorn[gevent]", "django", "psycopg2-binary", "requests"]
    assert [package_name(spec) for spec in requirements(MATRIX, cell)][:2] == ["gunicorn", "django"]


def test_lock_groups_exist_only_where_they_have_cells():
    assert set(lock_groups(MATRIX, "3.9")) == {"default", "eventlet", "meinheld", "api-hour"}
    assert set(lock_groups(MATRIX, "3.12")) == {"default", "eventlet"}
    # The API-Hour app's requirements stay out of the default group (they would pin old aiohttp there).
    assert "api-hour" not in lock_groups(MATRIX, "3.9")["default"]


def test_every_cell_has_every_package_pinned_in_its_lock_group():
    # Pythons with no pins yet are those `nox -s lock` found no interpreter for (3.14, free-threaded builds).
    for cell in all_cells(MATRIX, PINNED_PYTHONS):
        pins = "\n" + constraints_file(cell.python, cell.server.lock).read_text()
        for spec in requirements(MATRIX, cell):
            assert "\n{}==".format(package_name(spec)) in pins, (cell.python, cell.server.lock, spec)


def test_the_eventlet_worker_keeps_a_gunicorn_that_still_ships_it():
    # gunicorn 26 removed the eventlet worker; the eventlet lock group must stay below it.
    for python in PINNED_PYTHONS:
        pins = constraints_file(python, "eventlet").read_text()
        gunicorn = [line for line in pins.splitlines() if line.startswith("gunicorn==")][0]
        assert int(gunicorn.split("==")[1].split(".")[0]) < 26
