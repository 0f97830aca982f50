"""The load generator's measured ceiling: the most req/s it can drive on its CPUs here.

A cell can only show what the load generator is able to ask for. Rather than guess
from wrk's CPU time or run-queue waits (a guess that depends on the scheduler), the
ceiling is measured: wrk, on the CPUs and with the connections and threads a cell's
run uses, against nginx answering a fixed 13-byte body on the CPUs the server gets.
No Python server answers faster than that, so a cell that reaches a large share
of it measured the generator at least as much as the server.

The figure is kept with a fingerprint of what it depends on (machine, placement,
wrk and nginx versions, connections, threads) in a cache file, and reused for
MAX_AGE_S, so a matrix run pays for it once. The spread of its trials is also what
this machine's noise looks like for a load whose server side does not vary, which
the unstable-trials judgement uses as its reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmatrix.hosts.fingerprint import machine_identity as host_identity
from benchmatrix.hosts.machine_advice import OTHERS_BUSY_LIMIT
from benchmatrix.hosts.machine_state import OthersCpu
from benchmatrix.hosts.pinning import Pinning
from benchmatrix.hosts.roles import HostsPlan
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import LoadSettings, run_wrk

TRIALS = 3
TRIAL_S = 3
WARMUP_S = 1
MAX_AGE_S = 6 * 3600  # long enough for a matrix run, short enough to notice a machine that changed
BOUND_SHARE = 0.70  # a cell at this share of the ceiling or above is load-generator-bound
# A ceiling is only cached when it was measured quietly: other processes kept at most OTHERS_BUSY_LIMIT of
# the CPUs busy and its trials agreed to within QUIET_CV (here they vary under 1%).
QUIET_CV = 0.05
CACHE_VARIABLE = "BENCHMATRIX_CACHE_DIR"


def cache_path() -> Path:
    base = os.environ.get(CACHE_VARIABLE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "benchmatrix")
    return Path(base) / "ceilings.json"


def machine_identity() -> Dict[str, Any]:
    """What makes two runs "the same machine" for a ceiling: the host and its hardware
    (hosts/fingerprint.py), and here the kernel too, which moves a load generator's ceiling."""
    return dict(host_identity(), kernel=platform.release())


def fingerprint(pinning: Optional[Pinning], settings: LoadSettings, wrk_version: Optional[str],
                nginx_version: Optional[str], hosts: Optional[HostsPlan] = None) -> Dict[str, Any]:
    network = hosts.identity() if hosts else None
    # Only when the roles have hosts of their own, so loopback ceilings cached before stay valid.
    extra = {"network": network} if network else {}
    return {"machine": machine_identity(), **extra,
            "placement": pinning.as_metadata() if pinning else "unpinned",
            "wrk": wrk_version, "nginx": nginx_version,
            "connections": settings.connections, "threads": settings.threads,
            "connection_mode": "close" if settings.connection_close else "keep-alive"}


