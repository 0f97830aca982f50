"""Load plans on real cells: a concurrency sweep, a latency-target search, the same connections on every driver."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them


def test_a_sweep_gives_one_record_per_connection_count_and_the_report_names_the_knee(harness, tmp_path):
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--connections", "4,8,16")
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [r["connections"] for r in records] == [4, 8, 16]
    assert {r["mode"] for r in records} == {"closed-loop"}
    assert all(r["meta"]["sweep"] == {"levels": [4, 8, 16], "level": r["connections"]} for r in records)
    # Each level keeps its own raw files, and each had its own ceiling measured.
    assert len({t["raw_output"] for r in records for t in r["trials"]}) == 3
    assert all(r["meta"]["load_generator_ceiling"]["fingerprint"]["connections"] == r["connections"] for r in records)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- benchmatrix:results:start -->\n<!-- benchmatrix:results:end -->\n")
    report = harness.run("report", "--results-dir", str(harness.results_dir), "--readme", str(readme),
                         "--charts-dir", str(tmp_path / "charts"))
    assert report.returncode == 0, report.stdout
    text = readme.read_text()
    assert "concurrency sweep" in text and "| 4 · 8 · 16 " in text
    assert "connections (" in text or "not reached" in text  # the knee, or why there is none
    assert (tmp_path / "charts" / "sweep-json.png").is_file() and "charts/sweep-json.png" in text


def test_a_sweep_refuses_rates_and_interleave_refuses_sweeps(harness):
    result = harness.bench("gunicorn", "flask", "--connections", "4,8", "--rate", "100")
    assert result.returncode == 2 and "runs closed loop only" in result.stdout
    result = harness.run("interleave", "--cell", "gunicorn/flask", "--cell", "gunicorn-gthread/flask",
                         "--connections", "4,8", "--results-dir", str(harness.results_dir))
    assert result.returncode == 2 and "one connection count" in result.stdout
    assert harness.records() == []


def test_a_latency_target_search_records_the_highest_rate_that_held_twice(harness):
    # A target any machine meets at any rate the server completes: the answer is the peak, or a step
    # below it where the fixed rate could not be held at the peak itself (achieved under 95%).
    # gunicorn-gthread keeps connections alive, so nothing but the server's own latency is measured.
    result = harness.bench("gunicorn-gthread", "flask", "--scenarios", "json", "--slo", "p50=20s")
    assert result.returncode == 0, result.stdout
    closed, search = harness.records()
    assert closed["mode"] == "closed-loop" and search["mode"] == "slo-search"
    slo = search["meta"]["slo"]
    assert slo["target"]["name"] == "p50" and slo["peak"] == closed["rps"]
    # A step or two below the peak at most: only the achieved rate can fail a probe, near the peak.
    assert 0.7 * closed["rps"] <= slo["rate"] <= round(closed["rps"]) and slo["confirmed"]
    probes = slo["probes"]
    assert [p["confirmation"] for p in probes][-2:] == [False, True] and probes[-1]["rate"] == slo["rate"]
    assert all(p["holds"] for p in probes if p["rate"] == slo["rate"])  # the answer held both times
    # The search only went below a rate that held after a later probe failed. Not necessarily one at
    # or below it (the pure test's model, where luck only lifts): on a real server a probe between
    # two that held can fail by bad luck too, and the bisection then rightly stays below it
    # (seen once in three full runs here).
    for index, probe in enumerate(probes):
        if probe["holds"] and probe["rate"] > slo["rate"]:
            assert any(not later["holds"] for later in probes[index + 1:]), probes
    assert all((harness.results_dir / p["raw_output"]).is_file() for p in probes)
    assert len(search["trials"]) == 2 and search["status"] == "ok", search["flags"]


def test_an_unreachable_target_bisects_down_to_nothing(harness):
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--slo", "p99=1us")
    assert result.returncode == 0, result.stdout
    _, search = harness.records()
    slo = search["meta"]["slo"]
    assert slo["rate"] == 0 and not slo["confirmed"] and search["trials"] == []
    assert len(slo["probes"]) >= 5 and all(not p["holds"] for p in slo["probes"])
    assert "no rate down to" in slo["summary"]


def test_the_built_in_driver_holds_the_runs_connections(harness):
    # 40 req/s on 8 connections: each connection sends every 0.2 s.
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--rate", "40", "--duration", "2s")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["connections"] == 8 and record["threads"] == 8
    command = record["meta"]["load_command"]
    assert command[command.index("--connections") + 1] == "8" and command[command.index("--threads") + 1] == "8"
    assert abs(record["achieved_rate"] - 40) <= 0.4, record["trials"]
    # gunicorn's sync worker closes every connection: the row says the driver's reconnects waited on it.
    (flag,) = [f for f in record["flags"] if f["code"] == "idle-reconnects"]
    assert "up to 200 ms at 40 req/s on 8 connections" in flag["reason"]
