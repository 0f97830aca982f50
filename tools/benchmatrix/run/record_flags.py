"""The flags that judge a record's trials together (not one by one), and its ceiling metadata."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.checks.consistency import assess_consistency
from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.checks.validity import assess_ceiling
from benchmatrix.load.ceiling import Ceiling
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run.plan import CellPlan, LoadPlan
from benchmatrix.run.trials import summarize, unstable, unstable_pairs


class RecordJudge:
    def __init__(self, plan: CellPlan, cell_flags: Sequence[Flag],
                 ceilings: Optional[Dict[Tuple[int, int], Ceiling]] = None):
        self.plan = plan
        self.cell_flags = list(cell_flags)  # flags of the whole cell (a busy machine), on every record
        self.ceilings = ceilings or {}  # (connections, threads) of a closed-loop plan -> measured ceiling

    def ceiling_of(self, scenario: Scenario, load: LoadPlan) -> Optional[Ceiling]:
        """The ceiling measured for the closed-loop load at the plan's connections (fixed-rate runs are judged
        by it too)."""
        settings = self.plan.settings(scenario, connections=load.connections)
        return self.ceilings.get((settings.connections, settings.threads))

    def ceiling_meta(self, scenario: Scenario, load: LoadPlan, rps_all: Optional[float]) -> Dict[str, Any]:
        ceiling = self.ceiling_of(scenario, load)
        if ceiling is None:  # --ceiling off: the record says it cannot tell
            return {"load_generator_ceiling": None, "ceiling_share": None}
        share = ceiling.share(rps_all)
        return {"load_generator_ceiling": ceiling.as_metadata(),
                "ceiling_share": None if share is None else round(share, 4)}

    def run_flags(self, scenario: Scenario, load: LoadPlan, trials: Sequence[Dict[str, Any]],
                  server_closes: Optional[bool], pair_logs: Optional[Sequence[float]] = None) -> List[Flag]:
        """The cell's flags, then idle-reconnects, load-generator-bound, unstable-trials, figures-disagree,
        server-restarted.

        pair_logs, for a contender of a sliced comparison (run/interleave.py): its ABBA pairs' req/s
        log-ratios to the first contender ([] for the first itself). Stability is then judged on them, not
        on the slices' req/s, whose spread over a run is mostly the machine's drift that the pairs cancel;
        the first contender has no ratio of its own, and each later one's record judges the pairs it shares.
        """
        flags = list(self.cell_flags)
        if load.mode == "fixed-rate" and server_closes:
            # Measured: gunicorn's sync worker at 64 connections, p99 1451 ms at 42.5 req/s (64 / 42.5 s).
            rate = load.planned_rate or (summarize(trials)["achieved_rate"] if trials else None)
            wait = " (up to {:.0f} ms at {:g} req/s on {} connections)".format(
                1000.0 * load.connections / rate, rate, load.connections) if rate else ""
            flags.append(make_flag("idle-reconnects", "the server closed every connection; each reconnected one "
                                   "sat idle until its next send{}".format(wait)))
        ceiling = self.ceiling_of(scenario, load)
        flags += assess_ceiling(summarize(trials)["rps_all"], ceiling)
        machine_cv = ceiling.cv if ceiling else None
        if pair_logs is None:
            reason = unstable([t["rps"] for t in trials], machine_cv, self.plan.options.max_cv)
        else:
            reason = unstable_pairs(pair_logs, machine_cv, self.plan.options.max_cv)
        if reason:
            flags.append(make_flag("unstable-trials", reason))
        flags += assess_consistency(trials, load.connections, load.planned_rate)
        restarted = [str(i + 1) for i, t in enumerate(trials) if t["server_restarted"]]
        if restarted:
            flags.append(make_flag("server-restarted", "the server's processes changed during trial(s) "
                                   + ", ".join(restarted)))
        return flags
