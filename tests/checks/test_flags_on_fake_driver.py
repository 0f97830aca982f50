"""Every validity flag the run path raises, proven exactly: scripted driver results in, the record's flag
codes, reasons and status out (tests/fake_driver.py; no process, no network, no noise). At the end, the
load plans the run path chooses drivers for: a fixed-rate plan, a concurrency sweep."""

from __future__ import annotations

import json
import time

from benchmatrix.load.cross_check import H2load
from benchmatrix.load.parse import SocketErrors, WrkOutputError
from benchmatrix.checks.consistency import assess_consistency
from benchmatrix.checks.flags import make_flag
from benchmatrix.load.rates import parse_rates
from benchmatrix.load.results import WITH_SYNTHETIC

from tests.fake_driver import FakeDriver, bench, ceiling, fixed_rate_result, h2load_result, wrk_result


def closed_loop_record(tmp_path, results, **options):
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", results), **options)
    assert b.measurement.prepare(b.scenario)  # the answer checks before the load; no primer, no warmup
    return b.measurement._trials(b.scenario, b.measurement.plan.closed_loop(b.scenario))


def flags_of(record):
    return [(f.code, f.reason) for f in record.flags], record.status


CLEAN = [wrk_result(1000.0), wrk_result(1000.0), wrk_result(1000.0)]


def test_clean_trials_make_an_ok_record_with_their_median(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(990.0), wrk_result(1000.0), wrk_result(1010.0)])
    assert flags_of(record) == ([], "ok")
    assert record.rps == 1000.0 and [t["rps"] for t in record.trials] == [990.0, 1000.0, 1010.0]
    assert [t["raw_output"] for t in record.trials] == ["raw/run-fake/json.trial{}.txt".format(n) for n in (1, 2, 3)]


def test_non_2xx_responses(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(1000.0), wrk_result(1000.0, non2xx=50), wrk_result(1000.0)])
    assert flags_of(record) == ([("non-2xx", "trial 2: 50 of 1000 responses (5.0%) were non-2xx/3xx")], "flagged")


def test_socket_errors_and_timeouts(tmp_path):
    record = closed_loop_record(tmp_path, [
        wrk_result(1000.0, socket_errors=SocketErrors(connect=1, read=2, write=3)),
        wrk_result(1000.0, socket_errors=SocketErrors(timeout=7)), wrk_result(1000.0)])
    assert flags_of(record) == ([("socket-errors", "trial 1: connect 1, read 2, write 3"),
                                 ("timeouts", "trial 2: 7 requests timed out")], "flagged")


def test_no_successful_responses_fails_the_record(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(83000.0, non2xx=1000, avg_ms=0.5)] * 3)
    assert flags_of(record)[1] == "failed"
    assert [code for code, _ in flags_of(record)[0]] == ["no-successful-responses"] * 3
    assert flags_of(record)[0][0] == ("no-successful-responses", "trial 1: all 1000 responses were non-2xx/3xx")
    assert record.rps == 0.0


def test_a_load_tool_without_result_fails_the_record_with_its_first_line(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(1000.0), WrkOutputError("wrk could not connect: refused\nmore")])
    assert flags_of(record) == ([("load-failed", "wrk could not connect: refused")], "failed")
    assert len(record.trials) == 1  # the trial that finished is kept


def test_a_run_that_completed_no_request_failed_to_load(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(0.0, requests=0)], trials=1)
    assert flags_of(record) == ([("load-failed", "trial 1: wrk completed no request")], "failed")


def test_a_primer_without_any_response_fails_the_scenario_before_its_trials(tmp_path):
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", [wrk_result(500.0, non2xx=1000)]), primer_s=1)
    assert b.measurement.prepare(b.scenario) is False
    saved = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(saved) == 1 and '"primer: all 1000 responses were non-2xx/3xx"' in saved[0]
    assert '"status": "failed"' in saved[0]


def test_trials_that_spread_more_than_the_noise_explains_are_unstable(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(1000.0), wrk_result(1500.0), wrk_result(2000.0)])
    assert flags_of(record) == ([("unstable-trials", (
        "req/s varied 33.3% between 3 trials (min 1000, max 2000); expected about 8% (a healthy cell's trials vary "
        "~8% here), and above 21% is less likely than 0.001 from that noise alone"))], "flagged")


def test_a_fixed_limit_on_the_spread(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(1000.0), wrk_result(1100.0), wrk_result(1000.0)], max_cv=0.05)
    assert flags_of(record) == ([("unstable-trials", "req/s varied 5.6% between trials (min 1000, max 1100); "
                                                     "limit 5%")], "flagged")


