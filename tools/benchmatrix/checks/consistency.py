"""Whether a row's figures can all be true at once.

A closed loop of C connections never holds more than C requests at once: by Little's
law the requests in flight are req/s x mean latency, and on each connection the
latencies of the requests it completed add up to at most the run's length, so the
figure is at most C exactly. A row above that counts latencies no request had (wrk's
synthetic samples) or a clock that is wrong; either way its numbers do not describe
one run. Likewise a fixed-rate driver cannot complete more than it planned to send,
and a run cannot have more errors than answers, nor more answers than nginx in front of the
server read requests (by its own count, stub_status). Each check names the two figures
that disagree.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.load.results import WITH_SYNTHETIC

# Little's law holds exactly; this is room for the timers' microsecond rounding and for
# connections that wrk opens per thread (never more than asked).
IN_FLIGHT_SLACK = 1.01
OVERSHOOT_SLACK = 1.02  # a fixed-rate driver's start-up can complete a few requests early


def assess_consistency(trials: Sequence[Dict[str, Any]], connections: int,
                       planned_rate: Optional[float] = None) -> List[Flag]:
    """The flags of trials (as records keep them) whose figures contradict each other, one per trial and kind."""
    flags = []
    for number, trial in enumerate(trials, start=1):
        flags += _trial_flags(trial, connections, planned_rate, "trial {}".format(number))
    return flags


def _trial_flags(trial: Dict[str, Any], connections: int, planned_rate: Optional[float], where: str) -> List[Flag]:
    flags = []
    in_flight = trial.get("in_flight")
    mean = (trial.get("latency_ms") or {}).get("avg")
    if in_flight is not None and connections and in_flight > connections * IN_FLIGHT_SLACK:
        flags.append(make_flag("figures-disagree", "{}: {:.1f} requests in flight ({:,.0f} req/s x {:.2f} ms mean "
                               "latency{}) on {} connections, which a closed loop cannot exceed".format(
                                   where, in_flight, trial.get("rps_all") or 0.0, mean or 0.0,
                                   ", wrk's figures with its synthetic samples"
                                   if trial.get("latency_source") == WITH_SYNTHETIC else "", connections)))
    requests, non2xx = trial.get("requests") or 0, (trial.get("errors") or {}).get("non2xx") or 0
    if non2xx > requests:
        flags.append(make_flag("figures-disagree", "{}: {} error responses of {} responses in all".format(
            where, non2xx, requests)))
    if (trial.get("rps") or 0.0) > (trial.get("rps_all") or 0.0) * 1.000001:
        flags.append(make_flag("figures-disagree", "{}: {:,.1f} successful responses per second of {:,.1f} in all"
                               .format(where, trial["rps"], trial.get("rps_all") or 0.0)))
    front = trial.get("front_requests")
    if front is not None and requests > front:
        flags.append(make_flag("figures-disagree", "{}: the load generator counted {:,} answers where nginx in "
                               "front read {:,} requests".format(where, requests, front)))
    achieved = trial.get("achieved_rate")
    if planned_rate and achieved is not None and achieved > planned_rate * OVERSHOOT_SLACK:
        flags.append(make_flag("figures-disagree", "{}: achieved {:,.1f} req/s of a planned {:g}; a fixed-rate "
                               "driver sends no more than it plans".format(where, achieved, planned_rate)))
    return flags
