"""Why a measurement is not clean: a closed set of flags, each saying what to do.

A record's status follows from its flags: "failed" when nothing it measured can
be trusted at all, "flagged" when the numbers exist but carry a caveat, "ok"
otherwise. Reports never show a flagged or failed number as a clean one.

A Flag is what a check returns and what a record keeps; on disk it is the JSON
object {"code", "reason", "hint"} that every schema version has written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, Mapping


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
    FlagKind("figures-disagree", False,
             "two figures of this row cannot both be true (the reason names them), so neither can be trusted "
             "or compared: read the trial's raw output; a closed loop's latency that counts wrk's synthetic "
             "samples (a wrk whose done() report has no histogram) is the usual cause; rerun, and report it if "
             "it stays"),
    FlagKind("work-skipped", False,
             "the answers were right but the database or the upstream stub counted less work per request than "
             "the scenario promises (the reason names the count), so the row measures a cheaper workload than "
             "its name says: look for answers cached in the app, pooled connections where a new one is "
             "promised, or calls made fewer times than the body reports; fix the app, then rerun"),
    FlagKind("load-generator-saturated", False,  # older records only: a run-queue guess, replaced by the ceiling
             "wrk was short of CPU, so the number is partly the load generator's; give it its own CPUs"),
)}


@dataclass(frozen=True)
class Flag:
    """One reason a record is not clean: its code from FLAG_KINDS, what was seen, what to do."""

    code: str
    reason: str  # the figures that made the check fire, in words
    hint: str  # what the user should do, the kind's hint when the flag was raised

    @property
    def fails(self) -> bool:
        """True when the measurement is unusable (status "failed"); unknown codes of newer records do not."""
        kind = FLAG_KINDS.get(self.code)
        return bool(kind and kind.fails)

    def prefixed(self, prefix: str) -> "Flag":
        """The same flag with where it arose (a trial, the primer, a probe) in front of its reason."""
        return replace(self, reason="{}: {}".format(prefix, self.reason))

    def to_json(self) -> Dict[str, str]:
        return {"code": self.code, "reason": self.reason, "hint": self.hint}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Flag":
        """A flag as a record on disk holds it; a missing hint is the kind's own."""
        code = str(data["code"])
        kind = FLAG_KINDS.get(code)
        return cls(code, str(data.get("reason", "")), str(data.get("hint") or (kind.hint if kind else "")))


def make_flag(code: str, reason: str) -> Flag:
    kind = FLAG_KINDS[code]  # a KeyError here means a flag outside the closed set
    return Flag(kind.code, reason, kind.hint)


def status_for(flags: Iterable[Flag]) -> str:
    flags = list(flags)
    if any(flag.fails for flag in flags):
        return "failed"
    return "flagged" if flags else "ok"
