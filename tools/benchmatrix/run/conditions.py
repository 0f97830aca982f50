"""The conditions a run measured under, as one typed value every record of the run shares.

Each step of the run (pipeline.py) returns what it learned as a typed value: the
machine's state before the start, the lock it held, the load generator's ceiling,
what the stack started, the hosts and their round trips, the cooperative-I/O check.
`Conditions` puts them together, frozen; nothing writes into it. `to_json()` is the
`meta` of every record, key for key what records have always had, so old and new
records read alike. A part not learned (yet) is left out of the JSON, as it was
before: a record of a failed verification has no `hosts` and no `coop_check`.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.hosts.machine_advice import Advice, advice
from benchmatrix.hosts.machine_state import collect_machine_state
from benchmatrix.hosts.pinning import Pinning
from benchmatrix.hosts.roles import HostsPlan
from benchmatrix.hosts.rtt import measure as measure_rtt
from benchmatrix.load import ceiling as load_ceiling
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import LoadSettings
from benchmatrix.run.metadata import MeasuredEnvironment
from benchmatrix.run.resources import machine_busy_share
from benchmatrix.stack.cell_stack import ServerLaunch, StackConditions
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.readiness import ServiceError

Say = Callable[[str], None]
CeilingKey = Tuple[int, int]  # (connections, threads) of a closed-loop load


@dataclass(frozen=True)
class MachineCheck:
    """The machine as it was before the server started (its own work is not counted)."""
    busy_share_before_start: Optional[float]  # None: not sampled (--machine-sample 0)
    state: Dict[str, Any]  # hosts/machine_state.py
    advice: List[Advice]
    flags: List[Flag]  # machine-busy, for every record of the run

    def to_json(self) -> Dict[str, Any]:
        return {"busy_share_before_start": self.busy_share_before_start, "state": self.state,
                "advice": [item.as_dict() for item in self.advice]}


def check_machine(sample_s: float, max_busy: float, say: Say) -> MachineCheck:
    """The machine's state and how busy its CPUs were, checked once before the server starts.

    What may skew the numbers is said first; all of it goes into every record.
    """
    # Both are windows of passive sampling: taken side by side, a matrix run pays one window
    # a cell, not two (0.3 s of a 5 s smoke cell).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        sampled_state = pool.submit(collect_machine_state, sample_s=min(0.3, sample_s))
        busy = machine_busy_share(sample_s) if sample_s > 0 else None
        state = sampled_state.result()
    found = advice(state)
    for item in found:
        if item.severity == "warn":
            say("machine: {}; {} (`nox -s system` shows the machine's state)".format(item.finding, item.what_to_do))
    flags = []
    if busy is not None and busy > max_busy:
        flags.append(make_flag("machine-busy", "{:.0%} of the CPUs were busy before the start "
                               "(limit {:.0%})".format(busy, max_busy)))
    return MachineCheck(round(busy, 3) if busy is not None else None, state, found, flags)


@dataclass(frozen=True)
class CeilingOutcome:
    """The load generator's ceiling for each closed-loop load the run plans, and how it was had."""
    choice: str  # --ceiling: "auto", "measure" or "off"
    ceilings: Dict[CeilingKey, load_ceiling.Ceiling] = field(default_factory=dict)
    error: Optional[str] = None  # why one could not be measured: the records then say "unknown"


def find_ceilings(choice: str, settings_list: Iterable[LoadSettings], measure: Callable[..., load_ceiling.Ceiling],
                  say: Say) -> CeilingOutcome:
    """The load generator's ceiling for each closed-loop load, before the cell boots; `measure`
    finds or measures one (load/ceiling.py's find_or_measure with the run's tool, CPUs and hosts)."""
    if choice == "off":
        say("load generator ceiling: off (--ceiling off); the records cannot say whether the generator set the pace")
        return CeilingOutcome(choice)
    ceilings: Dict[CeilingKey, load_ceiling.Ceiling] = {}
    error = None
    for settings in settings_list:
        key = (settings.connections, settings.threads)
        if key in ceilings:
            continue
        try:
            ceilings[key] = measure(settings, key, remeasure=choice == "measure")
        except (WrkOutputError, ServiceError) as failure:
            # Without it the records say "unknown", which is the honest answer; the cell still runs.
            error = str(failure).splitlines()[0]
            say("load generator ceiling could not be measured ({}); the records will say so".format(error))
    return CeilingOutcome(choice, ceilings, error)


