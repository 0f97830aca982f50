"""The checks of one run's figures: responses, achieved rate, the load generator's ceiling.

Each returns flags from the closed set in checks/flags.py.
"""

from __future__ import annotations

from typing import List, Optional, Union

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.load.ceiling import BOUND_SHARE, Ceiling
from benchmatrix.load.parse import FixedRateResult, WrkResult


def assess_responses(result: Union[WrkResult, FixedRateResult]) -> List[Flag]:
    """Flags for the responses of one run, closed-loop or fixed-rate."""
    flags = []
    if result.requests > 0 and result.successful_requests == 0:
        flags.append(make_flag("no-successful-responses",
                               "all {} responses were non-2xx/3xx".format(result.requests)))
    elif result.non2xx:
        flags.append(make_flag("non-2xx", "{} of {} responses ({:.1%}) were non-2xx/3xx".format(
            result.non2xx, result.requests, result.non2xx / result.requests)))
    errors = result.socket_errors
    if errors.connect or errors.read or errors.write:
        flags.append(make_flag("socket-errors", "connect {}, read {}, write {}".format(
            errors.connect, errors.read, errors.write)))
    if errors.timeout:
        flags.append(make_flag("timeouts", "{} requests timed out".format(errors.timeout)))
    if result.requests == 0:
        flags.append(make_flag("load-failed", "wrk completed no request"))
    return flags


def assess_rate(result: FixedRateResult, minimum_share: float = 0.99) -> List[Flag]:
    """A fixed-rate run that fell behind its plan measured a different load than it claims."""
    if result.achieved_rate >= minimum_share * result.planned_rate:
        return []
    return [make_flag("rate-not-achieved", "achieved {:.1f} of a planned {:g} req/s ({:.1%})".format(
        result.achieved_rate, result.planned_rate, result.achieved_rate / result.planned_rate))]


def assess_ceiling(rps_all: Optional[float], ceiling: Optional[Ceiling],
                   bound_share: float = BOUND_SHARE) -> List[Flag]:
    """Flag a run that reached bound_share or more of the load generator's measured ceiling.

    All responses count (rps_all), errors too: the generator had to send and read them all.
    """
    share = ceiling.share(rps_all) if ceiling else None
    if share is None or share < bound_share:
        return []
    return [make_flag("load-generator-bound", "{:,.0f} req/s is {:.0%} of the load generator's ceiling, "
                      "{}; at {:.0%} or more the generator may have set the pace".format(
                          rps_all, share, ceiling.describe(), bound_share))]
