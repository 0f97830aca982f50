"""Why a measurement is not clean: a closed set of flags, each saying what to do.

A record's status follows from its flags: "failed" when nothing it measured can
be trusted at all, "flagged" when the numbers exist but carry a caveat, "ok"
otherwise. Reports never show a flagged or failed number as a clean one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Union

from tools.benchmatrix.load.ceiling import BOUND_SHARE, Ceiling
from tools.benchmatrix.load.parse import FixedRateResult, WrkResult


@dataclass(frozen=True)
class FlagKind:
    code: str
    fails: bool  # True: the measurement is unusable, status "failed"
    hint: str  # what the user should do about it


FLAG_KINDS: Dict[str, FlagKind] = {k.code: k for k in (
    FlagKind("verification-failed", True,
             "the endpoint answered wrongly before any load; read the server log in the run's raw folder and fix the app or its config"),
    FlagKind("load-failed", True,
             "the load generator did not produce a result; read its raw output and check that the server still answers"),
    FlagKind("no-successful-responses", True,
             "every response was an error, so the req/s is an error rate, not throughput; check the server log"),
    FlagKind("non-2xx", False,
             "some responses were HTTP errors; check the server log, and lower --connections if the server sheds load"),
    FlagKind("socket-errors", False,
             "connections failed or were reset; check the server's backlog and worker limits, or lower --connections"),
    FlagKind("timeouts", False,
             "requests took longer than wrk's --timeout; raise --timeout or lower --connections, the server is saturated"),
    FlagKind("responses-changed", False,
             "the endpoint answered wrongly during or after the load although it answered right before it; "
             "the number counts wrong answers as throughput. Read the wrong answers in the run's raw folder "
             "and the server log, and fix the app or its config"),
    FlagKind("unstable-trials", False,
             "the trials disagree; rerun with more --trials or a longer --duration on a quieter machine"),
    FlagKind("server-restarted", False,
             "a server process died or was replaced mid-run (crash, timeout or max-requests); read the server log"),
    FlagKind("machine-busy", False,
             "something else was using the CPUs before the start; stop it, or wait, and rerun"),
    FlagKind("idle-reconnects", False,
             "the server closed every connection, and the fixed-rate driver (wrk2 alike) reconnects at once and "
             "sends on the new connection only at its next planned time; a worker that serves one connection at a "
             "time waits on it meanwhile, so latency includes up to connections / rate of that wait. Read the "
             "number as this driver's, not a client's that connects when it sends: fewer --connections shrink it"),
    FlagKind("rate-not-achieved", False,
             "the server (or the load generator) could not keep the planned rate; plan a lower --rate, "
             "or give the driver more --threads (connections) if latency times rate exceeds them"),
    FlagKind("load-generator-bound", False,
             "the cell reached a large share of what the load generator can drive here, so the number is "
             "partly the generator's; give wrk more CPUs (--pin SERVER:LOAD), fewer --connections per "
             "thread, or a second machine, and compare only cells measured alike"),
    FlagKind("generators-disagree", False,
             "a second load generator (--cross-check h2load) measured the same load more than 15% apart from "
             "wrk, so the number is partly the tool's; compare the two raw outputs (trial and cross-check files "
             "in the run's raw folder), check the ceiling share and placement (--pin), and rerun with a longer "
             "--duration before trusting or ranking the row"),
    FlagKind("load-generator-saturated", False,  # older records only: a run-queue guess, replaced by the ceiling
             "wrk was short of CPU, so the number is partly the load generator's; give it its own CPUs"),
)}


def make_flag(code: str, reason: str) -> Dict[str, str]:
    kind = FLAG_KINDS[code]  # a KeyError here means a flag outside the closed set
    return {"code": kind.code, "reason": reason, "hint": kind.hint}


def status_for(flags: List[Dict[str, str]]) -> str:
    if any(FLAG_KINDS[f["code"]].fails for f in flags):
        return "failed"
    return "flagged" if flags else "ok"


def assess_responses(result: Union[WrkResult, FixedRateResult]) -> List[Dict[str, str]]:
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


def assess_rate(result: FixedRateResult, minimum_share: float = 0.99) -> List[Dict[str, str]]:
    """A fixed-rate run that fell behind its plan measured a different load than it claims."""
    if result.achieved_rate >= minimum_share * result.planned_rate:
        return []
    return [make_flag("rate-not-achieved", "achieved {:.1f} of a planned {:g} req/s ({:.1%})".format(
        result.achieved_rate, result.planned_rate, result.achieved_rate / result.planned_rate))]


def assess_ceiling(rps_all: Optional[float], ceiling: Optional[Ceiling],
                   bound_share: float = BOUND_SHARE) -> List[Dict[str, str]]:
    """Flag a run that reached bound_share or more of the load generator's measured ceiling.

    All responses count (rps_all), errors too: the generator had to send and read them all.
    """
    share = ceiling.share(rps_all) if ceiling else None
    if share is None or share < bound_share:
        return []
    return [make_flag("load-generator-bound", "{:,.0f} req/s is {:.0%} of the load generator's ceiling, "
                      "{}; at {:.0%} or more the generator may have set the pace".format(
                          rps_all, share, ceiling.describe(), bound_share))]