def test_a_cell_at_seventy_percent_of_the_generators_ceiling_is_load_generator_bound(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # the ceiling's time is said in local time
    time.tzset()
    record = closed_loop_record(tmp_path, CLEAN, ceilings={(64, 2): ceiling(1400.0)})
    assert flags_of(record) == ([("load-generator-bound", (
        "1,000 req/s is 71% of the load generator's ceiling, 1,400 req/s (64 connections, 2 threads, wrk on CPU 1, "
        "nginx on CPU 0; measured 1970-01-01 00:00); at 70% or more the generator may have set the pace"))],
        "flagged")
    assert record.meta["ceiling_share"] == 0.7143
    assert flags_of(closed_loop_record(tmp_path, CLEAN, ceilings={(64, 2): ceiling(1500.0)})) == ([], "ok")


def test_a_server_process_that_died_during_a_trial(tmp_path):
    record = closed_loop_record(tmp_path, CLEAN, restarted=[False, True, False])
    assert flags_of(record) == ([("server-restarted", "the server's processes changed during trial(s) 2")],
                                "flagged")


def test_answers_that_changed_after_the_load(tmp_path):
    record = closed_loop_record(tmp_path, CLEAN, wrong_after=["status 500, expected 200"])
    assert flags_of(record) == ([("responses-changed", "1 of 2 answers checked were wrong; first, after the load: "
                                                       "status 500, expected 200")], "flagged")


def test_answers_of_another_size_under_load(tmp_path):
    record = closed_loop_record(tmp_path, [wrk_result(1000.0, bytes_per_request=400)] * 3, verified_sizes=[150])
    assert flags_of(record) == ([("responses-changed", "answers averaged 400.0 bytes under load against 150 "
                                                       "verified before it (allowed 147-163)")], "flagged")


def test_cell_flags_come_first_on_every_record(tmp_path):
    busy = make_flag("machine-busy", "60% of the CPUs were busy before the start (limit 25%)")
    record = closed_loop_record(tmp_path, CLEAN, cell_flags=[busy])
    assert flags_of(record) == ([("machine-busy", busy.reason)], "flagged")


def test_more_requests_in_flight_than_connections_cannot_be_true(tmp_path):
    # 3,767 req/s x 54.9 ms is 206.8 requests at once on 64 connections: what wrk's synthetic samples
    # made of gunicorn's gevent worker. Little's law bounds a closed loop by its connections.
    record = closed_loop_record(tmp_path, [
        wrk_result(3767.0, avg_ms=17.0), wrk_result(3767.0, avg_ms=54.9, latency_source=WITH_SYNTHETIC),
        wrk_result(3767.0, avg_ms=17.14)])
    assert flags_of(record) == ([("figures-disagree", "trial 2: 206.8 requests in flight (3,767 req/s x 54.90 ms "
                                                      "mean latency, wrk's figures with its synthetic samples) on 64 "
                                                      "connections, which a closed loop cannot exceed")], "flagged")
    assert [t["in_flight"] for t in record.trials] == [64.04, 206.81, 64.57]  # 1 and 3: within the timers' 1%


def test_a_fixed_rate_run_beyond_its_plan_and_errors_beyond_the_answers_disagree(tmp_path):
    record = fixed_rate_record(tmp_path, [fixed_rate_result(1000.0), fixed_rate_result(1000.0, achieved=1030.0),
                                          fixed_rate_result(1000.0, achieved=1015.0)])
    assert flags_of(record) == ([("figures-disagree", "trial 2: achieved 1,030.0 req/s of a planned 1000; a "
                                                      "fixed-rate driver sends no more than it plans")], "flagged")
    # A generator that reports more errors than answers, or more successes than answers: checked on the trials.
    assert [f.reason for f in assess_consistency([{"requests": 10, "errors": {"non2xx": 11}, "rps": 5.0,
                                                    "rps_all": 4.0}], 64)] == [
        "trial 1: 11 error responses of 10 responses in all",
        "trial 1: 5.0 successful responses per second of 4.0 in all"]


def fixed_rate_record(tmp_path, results, **options):
    b = bench(tmp_path, fixed_rate=FakeDriver("wrk-fixed-rate", results), **options)
    assert b.measurement.prepare(b.scenario)
    return b.measurement._trials(b.scenario, b.measurement.plan.fixed_rate(b.scenario, 1000.0))


def test_a_fixed_rate_run_behind_its_plan(tmp_path):
    record = fixed_rate_record(tmp_path, [fixed_rate_result(1000.0), fixed_rate_result(1000.0, achieved=980.0),
                                          fixed_rate_result(1000.0, achieved=995.0)])
    assert flags_of(record) == ([("rate-not-achieved", "trial 2: achieved 980.0 of a planned 1000 req/s (98.0%)")],
                                "flagged")
    assert record.planned_rate == 1000.0 and record.achieved_rate == 995.0


def test_a_server_that_closes_every_connection_at_a_fixed_rate_reconnects_idle(tmp_path):
    record = fixed_rate_record(tmp_path, [fixed_rate_result(1000.0)] * 3, server_closes=True)
    assert flags_of(record) == ([("idle-reconnects", "the server closed every connection; each reconnected one sat "
                                                     "idle until its next send (up to 64 ms at 1000 req/s on 64 "
                                                     "connections)")], "flagged")


def cross_checked(tmp_path, h2load_rps, version="1.64.0", server_closes=False):
    h2load = FakeDriver("h2load", [h2load_result(h2load_rps)], tool=H2load("h2load", version))
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", CLEAN), cross_check=h2load, server_closes=server_closes)
    assert b.measurement.prepare(b.scenario)
    return b.measurement._trials(b.scenario, b.measurement.plan.closed_loop(b.scenario)), h2load


def test_a_second_generator_more_than_15_percent_apart_disagrees(tmp_path):
    record, h2load = cross_checked(tmp_path, 800.0)
    assert flags_of(record) == ([("generators-disagree", "cross-check (h2load): h2load measured 800 req/s, 0.80x "
                                                         "wrk's median 1,000 (more than 15% apart)")], "flagged")
    assert record.meta["cross_check"]["ratio_to_wrk"] == 0.8
    assert [r.settings.connections for r in h2load.requests] == [64]


def test_a_second_generator_within_15_percent_agrees(tmp_path):
    record, _ = cross_checked(tmp_path, 870.0)
    assert flags_of(record) == ([], "ok") and record.meta["cross_check"]["ratio_to_wrk"] == 0.87


def test_an_h2load_that_hangs_on_closing_connections_is_skipped_not_run(tmp_path):
    record, h2load = cross_checked(tmp_path, 800.0, version="1.52.0", server_closes=True)
    assert flags_of(record) == ([], "ok") and h2load.requests == []
    assert record.meta["cross_check"]["skipped"].startswith("the server closes the connection after every answer")


def test_fixed_rate_records_get_no_cross_check_and_the_built_in_driver_holds_the_runs_connections(tmp_path):
    h2load = FakeDriver("h2load", [], tool=H2load("h2load", "1.64.0"))
    fixed = FakeDriver("wrk-fixed-rate", [fixed_rate_result(40.0)])
    b = bench(tmp_path, fixed_rate=fixed, cross_check=h2load, trials=1, connections=8)
    assert b.measurement.prepare(b.scenario)
    record = b.measurement._trials(b.scenario, b.measurement.plan.fixed_rate(b.scenario, 40.0))
    assert "cross_check" not in record.meta and h2load.requests == []
    # Each connection has a wrk thread of its own, and the driver got the run's connections.
    assert (record.connections, record.threads) == (8, 8)
    (request,) = fixed.requests
    assert (request.settings.connections, request.planned_rate) == (8, 40.0)
    assert record.meta["load_command"] == ["wrk-fixed-rate", "-c", "8", "-R", "40", request.url]
    assert record.trials[0]["raw_output"] == "raw/run-fake/json.rate40.trial1.txt"


def test_a_relative_rate_is_planned_from_the_closed_loop_median_just_measured(tmp_path):
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", [wrk_result(990.0), wrk_result(1000.0), wrk_result(1010.0)]),
              fixed_rate=FakeDriver("wrk-fixed-rate", [fixed_rate_result(100.0)] * 3), rates=parse_rates("10%"))
    b.measurement.measure(b.scenario)
    saved = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["mode"], r["planned_rate"], r["status"]) for r in saved] == [
        ("closed-loop", None, "ok"), ("fixed-rate", 100.0, "ok")]


