"""Tests for parse_wrk2 and is_wrk2_usage against real wrk2 outputs kept outside the repo."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


from benchmatrix.load.parse import (
    FixedRateResult,
    Latency,
    SocketErrors,
    WrkOutputError,
    is_wrk2_usage,
    parse_wrk2,
)
from tests.conftest import FIXTURES

WRK2_FILES = [
    "wrk2_R1000_d13_calibration_non2xx.txt",
    "wrk2_R2000_latency.txt",
    "wrk2_R2000_latency_U.txt",
    "wrk2_R200_stall_1s.txt",
    "wrk2_R500_nolatency.txt",
]
# The -R each fixture ran with (README.md next to the fixtures).
PLANNED = {
    "wrk2_R1000_d13_calibration_non2xx.txt": 1000,
    "wrk2_R2000_latency.txt": 2000,
    "wrk2_R2000_latency_U.txt": 2000,
    "wrk2_R200_stall_1s.txt": 200,
    "wrk2_R500_nolatency.txt": 500,
}
WITH_LATENCY = [name for name in WRK2_FILES if "nolatency" not in name]




@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of real tool outputs copied into the tests (tests/fixtures/README.md)."""
    return FIXTURES


def _read(fixtures_dir: Path, name: str) -> str:
    return (fixtures_dir / "wrk2" / name).read_text(encoding="utf-8")


def _wrk(fixtures_dir: Path, name: str) -> str:
    return (fixtures_dir / "wrk" / name).read_text(encoding="utf-8")


def _parse(fixtures_dir: Path, name: str) -> FixedRateResult:
    return parse_wrk2(_read(fixtures_dir, name), PLANNED[name])


def _footer(block: str):
    """(mean, stdev, max, total count) from one block's '#[...]' footer, in ms."""
    mean = re.search(r"#\[Mean\s*=\s*([\d.]+),\s*StdDeviation\s*=\s*([\d.]+)\]", block)
    top = re.search(r"#\[Max\s*=\s*([\d.]+),\s*Total count\s*=\s*(\d+)\]", block)
    return float(mean.group(1)), float(mean.group(2)), float(top.group(1)), int(top.group(2))


def _seed_block(fixtures_dir: Path, name: str) -> str:
    """One wrk2 summary quoted in a seed document (tests/fixtures/seeds/README.md)."""
    return (fixtures_dir / "seeds" / name).read_text(encoding="utf-8")


# --- each real wrk2 output, exact numbers ---------------------------------------

def test_r2000_latency(fixtures_dir):
    r = _parse(fixtures_dir, "wrk2_R2000_latency.txt")
    assert r.driver == "wrk2"
    assert r.planned_rate == 2000.0
    assert r.requests == 9987
    assert r.duration_s == pytest.approx(5.00)
    assert r.achieved_rate == pytest.approx(1997.10)
    assert r.latency == Latency(
        avg_ms=pytest.approx(0.72816), stdev_ms=pytest.approx(0.34746), max_ms=pytest.approx(2.17),
        p50_ms=pytest.approx(0.722), p75_ms=pytest.approx(1.03),
        p90_ms=pytest.approx(1.19), p99_ms=pytest.approx(1.41),
    )
    assert r.p999_ms == pytest.approx(1.60)
    assert r.uncorrected is None  # run without -U
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors()
    assert r.successful_requests == 9987
    assert len(r.spectrum) == 69
    assert r.spectrum[0] == (0.0, pytest.approx(0.033))
    assert r.spectrum[5] == (pytest.approx(50.0), pytest.approx(0.722))
    assert r.spectrum[-2] == (pytest.approx(99.9902), pytest.approx(2.171))
    assert r.spectrum[-1] == (100.0, pytest.approx(2.171))


