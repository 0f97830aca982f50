"""The work a scenario promises per request, held against what the services counted: proven exactly on
scripted counts (checks/work_done.py), and through the run path on the fake driver."""

from __future__ import annotations

from benchmatrix.checks.work_done import assess_work
from benchmatrix.matrix.scenarios import SCENARIOS, WorkContract

from tests.fake_driver import FakeDriver, FakeWorkCounter, bench, wrk_result

AGENTS = SCENARIOS["agents"].work
FANOUT = SCENARIOS["upstream_fanout"].work


def trial(requests, non2xx=0, **work):
    return {"requests": requests, "errors": {"non2xx": non2xx}, "work": work}


def test_the_scenarios_declare_what_each_request_must_do():
    assert AGENTS.promised() == {"queries": 1, "new_connections": 1}
    assert SCENARIOS["agents_with_pool"].work.promised() == {"queries": 1}
    assert SCENARIOS["template"].work.promised() == {"queries": 1}
    assert SCENARIOS["db_sleep"].work == WorkContract(queries=1, query_marker="pg_sleep", new_connections=1)
    assert SCENARIOS["upstream"].work.promised() == {"upstream_calls": 1}
    assert FANOUT.promised() == {"upstream_calls": 10}
    assert SCENARIOS["json"].work.promised() == {} and SCENARIOS["sleep"].work.promised() == {}


def test_work_as_promised_is_clean_and_counted_per_successful_answer():
    verdict = assess_work(AGENTS, [trial(1000, queries=1003, new_connections=1001),
                                   trial(990, non2xx=10, queries=985, new_connections=982)])
    assert verdict.flags == []
    assert verdict.meta == {"promised_per_request": {"queries": 1, "new_connections": 1}, "answers": 1980,
                            "counted": {"queries": 1988, "new_connections": 1983},
                            "per_request": {"queries": 1.004, "new_connections": 1.002},
                            "trials_counted": 2, "not_counted": {}}


def test_rows_served_from_memory_are_flagged_with_the_counts():
    verdict = assess_work(AGENTS, [trial(1000, queries=1, new_connections=1000)])
    assert [(f.code, f.reason) for f in verdict.flags] == [
        ("work-skipped", "0.00 queries (pg_stat_statements: statements containing 'agentfeatures') per request "
                         "where the scenario promises 1: 1 counted for 1,000 successful answers (at least 1,000 due)")]


def test_fewer_upstream_calls_than_the_body_reports_are_flagged():
    verdict = assess_work(FANOUT, [trial(100, upstream_calls=500), trial(100, upstream_calls=520)])
    assert [f.reason for f in verdict.flags] == [
        "5.10 upstream calls (the stub's own count) per request where the scenario promises 10: 1,020 counted "
        "for 200 successful answers (at least 2,000 due)"]


def test_one_percent_short_is_room_for_a_late_session_count_and_more_is_not():
    assert assess_work(AGENTS, [trial(1000, queries=1000, new_connections=990)]).flags == []
    assert [f.code for f in assess_work(AGENTS, [trial(1000, queries=1000, new_connections=989)]).flags] == [
        "work-skipped"]


def test_what_cannot_be_counted_is_said_and_not_flagged():
    verdict = assess_work(AGENTS, [trial(1000, new_connections=1000)],
                          uncounted={"queries": "pg_stat_statements is not readable"})
    assert verdict.flags == [] and verdict.meta["counted"] == {"new_connections": 1000}
    assert verdict.meta["not_counted"] == {"queries": "pg_stat_statements is not readable"}
    missed = assess_work(FANOUT, [{"requests": 10, "errors": {}}])  # the counts could not be read
    assert missed.flags == [] and missed.meta["not_counted"] == {"upstream_calls": "not read around every trial"}
    assert assess_work(SCENARIOS["json"].work, [trial(10)]).meta == {}


def test_the_run_path_counts_around_each_trial_and_flags_the_record(tmp_path):
    # Cumulative readings before and after each of 3 trials: the third trial's queries stop.
    readings = [{"queries": 5, "new_connections": 5}, {"queries": 1005, "new_connections": 1005},
                {"queries": 1010, "new_connections": 1010}, {"queries": 2010, "new_connections": 2010},
                {"queries": 2020, "new_connections": 2020}, {"queries": 2021, "new_connections": 3020}]
    agents = SCENARIOS["agents"]
    b = bench(tmp_path, closed_loop=FakeDriver("wrk", [wrk_result(1000.0)] * 3), scenarios=(agents,),
              work_counter=FakeWorkCounter(readings))
    assert b.measurement.prepare(agents)
    record = b.measurement._trials(agents, b.measurement.plan.closed_loop(agents))
    assert [t["work"] for t in record.trials] == [{"queries": 1000, "new_connections": 1000}] * 2 + [
        {"queries": 1, "new_connections": 1000}]
    assert [(f.code, f.reason) for f in record.flags] == [
        ("work-skipped", "0.67 queries (pg_stat_statements: statements containing 'agentfeatures') per request "
                         "where the scenario promises 1: 2,001 counted for 3,000 successful answers (at least "
                         "3,000 due)")]
    assert record.status == "flagged" and record.meta["work"]["per_request"] == {"queries": 0.667,
                                                                                 "new_connections": 1.0}
