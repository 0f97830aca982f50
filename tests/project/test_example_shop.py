"""The example project kept in this repository (apps/example_shop), and the README's throwaway project."""

from __future__ import annotations

import json

from benchmatrix.matrix.cells import MATRIX_FILE, all_cells, read_matrix
from benchmatrix.paths import REPO_ROOT
from benchmatrix.project_config.matrix import with_project
from benchmatrix.project_config.read import read_config
from tests.project.throwaway import FILES

EXAMPLE = REPO_ROOT / "apps" / "example_shop"


def test_the_example_declares_seed_001s_flow_login_page_login_and_two_api_lists():
    config = read_config(EXAMPLE)
    (app,) = config.apps
    assert (app.name, app.services, dict(app.env)) == ("shop", ("postgres",),
                                                       {"DJANGO_SETTINGS_MODULE": "example_shop.settings"})
    assert app.setup == ("python -m django migrate --noinput", "python -m django bench_setup")
    flow = {s.name: s for s in config.scenarios}["login_flow"]
    assert [(step.request.method, step.path, step.status, step.check) for step in flow.steps] == [
        ("GET", "/accounts/login/", 200, "contains"), ("POST", "/accounts/login/", 302, "status"),
        ("GET", "/api/items?page=1", 200, "json-subset"), ("GET", "/api/items?page=2", 200, "json-subset")]
    assert flow.steps[0].extract == (("csrf", "cookie:csrftoken"),)
    assert b"csrfmiddlewaretoken={csrf}" in flow.steps[1].request.body
    echo = {s.name: s for s in config.scenarios}["echo"]
    assert json.loads(echo.request.body) == json.loads(echo.body)["echo"]  # body_file, echoed back


def test_the_example_runs_on_the_wsgi_and_the_asgi_servers():
    matrix = with_project(read_matrix(MATRIX_FILE), read_config(EXAMPLE))
    interfaces = {cell.interface for cell in all_cells(matrix, ["3.13"])}
    assert interfaces == {"wsgi", "asgi"}


def test_the_readme_shows_the_throwaway_projects_files_exactly():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name, text in FILES.items():
        assert "`{}`".format(name) in readme and text in readme, name