def fingerprint_key(print_: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(print_, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Ceiling:
    rps: float  # median req/s of the trials
    trials: List[float]
    cv: float  # coefficient of variation of the trials' req/s
    measured_at: float  # epoch seconds
    fingerprint: Dict[str, Any]
    raw_dir: Optional[str] = None  # where the measuring run's wrk outputs are
    reused: bool = field(default=False, compare=False)
    others_busy_cpus: Optional[float] = None  # CPUs other processes kept busy meanwhile; None: not watched
    # Why this ceiling is not to be trusted beyond its own run (a busy machine, trials that disagree);
    # None for a quiet measurement. An unreliable ceiling serves its run and is never cached.
    unreliable: Optional[str] = None

    def share(self, rps: Optional[float]) -> Optional[float]:
        return None if rps is None or not self.rps else rps / self.rps

    def describe(self) -> str:
        print_ = self.fingerprint
        placement = print_["placement"]
        where = "unpinned" if placement == "unpinned" else "wrk on CPU {}, nginx on CPU {}".format(
            placement["load_cpus"], placement["server_cpus"])
        network = print_.get("network") or {}
        if network.get("load"):
            where = "wrk on {}, nginx here{}".format(
                network["load"], "" if placement == "unpinned" else " on CPU {}".format(placement["server_cpus"]))
        elif network:
            where += ", across {}".format("the namespaces' link" + (" ({})".format(
                "/".join(v for v in (network["link"].get("rate"), network["link"].get("delay")) if v))
                if network.get("link") else ""))
        return "{:,.0f} req/s ({} connections, {} threads, {}; measured {})".format(
            self.rps, print_["connections"], print_["threads"], where,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(self.measured_at)))

    def as_metadata(self) -> Dict[str, Any]:
        data = asdict(self)
        data["age_s"] = round(time.time() - self.measured_at, 1)
        data["trials"] = [round(v, 1) for v in self.trials]
        return data


def _read_cache(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measuring again is the safe answer


def cached(print_: Dict[str, Any], max_age_s: float = MAX_AGE_S, path: Optional[Path] = None) -> Optional[Ceiling]:
    entry = _read_cache(path or cache_path()).get(fingerprint_key(print_))
    if not entry or entry.get("fingerprint") != print_ or time.time() - entry["measured_at"] > max_age_s:
        return None
    return Ceiling(rps=entry["rps"], trials=entry["trials"], cv=entry["cv"], measured_at=entry["measured_at"],
                   fingerprint=entry["fingerprint"], raw_dir=entry.get("raw_dir"), reused=True,
                   others_busy_cpus=entry.get("others_busy_cpus"))


def store(ceiling: Ceiling, path: Optional[Path] = None) -> None:
    """Add one ceiling to the cache; written to a temporary file and renamed, so a reader never sees half."""
    path = path or cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = _read_cache(path)
    entries = {key: entry for key, entry in entries.items()
               if time.time() - entry.get("measured_at", 0) <= MAX_AGE_S}  # the cache never grows stale
    entry = asdict(ceiling)
    entry.pop("reused")
    entries[fingerprint_key(ceiling.fingerprint)] = entry
    temporary = path.with_suffix(".tmp{}".format(os.getpid()))
    temporary.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(str(temporary), str(path))


def coefficient_of_variation(values: Sequence[float]) -> float:
    return statistics.pstdev(values) / statistics.mean(values) if len(values) > 1 and statistics.mean(values) else 0.0


def measure(wrk: str, settings: LoadSettings, pinning: Optional[Pinning], raw_dir: Path, print_: Dict[str, Any],
            say: Callable[[str], None] = print, trials: int = TRIALS, trial_s: int = TRIAL_S,
            hosts: Optional[HostsPlan] = None) -> Ceiling:
    """Start the fixed-body nginx on the server's host and CPUs and drive it as a cell would be driven."""
    from benchmatrix.stack.nginx import NginxFront
    from benchmatrix.stack.process import free_port

    hosts = hosts or HostsPlan(kind="local")
    port = free_port()
    front = NginxFront("fixed-body", port, "", raw_dir / "nginx",
                       worker_processes=pinning.server_cpu_count if pinning else (os.cpu_count() or 1),
                       ready_path="/", prefix=tuple(hosts.server_prefix() + (pinning.server_prefix() if pinning else [])),
                       listen_address=hosts.server_address)
    load_prefix = load_command_prefix(pinning, hosts)
    url = "http://{}:{}/".format(hosts.server_address, port)
    results: List[float] = []
    say("measuring the load generator's ceiling: wrk against nginx's fixed body, {} connections, "
        "{} threads, {} x {} s".format(settings.connections, settings.threads, trials, trial_s))
    with front.running(), OthersCpu() as others:
        run_wrk(wrk, _with_duration(settings, WARMUP_S), url, raw_dir / "warmup.txt", prefix=load_prefix)
        for number in range(1, trials + 1):
            _, result = run_wrk(wrk, _with_duration(settings, trial_s), url,
                                raw_dir / "trial{}.txt".format(number), prefix=load_prefix)
            if not result.successful_requests or result.non2xx:
                raise WrkOutputError("the ceiling target answered wrongly ({} of {} responses not 2xx); see {}"
                                     .format(result.non2xx, result.requests, raw_dir))
            results.append(result.successful_rps)
    cv = coefficient_of_variation(results)
    ceiling = Ceiling(rps=statistics.median(results), trials=results, cv=cv, measured_at=time.time(),
                      fingerprint=print_, raw_dir=str(raw_dir), others_busy_cpus=others.busy_cpus,
                      unreliable=unreliable_reason(others.busy_cpus, cv, len(os.sched_getaffinity(0))))
    say("load generator ceiling: {} (trials vary {:.1%})".format(ceiling.describe(), ceiling.cv))
    return ceiling


def unreliable_reason(others_busy_cpus: Optional[float], cv: float, cpus: int) -> Optional[str]:
    """Why a ceiling measured so is not this machine's (a busy machine, trials that disagree); None if quiet."""
    if others_busy_cpus is not None and others_busy_cpus > OTHERS_BUSY_LIMIT * cpus:
        return "other processes kept {:.1f} of {} CPUs busy while it was measured".format(others_busy_cpus, cpus)
    if cv > QUIET_CV:
        return "its trials varied {:.1%} (a quiet machine: under {:.0%})".format(cv, QUIET_CV)
    return None


def _with_duration(settings: LoadSettings, duration_s: int) -> LoadSettings:
    return LoadSettings(threads=settings.threads, connections=settings.connections, duration_s=duration_s,
                        timeout_s=settings.timeout_s, connection_close=settings.connection_close)


def load_command_prefix(pinning: Optional[Pinning], hosts: HostsPlan) -> List[str]:
    """What every load command runs under: on an SSH load host the wrapper that runs it there (this
    machine's CPU placement means nothing there), else the load generator's CPUs here."""
    if hosts.load_is_remote:
        return hosts.load_prefix()
    return pinning.load_prefix() if pinning else []


def find_or_measure(wrk: str, settings: LoadSettings, pinning: Optional[Pinning], raw_dir: Path,
                    wrk_version: Optional[str], nginx_version: Optional[str], remeasure: bool = False,
                    say: Callable[[str], None] = print, hosts: Optional[HostsPlan] = None) -> Ceiling:
    """The cached ceiling for these conditions while it is fresh, else a new measurement (then cached)."""
    print_ = fingerprint(pinning, settings, wrk_version, nginx_version, hosts)
    found = None if remeasure else cached(print_)
    if found:
        say("load generator ceiling: {} (reused, {:.0f} min old)".format(
            found.describe(), (time.time() - found.measured_at) / 60))
        return found
    ceiling = measure(wrk, settings, pinning, raw_dir, print_, say=say, hosts=hosts)
    if ceiling.unreliable:
        # Reused, a ceiling from a busy moment (38.5k req/s against 112k quiet, measured) would judge
        # every cell of the next 6 hours against the wrong figure; it judges this run's cells only.
        say("load generator ceiling not cached, it may not be this machine's: {}".format(ceiling.unreliable))
        return ceiling
    with contextlib.suppress(OSError):  # an unwritable cache costs a re-measurement next time, no more
        store(ceiling)
    return ceiling