@dataclass(frozen=True)
class HostsConditions:
    """Each role's host and the round trips between them, measured before any load."""
    hosts: Dict[str, Any]  # HostsPlan.as_metadata with its label

    def to_json(self) -> Dict[str, Any]:
        return self.hosts


def measure_hosts(hosts: HostsPlan, server_port: int, database_endpoint: Optional[Tuple[str, int]],
                  say: Say) -> HostsConditions:
    rtt: Dict[str, Any] = {}
    try:
        if hosts.load_is_remote:
            # Timed from the server's side to the load host's sshd: the same path, the other way.
            host, port = hosts.load_ssh.address_and_port()
            rtt["server-load"] = measure_rtt(host, port)
        else:
            rtt["load-server"] = measure_rtt(hosts.server_address, server_port)
        if database_endpoint:
            rtt["server-database"] = measure_rtt(*database_endpoint, from_namespace=(
                hosts.lab.namespace("server") if hosts.lab else None))
    except OSError as error:
        rtt["error"] = "could not be measured: {}".format(error)
    say("hosts: {}; round trips {}".format(
        ", ".join("{} {}".format(role, role_host["host"]) for role, role_host in hosts.roles().items()),
        ", ".join("{} {:.3f} ms".format(pair, value["median_ms"]) for pair, value in rtt.items()
                  if isinstance(value, dict)) or rtt.get("error", "none")))
    return HostsConditions(dict(hosts.as_metadata(rtt), label=hosts.label()))


def check_cooperative_io(endpoint: Endpoint, requests: int, say: Say) -> Dict[str, Any]:
    """Whether the stack overlaps waits on the database and the upstream (run/coop.py); its verdict."""
    from benchmatrix.run import coop

    say("cooperative-I/O check: {} concurrent requests each to {}".format(requests, ", ".join(coop.CHECKED_SCENARIOS)))
    results = coop.check(endpoint, requests=requests)
    for result in results:
        say("  " + result.label() + " ({} in flight at once)".format(result.in_flight))
    return coop.as_metadata(results)


@dataclass(frozen=True)
class Conditions:
    """Everything a record of this run states about how it was measured (its `meta`, before the
    load command and phases each record adds)."""
    environment: MeasuredEnvironment
    pinning: Optional[Pinning]
    server: ServerLaunch
    workers_rule: str  # why this many workers
    constraints: Dict[str, Optional[str]]  # which pins file, and its hash (matrix/cells.py)
    fixed_rate_driver: Optional[Dict[str, str]] = None  # name and binary, when the run has open-loop loads
    machine_lock: Optional[Dict[str, Any]] = None
    machine: Optional[MachineCheck] = None
    ceiling: Optional[CeilingOutcome] = None
    stack: Optional[StackConditions] = None
    hosts: Optional[HostsConditions] = None
    coop_check: Optional[Dict[str, Any]] = None
    overrides: Optional[Dict[str, str]] = None  # --with: package -> the release run instead of its pin

    def to_json(self) -> Dict[str, Any]:
        environment = self.environment
        load_tool: Dict[str, Any] = {"name": "wrk", "version": environment.load_tool_version}
        if self.fixed_rate_driver:
            load_tool["fixed_rate_driver"] = dict(self.fixed_rate_driver)
        meta: Dict[str, Any] = {
            "python": environment.python, "packages": environment.packages, "freeze_sha": environment.freeze_sha,
            "cell_environment": environment.cell_environment, "harness": environment.harness,
            "load_tool": load_tool, "services": environment.services,
            # Stated once checked: an interleaved contender is given the check of the first (run/interleave.py).
            **({"machine": dict(environment.machine, **self.machine.to_json())} if self.machine else {}),
            "git": environment.git,
            "pinning": self.pinning.as_metadata() if self.pinning else None,
            "server": dict(self.server.to_json(), workers_rule=self.workers_rule),
            "constraints": self.constraints}
        if self.machine_lock is not None:
            meta["machine_lock"] = self.machine_lock
        if self.ceiling is not None:
            meta["ceiling_choice"] = self.ceiling.choice
            if self.ceiling.error is not None:
                meta["ceiling_error"] = self.ceiling.error
        if self.stack is not None:
            meta["front"] = self.stack.front
            if self.stack.database:
                meta["database"] = self.stack.database
            if self.stack.upstream:
                meta["upstream"] = self.stack.upstream
        if self.hosts is not None:
            meta["hosts"] = self.hosts.to_json()
        if self.overrides:
            meta["overrides"] = dict(self.overrides)
        if self.coop_check is not None:
            meta["coop_check"] = self.coop_check
        return meta
