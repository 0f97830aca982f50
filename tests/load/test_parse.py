"""Tests for benchmatrix.load.parse against real wrk outputs kept outside the repo."""
from __future__ import annotations

from pathlib import Path

import pytest


from benchmatrix.load.parse import (
    Latency,
    SocketErrors,
    WrkOutputError,
    latency_ms,
    parse_duration_s,
    parse_wrk,
    scaled_count,
    size_bytes,
)
from tests.conftest import FIXTURES

WRK_FIXTURES = FIXTURES / "wrk"
MB = 1024 * 1024


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _fixture(name: str) -> str:
    return _read(WRK_FIXTURES / name)


def _seed_block(name: str) -> str:
    """One wrk summary quoted in a seed document (tests/fixtures/seeds/README.md)."""
    return (FIXTURES / "seeds" / name).read_text(encoding="utf-8")


# --- unit helpers -----------------------------------------------------------

@pytest.mark.parametrize("value, unit, expected", [
    ("562.26", "us", 0.56226),
    ("8.26", "ms", 8.26),
    ("2.00", "s", 2000.0),
    ("0.87", "m", 52200.0),
    ("1.5", "h", 5400000.0),
])
def test_latency_ms(value, unit, expected):
    assert latency_ms(value, unit) == pytest.approx(expected)


def test_latency_ms_rejects_unknown_unit():
    with pytest.raises(ValueError, match="us, ms, s, m, h"):
        latency_ms("1", "ns")


@pytest.mark.parametrize("text, expected", [
    ("42.99k", 42990.0),
    ("1.40k", 1400.0),
    ("833.16", 833.16),
    ("2.1M", 2100000.0),
    ("0.00", 0.0),
])
def test_scaled_count(text, expected):
    assert scaled_count(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "-nan", "12x", "1.2 kk"])
def test_scaled_count_rejects_garbage(text):
    with pytest.raises(ValueError, match="not a wrk count"):
        scaled_count(text)


@pytest.mark.parametrize("text, expected", [
    ("28.39MB", int(28.39 * MB)),
    ("703.06KB", int(703.06 * 1024)),
    ("12B", 12),
    ("1.2GB", int(1.2 * 1024 ** 3)),
])
def test_size_bytes(text, expected):
    assert size_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "12", "3 apples", "1.2kB"])
def test_size_bytes_rejects_garbage(text):
    with pytest.raises(ValueError, match="not a wrk size"):
        size_bytes(text)


@pytest.mark.parametrize("text, expected", [
    ("10s", 10.0),
    ("500ms", 0.5),
    ("1m", 60.0),
    ("2.5s", 2.5),
    ("90", 90.0),
    ("1h", 3600.0),
])
def test_parse_duration_s(text, expected):
    assert parse_duration_s(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "ten", "10x", "-5s", "5 minutes", "1m30s"])
def test_parse_duration_s_says_what_is_accepted(text):
    with pytest.raises(ValueError, match=r"ms, s, m or h, e\.g\. 90, 2\.5s, 500ms, 1m"):
        parse_duration_s(text)


# --- real wrk 4.1 outputs ---------------------------------------------------

def test_latency_ok():
    r = parse_wrk(_fixture("wrk_latency_ok.txt"))
    assert r.url == "http://127.0.0.1:18990/"
    assert (r.threads, r.connections) == (2, 50)
    assert r.requests == 328783
    assert r.elapsed_s == pytest.approx(3.10)
    assert r.bytes_read == int(56.75 * MB)
    assert r.rps == pytest.approx(106027.53)
    assert r.latency == Latency(
        avg_ms=pytest.approx(0.56226), stdev_ms=pytest.approx(0.71255), max_ms=pytest.approx(8.26),
        p50_ms=pytest.approx(0.326), p75_ms=pytest.approx(0.718),
        p90_ms=pytest.approx(1.23), p99_ms=pytest.approx(3.74),
    )
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors()
    assert r.successful_requests == 328783
    assert r.successful_rps == pytest.approx(106027.53)


def test_latency_non2xx():
    r = parse_wrk(_fixture("wrk_latency_non2xx.txt"))
    assert r.url == "http://127.0.0.1:18990/mixed"
    assert (r.threads, r.connections) == (2, 50)
    assert r.requests == 271373
    assert r.elapsed_s == pytest.approx(3.01)
    assert r.bytes_read == int(50.11 * MB)
    assert r.rps == pytest.approx(90115.47)
    assert r.latency.avg_ms == pytest.approx(0.71011)
    assert r.latency.stdev_ms == pytest.approx(0.83158)
    assert r.latency.max_ms == pytest.approx(6.75)
    assert r.latency.p50_ms == pytest.approx(0.453)
    assert r.latency.p75_ms == pytest.approx(0.815)
    assert r.latency.p90_ms == pytest.approx(1.76)
    assert r.latency.p99_ms == pytest.approx(4.11)
    assert r.non2xx == 53819
    assert r.socket_errors == SocketErrors()
    assert r.successful_requests == 271373 - 53819
    assert r.successful_rps == pytest.approx(90115.47 * (271373 - 53819) / 271373)


