"""The second load generator (--cross-check h2load): its parser on real h2load outputs
(tests/fixtures/h2load, README there says how each was made), its command line, its verdicts,
and real cells measured by wrk and then h2load."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from benchmatrix.load.cross_check import (DISAGREE_SHARE, H2load, H2loadResult, assess_cross_check,
                                                cross_check_metadata, find_h2load, h2load_argv, parse_h2load,
                                                ratio_to_wrk, skip_reason)
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import LoadSettings, LoadToolMissing
from benchmatrix.matrix.cells import find_cell, load_matrix
from benchmatrix.matrix.scenarios import SCENARIOS
from benchmatrix.run.options import RunOptions
from benchmatrix.run.plan import CellPlan
from benchmatrix.checks.flags import FLAG_KINDS, status_for
from tests.conftest import FIXTURES

H2LOAD_OUTPUTS = FIXTURES / "h2load"


def fixture(name: str) -> H2loadResult:
    return parse_h2load((H2LOAD_OUTPUTS / name).read_text(encoding="utf-8"))


def codes(flags):
    return [f.code for f in flags]


def settings(connections=8, threads=2, duration_s=3, close=False) -> LoadSettings:
    return LoadSettings(threads=threads, connections=connections, duration_s=duration_s, timeout_s=2,
                        connection_close=close)


# --- the parser, on real outputs -------------------------------------------------------------------------

def test_a_clean_timed_run_parses_to_its_figures():
    result = fixture("h2load_c8_t2_D2_ok.txt")
    assert (result.duration_s, result.rps_all, result.done, result.succeeded) == (2.0, 3381.5, 6763, 6763)
    assert (result.started, result.failed, result.errored, result.timeout) == (6771, 0, 0, 0)
    assert (result.status_2xx, result.status_5xx, result.protocol) == (6763, 0, "http/1.1")
    assert result.successful_rps == 3381.5 and not result.has_errors


def test_only_2xx_answers_count_as_throughput():
    some = fixture("h2load_c8_t2_D1_some_503.txt")
    assert (some.done, some.succeeded, some.non2xx, some.errored) == (3679, 2944, 735, 0)
    assert some.successful_rps == pytest.approx(2944.0) and some.rps_all == 3679.0
    # h2load's own req/s counts 2,725 answers of 500 a second; none of it is throughput.
    broken = fixture("h2load_c8_t2_D1_all_500.txt")
    assert broken.rps_all == 2725.0 and broken.successful_rps == 0.0 and broken.non2xx == 2725


def test_errored_requests_and_a_sub_second_duration_are_read():
    result = fixture("h2load_c8_t2_n4000_resets.txt")
    assert result.duration_s == pytest.approx(0.05829) and result.errored == 2552
    assert result.done == 1448 and result.non2xx == 0 and result.has_errors


def test_nothing_listening_is_an_empty_result_not_a_crash():
    result = fixture("h2load_c8_t2_D1_connect_refused.txt")
    assert (result.done, result.errored, result.protocol, result.successful_rps) == (0, 0, None, 0.0)


def test_a_killed_run_without_a_summary_raises_with_its_last_line():
    with pytest.raises(WrkOutputError, match="no summary.*Stopped all clients for thread #1"):
        fixture("h2load_c8_t2_D2_server_closes_hung_killed.txt")
    with pytest.raises(WrkOutputError, match="no summary"):
        parse_h2load("-c, -t: the number of clients must be greater than or equal to the number of threads.\n")
    with pytest.raises(WrkOutputError, match=r"\(no output\)"):
        parse_h2load("")


def test_every_fixture_either_parses_or_is_the_killed_one():
    files = sorted(H2LOAD_OUTPUTS.glob("*.txt"))
    assert len(files) == 7
    for path in files:
        if "killed" in path.name:
            continue
        assert parse_h2load(path.read_text(encoding="utf-8")).duration_s > 0, path.name


# --- the command line -----------------------------------------------------------------------------------

def test_argv_holds_wrks_load_in_http1():
    assert h2load_argv("h2load", settings(), "http://127.0.0.1:1/json") == [
        "h2load", "--h1", "-c", "8", "-t", "2", "-m", "1", "-D", "3s", "http://127.0.0.1:1/json"]


def test_argv_opens_the_connections_wrk_opens():
    # wrk refuses more threads than connections, and gives each thread connections // threads.
    argv = h2load_argv("h2load", settings(connections=2, threads=4), "u")
    assert argv[argv.index("-c") + 1:argv.index("-t") + 2] == ["2", "-t", "2"]
    argv = h2load_argv("h2load", settings(connections=7, threads=2), "u")
    assert argv[argv.index("-c") + 1] == "6" and argv[argv.index("-t") + 1] == "2"


def test_argv_asks_for_a_new_connection_per_request_in_close_mode():
    argv = h2load_argv("h2load", settings(close=True), "u")
    assert argv[-3:] == ["-H", "Connection: close", "u"]
    assert "Connection: close" not in h2load_argv("h2load", settings(), "u")


def test_closing_connections_are_skipped_on_an_h2load_that_hangs_on_them():
    old = H2load("h2load", "1.52.0")
    assert "--connection-mode close" in skip_reason(old, settings(close=True), server_closes=False)
    reason = skip_reason(old, settings(), server_closes=True)
    assert "server closes" in reason and "#2250" in reason and "1.52.0" in reason
    assert skip_reason(old, settings(), server_closes=False) is None
    assert skip_reason(old, settings(), server_closes=None) is None
    assert skip_reason(H2load("h2load", "1.64.0"), settings(close=True), server_closes=True) is None


# --- verdicts -------------------------------------------------------------------------------------------

def result_at(rps: float, done: int = 1000, succeeded=None, errored: int = 0, timeout: int = 0) -> H2loadResult:
    succeeded = done if succeeded is None else succeeded
    return H2loadResult(duration_s=1.0, rps_all=rps, total=done, started=done + 8, done=done, succeeded=succeeded,
                        failed=done - succeeded + errored, errored=errored, timeout=timeout,
                        status_2xx=succeeded, status_3xx=0, status_4xx=0, status_5xx=done - succeeded,
                        protocol="http/1.1")


@pytest.mark.parametrize("h2load_rps, disagree", [
    (1000.0, False), (1149.0, False), (851.0, False),  # within 15%, either way
    (1151.0, True), (849.0, True), (2000.0, True), (100.0, True),
])
def test_more_than_15_percent_apart_either_way_flags_the_generators(h2load_rps, disagree):
    assert DISAGREE_SHARE == 0.15
    flags = assess_cross_check(1000.0, result_at(h2load_rps))
    assert codes(flags) == (["generators-disagree"] if disagree else [])
    if disagree:
        assert "{:.2f}x wrk's median 1,000".format(h2load_rps / 1000) in flags[0].reason
        assert status_for(flags) == "flagged"  # a look, not a failure
    assert ratio_to_wrk(1000.0, result_at(h2load_rps)) == pytest.approx(h2load_rps / 1000)


def test_the_flag_kind_is_non_failing_and_says_what_to_do():
    kind = FLAG_KINDS["generators-disagree"]
    assert not kind.fails and "raw" in kind.hint and "--duration" in kind.hint


def test_h2load_errors_are_flagged_as_wrks_are_and_leave_no_ratio():
    # The successful req/s alone would be within 15%: the errors, not a ratio, are the verdict.
    errors = result_at(1000.0, succeeded=900)
    flags = assess_cross_check(950.0, errors)
    assert codes(flags) == ["non-2xx"] and "cross-check (h2load): 100 of 1000 responses (10.0%)" in flags[0].reason
    assert ratio_to_wrk(950.0, errors) is None
    assert codes(assess_cross_check(950.0, fixture("h2load_c8_t2_n4000_resets.txt"))) == ["socket-errors"]
    assert codes(assess_cross_check(950.0, result_at(950.0, timeout=3))) == ["timeouts"]
    broken = fixture("h2load_c8_t2_D1_all_500.txt")
    assert codes(assess_cross_check(3000.0, broken)) == ["non-2xx"] and ratio_to_wrk(3000.0, broken) is None


def test_no_request_at_all_is_a_disagreement_and_nothing_to_compare_is_no_verdict():
    refused = fixture("h2load_c8_t2_D1_connect_refused.txt")
    (flag,) = assess_cross_check(4000.0, refused)
    assert flag.code == "generators-disagree" and "completed no request" in flag.reason
    assert ratio_to_wrk(4000.0, refused) is None
    assert assess_cross_check(None, result_at(10.0)) == [] and assess_cross_check(0.0, result_at(10.0)) == []


def test_metadata_keeps_tool_version_figures_and_argv():
    result = fixture("h2load_c8_t2_D2_ok.txt")
    meta = cross_check_metadata(H2load("/usr/bin/h2load", "1.52.0"), ["h2load", "--h1"], result, 3500.0, "raw/x.txt")
    assert {k: meta[k] for k in ("tool", "version", "rps", "ratio_to_wrk", "raw_output", "argv", "skipped")} == {
        "tool": "h2load", "version": "1.52.0", "rps": 3381.5, "ratio_to_wrk": round(3381.5 / 3500, 4),
        "raw_output": "raw/x.txt", "argv": ["h2load", "--h1"], "skipped": None}
    assert meta["errors"] == {"non2xx": 0, "errored": 0, "timeout": 0}
    skipped = cross_check_metadata(H2load("h2load", "1.52.0"), None, None, 3500.0, None, skipped="why")
    assert skipped["skipped"] == "why" and skipped["rps"] is None and skipped["ratio_to_wrk"] is None


# --- options, plan and refusals -------------------------------------------------------------------------

def test_unknown_tools_are_refused_naming_the_known_ones(harness):
    with pytest.raises(ValueError, match="known second load generators are h2load"):
        RunOptions(server="gunicorn", app="flask", cross_check="ab")
    result = harness.bench("gunicorn", "flask", "--cross-check", "ab")
    assert result.returncode == 2
    assert "'ab' is not a known second load generator; known: h2load" in result.stdout
    assert harness.records() == []


def test_a_missing_h2load_is_refused_before_anything_starts(harness, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"  # wrk and nothing else: h2load cannot be found
    bin_dir.mkdir()
    os.symlink(shutil.which("wrk"), str(bin_dir / "wrk"))
    result = harness.bench("gunicorn", "flask", "--cross-check", "h2load", PATH=str(bin_dir))
    assert result.returncode == 2, result.stdout
    assert "h2load" in result.stdout and "apt-get install nghttp2-client" in result.stdout
    assert "booting" not in result.stdout and harness.records() == []
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(LoadToolMissing, match="apt-get install nghttp2-client"):
        find_h2load()


def test_the_progress_estimate_counts_the_extra_trial():
    cell = find_cell(load_matrix(), "{}.{}".format(*sys.version_info[:2]), "gunicorn", "flask")
    base = dict(server="gunicorn", app="flask", scenarios=[SCENARIOS["json"], SCENARIOS["plaintext"]],
                duration_s=7, trials=3)
    without = CellPlan(RunOptions(**base), cell, None).planned_seconds()
    with_check = CellPlan(RunOptions(cross_check="h2load", **base), cell, None).planned_seconds()
    assert with_check - without == 2 * 7  # one 7 s trial per scenario's closed-loop record
    swept = dict(base, sweep=(4, 8, 16))
    assert (CellPlan(RunOptions(cross_check="h2load", **swept), cell, None).planned_seconds()
            - CellPlan(RunOptions(**swept), cell, None).planned_seconds()) == 2 * 3 * 7


# --- real cells ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_keep_alive_cell_gets_one_h2load_trial_beside_wrks(harness):
    result = harness.bench("gunicorn-gthread", "raw", "--scenarios", "json", "--cross-check", "h2load")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    check = record["meta"]["cross_check"]
    assert check["tool"] == "h2load" and check["version"] == find_h2load().version and check["skipped"] is None
    assert check["rps"] > 0 and check["errors"] == {"non2xx": 0, "errored": 0, "timeout": 0}
    assert check["protocol"] == "http/1.1"
    assert check["ratio_to_wrk"] == pytest.approx(check["rps"] / record["rps"], rel=1e-3)
    # Same load as wrk's: its connections and threads, its duration, its CPUs (the pinning prefix).
    argv, wrk_argv = check["argv"], record["meta"]["load_command"]
    h2load_part = argv[argv.index("--h1"):]  # after the pinning prefix (taskset -c ...)
    assert h2load_part[:5] == ["--h1", "-c", "8", "-t", "2"] and h2load_part[h2load_part.index("-D") + 1] == "1s"
    assert argv[:argv.index("--h1") - 1] == wrk_argv[:wrk_argv.index("--threads") - 1]
    # Its raw output sits next to wrk's and says what the record says.
    raw = harness.results_dir / check["raw_output"]
    assert raw.parent == (harness.results_dir / record["trials"][0]["raw_output"]).parent
    assert parse_h2load(raw.read_text()).successful_rps == pytest.approx(check["rps"], abs=0.1)
    disagree = abs(check["ratio_to_wrk"] - 1) > DISAGREE_SHARE
    assert ("generators-disagree" in [f["code"] for f in record["flags"]]) == disagree, record["flags"]
    assert "cross-check (h2load):" in result.stdout