def test_a_sweep_saves_one_record_per_level_and_returns_the_best_valid_one(tmp_path):
    # 4 connections give 500 req/s, 8 give 900, 16 give 1200 of which half are errors: the best valid is 900.
    results = [wrk_result(500.0), wrk_result(900.0), wrk_result(1200.0, non2xx=1000)]
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", results), trials=1, connections=None, sweep=(4, 8, 16))
    assert b.measurement.prepare(b.scenario)
    assert b.measurement.closed_loop_records(b.scenario) == 900.0
    saved = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["connections"], r["status"], r["meta"]["sweep"]) for r in saved] == [
        (4, "ok", {"levels": [4, 8, 16], "level": 4}), (8, "ok", {"levels": [4, 8, 16], "level": 8}),
        (16, "failed", {"levels": [4, 8, 16], "level": 16})]
    assert [t["raw_output"] for r in saved for t in r["trials"]] == [
        "raw/run-fake/json.c{}.trial1.txt".format(c) for c in (4, 8, 16)]


def test_more_answers_than_nginx_read_requests_disagree():
    # nginx in front counts the requests it read (stub_status); wrk cannot have had more answers than that.
    trial = {"requests": 1000, "errors": {"non2xx": 0}, "rps": 100.0, "rps_all": 100.0}
    assert assess_consistency([dict(trial, front_requests=1003)], 64) == []
    assert [(f.code, f.reason) for f in assess_consistency([dict(trial, front_requests=900)], 64)] == [
        ("figures-disagree", "trial 1: the load generator counted 1,000 answers where nginx in front read 900 "
                             "requests")]
