"""The tox front end (toxfile.py): the cells nox lists, and a tox environment that measures like a bench session."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from tests.conftest import REPO_ROOT, Harness

MATRIX_DATA = json.loads((REPO_ROOT / "configs" / "matrix.json").read_text(encoding="utf-8"))
# The server names as the matrix spells them, fronted topologies included ("gunicorn+nginx-unix").
SERVERS = set(MATRIX_DATA["servers"]) | {name + "+" + front for name, server in MATRIX_DATA["servers"].items()
                                         for front in server.get("fronts", ())}
APPS = set(MATRIX_DATA["apps"])
Cell = Tuple[str, str, str]  # (python, server, app)


def tox_executable() -> str:
    """tox from the private tool environment tools/setup.sh builds (configs/requirements/tools.txt)."""
    beside = REPO_ROOT / ".tools" / "bin" / "tox"
    found = str(beside) if beside.exists() else shutil.which("tox")
    if not found:
        pytest.fail("tox is not installed: tools/setup.sh puts it in .tools/ (configs/requirements/tools.txt)")
    return found


def tox(*args: str, timeout: float = 120, env: Dict[str, str] = None) -> subprocess.CompletedProcess:
    return subprocess.run([tox_executable(), *args], cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


@functools.lru_cache(maxsize=None)  # listing is pure: each selection is listed once per test run
def nox_cells(*selection: str) -> Set[Cell]:
    """(python, server, app) of every bench session `nox -l --json` lists for the selection."""
    listed = subprocess.run([sys.executable, "-m", "nox", "-f", str(REPO_ROOT / "noxfile.py"), "-l", "--json",
                             *selection], cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    sessions = [s for s in json.loads(listed.stdout) if s["name"].startswith("bench") and s.get("call_spec")]
    return {(s["python"], s["call_spec"]["server"], s["call_spec"]["app"]) for s in sessions}


def parse_env_name(name: str) -> Cell:
    """py313-gunicorn+nginx-unix-flask -> ("3.13", "gunicorn+nginx-unix", "flask"), read against the matrix."""
    match = re.fullmatch(r"py(\d)(\d+)-(.+)", name)
    assert match, "{!r} does not start with a tox Python factor".format(name)
    rest = match.group(3)
    readings = [(rest[:-len(app) - 1], app) for app in APPS if rest.endswith("-" + app)]
    readings = [(server, app) for server, app in readings if server in SERVERS]
    assert len(readings) == 1, "{!r} reads as {} cells: {}".format(name, len(readings), readings)
    return ("{}.{}".format(match.group(1), match.group(2)),) + readings[0]


@functools.lru_cache(maxsize=None)
def tox_envs(*selection: str) -> Dict[str, str]:
    """The benchmark environments `tox l` lists, name -> description (tox's fallback `py` left out)."""
    listed = tox("l", *selection)
    assert listed.returncode == 0, listed.stdout
    envs = {}
    for line in listed.stdout.splitlines():
        name, arrow, description = line.partition(" -> ")
        if arrow and name.strip().startswith("py") and name.strip() != "py":
            envs[name.strip()] = description.strip()
    return envs


def python_families() -> List[str]:
    return ["bench-" + version for version in MATRIX_DATA["pythons"]]


def test_tox_lists_the_same_cells_as_nox_each_described_by_its_server():
    envs = tox_envs()
    tox_cells = [parse_env_name(name) for name in envs]
    assert len(tox_cells) == len(set(tox_cells)), "two tox environments for one cell"
    from_nox = nox_cells("-s", *python_families())
    assert from_nox, "nox lists no cell: no interpreter found?"
    assert set(tox_cells) == from_nox, "only tox: {}; only nox: {}".format(
        sorted(set(tox_cells) - from_nox), sorted(from_nox - set(tox_cells)))
    for name, description in envs.items():
        python, server, app = parse_env_name(name)
        base = MATRIX_DATA["servers"][server.split("+")[0]]["summary"]
        assert description.startswith(base) and description.endswith("app {} on Python {}".format(app, python))


@functools.lru_cache(maxsize=None)
def tox_labels() -> Dict[str, Set[str]]:
    """Every environment's labels, from one `tox c` (a `tox -m` per label would start tox each time)."""
    shown = tox("c", "-e", "ALL", "-k", "labels")
    assert shown.returncode == 0, shown.stdout
    labels: Dict[str, Set[str]] = {}
    for section in shown.stdout.split("[testenv:")[1:]:
        name, _, body = section.partition("]")
        labels[name] = {line.strip() for line in body.splitlines()[2:] if line.startswith("  ")}
    return labels


@pytest.mark.parametrize("tag", ["asgi", "nginx-unix", "workers-greenlet", "py3.9", "django-async"])
def test_a_tox_label_names_the_cells_the_nox_tag_of_that_name_selects(tag):
    selected = {parse_env_name(name) for name, labels in tox_labels().items() if tag in labels}
    assert selected, "no environment carries the label {}".format(tag)
    # The plain bench family repeats cells of the bench-3.X ones: as (python, server, app) they coincide.
    assert selected == nox_cells("-t", tag)


def test_tox_selects_by_label_as_nox_selects_by_tag():
    assert {parse_env_name(name) for name in tox_envs("-m", "asgi")} == nox_cells("-t", "asgi")


def test_a_tox_environment_hands_the_cell_and_the_arguments_after_dashes_to_the_harness():
    name = sorted(tox_envs("-m", "gunicorn+nginx-unix"))[-1]
    python, server, app = parse_env_name(name)
    shown = tox("c", "-e", name, "-k", "env_dir", "commands", "commands_pre", "base_python", "deps",
                "--", "--duration", "3s", "--scenarios", "json")
    assert shown.returncode == 0, shown.stdout
    values = dict(re.findall(r"^(\w+) = (.*)$", shown.stdout, re.MULTILINE))
    venv = values["env_dir"]
    harness_python = str(REPO_ROOT / ".nox" / "harness" / "bin" / "python")
    assert values["commands"] == ("{} -m benchmatrix run --venv {} --server {} --app {} --duration 3s "
                                  "--scenarios json".format(harness_python, venv, server, app))
    assert "harness_env.ensure_harness_env" in values["commands_pre"]
    assert values["base_python"] == "python" + python
    lock = MATRIX_DATA["servers"][server.split("+")[0]]["lock"]
    assert "-c {}".format(REPO_ROOT / "configs" / "constraints" / "py{}-{}.txt".format(python, lock)) in shown.stdout
    # tox resolves python3.X first on PATH, where the toxfile links it to the interpreter nox uses.
    from benchmatrix.matrix.interpreters import find_interpreter

    link = REPO_ROOT / ".tox" / "interpreters" / ("python" + python)
    assert os.path.realpath(str(link)) == os.path.realpath(find_interpreter(python).path)


@pytest.mark.slow
def test_a_tox_environment_measures_its_cell_and_appends_a_record(tmp_path):
    # The cheapest cell (wheels only, no database) on the newest Python that has it.
    candidates = [n for n in tox_envs("-m", "gunicorn") if n.endswith("-gunicorn-flask")]
    assert candidates, "no gunicorn/flask environment listed"
    name = max(candidates, key=lambda n: tuple(int(p) for p in parse_env_name(n)[0].split(".")))
    python, server, app = parse_env_name(name)
    results = tmp_path / "results"
    harness = Harness(results)  # its tag marks every process the run starts, for the stray check
    run = tox("-e", name, "--", "--duration", "1s", "--trials", "1", "--warmup", "0", "--primer", "0s",
              "--scenarios", "json", "--results-dir", str(results), timeout=900, env=harness.env())
    assert run.returncode == 0, run.stdout[-5000:]
    records = harness.records()
    assert len(records) == 1, run.stdout[-3000:]
    record = records[0]
    assert (record["python"], record["server"], record["app"], record["scenario"]) == (python, server, app, "json")
    assert record["status"] in ("ok", "flagged") and record["rps"] > 0, record["flags"]
    # The server ran from the tox environment, the harness from its own.
    meta = record["meta"]
    assert Path(meta["cell_environment"]["prefix"]).resolve() == (REPO_ROOT / ".tox" / name).resolve()
    assert Path(meta["harness"]["prefix"]).resolve() == (REPO_ROOT / ".nox" / "harness").resolve()
    rows = [line for line in (results / "results.md").read_text().splitlines() if "| json " in line]
    assert len(rows) == 1 and " {} ".format(server) in rows[0] and " {} ".format(python) in rows[0]
    assert harness.strays() == [], "the tox run left processes behind"


def test_a_dropped_cell_spelled_as_a_tox_name_says_why_instead_of_passing_empty():
    # tox accepts any name made of known factors; without the toxfile's check this one would
    # "pass" as an environment with no command. `tox c` only reads the configuration.
    from benchmatrix.matrix.cells import Cell, exclusion_reason, load_matrix
    from benchmatrix.matrix.interpreters import find_interpreters

    matrix = load_matrix()
    found = find_interpreters(matrix.pythons)
    dropped = next(Cell(python=p, server=s, app=a) for p in sorted(found) for s in matrix.servers.values()
                   for a in matrix.apps.values() if exclusion_reason(Cell(python=p, server=s, app=a)))
    name = "py{}-{}-{}".format(dropped.python.replace(".", ""), dropped.server.name, dropped.app.name)
    assert name not in tox_envs()
    shown = tox("c", "-e", name, "-k", "commands")
    assert shown.returncode != 0 and exclusion_reason(dropped) in shown.stdout, shown.stdout
