"""Resumable matrix runs: what makes two runs of a cell the same, and the ledger of finished ones."""

from __future__ import annotations

import json

from tests.conftest import REPO_ROOT
from benchmatrix.hosts.fingerprint import fingerprint_of, machine_identity
from benchmatrix.matrix.cells import all_cells, load_matrix
from benchmatrix.matrix.tags import WORKER_FAMILIES, cell_tags
from benchmatrix.run import resume

CELL = {"python": "3.13", "server": "gunicorn", "app": "flask"}
PINS = {"constraints": {"file": "py3.13-default.txt", "sha": "abc"}, "requirements": ["gunicorn", "flask"]}
SOURCE = {"commit": "0" * 40, "changes": None}


def fingerprint(options=("--duration", "3s"), machine="m1", **changes):
    facts = {"cell": CELL, "pins": PINS, "source": SOURCE}
    facts.update(changes)
    return resume.run_fingerprint(facts["cell"], facts["pins"], list(options), facts["source"], machine)


def test_where_and_how_visibly_a_cell_runs_is_not_what_it_measures():
    assert resume.measured_options(["--duration", "3s", "--progress", "1/2@3.0:0", "--results-dir=/tmp/x",
                                    "--venv", "/v", "--no-wait", "--scenarios", "json"]) == [
        "--duration", "3s", "--scenarios", "json"]
    assert fingerprint(("--duration", "3s", "--results-dir", "/a")) == fingerprint(("--duration", "3s"))


def test_every_measured_difference_changes_the_fingerprint():
    base = fingerprint()
    assert fingerprint(options=("--duration", "5s")) != base
    assert fingerprint(machine="m2") != base
    assert fingerprint(cell=dict(CELL, python="3.12")) != base
    assert fingerprint(pins=dict(PINS, constraints={"file": "py3.13-default.txt", "sha": "abd"})) != base
    assert fingerprint(source={"commit": "0" * 40, "changes": "dirty"}) != base


def test_the_ledger_finds_finished_runs_and_survives_a_damaged_line(tmp_path):
    assert resume.measured_entry(tmp_path, "f1") is None  # no ledger yet
    resume.mark_measured(tmp_path, "f1", {"run_id": "r1", "status": "measured"})
    with open(str(resume.ledger_path(tmp_path)), "a") as ledger:
        ledger.write('{"fingerprint": "f2", "run_id": \n')  # cut off mid-line
    resume.mark_measured(tmp_path, "f3", {"run_id": "r3", "status": "failed"})
    assert resume.measured_entry(tmp_path, "f1")["run_id"] == "r1"
    assert resume.measured_entry(tmp_path, "f2") is None
    assert resume.measured_entry(tmp_path, "f3")["status"] == "failed"
    assert [json.loads(line)["fingerprint"] for line in resume.ledger_path(tmp_path).read_text().splitlines()
            if line.endswith("}")] == ["f1", "f3"]


def test_the_source_state_names_the_checkout_commit():
    state = resume.source_state(REPO_ROOT)
    assert state["commit"] is None or len(state["commit"]) == 40
    assert resume.source_state(REPO_ROOT / "no-such-dir") == {"commit": None, "changes": None}


def test_a_machine_is_named_by_its_host_and_hardware_not_its_load():
    identity = machine_identity()
    assert identity["cpu_count"] and "load" not in json.dumps(identity)
    assert fingerprint_of(identity) == fingerprint_of(dict(identity))
    assert fingerprint_of(dict(identity, hostname="elsewhere")) != fingerprint_of(identity)


def test_every_cell_is_tagged_with_topology_interface_worker_family_and_database_need():
    matrix = load_matrix()
    for cell in all_cells(matrix, matrix.pythons):
        tags = cell_tags(cell)
        assert cell.server.worker_class in WORKER_FAMILIES, cell.server.name
        assert {"py" + cell.python, cell.server.name, cell.app.name, cell.interface, cell.server.recipe} <= set(tags)
        assert ("direct" in tags) == (cell.server.front is None)
        assert ("db" in tags) == (cell.app.name != "raw")
        assert len([t for t in tags if t.startswith("workers-")]) == 1