def test_r2000_latency_U_keeps_the_two_blocks_apart(fixtures_dir):
    r = _parse(fixtures_dir, "wrk2_R2000_latency_U.txt")
    assert r.requests == 9984
    assert r.duration_s == pytest.approx(5.00)
    assert r.achieved_rate == pytest.approx(1996.46)
    # Corrected: the thread-stats line and the "Recorded Latency" block.
    assert r.latency == Latency(
        avg_ms=pytest.approx(0.84586), stdev_ms=pytest.approx(1.03), max_ms=pytest.approx(21.18),
        p50_ms=pytest.approx(0.790), p75_ms=pytest.approx(1.05),
        p90_ms=pytest.approx(1.25), p99_ms=pytest.approx(2.26),
    )
    assert r.p999_ms == pytest.approx(16.61)
    # Uncorrected: percentiles from its own block, avg/stdev/max from that block's footer.
    assert r.uncorrected == Latency(
        avg_ms=pytest.approx(0.090), stdev_ms=pytest.approx(0.061), max_ms=pytest.approx(1.271),
        p50_ms=pytest.approx(0.071), p75_ms=pytest.approx(0.109),
        p90_ms=pytest.approx(0.158), p99_ms=pytest.approx(0.314),
    )
    for name in ("avg_ms", "max_ms", "p50_ms", "p75_ms", "p90_ms", "p99_ms"):
        assert getattr(r.uncorrected, name) < getattr(r.latency, name), name
    # The spectrum is the corrected one only: 69 rows, ending at 21.199 ms, not 1.271.
    assert len(r.spectrum) == 69
    assert r.spectrum[5] == (pytest.approx(50.0), pytest.approx(0.790))
    assert r.spectrum[-1] == (100.0, pytest.approx(21.199))
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors()


def test_r200_stall_shows_in_corrected_latency_only(fixtures_dir):
    r = _parse(fixtures_dir, "wrk2_R200_stall_1s.txt")
    assert r.planned_rate == 200.0
    assert r.requests == 2002
    assert r.duration_s == pytest.approx(10.00)
    assert r.achieved_rate == pytest.approx(200.17)
    assert r.latency == Latency(
        avg_ms=pytest.approx(52.23), stdev_ms=pytest.approx(179.08), max_ms=pytest.approx(998.91),
        p50_ms=pytest.approx(0.88), p75_ms=pytest.approx(1.16),
        p90_ms=pytest.approx(4.22), p99_ms=pytest.approx(900.09),
    )
    assert r.p999_ms == pytest.approx(994.82)
    # This run printed the uncorrected block too: the 1 s stall hides in it below p99.9.
    assert r.uncorrected == Latency(
        avg_ms=pytest.approx(5.022), stdev_ms=pytest.approx(69.699), max_ms=pytest.approx(998.400),
        p50_ms=pytest.approx(0.057), p75_ms=pytest.approx(0.095),
        p90_ms=pytest.approx(0.174), p99_ms=pytest.approx(0.443),
    )
    assert r.uncorrected.p99_ms * 1000 < r.latency.p99_ms
    assert len(r.spectrum) == 57
    assert r.spectrum[18] == (pytest.approx(91.25), pytest.approx(140.287))
    assert r.spectrum[-1] == (100.0, pytest.approx(999.423))
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors()


