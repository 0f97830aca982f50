"""The parsers of every load tool's output, one module per notation, gathered under one name.

- load/results.py: the typed results (WrkResult, FixedRateResult, Latency, SocketErrors), wrk's units
  and WrkOutputError;
- load/wrk_summary.py: stock wrk's human summary;
- load/wrk_report_parse.py: wrk's done() JSON report (load/wrk_report.lua) and its histogram;
- load/wrk2_summary.py: wrk2's summary and HdrHistogram blocks;
- load/fixed_rate.py: the built-in fixed-rate driver's JSON line; load/cross_check.py: h2load's summary.
"""
from __future__ import annotations

from benchmatrix.load.results import (FixedRateResult, Latency, SocketErrors, WrkOutputError, WrkResult,
                                      first_lines, latency_ms, parse_duration_s, scaled_count, size_bytes)
from benchmatrix.load.wrk2_summary import is_wrk2_usage, parse_wrk2
from benchmatrix.load.wrk_report_parse import (REPORT_MARKER, measured_histogram, parse_wrk_report,
                                               wrk_correction_interval_us)
from benchmatrix.load.wrk_summary import parse_wrk

__all__ = ["FixedRateResult", "Latency", "SocketErrors", "WrkOutputError", "WrkResult", "first_lines", "latency_ms",
           "parse_duration_s", "scaled_count", "size_bytes", "is_wrk2_usage", "parse_wrk2", "REPORT_MARKER",
           "measured_histogram", "parse_wrk_report", "wrk_correction_interval_us", "parse_wrk"]
