"""Interpreter discovery on file-system layouts built in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmatrix.matrix.interpreters import (expose_on_path, find_interpreter, find_interpreters, missing_message,
                                             undeclared_message, undeclared_versions, versions_on_disk)
from benchmatrix.matrix.versions import default_rank, is_free_threaded, parse_version, version_key


def make_executable(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def isolate(monkeypatch, tmp_path, path_entries):
    monkeypatch.setenv("PATH", os.pathsep.join(str(p) for p in path_entries))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PYENV_ROOT", raising=False)
    monkeypatch.delenv("BENCHMATRIX_PYTHONS", raising=False)


def test_a_pyenv_shim_is_skipped_for_the_real_binary_behind_it(monkeypatch, tmp_path):
    root = tmp_path / "pyenv"
    make_executable(root / "shims" / "python3.9", "#!/usr/bin/env bash\nexec pyenv exec \"$0\"\n")
    make_executable(root / "versions" / "3.9.7" / "bin" / "python3.9")
    newest = make_executable(root / "versions" / "3.9.18" / "bin" / "python3.9")
    make_executable(root / "versions" / "3.9.19t" / "bin" / "python3.9")  # free-threaded: not plain
    isolate(monkeypatch, tmp_path, [root / "shims"])
    found = find_interpreter("3.9")
    assert found.path == str(newest) and found.source == "pyenv"


def test_a_real_binary_on_path_wins(monkeypatch, tmp_path):
    binary = make_executable(tmp_path / "bin" / "python3.12")
    isolate(monkeypatch, tmp_path, [tmp_path / "bin"])
    assert find_interpreter("3.12").path == str(binary)


def test_uv_managed_pythons_are_found(monkeypatch, tmp_path):
    binary = make_executable(tmp_path / "xdg" / "uv" / "python" / "cpython-3.11.9-linux-x86_64-gnu" / "bin" / "python3.11")
    isolate(monkeypatch, tmp_path, [])
    assert find_interpreter("3.11").path == str(binary)


def test_missing_versions_are_absent_and_explained(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path, [tmp_path / "empty"])
    assert find_interpreters(["3.10"]) == {}
    message = missing_message("3.10")
    assert "pyenv install 3.10" in message and "BENCHMATRIX_PYTHONS" in message


def test_an_explicit_override_comes_first(monkeypatch, tmp_path):
    binary = make_executable(tmp_path / "custom" / "python3.13")
    make_executable(tmp_path / "bin" / "python3.13")
    isolate(monkeypatch, tmp_path, [tmp_path / "bin"])
    monkeypatch.setenv("BENCHMATRIX_PYTHONS", str(binary))
    assert find_interpreter("3.13").source == "BENCHMATRIX_PYTHONS"


def test_exposed_links_name_the_real_interpreter_and_are_never_found_themselves(monkeypatch, tmp_path):
    real = make_executable(tmp_path / "opt" / "bin" / "python3.9")
    venv_python = tmp_path / "venv" / "bin" / "python3.9"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(real)  # what a virtualenv's python is
    isolate(monkeypatch, tmp_path, [venv_python.parent])
    links = tmp_path / "links"
    expose_on_path({"3.9": find_interpreter("3.9")}, links)
    assert os.readlink(str(links / "python3.9")) == str(real)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(links)
    # A process started with the links first on PATH (a nested nox) still finds the real one,
    # so it rewrites the same link instead of one pointing at itself.
    assert find_interpreter("3.9").path == str(venv_python)
    expose_on_path({"3.9": find_interpreter("3.9")}, links)
    assert os.path.realpath(str(links / "python3.9")) == str(real)


def test_a_free_threaded_build_is_its_own_version_in_pyenv_and_uv_folders(monkeypatch, tmp_path):
    gil = make_executable(tmp_path / "pyenv" / "versions" / "3.13.2" / "bin" / "python3.13")
    pyenv_t = make_executable(tmp_path / "pyenv" / "versions" / "3.13.2t" / "bin" / "python3.13t")
    make_executable(tmp_path / "pyenv" / "versions" / "3.13t-dev" / "bin" / "python3.13t")  # not a release
    uv_t = make_executable(tmp_path / "xdg" / "uv" / "python" / "cpython-3.14.1+freethreaded-linux-x86_64-gnu"
                           / "bin" / "python3.14t")
    make_executable(tmp_path / "xdg" / "uv" / "python" / "cpython-3.14.1+debug-linux-x86_64-gnu" / "bin" / "python3.14")
    isolate(monkeypatch, tmp_path, [])
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    assert find_interpreter("3.13").path == str(gil)
    assert find_interpreter("3.13t").path == str(pyenv_t)
    assert find_interpreter("3.14t").path == str(uv_t) and find_interpreter("3.14t").source == "uv"
    assert find_interpreter("3.14") is None  # a debug build is not a release, and 3.14t is not 3.14
    assert versions_on_disk() == ["3.13", "3.13t", "3.14t"]


def test_on_path_and_in_the_override_python3_13t_is_3_13t_only(monkeypatch, tmp_path):
    binary = make_executable(tmp_path / "bin" / "python3.13t")
    isolate(monkeypatch, tmp_path, [tmp_path / "bin"])
    assert find_interpreter("3.13") is None and find_interpreter("3.13t").path == str(binary)
    monkeypatch.setenv("BENCHMATRIX_PYTHONS", str(binary))
    assert find_interpreter("3.13t").source == "BENCHMATRIX_PYTHONS" and find_interpreter("3.13") is None


def test_interpreters_newer_than_the_matrix_are_found_and_said(monkeypatch, tmp_path):
    make_executable(tmp_path / "bin" / "python3.12")
    make_executable(tmp_path / "bin" / "python3.15")
    make_executable(tmp_path / "bin" / "python3.15t")
    make_executable(tmp_path / "bin" / "python2.7")
    isolate(monkeypatch, tmp_path, [tmp_path / "bin"])
    assert undeclared_versions(["3.8", "3.12", "3.13t"]) == ["3.15", "3.15t"]
    message = undeclared_message("3.15", str(tmp_path / "bin" / "python3.15"))
    assert 'add "3.15" to its "pythons"' in message and "nox -s lock" in message


def test_a_missing_free_threaded_build_says_which_binary_and_how_to_install_it():
    message = missing_message("3.14t")
    assert "free-threaded build of 3.14, binary python3.14t" in message
    assert "uv python install 3.14t" in message and "pyenv install 3.14t" in message
    assert "a GIL build of 3.14 does not count" in message


def test_versions_sort_free_threaded_builds_after_their_gil_build_and_defaults_prefer_gil():
    assert sorted(["3.14", "3.13t", "3.9", "3.13", "3.14t"], key=version_key) == ["3.9", "3.13", "3.13t", "3.14",
                                                                                    "3.14t"]
    assert version_key("3.9") == (3, 9) and version_key("3.13t") == (3, 13, 1)
    assert max(["3.13", "3.14t"], key=default_rank) == "3.13" and max(["3.14t"], key=default_rank) == "3.14t"
    assert parse_version("3.14t") == (3, 14, True) and not is_free_threaded("3.13")
    with pytest.raises(ValueError, match="X.Yt for a free-threaded build"):
        parse_version("3.13-nogil")
