"""The arithmetic of trials: medians, spreads and the unstable-trials judgement."""

from __future__ import annotations

import pytest

from tools.benchmatrix.run.trials import resource_summary, spread, summarize, unstable


def trial(rps, p99, non2xx=0, cpu=1.0, rss=50.0):
    return {"rps": rps, "rps_all": rps, "requests": int(rps),
            "latency_ms": {"avg": 1.0, "p50": 1.0, "p75": 1.5, "p90": 2.0, "p99": p99, "max": 9.0},
            "errors": {"non2xx": non2xx, "timeout": 0},
            "resources": {"server_cpu_s": cpu, "server_peak_rss_mb": rss, "load_generator_cpu_s": 0.2}}


def test_spread_of_known_values():
    result = spread([90.0, 100.0, 110.0])
    assert result["median"] == 100.0 and result["min"] == 90.0 and result["max"] == 110.0
    assert result["cv"] == pytest.approx((200 / 3) ** 0.5 / 100)


def test_spread_ignores_missing_values_and_is_none_without_any():
    assert spread([None, 5.0])["median"] == 5.0
    assert spread([None, None]) is None


def test_summary_takes_medians_sums_errors_and_keeps_spreads():
    summary = summarize([trial(100, 10), trial(120, 30, non2xx=2), trial(110, 20, non2xx=1)])
    assert summary["rps"] == 110 and summary["latency_ms"]["p99"] == 20
    assert summary["errors"] == {"non2xx": 3, "timeout": 0}
    assert summary["spread"]["latency_ms"]["p99"]["max"] == 30
    assert summary["requests"] == 330


def test_unstable_only_past_the_limit():
    steady = summarize([trial(100, 1), trial(101, 1), trial(99, 1)])
    shaky = summarize([trial(60, 1), trial(100, 1), trial(140, 1)])
    assert unstable(steady, 0.05) is None
    assert "varied" in unstable(shaky, 0.05) and "min 60" in unstable(shaky, 0.05)


def test_resources_report_median_cpu_and_peak_memory():
    usage = resource_summary([trial(1, 1, cpu=1.0, rss=40), trial(1, 1, cpu=3.0, rss=90), trial(1, 1, cpu=2.0)])
    assert usage == {"server_cpu_s": 2.0, "server_peak_rss_mb": 90, "load_generator_cpu_s": 0.2}
