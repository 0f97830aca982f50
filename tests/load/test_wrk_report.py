"""wrk's done() report: exact figures, the same as its summary text within the summary's rounding."""

from __future__ import annotations

import http.server
import itertools
import threading
import time


import pytest

from benchmatrix.load.driver import LoadRequest, WrkClosedLoop
from benchmatrix.load.measured_latency import MEASURED
from benchmatrix.load.parse import parse_wrk, parse_wrk_report
from benchmatrix.load.wrk import LoadSettings, require_wrk, run_wrk
from benchmatrix.stack.nginx import NginxFront
from benchmatrix.stack.process import free_port
from tests.conftest import FIXTURES


pytestmark = pytest.mark.slow


def test_a_live_run_reports_the_same_figures_both_ways(tmp_path):
    port = free_port()
    front = NginxFront("fixed-body", port, "", tmp_path / "nginx", ready_path="/")
    with front.running():
        # The real closed-loop driver (load/driver.py), as a trial runs it.
        ran = WrkClosedLoop(require_wrk()).run(LoadRequest(
            LoadSettings(threads=2, connections=8, duration_s=1, timeout_s=2), "http://127.0.0.1:{}/".format(port),
            tmp_path / "wrk.txt"))
    result = ran.result
    assert ran.raw_path == tmp_path / "wrk.txt" and ran.argv[0] == require_wrk()
    text = (tmp_path / "wrk.txt").read_text()
    summary = parse_wrk(text)
    assert result.source == "done() JSON" and summary.source == "summary text"
    assert result.requests == summary.requests > 0  # the summary prints the exact count too
    assert result.rps == pytest.approx(summary.rps, rel=0.001)
    assert result.bytes_read == pytest.approx(summary.bytes_read, rel=0.01)  # "12.34MB" in the summary
    # wrk's own figures (its synthetic samples included) are what its summary prints, rounded.
    wrk = result.wrk_latency
    for exact, rounded in ((wrk.avg_ms, summary.latency.avg_ms), (wrk.p50_ms, summary.latency.p50_ms),
                           (wrk.p99_ms, summary.latency.p99_ms), (wrk.max_ms, summary.latency.max_ms)):
        assert exact == pytest.approx(rounded, rel=0.01, abs=0.006)
    # What only the report has: percentiles past 99%, from wrk's own histogram.
    assert result.latency.p99_ms <= result.latency.p999_ms <= result.latency.p9999_ms <= result.latency.max_ms
    # 13-byte bodies: every answer is the same size, so bytes per answer is exact.
    assert result.bytes_read % result.requests == 0


def test_an_output_without_a_report_is_read_from_its_summary():
    text = (FIXTURES / "wrk" / "wrk_latency_ok.txt").read_text()
    assert parse_wrk_report(text) == parse_wrk(text)


class StallingHandler(http.server.BaseHTTPRequestHandler):
    """Keep-alive answers, one in STALL_EVERY held STALL_S: latencies wrk's correction adds samples for."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    STALL_EVERY, STALL_S = 25, 0.03
    served = itertools.count(1)

    def do_GET(self):
        if next(self.served) % self.STALL_EVERY == 0:
            time.sleep(self.STALL_S)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_the_histogram_counts_each_measured_request_once_without_wrks_synthetic_samples(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, result = run_wrk(require_wrk(), LoadSettings(threads=1, connections=4, duration_s=1, timeout_s=2),
                            "http://127.0.0.1:{}/".format(server.server_address[1]), tmp_path / "wrk.txt")
    finally:
        server.shutdown()
        server.server_close()
    assert result.requests > StallingHandler.STALL_EVERY
    # 30 ms stalls are far past twice the mean interval per connection, so wrk added samples ...
    assert result.synthetic_samples > 0
    # ... and what is left is one latency per request, the stalls among them.
    assert sum(count for _, count in result.histogram_us) == result.requests
    assert max(us for us, _ in result.histogram_us) >= StallingHandler.STALL_S * 1e6
    # The row's figures come from those measured latencies, so they can all be true at once: a closed
    # loop of 4 connections holds at most 4 requests (Little's law: req/s x mean latency).
    assert result.latency_source == MEASURED
    assert result.rps * result.latency.avg_ms / 1000.0 <= 4 * 1.01
