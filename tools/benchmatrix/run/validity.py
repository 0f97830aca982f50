"""Why a measurement is not clean: a closed set of flags, each saying what to do.

A record's status follows from its flags: "failed" when nothing it measured can
be trusted at all, "flagged" when the numbers exist but carry a caveat, "ok"
otherwise. Reports never show a flagged or failed number as a clean one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Union

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
    FlagKind("unstable-trials", False,
             "the trials disagree; rerun with more --trials or a longer --duration on a quieter machine"),
    FlagKind("server-restarted", False,
             "a server process died or was replaced mid-run (crash, timeout or max-requests); read the server log"),
    FlagKind("machine-busy", False,
             "something else was using the CPUs before the start; stop it, or wait, and rerun"),
    FlagKind("rate-not-achieved", False,
             "the server (or the load generator) could not keep the planned rate; plan a lower --rate, "
             "or give the driver more --threads (connections) if latency times rate exceeds them"),
    FlagKind("load-generator-saturated", False,
             "wrk was short of CPU, so the number is partly the load generator's; give it its own CPUs "
             "(--pin, automatic on 4+ CPUs) or more --threads, and compare only cells measured alike"),
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


def assess_load_generator(cpu_s: float, wait_s: float, duration_s: float, threads: int,
                          busy_limit: float = 0.9, starved_limit: float = 0.3) -> List[Dict[str, str]]:
    """Flag a run whose load generator, not the server, may have set the pace.

    Two ways: its threads were on a CPU nearly the whole run (busy), or they spent
    most of the time they were ready to run waiting for a CPU that something else
    held (starved). A thread merely waiting for responses is neither. Measured on
    2 cores: wrk waits 9-10% of its demand when pinned apart from the server, 15%
    unpinned against gunicorn, 39% with two busy loops on its CPU (and then delivers
    23% fewer req/s), and 42-44% unpinned against uWSGI or gevent workers that keep
    both cores busy: there too the generator competes with the server for the CPUs.
    """
    capacity = duration_s * threads
    if capacity <= 0:
        return []
    if cpu_s / capacity >= busy_limit:
        reason = "wrk used {:.0%} of {} thread(s) x {:g} s of CPU".format(cpu_s / capacity, threads, duration_s)
    elif wait_s / (cpu_s + wait_s or 1) >= starved_limit and wait_s / capacity >= 0.05:
        reason = "wrk's threads waited {:.2f} s for a CPU against {:.2f} s on one ({:.0%} of their demand)".format(
            wait_s, cpu_s, wait_s / (cpu_s + wait_s))
    else:
        return []
    return [make_flag("load-generator-saturated", reason)]
