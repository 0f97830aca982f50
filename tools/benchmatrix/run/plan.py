"""Planning one cell's run: the load each scenario gets, the phases, and which services it needs.

Pure decisions from the options and the cell; nothing here starts a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Set

from benchmatrix.load.wrk import FixedRateDriver, LoadSettings
from benchmatrix.matrix.cells import Cell
from benchmatrix.matrix.scenarios import SCENARIOS, Scenario, services_needed
from benchmatrix.run.progress import planned_cell_seconds
from benchmatrix.run import coop
from benchmatrix.run.option_specs import DEFAULT_TIMEOUT_S
from benchmatrix.run.options import RunOptions

SLO_EXPECTED_PROBES = 8  # the peak, a few 10% steps down, two bisections, one repeat (run/slo_search.py)
# Seconds the built-in fixed-rate driver runs past its planned window, so the answers
# to the last planned requests arrive before wrk stops: an I/O-bound answer takes a second.
DRAIN_S = 1
IO_DRAIN_S = 2


@dataclass(frozen=True)
class LoadPlan:
    """How one record's trials load the server."""
    mode: str  # "closed-loop" or "fixed-rate"
    connections: int
    threads: int
    planned_rate: Optional[float]  # req/s for fixed-rate runs
    driver: Optional[str]  # "wrk", "wrk2" or fixed_rate.DRIVER
    connection_close: bool = False
    sweep_level: bool = False  # one level of a concurrency sweep: its files carry the connection count
    mode_name: Optional[str] = None  # the record's mode when not `mode`, e.g. "slo-search"

    def describe(self) -> str:
        if self.planned_rate is None:
            return "closed loop at {} connections{},".format(
                self.connections, ", a new one per request" if self.connection_close else "")
        return "{:g} req/s fixed rate ({}, {} connections),".format(self.planned_rate, self.driver,
                                                                   self.connections)

    def phase_name(self, number: int) -> str:
        """The raw file stem of trial `number` under this plan."""
        return self.file_stem("trial{}".format(number))

    def file_stem(self, name: str) -> str:
        """A raw file stem of this plan: fixed-rate plans put their rate in front and sweep levels their
        connections, so plans never share one."""
        parts = [self.mode_name] if self.mode_name else []
        if self.planned_rate is not None:
            parts.append("rate{:g}".format(self.planned_rate))
        elif self.sweep_level:
            parts.append("c{}".format(self.connections))
        return ".".join(parts + [name])

    @property
    def record_mode(self) -> str:
        return self.mode_name or self.mode


@dataclass(frozen=True)
class CellPlan:
    options: RunOptions
    cell: Cell
    driver: Optional[FixedRateDriver]  # set when fixed-rate runs are asked for

    def settings(self, scenario: Scenario, duration_s: Optional[int] = None,
                 connections: Optional[int] = None) -> LoadSettings:
        """The scenario's load profile, unless the command line (or a sweep level) set connections or timeout."""
        connections = connections or self.options.scenario_connections(scenario)
        timeout_s = self.options.timeout_s or scenario.timeout_s or DEFAULT_TIMEOUT_S
        # A flow's state lives in its wrk thread: one thread per connection (load/flow.lua), as recorded.
        threads = connections if scenario.is_flow else min(self.options.threads, connections)
        return LoadSettings(threads=threads, connections=connections,
                            connection_close=self.options.connection_mode == "close",
                            duration_s=self.options.duration_s if duration_s is None else duration_s,
                            timeout_s=timeout_s, drain_s=IO_DRAIN_S if scenario.io_bound else DRAIN_S)

    def closed_loop(self, scenario: Scenario, connections: Optional[int] = None) -> LoadPlan:
        settings = self.settings(scenario, connections=connections)
        return LoadPlan("closed-loop", settings.connections, settings.threads, None, "wrk", settings.connection_close,
                        sweep_level=connections is not None)

    def closed_loop_plans(self, scenario: Scenario) -> List[LoadPlan]:
        """The closed-loop load of each record: one per sweep level, else the scenario's one."""
        if self.options.sweep:
            return [self.closed_loop(scenario, level) for level in self.options.sweep]
        return [self.closed_loop(scenario)]

    def closed_loop_settings(self) -> Set[LoadSettings]:
        """Every closed-loop load of the run, over scenarios and sweep levels: each needs its own ceiling."""
        return {self.settings(scenario, connections=plan.connections)
                for scenario in self.options.measured_scenarios for plan in self.closed_loop_plans(scenario)}

    def load_settings(self, scenario: Scenario, load: LoadPlan) -> LoadSettings:
        """What the load generator gets for one plan: the plan's connections on the scenario's profile."""
        return self.settings(scenario, connections=load.connections)

    def fixed_rate(self, scenario: Scenario, rate: float) -> LoadPlan:
        settings = self.settings(scenario)
        # Both drivers hold the scenario's connections; the built-in one gives each its own thread.
        threads = settings.threads if self.driver.name == "wrk2" else settings.connections
        return LoadPlan("fixed-rate", settings.connections, threads, rate, self.driver.name)

    def primer_s(self, scenario: Scenario) -> int:
        # An I/O-bound scenario lengthens the primer (scenarios.IO_PRIMER_S).
        return max(self.options.primer_s, scenario.min_primer_s) if self.options.primer_s else 0

    def phases_s(self, scenario: Scenario) -> Dict[str, int]:
        return {"primer": self.primer_s(scenario), "warmup": self.options.warmup_s}

    def coop_wanted(self) -> bool:
        if self.options.coop_check == "auto":
            return bool(services_needed(self.options.scenarios)) and self.cell.app.serves(coop.CHECKED_SCENARIOS)
        return self.options.coop_check == "on"

    def services_needed(self) -> Set[str]:
        needed = set(services_needed(self.options.scenarios))
        if "postgres" in self.cell.app.services:  # a project's app declares what it uses, not each scenario
            needed.add("database")
        if self.coop_wanted():
            needed.update(services_needed(SCENARIOS[name] for name in coop.CHECKED_SCENARIOS))
        return needed

    def planned_seconds(self) -> float:
        """Load time the options ask for plus the per-cell allowance, for the progress line."""
        options = self.options
        # A sweep runs one closed-loop record per level; a latency-target search about 8 probes (slo_search).
        fixed_rate_plans = len(options.rates) + (SLO_EXPECTED_PROBES / max(options.trials, 1) if options.slo else 0)
        closed_loop_plans = max(len(options.sweep), 1)
        # --cross-check: one more trial (the second generator's) per closed-loop record.
        cross_check_s = (len(options.measured_scenarios) * closed_loop_plans * options.duration_s
                         if options.cross_check and options.closed_loop_needed else 0)
        return cross_check_s + planned_cell_seconds(
            len(options.measured_scenarios), options.primer_s, options.warmup_s, options.trials, options.duration_s,
            fixed_rate_plans, options.closed_loop_needed, closed_loop_plans=closed_loop_plans)
