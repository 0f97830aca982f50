"""What one run of a cell was asked to do, with every default in one place.

The command line (tools/benchmatrix/__main__.py) takes its defaults from here,
so a default is written once and a run started from Python gets the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Tuple

from benchmatrix.load.cross_check import KNOWN_TOOLS as CROSS_CHECK_TOOLS
from benchmatrix.load.latency_target import LatencyTarget
from benchmatrix.load.rates import RateChoice
from benchmatrix.matrix.cells import REPO_ROOT
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run.coop import DEFAULT_REQUESTS

DEFAULT_RESULTS_DIR = REPO_ROOT / "reports"
DEFAULT_SCENARIOS = "hello"  # a group name of matrix/scenarios.py


@dataclass(frozen=True)
class RunOptions:
    server: str
    app: str
    scenarios: Sequence[Scenario] = ()
    venv: Optional[Path] = None  # the cell's virtualenv; None: the harness's own environment
    duration_s: int = 10
    warmup_s: int = 2
    primer_s: int = 1
    trials: int = 3
    connections: Optional[int] = None  # None: each scenario's profile (plan.py)
    sweep: Tuple[int, ...] = ()  # a concurrency sweep: one closed-loop record per connection count, in order
    threads: int = 2
    timeout_s: Optional[int] = None  # None: each scenario's profile (plan.py)
    workers: Optional[int] = None  # None: configs/matrix.json
    port: Optional[int] = None  # None: a free one
    boot_timeout_s: int = 30
    results_dir: Path = DEFAULT_RESULTS_DIR
    app_target: Optional[str] = None
    max_cv: Optional[float] = None  # a fixed limit on the trials' req/s variation; None: judged by the machine's noise
    max_busy: float = 0.25  # CPU share busy before the start above which the machine is flagged
    machine_sample_s: float = 0.5  # how long the machine is watched before the start; 0: not at all (unknown)
    pin: str = "auto"  # see hosts/pinning.resolve_pinning
    ceiling: str = "auto"  # the load generator's ceiling: "auto" (reuse a fresh one), "measure" (again), "off"
    side_probe: bool = True  # check answers during the load (run/answers.py); off only to measure its cost
    connection_mode: str = "keep-alive"  # or "close": a new connection per request (closed-loop, wrk2)
    wait_for_machine: bool = True  # False: refuse at once when another benchmark holds the machine
    position: Optional[Tuple[int, int, Optional[float]]] = None  # (cell i, of N, seconds spent before it)
    rates: Sequence[RateChoice] = field(default=())  # fixed-rate runs after (or instead of) the closed-loop one
    coop_check: str = "auto"  # "on", "off", or "auto": when a chosen scenario needs the database or upstream
    coop_requests: int = DEFAULT_REQUESTS
    slo: Optional[LatencyTarget] = None  # search the highest fixed rate that keeps this target (run/slo_search.py)
    cross_check: Optional[str] = None  # "h2load": one more closed-loop trial per record from it (load/cross_check.py)
    hosts: str = "local"  # where the roles run: local, netns, or a hosts file (hosts/roles.py)
    link: Optional[str] = None  # with hosts netns: the link's shape, e.g. rate=1gbit,delay=1ms
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

    @property
    def closed_loop_needed(self) -> bool:
        """Closed-loop trials run unless every fixed rate is absolute; a latency-target search needs their peak."""
        return not self.rates or any(rate.relative for rate in self.rates) or self.slo is not None


def default(name: str):
    """The default of one option, for the command line's help and parsing."""
    return RunOptions.__dataclass_fields__[name].default
