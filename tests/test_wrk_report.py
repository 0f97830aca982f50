"""wrk's done() report: exact figures, the same as its summary text within the summary's rounding."""

from __future__ import annotations

import pytest

from tools.benchmatrix.load.parse import parse_wrk, parse_wrk_report
from tools.benchmatrix.load.wrk import LoadSettings, require_wrk, run_wrk
from tools.benchmatrix.stack.nginx import NginxFront
from tools.benchmatrix.stack.process import free_port

pytestmark = pytest.mark.slow


def test_a_live_run_reports_the_same_figures_both_ways(tmp_path):
    port = free_port()
    front = NginxFront("fixed-body", port, "", tmp_path / "nginx", ready_path="/")
    with front.running():
        _, result = run_wrk(require_wrk(), LoadSettings(threads=2, connections=8, duration_s=1, timeout_s=2),
                            "http://127.0.0.1:{}/".format(port), tmp_path / "wrk.txt")
    text = (tmp_path / "wrk.txt").read_text()
    summary = parse_wrk(text)
    assert result.source == "done() JSON" and summary.source == "summary text"
    assert result.requests == summary.requests > 0  # the summary prints the exact count too
    assert result.rps == pytest.approx(summary.rps, rel=0.001)
    assert result.bytes_read == pytest.approx(summary.bytes_read, rel=0.01)  # "12.34MB" in the summary
    for exact, rounded in ((result.latency.avg_ms, summary.latency.avg_ms),
                           (result.latency.p50_ms, summary.latency.p50_ms),
                           (result.latency.p99_ms, summary.latency.p99_ms),
                           (result.latency.max_ms, summary.latency.max_ms)):
        assert exact == pytest.approx(rounded, rel=0.01, abs=0.006)
    # What only the report has: percentiles past 99%, from wrk's own histogram.
    assert result.latency.p99_ms <= result.latency.p999_ms <= result.latency.p9999_ms <= result.latency.max_ms
    # 13-byte bodies: every answer is the same size, so bytes per answer is exact.
    assert result.bytes_read % result.requests == 0


def test_an_output_without_a_report_is_read_from_its_summary(shared):
    text = (shared / "fixtures" / "wrk" / "wrk_latency_ok.txt").read_text()
    assert parse_wrk_report(text) == parse_wrk(text)
