"""What one run of a cell was asked to do.

Every default comes from the options' declarations (run/option_specs.py), which the
command line reads too, so a default is written once and a run started from Python
gets the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Tuple

from benchmatrix.load.cross_check import KNOWN_TOOLS as CROSS_CHECK_TOOLS
from benchmatrix.load.latency_target import LatencyTarget
from benchmatrix.load.rates import RateChoice
from benchmatrix.matrix.overrides import PackageOverride
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run.option_specs import DEFAULT_CONNECTIONS, default as declared

DEFAULT_RESULTS_DIR: Path = declared("--results-dir")
DEFAULT_SCENARIOS: str = declared("--scenarios")  # a group name of matrix/scenarios.py


@dataclass(frozen=True)
class RunOptions:
    server: str
    app: str
    scenarios: Sequence[Scenario] = ()
    venv: Optional[Path] = None  # the cell's virtualenv; None: the harness's own environment
    duration_s: int = declared("--duration")
    warmup_s: int = declared("--warmup")
    primer_s: int = declared("--primer")
    trials: int = declared("--trials")
    connections: Optional[int] = None  # None: each scenario's profile (plan.py)
    sweep: Tuple[int, ...] = ()  # a concurrency sweep: one closed-loop record per connection count, in order
    threads: int = declared("--threads")
    timeout_s: Optional[int] = None  # None: each scenario's profile (plan.py)
    workers: Optional[int] = None  # None: configs/matrix.json
    port: Optional[int] = None  # None: a free one
    boot_timeout_s: int = declared("--boot-timeout")
    results_dir: Path = DEFAULT_RESULTS_DIR
    app_target: Optional[str] = None
    # --with: packages at another release than the cell's pins (matrix/overrides.py); () on the pins.
    overrides: Tuple[PackageOverride, ...] = ()
    max_cv: Optional[float] = declared("--max-cv")
    max_busy: float = declared("--max-busy")  # CPU share busy before the start above which the machine is flagged
    machine_sample_s: float = declared("--machine-sample")
    pin: str = declared("--pin")  # see hosts/pinning.resolve_pinning
    ceiling: str = declared("--ceiling")
    side_probe: bool = declared("--side-probe") == "on"
    connection_mode: str = declared("--connection-mode")  # or "close": a new connection per request (closed-loop, wrk2)
    wait_for_machine: bool = not declared("--no-wait")  # False: refuse at once when another benchmark holds the machine
    position: Optional[Tuple[int, int, Optional[float]]] = None  # (cell i, of N, seconds spent before it)
    rates: Sequence[RateChoice] = field(default=())  # fixed-rate runs after (or instead of) the closed-loop one
    coop_check: str = declared("--coop-check")
    coop_requests: int = declared("--coop-requests")
    slo: Optional[LatencyTarget] = None  # search the highest fixed rate that keeps this target (run/slo_search.py)
    cross_check: Optional[str] = declared("--cross-check")
    hosts: str = declared("--hosts")  # where the roles run: local, netns, or a hosts file (hosts/roles.py)
    link: Optional[str] = declared("--link")  # with hosts netns: the link's shape, e.g. rate=1gbit,delay=1ms
    # Only the first N scenarios are loaded; every one is still verified before the load (smoke: N = 1).
    measure_first: Optional[int] = None

    @property
    def measured_scenarios(self) -> Sequence[Scenario]:
        """The scenarios put under load, in order: all of them, or the first measure_first."""
        return tuple(self.scenarios[:self.measure_first]) if self.measure_first else tuple(self.scenarios)

    def __post_init__(self):
        if self.cross_check is not None and self.cross_check not in CROSS_CHECK_TOOLS:
            raise ValueError("--cross-check {!r}: the known second load generators are {}".format(
                self.cross_check, ", ".join(CROSS_CHECK_TOOLS)))
        if self.sweep and (self.rates or self.slo):
            # Which of the sweep's levels would a relative rate or the search's peak refer to? Neither is obvious.
            raise ValueError("a concurrency sweep (--connections with several counts) runs closed loop only; "
                             "run --rate or --slo in a separate run with one --connections")
        if self.sweep and len(set(self.sweep)) != len(self.sweep):
            raise ValueError("--connections {}: each count once".format(",".join(map(str, self.sweep))))
        self._check_flows()

    def _check_flows(self) -> None:
        """A flow the load tools cannot run as asked is refused here, before anything starts."""
        from benchmatrix.load.wrk import FLOWS_CLOSED_LOOP_ONLY, check_flow_load

        flows = [scenario for scenario in self.measured_scenarios if scenario.is_flow]
        if flows and (self.rates or self.slo):
            raise ValueError("scenario {}: {}".format(", ".join(s.name for s in flows), FLOWS_CLOSED_LOOP_ONLY))
        for scenario in flows:
            try:
                check_flow_load(scenario.steps, max(self.connection_levels(scenario)))
            except ValueError as error:
                raise ValueError("scenario {}: {}".format(scenario.name, error)) from None

    def scenario_connections(self, scenario: Scenario) -> int:
        """The connections of a scenario's closed loop: --connections, else the scenario's own load profile
        (benchmatrix.toml's `connections`, the I/O-bound scenarios' 10), else the default."""
        return self.connections or scenario.connections or DEFAULT_CONNECTIONS

    def connection_levels(self, scenario: Scenario) -> Tuple[int, ...]:
        """Every connection count a scenario's closed loop runs at: the sweep's levels, or its one count."""
        return self.sweep or (self.scenario_connections(scenario),)

    @property
    def closed_loop_needed(self) -> bool:
        """Closed-loop trials run unless every fixed rate is absolute; a latency-target search needs their peak."""
        return not self.rates or any(rate.relative for rate in self.rates) or self.slo is not None
