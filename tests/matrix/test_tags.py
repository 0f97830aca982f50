"""Tags for the new server families: one per recipe, the interface a cell is served through, worker family."""

from __future__ import annotations

from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.matrix.tags import cell_tags

MATRIX = load_matrix()


def tags(server: str, app: str, python: str = "3.13"):
    return cell_tags(find_cell(MATRIX, python, server, app))


def test_a_cells_tags_name_its_recipe_so_one_tag_selects_a_server_family():
    assert "granian" in tags("granian-rsgi", "raw") and "granian" in tags("granian+nginx-unix", "flask")
    assert "gunicorn" in tags("gunicorn-asgi", "raw") and "gunicorn" in tags("gunicorn+nginx-uwsgi", "flask")
    assert "granian" not in tags("gunicorn", "flask")


def test_the_interface_tag_is_the_one_the_cell_is_served_through():
    assert tags("granian", "flask") == ["py3.13", "granian", "flask", "direct", "wsgi", "workers-threads", "db"]
    assert tags("granian", "django-async") == ["py3.13", "granian", "django-async", "direct", "asgi",
                                               "workers-async", "db"]
    assert tags("granian-rsgi", "raw") == ["py3.13", "granian-rsgi", "raw", "granian", "direct", "rsgi",
                                           "workers-async"]
    assert tags("gunicorn-asgi", "raw") == ["py3.13", "gunicorn-asgi", "raw", "gunicorn", "direct", "asgi",
                                            "workers-async"]
    assert tags("gunicorn+nginx-uwsgi", "flask") == ["py3.13", "gunicorn+nginx-uwsgi", "flask", "gunicorn",
                                                     "nginx-uwsgi", "wsgi", "workers-sync", "db"]
