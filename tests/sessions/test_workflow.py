"""The CI matrix: shards that cover every cell once, and a workflow actionlint accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def nox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", "-f", str(REPO_ROOT / "noxfile.py"), *args],
                          cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.fail("actionlint is not installed: it comes with configs/requirements/tests.txt")
    return found


def every_cell_session():
    listed = json.loads(nox("-l", "--json", "-k", "bench").stdout)
    # The pinned-Python families' cells (a Python not found here is a session with no cell).
    return {entry["session"] for entry in listed if entry["name"] != "bench" and entry["call_spec"]}


@pytest.mark.parametrize("count", [4, 16])
def test_the_shards_cover_every_cell_exactly_once_and_are_balanced(count):
    result = nox("-s", "shards", "--", "--count", str(count))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    sessions = [name for shard in plan["shards"] for name in shard["sessions"]]
    assert len(sessions) == len(set(sessions)) and set(sessions) == every_cell_session()
    assert [shard["index"] for shard in plan["shards"]] == list(range(1, count + 1))
    minutes = [shard["expected_minutes"] for shard in plan["shards"]]
    assert max(minutes) - min(minutes) <= max(minutes) * 0.1, minutes


def test_the_shard_plan_is_written_for_a_github_matrix(tmp_path):
    output = tmp_path / "github_output"
    assert nox("-s", "shards", "--", "--count", "3", "--github-output", str(output)).returncode == 0
    assert output.read_text() == "shards=[1, 2, 3]\n"


def test_a_shard_outside_the_plan_is_refused_with_the_range():
    result = nox("-s", "shard", "--", "--count", "4", "--index", "5")
    assert result.returncode != 0 and "give 1..4" in result.stdout + result.stderr


def test_actionlint_accepts_the_workflows():
    assert WORKFLOWS, "no workflow in .github/workflows"
    for workflow in WORKFLOWS:
        checked = subprocess.run([actionlint(), str(workflow)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, cwd=str(REPO_ROOT))
        assert checked.returncode == 0, checked.stdout


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("needs.plan.outputs", "needs.plann.outputs", 1))
    checked = subprocess.run([actionlint(), str(broken)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert checked.returncode != 0 and "plann" in checked.stdout


def test_the_workflow_calls_only_sessions_that_exist():
    listed = nox("-l").stdout
    for workflow in WORKFLOWS:
        for session in re.findall(r"tools/nox -s (\w+)", workflow.read_text()):
            assert re.search(r"^[*-] {}\b".format(session), listed, re.M), session
