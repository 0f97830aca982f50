"""Point 5 of issue 28: each bad input of a user's project gives its one clear error before any load,
with nothing left running (the harness fixture checks) and nothing written where nothing was measured."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from benchmatrix.project_config.active import PROJECT_VARIABLE
from tests.project.throwaway import CONFIG, write_project

OPTIONS = ("--scenarios", "items", "--ceiling", "off", "--pin", "off")


def run(harness, tmp_path, **replaced):
    project = write_project(tmp_path / "shop", **replaced)
    return harness.bench("gunicorn", "shop", *OPTIONS, **{PROJECT_VARIABLE: str(project)})


def test_an_app_that_fails_to_import_shows_its_tracebacks_tail(harness, tmp_path):
    result = run(harness, tmp_path, **{"benchmatrix.toml": CONFIG.replace("shop:create_app()", "shop:make_app()")})
    assert result.returncode == 2, result.stdout
    assert "benchmatrix: error: app 'shop' failed to import (shop:make_app(), from {}".format(
        tmp_path / "shop") in result.stdout
    assert "ImportError: cannot import name 'make_app' from 'shop'" in result.stdout
    assert "fix the error above, or the target in benchmatrix.toml's [apps.shop]" in result.stdout
    assert "booting" not in result.stdout and not harness.results_dir.exists()


def test_a_failing_setup_command_shows_its_output(harness, tmp_path):
    setup = 'setup = ["python -c \\"print(\'creating tables\'); raise SystemExit(3)\\""]\n'
    result = run(harness, tmp_path, **{"benchmatrix.toml": CONFIG.replace('install = ["-e ."]\n', setup)})
    assert result.returncode == 2, result.stdout
    assert ("benchmatrix: error: setup command of app 'shop' failed (exit code 3): python -c \"print('creating "
            "tables'); raise SystemExit(3)\"\n  in {}\n  last lines of its output:\n    creating tables\n  fix the "
            "command in benchmatrix.toml's [apps.shop] setup, or what it runs".format(tmp_path / "shop")
            ) in result.stdout
    assert "booting" not in result.stdout and not harness.results_dir.exists()


def test_an_answer_that_never_matches_shows_expected_and_received_before_any_load(harness, tmp_path):
    result = run(harness, tmp_path, **{"benchmatrix.toml": CONFIG.replace('name = "tea"', 'name = "coffee"')})
    assert result.returncode == 1, result.stdout
    assert re.search(r"items: .*failed \(verification-failed\)", result.stdout)
    assert ("""GET /api/items returned body '{"items":[{"id":0,"name":"tea"},{"id":1,"name":"cake"}]}\\n' """
            """(expected '{"items": [{"id": 0, "name": "coffee"}, {"id": 1, "name": "cake"}]}')""") in result.stdout
    assert "trial" not in result.stdout
    (record,) = harness.records()  # the failed record says so; nothing was loaded
    assert (record["status"], record["app"]) == ("failed", "shop")


@pytest.mark.parametrize("broken, message", [
    (CONFIG.replace("json = { echo", "jsn = { echo"),
     "benchmatrix: error: {}/benchmatrix.toml, line 14: [scenarios.echo] unknown key 'jsn'; a scenario takes: "),
    (CONFIG.replace('path = "/api/items"', 'path = "/api/items"\nstatus = "200"'),
     "benchmatrix: error: {}/benchmatrix.toml, line 7: [scenarios.items] 'status' must be an HTTP status"),
])
def test_a_malformed_config_names_the_key_and_its_line(harness, tmp_path, broken, message):
    result = run(harness, tmp_path, **{"benchmatrix.toml": broken})
    assert result.returncode == 2, result.stdout
    assert message.format(tmp_path / "shop") in result.stdout
    assert "Traceback" not in result.stdout and not harness.results_dir.exists()


def test_nox_lists_nothing_from_a_malformed_config_and_names_the_line(tmp_path):
    project = write_project(tmp_path / "shop", **{"benchmatrix.toml": CONFIG.replace("json = { echo", "jsn = { echo")})
    listed = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=str(project), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    assert listed.returncode != 0
    assert listed.stdout.startswith("benchmatrix: error: {}/benchmatrix.toml, line 14: [scenarios.echo] unknown key "
                                    "'jsn'; a scenario takes: ".format(project))
    assert "Traceback" not in listed.stdout and not (project / ".nox").exists()
