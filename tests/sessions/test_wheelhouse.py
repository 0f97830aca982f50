"""Build once: a package with no wheel is built by one preparation, and another never waits for
a build it could do other work beside (sessions/prepare.py defers that cell instead).

psycogreen 1.0.2 ships only a source distribution and builds in seconds: a real build from PyPI's
real sdist, into a wheelhouse of the test's own.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from benchmatrix import harness_env, wheelhouse
from benchmatrix.matrix.interpreters import find_interpreters

pytestmark = pytest.mark.slow  # PyPI and a real build

PYTHON = "3.13"
INSTALL = ["-c", str(REPO_ROOT / "configs" / "constraints" / "py3.13-default.txt"), "psycogreen"]


@pytest.fixture
def venv(tmp_path):
    found = find_interpreters([PYTHON])
    if PYTHON not in found:
        pytest.skip("no Python {} on this machine".format(PYTHON))
    uv = harness_env.find_uv()
    subprocess.run([uv, "venv", "--quiet", "--python", str(found[PYTHON].path), str(tmp_path / "venv")], check=True)
    return uv, str(tmp_path / "venv" / "bin" / "python")


def prebuild_in_child(uv, python, root, wait):
    """prebuild in its own process (a flock is per open file, so the lock must be held elsewhere)."""
    code = ("import sys; from pathlib import Path; from benchmatrix import wheelhouse\n"
            "try:\n"
            "    wheelhouse.prebuild({uv!r}, {python!r}, {version!r}, {args!r}, print, wait={wait!r}, root=Path({root!r}))\n"
            "except wheelhouse.BuildBusy as busy:\n"
            "    print('busy', busy); sys.exit(3)\n").format(uv=uv, python=python, version=PYTHON, args=INSTALL,
                                                            wait=wait, root=str(root))
    return subprocess.Popen([sys.executable, "-c", code], cwd=str(REPO_ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)


def test_a_preparation_that_meets_a_build_in_progress_is_told_instead_of_waiting(venv, tmp_path):
    uv, python = venv
    house = wheelhouse.wheelhouse_for(PYTHON, tmp_path / "wheels")
    house.mkdir(parents=True)
    with open(str(house / ".lock-psycogreen"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another preparation, building psycogreen now
        child = prebuild_in_child(uv, python, tmp_path / "wheels", wait=False)
        output, _ = child.communicate(timeout=120)  # a wait on the lock would time out here
    assert child.returncode == 3 and "busy psycogreen" in output, output
    assert list(house.glob("*.whl")) == []


def test_two_preparations_needing_the_same_build_build_it_once(venv, tmp_path):
    uv, python = venv
    house = wheelhouse.wheelhouse_for(PYTHON, tmp_path / "wheels")
    house.mkdir(parents=True)
    said = []
    # Before the build, an install with building forbidden installs nothing and says so.
    assert not wheelhouse.install_wheels_only(uv, python, INSTALL, house, said.append)
    assert "not every package has a wheel here yet" in said[-1]
    children = [prebuild_in_child(uv, python, tmp_path / "wheels", wait=True) for _ in range(2)]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert sum(output.count("building psycogreen==1.0.2 once") for output in outputs) == 1, outputs
    assert [wheel.name.split("-")[:2] for wheel in house.glob("*.whl")] == [["psycogreen", "1.0.2"]]
    # And the cell's install then needs no build: it succeeds with building forbidden.
    assert wheelhouse.install_wheels_only(uv, python, INSTALL, house, said.append)
    assert subprocess.run([python, "-c", "import psycogreen"]).returncode == 0
