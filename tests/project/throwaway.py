"""The throwaway Flask project of the README and docs/own-app.md, written into a folder by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

SHOP = '''\
from flask import Flask, jsonify, request


def create_app():
    app = Flask(__name__)

    @app.get("/api/items")
    def items():
        return jsonify(items=[{"id": 0, "name": "tea"}, {"id": 1, "name": "cake"}])

    @app.post("/api/echo")
    def echo():
        return jsonify(echo=request.get_json()["word"])

    return app
'''

PYPROJECT = '''\
[project]
name = "shop"
version = "0.1.0"
dependencies = ["flask"]

[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[tool.setuptools]
py-modules = ["shop"]
'''

CONFIG = '''\
[apps.shop]
wsgi = "shop:create_app()"
install = ["-e ."]

[scenarios.items]
path = "/api/items"
json = { items = [ { id = 0, name = "tea" }, { id = 1, name = "cake" } ] }

[scenarios.echo]
method = "POST"
path = "/api/echo"
headers = { Content-Type = "application/json" }
body = '{"word": "hi"}'
json = { echo = "hi" }
'''

NOXFILE = '''\
from benchmatrix.nox import bench_sessions
bench_sessions()
'''

FILES: Dict[str, str] = {"shop.py": SHOP, "pyproject.toml": PYPROJECT, "benchmatrix.toml": CONFIG,
                         "noxfile.py": NOXFILE}


def write_project(folder: Path, **replaced: str) -> Path:
    """The project's files in folder; replaced maps a file name to other content."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in dict(FILES, **replaced).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
