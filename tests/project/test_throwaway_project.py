"""The issue's acceptance, for real: a Flask project written from nothing, listed and measured through nox."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import Harness
from tests.project.throwaway import write_project

OPTIONS = ("--duration", "1s", "--trials", "1", "--warmup", "0", "--primer", "0", "--ceiling", "off",
           "--machine-sample", "0", "--max-busy", "1", "--connections", "8")


def nox(project, harness: Harness, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=str(project), env=harness.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)


@pytest.mark.slow
def test_a_throwaway_flask_project_is_listed_and_measured_into_its_own_reports(tmp_path):
    project = write_project(tmp_path / "shop")
    harness = Harness(project / "reports")  # its tag finds whatever the run left behind
    began = time.monotonic()
    listed = nox(project, harness, "-l")
    assert listed.returncode == 0, listed.stdout
    sessions = {line[2:].split(" [")[0].split(" -> ")[0] for line in listed.stdout.splitlines()
                if line[:2] in ("* ", "- ")}
    assert {"bench(server='gunicorn', app='shop')", "bench(server='uwsgi', app='shop')",
            "bench(server='gunicorn+nginx-unix', app='shop')", "smoke", "interleave", "report", "ranking", "regressions", "bisect"} <= sessions
    assert not [name for name in sessions if "flask" in name]  # benchmatrix's own apps are not the project's
    result = nox(project, harness, "-s", "bench(server='gunicorn', app='shop')", "--", *OPTIONS)
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [(r["scenario"], r["status"], r["app"]) for r in records] == [("items", "ok", "shop"), ("echo", "ok", "shop")]
    assert all(r["rps"] > 0 for r in records)
    assert harness.strays() == []
    print("listed and measured in {:.1f} s".format(time.monotonic() - began))
