"""Database and upstream cells end to end: embedded PostgreSQL, the stub, the cooperative check."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them


@pytest.fixture
def no_leftovers(monkeypatch):
    # Processes are covered by the harness fixture: PostgreSQL inherits the test's environment tag.
    # The clusters go to a temp folder of the test's own (the harness follows TMPDIR), so what other
    # runs on this machine have open meanwhile does not count; short, and enterable by the server's account.
    parent = Path(tempfile.mkdtemp(prefix="bm-", dir="/tmp"))
    parent.chmod(0o755)
    monkeypatch.setenv("TMPDIR", str(parent))
    yield parent
    left = sorted(path.name for path in parent.glob("benchmatrix-pg-*"))
    shutil.rmtree(str(parent), ignore_errors=True)
    assert left == [], "cluster directories left behind: {}".format(left)


def test_a_sync_worker_serializes_slow_io_and_the_check_says_so(harness, no_leftovers):
    result = harness.bench("gunicorn", "django", "--scenarios", "agents,template", "--workers", "1",
                           "--coop-check", "on", "--coop-requests", "3", "--ceiling", "off")
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [r["scenario"] for r in records] == ["agents", "template"]
    for record in records:
        assert record["rps"] > 0 and record["status"] != "failed", record["flags"]
        # The promised work was done, as PostgreSQL counted it: a query per answer (a new connection
        # for /agents), a few more for requests still in flight when the load stopped.
        work = record["meta"]["work"]
        assert "work-skipped" not in [f["code"] for f in record["flags"]]
        assert 1.0 <= work["per_request"]["queries"] < 1.5, work
        assert work["not_counted"] == {} and work["trials_counted"] == 1
        database = record["meta"]["database"]
        assert database["embedded"] and database["version"] and database["settings"]["max_connections"]
        checks = {c["scenario"]: c for c in record["meta"]["coop_check"]}
        # one sync worker holds one request at a time: 3 one-second waits take about 3 s
        for name in ("db_sleep", "upstream"):
            assert checks[name]["verdict"] == "serialized" and checks[name]["wall_s"] >= 2.5, checks[name]


def test_an_asyncio_stack_overlaps_the_same_waits(harness, no_leftovers):
    result = harness.bench("gunicorn-aiohttp", "aiohttp", "--scenarios", "agents_with_pool", "--workers", "1",
                           "--coop-check", "on", "--coop-requests", "5", "--ceiling", "off")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert 1.0 <= record["meta"]["work"]["per_request"]["queries"] < 1.5, record["meta"]["work"]  # asyncpg's too
    checks = {c["scenario"]: c for c in record["meta"]["coop_check"]}
    for name in ("db_sleep", "upstream"):
        assert checks[name]["verdict"] == "overlapped" and checks[name]["wall_s"] < 1.5, checks[name]
    row = [line for line in (harness.results_dir / "results.md").read_text().splitlines() if "agents_with_pool" in line]
    assert row, "the record has no markdown row"


def test_a_database_url_that_does_not_connect_is_a_clear_error(harness, no_leftovers):
    result = harness.bench("gunicorn", "flask", "--scenarios", "agents",
                           BENCH_DATABASE_URL="postgresql://nobody:secret@127.0.0.1:1/nowhere")
    assert result.returncode == 2
    assert "cannot connect to PostgreSQL" in result.stdout and "BENCH_DATABASE_URL" in result.stdout
    assert "secret" not in result.stdout  # the password is masked
    assert harness.records() == []


def test_an_app_without_database_endpoints_refuses_them_by_name(harness):
    result = harness.bench("gunicorn", "raw", "--scenarios", "agents")
    assert result.returncode == 2
    assert "does not serve scenario 'agents'" in result.stdout


def test_each_run_of_a_serializing_server_starts_on_an_idle_server(harness):
    # One sync worker, 4 connections, 1 s sleeps: the primer leaves ~4 s of queued requests.
    # Without waiting them out the 2 s trial would complete nothing and fail.
    result = harness.bench("gunicorn", "flask", "--scenarios", "sleep", "--workers", "1",
                           "--duration", "2s", "--connections", "4", "--coop-check", "off", "--ceiling", "off",
                           "--primer", "1s")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["status"] != "failed" and record["rps"] > 0, record["flags"]
    assert record["trials"][0]["settle_s"] > 1.5
    assert record["meta"]["phases_s"]["primer"] == 3  # the I/O profile's primer, as run, not the 1 s asked
    assert "waited" in result.stdout and "requests left by the previous run" in result.stdout


def test_an_app_that_answers_right_but_skips_the_work_is_flagged(harness, no_leftovers):
    # Its /agents serves the rows from memory after one query; its /upstream_fanout makes one call of ten.
    result = harness.bench("gunicorn", "flask", "--scenarios", "agents,upstream_fanout", "--ceiling", "off",
                           "--coop-check", "off", "--app-target", "tests.apps.skips_work:app")
    assert result.returncode == 0, result.stdout
    records = {r["scenario"]: r for r in harness.records()}
    for name, skipped in (("agents", {"queries": 1, "new_connections": 1}), ("upstream_fanout", {"upstream_calls": 10})):
        record = records[name]
        work = record["meta"]["work"]
        assert record["status"] == "flagged" and work["answers"] > 10, record["flags"]
        reasons = [f["reason"] for f in record["flags"] if f["code"] == "work-skipped"]
        assert len(reasons) == len(skipped), record["flags"]
        for kind, promised in skipped.items():
            assert work["per_request"][kind] < promised / 2, work