def test_all_errors_has_high_rps_but_no_success():
    r = parse_wrk(_fixture("wrk_all_errors.txt"))
    assert r.url == "http://127.0.0.1:18990/err"
    assert (r.threads, r.connections) == (2, 20)
    assert r.requests == 175092
    assert r.elapsed_s == pytest.approx(2.10)
    assert r.bytes_read == int(28.39 * MB)
    assert r.rps == pytest.approx(83376.07)
    assert r.latency == Latency(avg_ms=pytest.approx(0.3172), stdev_ms=pytest.approx(0.52405),
                                max_ms=pytest.approx(8.18))
    assert r.latency.p99_ms is None  # run without --latency
    assert r.non2xx == 175092
    assert r.successful_requests == 0
    assert r.successful_rps == 0.0


def test_socket_errors_timeouts():
    r = parse_wrk(_fixture("wrk_socket_errors_timeouts.txt"))
    assert r.url == "http://127.0.0.1:18991/"
    assert (r.threads, r.connections) == (2, 20)
    assert r.requests == 2698
    assert r.elapsed_s == pytest.approx(4.01)
    assert r.bytes_read == int(2.75 * MB)
    assert r.rps == pytest.approx(673.47)
    assert r.latency.avg_ms == pytest.approx(18.64)
    assert r.latency.stdev_ms == pytest.approx(78.00)
    assert r.latency.max_ms == pytest.approx(836.03)
    assert r.latency.p50_ms == pytest.approx(4.41)
    assert r.latency.p99_ms == pytest.approx(430.61)
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors(connect=0, read=0, write=0, timeout=6)
    assert r.successful_requests == 2698


def test_connect_refused_names_the_cause():
    with pytest.raises(WrkOutputError) as err:
        parse_wrk(_fixture("wrk_connect_refused.txt"))
    assert str(err.value) == "wrk could not connect: unable to connect to 127.0.0.1:18999 Connection refused"


def test_every_wrk_fixture_parses_or_says_why():
    files = sorted(WRK_FIXTURES.glob("*.txt"))
    assert files, "no wrk fixtures under %s" % WRK_FIXTURES
    parsed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if "unable to connect" in text:  # wrk gave up before any request: no result to parse
            with pytest.raises(WrkOutputError, match="could not connect"):
                parse_wrk(text)
            continue
        result = parse_wrk(text)  # any other real output must parse: a WrkOutputError fails the test
        assert result.requests > 0 and result.elapsed_s > 0, path.name
        parsed.append(path.name)
    assert "wrk_latency_ok.txt" in parsed


# --- outputs that are not one wrk result ------------------------------------

@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_empty_output(text):
    with pytest.raises(WrkOutputError, match=r"no 'Requests/sec' line\); first lines: \(nothing at all\)"):
        parse_wrk(text)


def test_garbage_output_quotes_first_lines():
    text = "sh: 1: wrk: not found\n\nsomething else\nthird\nfourth\n"
    with pytest.raises(WrkOutputError) as err:
        parse_wrk(text)
    assert str(err.value) == (
        "wrk printed no result (no 'Requests/sec' line); first lines: "
        "sh: 1: wrk: not found | something else | third"
    )


def test_two_results_are_refused():
    text = _fixture("wrk_latency_ok.txt") + _fixture("wrk_all_errors.txt")
    with pytest.raises(WrkOutputError, match="holds 2 results"):
        parse_wrk(text)


def test_truncated_output_names_the_missing_line():
    text = "\n".join(l for l in _fixture("wrk_latency_ok.txt").splitlines() if "requests in" not in l)
    with pytest.raises(WrkOutputError, match="no 'N requests in T, S read' line"):
        parse_wrk(text)


def test_error_is_a_value_error():
    assert issubclass(WrkOutputError, ValueError)


# --- wrk summaries quoted in the seed documents -----------------------------

def test_seed_wrk_seconds_and_connect_errors():
    r = parse_wrk(_seed_block("seed003_wrk_30s.txt"))
    assert r.url == "http://127.0.0.1:8000/index"
    assert (r.threads, r.connections) == (12, 400)
    assert r.latency == Latency(avg_ms=pytest.approx(13160.0), stdev_ms=pytest.approx(10670.0),
                                max_ms=pytest.approx(26310.0))
    assert r.requests == 79598
    assert r.elapsed_s == pytest.approx(30.10)
    assert r.bytes_read == int(13.51 * MB)
    assert r.socket_errors == SocketErrors(connect=393, read=0, write=0, timeout=4040)
    assert r.rps == pytest.approx(2644.71)


def test_seed_wrk2_minute_units():
    # wrk2 reports itself as wrk 4.0.0; its summary uses minutes for long runs.
    r = parse_wrk(_seed_block("seed003_wrk2_5m.txt"))
    assert (r.threads, r.connections) == (12, 400)
    assert r.latency.avg_ms == pytest.approx(0.87 * 60000)
    assert r.latency.stdev_ms == pytest.approx(0.86 * 60000)
    assert r.latency.max_ms == pytest.approx(4.47 * 60000)
    assert r.requests == 814328
    assert r.elapsed_s == pytest.approx(300.0)
    assert r.bytes_read == int(138.24 * MB)
    assert r.socket_errors == SocketErrors(connect=28, read=29, write=136, timeout=26549)
    assert r.rps == pytest.approx(2714.49)
