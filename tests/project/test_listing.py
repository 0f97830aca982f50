"""A user's project in the matrix: its apps beside benchmatrix's servers, same rules and names; its installs."""

from __future__ import annotations

from pathlib import Path

from benchmatrix.matrix.cells import MATRIX_FILE, all_cells, default_cells, find_cell, read_matrix
from benchmatrix.matrix.tags import cell_tags
from benchmatrix.nox import RANKING_MARKERS
from benchmatrix.paths import REPO_ROOT
from benchmatrix.project_config.matrix import with_project
from benchmatrix.project_config.read import read_config
from benchmatrix.results.report import RANKING_END, RANKING_START
from benchmatrix.sessions.project import for_noxfile
from benchmatrix.sessions.project_install import install_commands, project_arguments, server_pins
from benchmatrix.stack.project_app import entry_target, write_entry
from tests.project.throwaway import write_project

MATRIX = read_matrix(MATRIX_FILE)


def project_matrix(tmp_path: Path, config: str):
    (tmp_path / "benchmatrix.toml").write_text(config, encoding="utf-8")
    return with_project(MATRIX, read_config(tmp_path))


def test_a_wsgi_app_gets_every_wsgi_server_and_topology_under_the_same_rules(tmp_path):
    matrix = project_matrix(tmp_path, '[apps.shop]\nwsgi = "shop:create_app()"\ninstall = ["-e ."]\n\n'
                                      '[scenarios.items]\npath = "/items"\n')
    assert list(matrix.apps) == ["shop"] and matrix.servers == MATRIX.servers
    cells = all_cells(matrix, ["3.13", "3.9", "3.14t"])
    wsgi = {name for name, server in MATRIX.servers.items() if "wsgi" in server.interfaces}
    # psycogreen patches psycopg2, which a project's app does not declare; free-threaded builds run only
    # the stdlib-only raw app; meinheld builds on 3.9 and older; gunicorn's uwsgi protocol needs 3.10.
    psycogreen = {name for name, server in MATRIX.servers.items() if server.uses("psycogreen")}
    assert {c.server.name for c in cells if c.python == "3.13"} == wsgi - psycogreen - {
        "meinheld", "gunicorn-meinheld", "gunicorn-meinheld+nginx-unix"}
    assert "meinheld" in {c.server.name for c in cells if c.python == "3.9"}
    assert not [c for c in cells if c.python == "3.14t"]
    cell = find_cell(matrix, "3.13", "gunicorn+nginx-unix", "shop")
    assert cell.session_id == "server='gunicorn+nginx-unix', app='shop'"
    assert (cell.interface, cell.target) == ("wsgi", "shop:create_app()")
    assert cell_tags(cell) == ["py3.13", "gunicorn+nginx-unix", "shop", "gunicorn", "nginx-unix", "wsgi",
                               "workers-sync"]
    assert {c.server.name: c.python for c in default_cells(cells)}["meinheld"] == "3.9"


def test_an_asgi_app_gets_the_asgi_servers_and_a_database_tag(tmp_path):
    matrix = project_matrix(tmp_path, '[apps.api]\nasgi = "api:app"\nservices = ["postgres"]\n\n'
                                      '[scenarios.items]\npath = "/items"\n')
    servers = {c.server.name for c in all_cells(matrix, ["3.13"])}
    assert servers and all("asgi" in MATRIX.servers[name].interfaces for name in servers)
    assert {"uvicorn", "hypercorn", "granian", "gunicorn-uvicorn"} <= servers  # granian serves it through ASGI
    assert "db" in cell_tags(find_cell(matrix, "3.13", "uvicorn", "api"))


def test_a_noxfile_beside_a_benchmatrix_toml_is_a_users_project(tmp_path):
    write_project(tmp_path / "shop")
    project = for_noxfile(tmp_path / "shop" / "noxfile.py")
    root = (tmp_path / "shop").resolve()
    assert (project.root, project.work_dir, project.default_results_dir) == (root, root / ".nox", root / "reports")
    assert project.harness_location == root / ".nox" / "harness" and project.data_root == REPO_ROOT
    assert [app.name for app in project.config.apps] == ["shop"]
    own = for_noxfile(REPO_ROOT / "noxfile.py")
    assert (own.root, own.config) == (REPO_ROOT, None)


def test_the_cell_installs_the_projects_lines_and_the_server_pinned_alone(tmp_path):
    matrix = project_matrix(tmp_path, '[apps.shop]\nwsgi = "shop:app"\ninstall = ["-e .[bench]", "-r req.txt"]\n\n'
                                      '[scenarios.items]\npath = "/items"\n')
    cell = find_cell(matrix, "3.13", "gunicorn-gevent", "shop")
    pins = server_pins(cell, tmp_path / "constraints")
    pinned = [line for line in (REPO_ROOT / "configs" / "constraints" / "py3.13-default.txt").read_text().splitlines()
              if line.startswith("gunicorn==")]
    assert pins.read_text().splitlines()[1:] == pinned  # gevent's own pins are left to the project's resolution
    assert project_arguments(cell) == ["-e", ".[bench]", "-r", "req.txt"]
    assert install_commands("uv", "py", pins, ["gunicorn[gevent]"], project_arguments(cell)) == [
        ["uv", "pip", "install", "--python", "py", "-c", str(pins), "gunicorn[gevent]", "-e", ".[bench]", "-r",
         "req.txt"],
        ["uv", "pip", "install", "--python", "py", "gunicorn[gevent]", "-e", ".[bench]", "-r", "req.txt"]]


def test_a_factory_is_served_through_a_one_line_entry_module(tmp_path):
    assert entry_target("shop:app") == "shop:app"
    assert entry_target("shop.web:create_app()") == "benchmatrix_entry:application"
    write_entry("shop.web:create_app()", tmp_path)
    assert (tmp_path / "benchmatrix_entry.py").read_text() == (
        "# Written by benchmatrix: the project's factory shop.web:create_app(), called once per worker process.\n"
        "from shop.web import create_app as _factory\n\napplication = _factory()\n")


def test_the_ranking_page_markers_are_the_reports(tmp_path):
    assert RANKING_MARKERS == (RANKING_START, RANKING_END)
