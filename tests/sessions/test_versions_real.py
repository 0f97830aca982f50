"""One real cell on an older release: its own virtualenv from the uv cache, measured and recorded as such."""

from __future__ import annotations

import sys

import pytest

from benchmatrix.matrix.cells import find_cell, load_matrix, requirements
from benchmatrix.matrix.overrides import parse_overrides
from benchmatrix.sessions.versions import build_override_venv, check_releases_exist

pytestmark = pytest.mark.slow

OLDER = "uvicorn==0.33.0"  # in the uv cache of this machine and CI's (the pins are 0.54.0)


def test_a_cell_with_an_older_release_is_built_apart_and_recorded_with_it(harness, tmp_path, monkeypatch):
    monkeypatch.setenv("UV_OFFLINE", "1")  # from the cache: no test reaches the network
    matrix = load_matrix()
    cell = find_cell(matrix, "3.13", "uvicorn", "raw")
    overrides = parse_overrides(OLDER)
    venv = build_override_venv(sys.executable, tmp_path / "bench-uvicorn-raw-with", cell,
                               requirements(matrix, cell), overrides, print)
    done = harness.bench("uvicorn", "raw", "--venv", str(venv), "--with", OLDER, "--scenarios", "json",
                         "--ceiling", "off", "--pin", "off")
    assert done.returncode == 0, done.stdout
    [record] = harness.records()
    assert record["meta"]["overrides"] == {"uvicorn": "0.33.0"}
    assert record["meta"]["packages"]["uvicorn"] == "0.33.0"
    assert record["rps"] > 0
    # The same virtualenv asked to be another release is refused before anything starts.
    refused = harness.bench("uvicorn", "raw", "--venv", str(venv), "--with", "uvicorn==0.54.0")
    assert refused.returncode == 2 and "the cell's virtualenv has uvicorn 0.33.0" in refused.stdout
    with pytest.raises(ValueError, match="no such release installable here"):
        check_releases_exist(harness_uv(), sys.executable, parse_overrides("uvicorn==0.30.99"))


def harness_uv() -> str:
    from benchmatrix import harness_env

    return harness_env.find_uv()
