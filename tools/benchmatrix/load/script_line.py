"""The result line the harness's own wrk scripts print, read once for all of them.

fixed_rate.lua and flow.lua each print one marked JSON object after wrk's summary, with
numbers and the latency histograms of load/latency_buckets.lua ("histogram_us":
[[us, count], ...], non-zero buckets ascending). fixed_rate.py and flow_report.py read
their own fields; finding the line and reading those two notations is done here.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Optional, Tuple

from benchmatrix.load.results import WrkOutputError


def marked_object(text: str, marker: str, what: str, missing: Callable[[str], WrkOutputError]) -> Dict[str, Any]:
    """The JSON object on the one line of `text` that starts with `marker`; `missing(text)` is raised when
    there is none, WrkOutputError when there are several or the line is damaged. `what` names the
    result in messages ("fixed-rate", "flow")."""
    lines = re.findall(r"^%s(.*)$" % re.escape(marker), text, re.M)
    if not lines:
        raise missing(text)
    if len(lines) > 1:
        raise WrkOutputError("wrk output holds %d %s results; parse one run at a time" % (len(lines), what))
    try:
        data = json.loads(lines[0])
    except ValueError as exc:
        raise WrkOutputError("%s result line is not valid JSON (%s); the output seems cut short: %.200s"
                             % (what, exc, lines[0])) from None
    if not isinstance(data, dict):
        raise WrkOutputError("%s result line is not a JSON object: %.200s" % (what, lines[0]))
    return data


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def optional_number(data: Dict[str, Any], key: str, what: str) -> Optional[float]:
    """data[key] as a float; None when it is absent or null (a figure of an empty series)."""
    value = data.get(key)
    if value is None:
        return None
    if not is_number(value):
        raise WrkOutputError("%s has no number %r (got %r)" % (what, key, value))
    return float(value)


def number(data: Dict[str, Any], key: str, what: str) -> float:
    value = optional_number(data, key, what)
    if value is None:
        raise WrkOutputError("%s has no number %r (got None)" % (what, key))
    return value


def histogram_rows(rows: Any, samples: int, what: str) -> Tuple[Tuple[float, int], ...]:
    """latency_buckets.lua's [[us, count], ...] as (us, count) pairs. Every answer is one sample, so counts
    that do not add up to `samples` mean a damaged line."""
    if not isinstance(rows, list):
        raise WrkOutputError("%s 'histogram_us' is not a list of [us, count] (got %r)" % (what, rows))
    histogram = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2 and all(is_number(x) for x in row)
                and row[0] >= 0 and row[1] >= 1 and row[1] == int(row[1])):
            raise WrkOutputError("%s histogram row is not [us, count]: %r" % (what, row))
        histogram.append((float(row[0]), int(row[1])))
    counted = sum(count for _, count in histogram)
    if counted != samples:
        raise WrkOutputError("%s histogram counts %d samples for %d answers" % (what, counted, samples))
    return tuple(histogram)
