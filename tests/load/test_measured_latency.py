"""Closed-loop latency from the samples wrk measured (load/measured_latency.py), on real wrk outputs."""

from __future__ import annotations

import json

import pytest

from benchmatrix.load.measured_latency import MEASURED, latency_from_histogram, percentile_us
from benchmatrix.load.wrk_report_parse import REPORT_MARKER, parse_wrk_report
from benchmatrix.run.trials import closed_loop_trial
from tests.conftest import FIXTURES

WRK = FIXTURES / "wrk"
REPORTS = {"wrk_report_c10_synthetic_inflight71.txt": 10, "wrk_report_c64_synthetic_inflight90.txt": 64}


def done_report(text: str) -> dict:
    line = next(line for line in text.splitlines() if line.startswith(REPORT_MARKER))
    return json.loads(line[len(REPORT_MARKER):])


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_statistics_are_computed_as_wrk_computes_them(name):
    # Over wrk's own histogram (synthetic samples included) the computation must give wrk's own figures,
    # to the microsecond: then the same computation over the measured samples is wrk's, minus its guess.
    report = done_report((WRK / name).read_text())
    held = [(int(value), int(count)) for value, count in report["histogram_us"]]
    latency = latency_from_histogram(held)
    wrk = report["latency_us"]
    assert latency.avg_ms * 1000 == pytest.approx(wrk["mean"], rel=1e-12)
    assert latency.stdev_ms * 1000 == pytest.approx(wrk["stdev"], rel=1e-9)
    assert round(latency.max_ms * 1000) == wrk["max"]
    for percent, expected in wrk["percentiles"].items():
        assert percentile_us(held, sum(c for _, c in held), float(percent)) == expected, percent


@pytest.mark.parametrize("name,connections", sorted(REPORTS.items()))
def test_a_closed_loop_row_never_holds_more_requests_than_its_connections(name, connections):
    text = (WRK / name).read_text()
    report = done_report(text)
    seconds = report["duration_us"] / 1e6
    wrk_in_flight = report["requests"] / seconds * report["latency_us"]["mean"] / 1e6
    assert wrk_in_flight > connections  # wrk's own mean, with its synthetic samples: impossible figures

    result = parse_wrk_report(text)
    trial = closed_loop_trial(result)
    assert result.latency_source == MEASURED and result.synthetic_samples > 0
    assert trial.in_flight <= connections
    assert trial.wrk_latency_ms["avg"] == pytest.approx(report["latency_us"]["mean"] / 1000.0)
    assert trial.latency_ms["avg"] < trial.wrk_latency_ms["avg"]


def test_an_empty_histogram_has_no_statistics():
    assert latency_from_histogram([]) is None
    one = latency_from_histogram([(250, 1)])
    assert (one.avg_ms, one.stdev_ms, one.p50_ms, one.p99_ms, one.max_ms) == (0.25, 0.0, 0.25, 0.25, 0.25)
