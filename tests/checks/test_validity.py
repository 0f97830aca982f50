"""Flags and statuses from real wrk outputs (tests/fixtures), read as they are."""

from __future__ import annotations

import time


import pytest

from benchmatrix.load.parse import Latency, SocketErrors, WrkResult, parse_wrk
from benchmatrix.results.records import rps_label
from benchmatrix.load.ceiling import Ceiling
from benchmatrix.checks.flags import FLAG_KINDS, make_flag, status_for
from benchmatrix.checks.validity import assess_ceiling, assess_responses
from tests.record_factory import make_record
from tests.conftest import FIXTURES




def assess(name):
    flags = assess_responses(parse_wrk((FIXTURES / "wrk" / name).read_text()))
    return [f.code for f in flags], status_for(flags)


def test_a_clean_run_is_ok():
    assert assess("wrk_latency_ok.txt") == ([], "ok")


def test_some_errors_flag_the_run():
    assert assess("wrk_latency_non2xx.txt") == (["non-2xx"], "flagged")


def test_timeouts_flag_the_run():
    assert assess("wrk_socket_errors_timeouts.txt") == (["timeouts"], "flagged")


def test_83k_req_per_s_of_500s_is_a_failure_not_throughput():
    codes, status = assess("wrk_all_errors.txt")
    assert (codes, status) == (["no-successful-responses"], "failed")
    assert rps_label(make_record(status=status, rps=0.0)) == "-"


def test_every_flag_carries_a_hint():
    assert all(kind.hint for kind in FLAG_KINDS.values())
    assert make_flag("timeouts", "3 timed out").hint == FLAG_KINDS["timeouts"].hint


def test_flags_outside_the_closed_set_are_refused():
    with pytest.raises(KeyError):
        make_flag("felt-slow", "")


def ceiling_of(rps, cv=0.05):
    return Ceiling(rps=rps, trials=[rps], cv=cv, measured_at=time.time(),
                   fingerprint={"connections": 64, "threads": 2, "placement": {"server_cpus": "0", "load_cpus": "1"}})


def test_a_cell_at_the_ceilings_bound_share_is_load_generator_bound():
    (flag,) = assess_ceiling(7000.0, ceiling_of(10000.0))
    assert flag.code == "load-generator-bound"
    assert "70% of the load generator's ceiling" in flag.reason and "10,000 req/s" in flag.reason
    assert status_for([flag]) == "flagged"


def test_a_cell_well_below_the_ceiling_or_without_one_is_not_judged_bound():
    assert assess_ceiling(6999.0, ceiling_of(10000.0)) == []
    assert assess_ceiling(9000.0, None) == []  # --ceiling off: no verdict either way
    assert assess_ceiling(None, ceiling_of(10000.0)) == []


def wrk_result(requests=1000, non2xx=0, **socket_errors):
    return WrkResult(url="http://127.0.0.1:1/", threads=2, connections=8, requests=requests,
                     elapsed_s=1.0, bytes_read=0, rps=float(requests), latency=Latency(1.0, 0.1, 2.0),
                     non2xx=non2xx, socket_errors=SocketErrors(**socket_errors))


def test_connection_resets_flag_socket_errors():
    flags = assess_responses(wrk_result(read=12, connect=1))
    assert [f.code for f in flags] == ["socket-errors"] and "connect 1, read 12" in flags[0].reason


def test_a_run_with_no_completed_request_failed_to_load():
    flags = assess_responses(wrk_result(requests=0, connect=8))
    assert "load-failed" in [f.code for f in flags] and status_for(flags) == "failed"


@pytest.mark.parametrize("code, status", [("verification-failed", "failed"), ("load-failed", "failed"),
                                          ("machine-busy", "flagged"), ("unstable-trials", "flagged")])
def test_each_flag_sets_its_status(code, status):
    assert status_for([make_flag(code, "")]) == status
