"""Planning one cell's run: the load each scenario gets, the phases, and which services it needs.

Pure decisions from the options and the cell; nothing here starts a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Set

from tools.benchmatrix.load.wrk import FixedRateDriver, LoadSettings
from tools.benchmatrix.matrix.cells import Cell
from tools.benchmatrix.matrix.scenarios import SCENARIOS, Scenario, services_needed
from tools.benchmatrix.run.progress import planned_cell_seconds
from tools.benchmatrix.run import coop
from tools.benchmatrix.run.options import RunOptions

DEFAULT_CONNECTIONS = 64  # CPU-bound scenarios: enough to keep every worker busy
DEFAULT_TIMEOUT_S = 2
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
        """A raw file stem of this plan: fixed-rate plans put their rate in front, so plans never share one."""
        return name if self.planned_rate is None else "rate{:g}.{}".format(self.planned_rate, name)


@dataclass(frozen=True)
class CellPlan:
    options: RunOptions
    cell: Cell
    driver: Optional[FixedRateDriver]  # set when fixed-rate runs are asked for

    def settings(self, scenario: Scenario, duration_s: Optional[int] = None) -> LoadSettings:
        """The scenario's load profile, unless the command line set connections or timeout."""
        connections = self.options.connections or scenario.connections or DEFAULT_CONNECTIONS
        timeout_s = self.options.timeout_s or scenario.timeout_s or DEFAULT_TIMEOUT_S
        return LoadSettings(threads=min(self.options.threads, connections), connections=connections,
                            connection_close=self.options.connection_mode == "close",
                            duration_s=self.options.duration_s if duration_s is None else duration_s,
                            timeout_s=timeout_s, drain_s=IO_DRAIN_S if scenario.io_bound else DRAIN_S)

    def closed_loop(self, scenario: Scenario) -> LoadPlan:
        settings = self.settings(scenario)
        return LoadPlan("closed-loop", settings.connections, settings.threads, None, "wrk", settings.connection_close)

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
        if self.coop_wanted():
            needed.update(services_needed(SCENARIOS[name] for name in coop.CHECKED_SCENARIOS))
        return needed

    def planned_seconds(self) -> float:
        """Load time the options ask for plus the per-cell allowance, for the progress line."""
        options = self.options
        return planned_cell_seconds(len(options.scenarios), options.primer_s, options.warmup_s, options.trials,
                                    options.duration_s, len(options.rates), options.closed_loop_needed)
