"""The nox layer: what `nox -l` lists can run, and a listed cell runs exactly as typed."""

from __future__ import annotations

import datetime
import functools
import glob
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, Harness
from benchmatrix.matrix.interpreters import find_interpreters
from benchmatrix.matrix.cells import Cell, all_cells, exclusion_reason, find_cell, load_matrix

# The tests that run real cells and services are marked slow: the default run has them, -m 'not slow' skips them.

MATRIX = load_matrix()
NEWEST = max(find_interpreters(MATRIX.pythons), key=lambda v: tuple(map(int, v.split("."))))


def nox(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", "-f", str(REPO_ROOT / "noxfile.py"), *args],
                          cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


@functools.lru_cache(maxsize=None)
def _listed(*args: str) -> str:
    result = nox("-l", "--json", *args)
    assert result.returncode == 0, result.stdout
    return result.stdout


def listed(*args: str):
    """What `nox -l --json ARGS` lists; each listing is asked for once per test run (listing is pure)."""
    return json.loads(_listed(*args))


def bench_cells():
    """The listed bench sessions that are cells: bench-3.14 with no 3.14 found here is a session too, one
    that only says how to install it."""
    return [session for session in listed("-k", "bench") if session["call_spec"]]


def test_every_listed_bench_session_is_a_valid_cell_on_a_found_python():
    sessions = bench_cells()
    found = find_interpreters(MATRIX.pythons)
    assert sessions, "no bench session listed"
    for session in sessions:
        family, _, arguments = session["session"].partition("(")
        assert family == session["name"] and (family == "bench" or family[len("bench-"):] in found)
        spec = session["call_spec"]
        version = next(t[2:] for t in session["tags"] if t.startswith("py"))
        cell = find_cell(MATRIX, version, spec["server"], spec["app"])
        assert exclusion_reason(cell) is None
        assert arguments == "server='{}', app='{}')".format(spec["server"], spec["app"])
        # A plain version, as nox users expect (`nox -p 3.12`); nox finds it through the link to the
        # interpreter found on disk, first on PATH (matrix/interpreters.expose_on_path).
        assert session["python"] == version
        link = REPO_ROOT / ".nox" / "interpreters" / "python{}".format(version)
        assert os.path.realpath(str(link)) == os.path.realpath(found[version].path)


def test_the_plain_bench_family_has_one_session_per_server_and_app():
    sessions = [s for s in bench_cells() if s["name"] == "bench"]
    pairs = {(s["call_spec"]["server"], s["call_spec"]["app"]) for s in sessions}
    runnable = {(c.server.name, c.app.name) for c in all_cells(MATRIX, find_interpreters(MATRIX.pythons))}
    assert len(sessions) == len(pairs) and pairs == runnable


def test_async_django_is_one_bench_session_per_asgi_server_and_nothing_on_wsgi():
    sessions = [s for s in bench_cells()
                if s["name"] == "bench" and s["call_spec"].get("app") == "django-async"]
    servers = {s["call_spec"]["server"] for s in sessions}
    asgi = {c.server.name for c in all_cells(MATRIX, find_interpreters(MATRIX.pythons)) if c.app.name == "django-async"}
    assert servers == asgi and "gunicorn-uvicorn" in servers and len(sessions) == len(servers)
    assert "bench(server='gunicorn-uvicorn', app='django-async')" in {s["session"] for s in sessions}


def test_a_python_tag_selects_that_interpreter_only():
    found = sorted(find_interpreters(MATRIX.pythons))
    sessions = listed("-t", "py" + found[0])
    assert sessions and all("py" + found[0] in s["tags"] for s in sessions)


@pytest.mark.slow
@pytest.mark.parametrize("python", ["3.9"])
def test_a_cell_runs_through_nox_on_a_pinned_interpreter(python, tmp_path):
    if python not in find_interpreters([python]):
        pytest.skip("Python {} is not installed here".format(python))
    session = "bench-{}(server='gunicorn', app='flask')".format(python)
    result = nox("-s", session, "--", "--duration", "1s", "--warmup", "0", "--scenarios", "json",
                 "--trials", "1", "--max-busy", "1", "--connections", "8", "--results-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout
    (record,) = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert record["python"] == python and record["rps"] > 0
    assert record["status"] == "ok", record["flags"]
    assert record["meta"]["python"]["version"].startswith(python + ".")
    # The harness ran from its own environment on the newest Python; the cell's holds only what is measured.
    newest = max(find_interpreters(MATRIX.pythons), key=lambda v: tuple(map(int, v.split("."))))
    assert record["meta"]["harness"]["python"]["version"].startswith(newest + ".")
    assert record["meta"]["harness"]["prefix"] != record["meta"]["cell_environment"]["prefix"]
    installed = record["meta"]["cell_environment"]["installed"]
    assert "gunicorn" in installed and "flask" in installed
    assert not {"tabulate", "psutil", "matplotlib"} & set(installed), sorted(installed)
    cell_python = os.path.join(record["meta"]["cell_environment"]["prefix"], "bin", "python")
    for package in ("tabulate", "psutil", "matplotlib"):
        imported = subprocess.run([cell_python, "-c", "import " + package], stderr=subprocess.PIPE, text=True)
        assert imported.returncode != 0 and "No module named" in imported.stderr, package


@pytest.mark.slow
def test_ctrl_c_on_nox_stops_the_cell_and_everything_it_started(tmp_path):
    harness = Harness(tmp_path)  # only for its tag: every process below inherits it
    process = subprocess.Popen(
        [sys.executable, "-m", "nox", "-f", str(REPO_ROOT / "noxfile.py"), "-s",
         "bench(server='gunicorn-gthread', app='flask')", "--", "--duration", "30s",
         "--warmup", "0", "--primer", "0", "--ceiling", "off", "--machine-sample", "0",
         "--results-dir", str(tmp_path)],  # no ceiling or sample: the test is about stopping
        cwd=str(REPO_ROOT), env=harness.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if "trial 1/" in line:
                break
        assert len(harness.strays()) >= 4  # nox, harness, gunicorn master and workers, wrk
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole group
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    assert "interrupted" in output, output
    assert harness.strays() == []


@pytest.mark.slow
def test_a_matrix_run_prepares_every_environment_before_it_measures_any(tmp_path):
    # Two cells: uvicorn direct and behind nginx, raw app, on their default Python.
    result = nox("-s", "smoke", "--", "-k", "uvicorn and raw and not gunicorn")
    assert result.returncode == 0, result.stdout
    output = result.stdout
    prepared = output.index("benchmatrix: prepared in")
    assert output.index("benchmatrix: preparing the 2 cell environment(s) first") < prepared
    assert prepared < output.index("benchmatrix: [cell 1/")
    folder = output.split("logs in ", 1)[1].split(")", 1)[0]
    logs = "".join(open(path).read() for path in sorted(glob.glob(os.path.join(folder, "prepare-*.log"))))
    # Every cell's environment was installed in the preparation; no cell measured beforehand.
    assert logs.count("Running session bench(server='uvicorn") == 2 and "benchmatrix: cell:" not in logs
    # Nothing was installed once measuring began: every installed file is older than the first
    # cell's start, which its run id stamps (UTC, to the second). Python's own bytecode caches,
    # written when the server first imports a module, are not installs.
    run_ids = [os.path.basename(path) for path in glob.glob(os.path.join(folder, "raw", "2*"))]  # not ceiling-*
    first_start = min(datetime.datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() for run_id in run_ids)
    newest_install = max(os.stat(os.path.join(root, name)).st_mtime
                         for venv in glob.glob(str(REPO_ROOT / ".nox" / "bench-server-uvicorn-app-*"))
                         for root, _, names in os.walk(venv) if "__pycache__" not in root
                         for name in names if not name.endswith(".pyc"))
    assert len(run_ids) == 2 and newest_install < first_start + 1


@pytest.mark.slow
def test_an_interleaved_comparison_through_nox_prepares_and_compares_the_named_cells(tmp_path):
    result = nox("-s", "interleave", "--", "gunicorn/flask", "gunicorn-gthread/flask", "--scenarios", "json",
                 "--duration", "1s", "--warmup", "0", "--connections", "8", "--min-trials", "2",
                 "--target-ci", "1", "--max-load", "4", "--max-busy", "1", "--results-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["server"] for r in records] == ["gunicorn", "gunicorn-gthread"]
    # Each ran from its own bench session's virtualenv, as `nox -s bench(...)` builds it.
    prefixes = [r["meta"]["cell_environment"]["prefix"] for r in records]
    assert [os.path.basename(p) for p in prefixes] == ["bench-server-gunicorn-app-flask",
                                                       "bench-server-gunicorn-gthread-app-flask"]
    # Trials alternate (A B, then B A), and the machine, its lock and the group are each record's own copy.
    first, second = records
    assert first["rps"] > 0 and second["rps"] > 0
    assert first["meta"]["interleaved"]["group"] == second["meta"]["interleaved"]["group"]
    rounds = len(first["trials"])  # at least 2; more when 2 left the ratio's interval wider than asked
    assert rounds >= 2 and len(second["trials"]) == rounds
    assert [t["position_in_round"] for t in first["trials"]] == [1 + r % 2 for r in range(rounds)]
    assert [t["position_in_round"] for t in second["trials"]] == [2 - r % 2 for r in range(rounds)]
    assert second["meta"]["machine"] == first["meta"]["machine"]
    assert second["meta"]["machine_lock"] == first["meta"]["machine_lock"]
    # One ABBA pair of 1 s slices (--duration and --min-trials are the older names of --slice and
    # --min-pairs), a speed reference timed before every slice, and too few pairs to decide: the
    # comparison says so, prints it and records it.
    assert all(t["resources"]["speed_reference_ms"] > 0 for t in first["trials"] + second["trials"])
    sliced = second["meta"]["interleaved"]
    assert (sliced["slice_s"], sliced["pairs"], sliced["method"], sliced["stopped_by"]) == (1, 1, "rps", "budget")
    assert sliced["undecided"]["statement"] == "too few pairs to say what difference could be seen"
    assert "is not told apart from gunicorn/flask/" in result.stdout
    # The closing summary states both metrics' ratios: none yet, from one pair.
    for metric in ("req/s", "CPU/request"):
        (summary,) = [line for line in result.stdout.splitlines()
                      if "json: gunicorn-gthread/flask/" in line and " / gunicorn/flask/" in line
                      and " {}: ".format(metric) in line]
        assert summary.endswith(" {}: -".format(metric)), summary


def test_interleave_needs_two_cells_and_says_how_to_name_them():
    result = nox("-s", "interleave", "--", "gunicorn/flask")
    assert result.returncode != 0 and "name at least two cells" in result.stdout


def test_a_python_version_alone_selects_that_pythons_cells_by_nox_convention():
    found = sorted(find_interpreters(MATRIX.pythons), key=lambda v: tuple(map(int, v.split("."))))
    version = found[0]
    sessions = listed("-p", version)
    cells = {(c.server.name, c.app.name) for c in all_cells(MATRIX, [version])}
    assert {(s["call_spec"]["server"], s["call_spec"]["app"]) for s in sessions} == cells
    assert {s["python"] for s in sessions} == {version} and {s["name"] for s in sessions} == {"bench-" + version}
    # Given with a session, -p narrows that selection the usual way.
    assert listed("-p", version, "-s", "tests") == []


def _interface(spec) -> str:
    return Cell("3.13", MATRIX.servers[spec["server"]], MATRIX.apps[spec["app"]]).interface


@pytest.mark.parametrize("tag, belongs", [
    ("asgi", lambda spec: _interface(spec) == "asgi"),
    ("rsgi", lambda spec: _interface(spec) == "rsgi"),
    ("granian", lambda spec: MATRIX.servers[spec["server"]].recipe == "granian"),
    ("nginx-unix", lambda spec: spec["server"].endswith("+nginx-unix")),
    ("workers-greenlet", lambda spec: MATRIX.servers[spec["server"]].worker_class in (
        "gevent", "eventlet", "meinheld", "meinheld.gmeinheld.MeinheldWorker")),
])
def test_a_tag_lists_exactly_the_cells_it_names(tag, belongs):
    sessions = listed("-t", tag)
    assert sessions
    assert all(belongs(s["call_spec"]) for s in sessions)
    every = bench_cells()
    assert {s["session"] for s in every if belongs(s["call_spec"])} == {s["session"] for s in sessions}


RESUMED = ["bench-{}(server='{}', app='raw')".format(NEWEST, server) for server in ("uvicorn", "uvicorn+nginx-unix")]
QUICK = ["--", "--duration", "1s", "--warmup", "0", "--primer", "1s", "--trials", "1", "--scenarios", "json",
         "--connections", "8", "--max-busy", "1"]


@pytest.mark.slow
def test_a_matrix_run_prepares_its_cells_before_measuring_and_a_rerun_skips_the_cells_measured(tmp_path):
    # What `nox -s bench-3.13` does for its cells, on two: the first cell to run prepares both; run
    # again, both are skipped as measured. (The state behind it: tests/sessions/test_sessions_state.py.)
    harness = Harness(tmp_path)  # only for its tag: every process below inherits it
    command = [sys.executable, "-m", "nox", "-f", str(REPO_ROOT / "noxfile.py"), "-s", *RESUMED, *QUICK,
               "--results-dir", str(tmp_path)]
    first = subprocess.run(command, cwd=str(REPO_ROOT), env=harness.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600)
    assert first.returncode == 0, first.stdout
    output = first.stdout
    preparing = output.index("benchmatrix: preparing the 2 cell environment(s) first")
    prepared = output.index("benchmatrix: prepared in")
    assert preparing < prepared < output.index("benchmatrix: [cell 1/2")
    assert output.count("benchmatrix: preparing the") == 1  # the second cell does not prepare again
    folder = output.split("logs in ", 1)[1].split(")", 1)[0]
    logs = "".join(open(path).read() for path in sorted(glob.glob(os.path.join(folder, "prepare-*.log"))))
    assert all("Running session " + name in logs for name in RESUMED), logs
    assert "benchmatrix: cell:" not in logs and "preparing the" not in logs  # installs only, no nesting
    ledger = [json.loads(line) for line in (tmp_path / "measured-cells.jsonl").read_text().splitlines()]
    assert [entry["server"] for entry in ledger] == ["uvicorn", "uvicorn+nginx-unix"]
    before = (tmp_path / "results.jsonl").read_text()

    again = subprocess.run(command, cwd=str(REPO_ROOT), env=harness.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=600)
    assert again.returncode == 0, again.stdout
    assert again.stdout.count("already measured") == 2 and "preparing the" not in again.stdout, again.stdout
    assert (tmp_path / "results.jsonl").read_text() == before
    assert harness.strays() == []