def test_calibration_run_counts_the_whole_run_but_latency_only_after_calibration(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R1000_d13_calibration_non2xx.txt")
    assert text.count("Thread calibration:") == 2
    r = parse_wrk2(text, 1000)
    # The totals cover all 13 s, calibration included: ~1000/s over 13 s ...
    assert r.requests == 12994
    assert r.duration_s == pytest.approx(13.00)
    assert r.achieved_rate == pytest.approx(999.53)
    assert r.requests / r.duration_s == pytest.approx(r.planned_rate, rel=0.01)
    # ... while the histogram holds only the ~3 s after the 10 s calibration.
    total_count = _footer(text)[3]
    assert total_count == 2974
    assert total_count / r.planned_rate == pytest.approx(r.duration_s - 10, abs=0.1)
    assert r.latency == Latency(
        avg_ms=pytest.approx(0.77707), stdev_ms=pytest.approx(0.406), max_ms=pytest.approx(4.91),
        p50_ms=pytest.approx(0.757), p75_ms=pytest.approx(1.05),
        p90_ms=pytest.approx(1.29), p99_ms=pytest.approx(1.66),
    )
    assert r.p999_ms == pytest.approx(3.68)
    assert r.uncorrected is None
    assert len(r.spectrum) == 61
    assert r.spectrum[-1] == (100.0, pytest.approx(4.911))
    assert r.non2xx == 9227  # counted over the whole run as well
    assert r.successful_requests == 12994 - 9227
    assert r.socket_errors == SocketErrors()


def test_nolatency_has_no_percentiles(fixtures_dir):
    r = _parse(fixtures_dir, "wrk2_R500_nolatency.txt")
    assert r.planned_rate == 500.0
    assert r.requests == 1500
    assert r.duration_s == pytest.approx(3.00)
    assert r.achieved_rate == pytest.approx(499.80)
    assert r.latency == Latency(avg_ms=pytest.approx(0.80768), stdev_ms=pytest.approx(0.48135),
                                max_ms=pytest.approx(2.10))
    assert (r.latency.p50_ms, r.latency.p75_ms, r.latency.p90_ms, r.latency.p99_ms) == (None,) * 4
    assert r.p999_ms is None
    assert r.spectrum == ()
    assert r.uncorrected is None
    assert r.non2xx == 0
    assert r.socket_errors == SocketErrors()


# --- properties that hold on every fixture ------------------------------------

@pytest.mark.parametrize("name", WRK2_FILES)
def test_achieved_rate_is_requests_over_printed_time(fixtures_dir, name):
    r = _parse(fixtures_dir, name)
    # wrk2 divides by its exact run time; the printed time is rounded to 10 ms
    # (plus 0.005/s of rounding in the printed rate), so the two agree to that.
    assert r.requests / r.achieved_rate == pytest.approx(r.duration_s, abs=0.005 + 1e-4)


@pytest.mark.parametrize("name", WITH_LATENCY)
def test_spectrum_is_ascending_and_matches_the_percentile_lines(fixtures_dir, name):
    r = _parse(fixtures_dir, name)
    pcts = [p for p, _ in r.spectrum]
    values = [v for _, v in r.spectrum]
    assert pcts == sorted(set(pcts)), "percentiles must rise strictly"
    assert values == sorted(values), "latencies must not fall"
    assert pcts[0] == 0.0 and pcts[-1] == 100.0
    assert all(0.0 <= p <= 100.0 for p in pcts)
    # The p50 row of the spectrum and the 50.000% line are one number at two roundings
    # (0.885 in the spectrum is "0.88ms" on the line: half a unit, plus float slack).
    assert dict(r.spectrum)[50.0] == pytest.approx(r.latency.p50_ms, abs=0.0051)
    assert dict(r.spectrum)[90.0] == pytest.approx(r.latency.p90_ms, abs=0.0051)
    assert r.latency.p50_ms <= r.latency.p75_ms <= r.latency.p90_ms <= r.latency.p99_ms <= r.p999_ms


@pytest.mark.parametrize("name", WITH_LATENCY)
def test_footer_is_what_the_thread_stats_line_prints(fixtures_dir, name):
    # Why the uncorrected avg/stdev/max come from their block's footer: on the
    # corrected block the footer and the thread-stats line are the same numbers.
    text = _read(fixtures_dir, name)
    r = parse_wrk2(text, PLANNED[name])
    mean, stdev, top, _ = _footer(text)
    assert r.latency.avg_ms == pytest.approx(mean, abs=0.01)
    assert r.latency.stdev_ms == pytest.approx(stdev, abs=0.01)
    assert r.latency.max_ms == pytest.approx(top, abs=0.01)


@pytest.mark.parametrize("name", WRK2_FILES)
def test_spectrum_ignores_footer_lines(fixtures_dir, name):
    text = _read(fixtures_dir, name)
    r = parse_wrk2(text, PLANNED[name])
    rows_in_first_block = 0
    for line in text.splitlines():
        if line.startswith("-----"):
            break
        if re.fullmatch(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(?:[\d.]+|inf)\s*", line):
            rows_in_first_block += 1
    assert len(r.spectrum) == rows_in_first_block
    if r.spectrum:
        assert "#[Buckets" in text


# --- wrk2 summaries quoted in the seed documents ------------------------------

def test_seed_wrk2_minutes_calibration_and_socket_errors(fixtures_dir):
    r = parse_wrk2(_seed_block(fixtures_dir, "seed003_wrk2_5m.txt"), 4000)
    assert r.requests == 814328
    assert r.duration_s == pytest.approx(300.0)
    assert r.achieved_rate == pytest.approx(2714.49)
    assert r.latency == Latency(avg_ms=pytest.approx(0.87 * 60000), stdev_ms=pytest.approx(0.86 * 60000),
                                max_ms=pytest.approx(4.47 * 60000))
    assert r.socket_errors == SocketErrors(connect=28, read=29, write=136, timeout=26549)
    assert r.spectrum == ()


def test_seed_wrk2_non2xx_over_five_minutes(fixtures_dir):
    r = parse_wrk2(_seed_block(fixtures_dir, "seed004_wrk2_5m.txt"), 4000)
    assert r.requests == 1197819
    assert r.non2xx == 1031238
    assert r.achieved_rate == pytest.approx(3992.68)
    # The whole 5 minutes, the 10 s of calibration included.
    assert r.requests / r.duration_s == pytest.approx(r.achieved_rate, rel=1e-4)
    assert r.latency.max_ms == pytest.approx(2660.0)


# --- outputs that are not one wrk2 result -------------------------------------

@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_empty_output(text):
    with pytest.raises(WrkOutputError, match=r"no 'Requests/sec' line\); first lines: \(nothing at all\)"):
        parse_wrk2(text, 1000)


def test_garbage_quotes_first_lines():
    with pytest.raises(WrkOutputError) as err:
        parse_wrk2("sh: 1: wrk2: not found\nsecond\nthird\nfourth\n", 1000)
    assert str(err.value) == (
        "wrk2 printed no result (no 'Requests/sec' line); first lines: "
        "sh: 1: wrk2: not found | second | third"
    )


def test_usage_text_says_check_arguments():
    with pytest.raises(WrkOutputError, match="printed its usage instead of a result"):
        parse_wrk2(WRK2_STYLE_USAGE, 1000)


def test_connect_failure_names_the_cause(fixtures_dir):
    with pytest.raises(WrkOutputError) as err:
        parse_wrk2(_wrk(fixtures_dir, "wrk_connect_refused.txt"), 1000)
    assert str(err.value) == "wrk2 could not connect: unable to connect to 127.0.0.1:18999 Connection refused"


def test_stock_wrk_latency_output_is_refused(fixtures_dir):
    with pytest.raises(WrkOutputError, match="stock wrk's output .* parse it with parse_wrk"):
        parse_wrk2(_wrk(fixtures_dir, "wrk_latency_ok.txt"), 1000)


def test_two_results_are_refused(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R2000_latency.txt") + _read(fixtures_dir, "wrk2_R500_nolatency.txt")
    with pytest.raises(WrkOutputError, match="holds 2 results"):
        parse_wrk2(text, 1000)


def test_zero_requests_is_refused(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R500_nolatency.txt").replace("1500 requests in", "0 requests in")
    text = text.replace("265.14KB read", "0.00B read\n  Socket errors: connect 10, read 0, write 0, timeout 0")
    with pytest.raises(WrkOutputError) as err:
        parse_wrk2(text, 500)
    assert str(err.value) == (
        "wrk2 completed no requests in 3.00s (socket errors: connect 10, read 0, write 0, "
        "timeout 0); check that the server is up and answers the URL"
    )


def test_missing_totals_line_is_named(fixtures_dir):
    text = "\n".join(l for l in _read(fixtures_dir, "wrk2_R2000_latency.txt").splitlines() if "requests in" not in l)
    with pytest.raises(WrkOutputError, match="no 'N requests in T, S read' line"):
        parse_wrk2(text, 2000)


def test_missing_percentile_line_is_named(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R2000_latency.txt").replace(" 99.900%    1.60ms\n", "")
    with pytest.raises(WrkOutputError, match=r"'Recorded Latency' latency block has no 99\.900% line"):
        parse_wrk2(text, 2000)


def test_block_without_closing_dashes_is_cut_short(fixtures_dir):
    text = re.sub(r"(?m)^-{10,}$", "", _read(fixtures_dir, "wrk2_R2000_latency.txt"))
    with pytest.raises(WrkOutputError, match="no closing line of dashes"):
        parse_wrk2(text, 2000)


def test_uncorrected_block_without_footer_is_cut_short(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R2000_latency_U.txt")
    second = text.index("Uncorrected Latency")
    text = text[:second] + re.sub(r"(?m)^#\[Mean.*\n", "", text[second:])
    with pytest.raises(WrkOutputError, match="'Uncorrected Latency' latency block has no '#\\[Mean"):
        parse_wrk2(text, 2000)


def test_uncorrected_block_alone_is_refused(fixtures_dir):
    text = _read(fixtures_dir, "wrk2_R2000_latency_U.txt")
    first = text.index("  Latency Distribution (HdrHistogram - Recorded Latency)")
    second = text.index("\n  Latency Distribution (HdrHistogram - Uncorrected")
    with pytest.raises(WrkOutputError, match="not the corrected"):
        parse_wrk2(text[:first] + text[second:], 2000)


@pytest.mark.parametrize("rate", [0, -5, float("nan"), float("inf")])
def test_planned_rate_must_be_positive(fixtures_dir, rate):
    with pytest.raises(ValueError, match="planned_rate must be the positive -R value"):
        parse_wrk2(_read(fixtures_dir, "wrk2_R500_nolatency.txt"), rate)


def test_error_is_a_value_error():
    assert issubclass(WrkOutputError, ValueError)


# --- telling wrk2 from wrk by their usage text ----------------------------------

# Made up in the shape of wrk2's usage; only the -R line matters.
WRK2_STYLE_USAGE = """\
Usage: wrk <options> <url>
  Options:
    -c, --connections <N>  Connections to keep open
    -d, --duration    <T>  Duration of test
    -t, --threads     <N>  Number of threads to use
    -L  --latency          Print latency statistics
    -U  --u_latency        Print uncorrected latency statistics
    -R, --rate        <T>  work rate (throughput)
                           in requests/sec (total)
                           [Required Parameter]
"""

# What Debian 12's wrk 4.1.0 prints when run with no arguments (exit status 1).
DEBIAN_WRK_USAGE = """\
Usage: wrk <options> <url>                            
  Options:                                            
    -c, --connections <N>  Connections to keep open   
    -d, --duration    <T>  Duration of test           
    -t, --threads     <N>  Number of threads to use   
                                                      
    -s, --script      <S>  Load Lua script file       
    -H, --header      <H>  Add header to request      
        --latency          Print latency statistics   
        --timeout     <T>  Socket/request timeout     
    -v, --version          Print version details      
                                                      
  Numeric arguments may include a SI unit (1k, 1M, 1G)
  Time arguments may include a time unit (2s, 2m, 2h)
"""  # noqa: W291 (the trailing blanks are wrk's)


def test_wrk2_usage_is_recognised():
    assert is_wrk2_usage(WRK2_STYLE_USAGE)
    assert is_wrk2_usage("  -R  --rate <T>  work rate\n")


def test_debian_wrk_usage_is_not_wrk2():
    assert not is_wrk2_usage(DEBIAN_WRK_USAGE)


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_installed_wrk_usage_is_not_wrk2(args):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("no wrk on PATH to ask for its usage")
    done = subprocess.run([wrk] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=10)
    assert "Usage: wrk" in done.stdout
    assert not is_wrk2_usage(done.stdout)


@pytest.mark.parametrize("text", [
    "",
    "Throughput MUST be specified with --rate\n",  # a mention in prose is not an offered option
    "    -r, --rate <T>\n",  # wrong letter
])
def test_other_texts_are_not_wrk2_usage(text):
    assert not is_wrk2_usage(text)


def test_a_wrk2_result_is_not_usage(fixtures_dir):
    assert not is_wrk2_usage(_read(fixtures_dir, "wrk2_R2000_latency_U.txt"))
