"""A flow's figures under wrk: the line load/flow.lua prints, and the result that counts flows.

wrk's own report (wrk_report.lua's line, printed first) counts every request of every
step. A flow scenario is measured in completed flows: flow_result keeps wrk's socket
errors and bytes, and takes the unit's figures (passes, failed passes, whole-flow
latency and its histogram) and each step's latency from flow.lua's line.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from benchmatrix.load.measured_latency import MEASURED
from benchmatrix.load.results import FLOW, Latency, StepLatency, WrkOutputError, WrkResult, first_lines
from benchmatrix.load.script_line import histogram_rows, marked_object, optional_number

MARKER = "BENCHMATRIX_FLOW_JSON "


@dataclass(frozen=True)
class FlowSeries:
    """Whole flows or one step: as flow.lua merged it over every thread."""
    step: StepLatency
    latency: Optional[Latency]  # None when nothing was answered
    p999_ms: Optional[float]
    histogram_us: Tuple[Tuple[float, int], ...]


@dataclass(frozen=True)
class FlowReport:
    threads: int
    started: int  # flow passes begun (some still running when wrk stopped)
    flow: FlowSeries
    steps: Tuple[FlowSeries, ...]


def _number(data: Dict[str, Any], key: str) -> Optional[float]:
    return optional_number(data, key, "flow result")


def _series(data: Any) -> FlowSeries:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise WrkOutputError("flow result: a series is not an object with a name: {!r}".format(data)[:200])
    count, failed = _number(data, "count"), _number(data, "failed")
    if count is None or failed is None:
        raise WrkOutputError("flow result: series {!r} has no count or failed".format(data["name"]))
    step = StepLatency(name=data["name"], count=int(count), failed=int(failed), mean_ms=_number(data, "mean_ms"),
                       p50_ms=_number(data, "p50_ms"), p90_ms=_number(data, "p90_ms"),
                       p99_ms=_number(data, "p99_ms"), max_ms=_number(data, "max_ms"))
    latency = None
    if step.mean_ms is not None:
        latency = Latency(avg_ms=step.mean_ms, stdev_ms=_number(data, "stdev_ms") or 0.0, max_ms=step.max_ms or 0.0,
                          p50_ms=step.p50_ms, p75_ms=_number(data, "p75_ms"), p90_ms=step.p90_ms,
                          p99_ms=step.p99_ms, p999_ms=_number(data, "p99.9_ms"))
    # absent when the series has no answers
    histogram = histogram_rows(data.get("histogram_us") or [], step.count, "flow series {!r}".format(step.name))
    return FlowSeries(step, latency, _number(data, "p99.9_ms"), histogram)


def _missing_line(text: str) -> WrkOutputError:
    script_error = re.search(r"^.*(?:\.lua|PANIC).*$", text, re.M)
    return WrkOutputError("wrk printed no flow result (no {!r} line){}; first lines: {}".format(
        MARKER.strip(), ": " + script_error.group(0).strip() if script_error else "", first_lines(text)))


def parse_flow_report(text: str) -> FlowReport:
    """The line flow.lua printed among wrk's output; WrkOutputError when there is none or it is damaged."""
    data = marked_object(text, MARKER, "flow", _missing_line)
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise WrkOutputError("flow result has no steps: {:.200}".format(str(data)))
    return FlowReport(threads=int(_number(data, "threads") or 0), started=int(_number(data, "started") or 0),
                      flow=_series(data.get("flow")), steps=tuple(_series(step) for step in steps))


def flow_result(requests: WrkResult, report: FlowReport) -> WrkResult:
    """wrk's result counted in flows: rps is completed flows per second (failed ones are its non2xx)."""
    flows = report.flow.step.count
    zero = Latency(avg_ms=0.0, stdev_ms=0.0, max_ms=0.0)
    return dataclasses.replace(
        requests, requests=flows, rps=flows / requests.elapsed_s if requests.elapsed_s else 0.0,
        non2xx=report.flow.step.failed, latency=report.flow.latency or zero, wrk_latency=None,
        latency_source=MEASURED, histogram_us=report.flow.histogram_us, synthetic_samples=0, unit=FLOW,
        steps=tuple(series.step for series in report.steps))
