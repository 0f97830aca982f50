"""The sessions a project's two-line noxfile gets besides its cells: ranking, regressions, and a bisect that says
at once why it cannot walk a project's releases."""

from __future__ import annotations

import json
from pathlib import Path

import nox
import pytest

from benchmatrix.matrix.cells import MATRIX_FILE, find_cell, read_matrix
from benchmatrix.matrix.overrides import parse_override
from benchmatrix.project_config.matrix import with_project
from benchmatrix.project_config.read import read_config
from benchmatrix.sessions import groups
from benchmatrix.sessions.standard import declare_standard_sessions
from benchmatrix.sessions.versions import refuse_project_overrides

CONFIG = '[apps.shop]\nwsgi = "shop:app"\ninstall = ["-e ."]\n\n[scenarios.items]\npath = "/items"\n'


class Refused(Exception):
    pass


class FakeSession:
    posargs: list = []

    def error(self, message: str):
        raise Refused(message)


def shop_cell(tmp_path: Path):
    (tmp_path / "benchmatrix.toml").write_text(CONFIG, encoding="utf-8")
    return find_cell(with_project(read_matrix(MATRIX_FILE), read_config(tmp_path)), "3.13", "gunicorn", "shop")


def test_a_projects_noxfile_declares_ranking_regressions_and_bisect(monkeypatch):
    monkeypatch.setattr(nox.registry, "_REGISTRY", {})
    class Matrix:  # what the sessions call on the BenchSessions object when run; nothing runs here
        def __getattr__(self, name):
            return lambda session: None

    declare_standard_sessions(Matrix())
    assert {"ranking", "regressions", "bisect", "report", "interleave", "smoke"} <= set(nox.registry.get())


def test_bisect_of_a_projects_app_is_refused_before_anything_is_built(tmp_path):
    cell = shop_cell(tmp_path)

    class Listing:
        def resolve(self, spec):
            return cell

    with pytest.raises(Refused) as refused:
        groups.run_bisect(FakeSession(), None, Listing(), ["gunicorn/shop", "--package", "gunicorn", "--releases",
                                                           "22.0.0,23.0.0"])
    assert str(refused.value) == groups.PROJECT_BISECT
    with pytest.raises(ValueError, match="put the release in its benchmatrix.toml install lines"):
        refuse_project_overrides(cell, (parse_override("gunicorn==22.0.0"),))
    refuse_project_overrides(cell, ())


def test_the_ranking_config_says_what_to_write_when_missing_or_wrong(tmp_path):
    config = tmp_path / "configs" / "ranking.json"
    with pytest.raises(ValueError) as missing:
        groups.ranking_config(config)
    assert str(missing.value) == (
        "{} does not exist: `nox -s ranking` interleaves the cells it names on its scenarios; write it as "
        '{{"cells": ["gunicorn/shop", "uwsgi/shop"], "scenarios": "items,echo"}} (or compare cells at once: '
        "nox -s interleave -- CELL CELL ...)".format(config))
    config.parent.mkdir()
    config.write_text('{"cells": "gunicorn/shop", "scenarios": "items"}', encoding="utf-8")
    with pytest.raises(ValueError, match='"cells" is a list of SERVER/APP names'):
        groups.ranking_config(config)
    config.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not a ranking config"):
        groups.ranking_config(config)
    config.write_text(json.dumps({"cells": ["gunicorn/shop", "uwsgi/shop"], "scenarios": "items"}), encoding="utf-8")
    assert groups.ranking_config(config) == (["gunicorn/shop", "uwsgi/shop"], "items")
