"""Running a latency-target search on a started cell, and the one record it leaves.

run/slo_search.py decides which rate to probe; this module runs each probe as a
real fixed-rate trial of the scenario (its raw output kept as
slo-search.rate<R>.trial<K>.txt, K counting every probe of the search) and
records the answer: the highest rate that held twice, with every probe listed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from benchmatrix.load.parse import WrkOutputError
from benchmatrix.matrix.scenarios import Scenario
from benchmatrix.run import slo_search
from benchmatrix.run.plan import LoadPlan
from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.stack.readiness import ServiceError

MODE = "slo-search"


class LatencyTargetSearch:
    """The search for one scenario, on the measurement (run/measure.ScenarioMeasurement) of a started cell."""

    def __init__(self, measurement, scenario: Scenario):
        self.measurement = measurement
        self.scenario = scenario
        self.target = measurement.options.slo
        self.say = measurement.say
        self.argv: Optional[List[str]] = None
        self.probes_run = 0
        self.trial_flags: Dict[int, List[Flag]] = {}  # per probe number

    def probe_plan(self, rate: float) -> LoadPlan:
        plan = self.measurement.plan.fixed_rate(self.scenario, rate)
        return LoadPlan(plan.mode, plan.connections, plan.threads, rate, plan.driver, mode_name=MODE)

    def record_plan(self) -> LoadPlan:
        """The record's load: the probes' connections and driver; no single planned rate (the answer is one)."""
        plan = self.measurement.plan.fixed_rate(self.scenario, 1.0)
        return LoadPlan(plan.mode, plan.connections, plan.threads, None, plan.driver, mode_name=MODE)

    def probe(self, rate: float, confirmation: bool) -> slo_search.Probe:
        self.probes_run += 1
        number = self.probes_run
        ran = self.measurement.trial(self.scenario, self.probe_plan(rate), number)
        self.argv, trial = ran.argv, ran.trial.as_probe(number, confirmation)
        outcome = slo_search.judge(trial, rate, self.target)
        # The rate flag's 1% is the fixed-rate table's rule; a search allows slo_search.RATE_TOLERANCE.
        self.trial_flags[number] = [f for f in ran.flags if f.code != "rate-not-achieved"]
        self.say("{}: {} probe {}{}: {:g} req/s -> {} ({}; achieved {:.1f} req/s)".format(
            self.scenario.name, self.target.describe(), number, " (repeat)" if confirmation else "", rate,
            "holds" if outcome.holds else "does not hold", outcome.why, trial.achieved_rate or 0.0))
        return outcome

    def record(self, peak: Optional[float]):
        """Search below the closed-loop peak and return the record (not yet saved)."""
        measurement, scenario = self.measurement, self.scenario
        if not peak:
            return measurement._record(
                scenario, [make_flag("load-failed", "no valid closed-loop maximum to search below for {}".format(
                    self.target.describe()))], load=self.record_plan(),
                extra_meta={"slo": {"target": self.target.as_metadata(), "rate": None, "peak": None, "probes": []}})
        self.say("{}: searching the highest rate with {} below the closed-loop peak of {:.0f} req/s".format(
            scenario.name, self.target.describe(), peak))
        try:
            result = slo_search.search(self.probe, peak, self.target)
        except (WrkOutputError, ServiceError) as error:
            return measurement._record(
                scenario, [make_flag("load-failed", str(error).splitlines()[0])], load=self.record_plan(),
                extra_meta={"slo": {"target": self.target.as_metadata(), "rate": None, "peak": peak, "probes": []}})
        held = result.held_probes if result.rate else []
        flags = [f.prefixed("probe {}".format(p.number)) for p in held for f in self.trial_flags[p.number]]
        self.say("{}: {}".format(scenario.name, summary_line(result)))
        return measurement.finish(scenario, self.record_plan(), [p.trial for p in held], flags, self.argv,
                                  extra_meta={"slo": search_metadata(result)})


def summary_line(result: slo_search.SearchResult) -> str:
    if not result.rate:
        lowest = min(p.rate for p in result.probes)
        if result.exhausted:
            # Not "nothing holds": the probes ran out first, every rate that held once failed its repeat.
            return ("no rate held {} twice within {} probes (lowest tried {:g} req/s): trial-to-trial noise "
                    "is larger than the target here; rerun with a longer --duration".format(
                        result.target.describe(), len(result.probes), lowest))
        return "no rate down to {:g} req/s kept {}".format(lowest, result.target.describe())
    return "holds {:,.0f} req/s at {} ({:.0%} of the closed-loop peak){}".format(
        result.rate, result.target.describe(), result.rate / result.peak,
        "" if result.confirmed else "; NOT confirmed: the search ran out of probes before a repeat held")


def search_metadata(result: slo_search.SearchResult) -> Dict[str, Any]:
    return {
        "target": result.target.as_metadata(), "rate": result.rate, "peak": result.peak,
        "share_of_peak": round(result.rate / result.peak, 4) if result.peak else None,
        "confirmed": result.confirmed, "exhausted": result.exhausted, "resolution": slo_search.RESOLUTION,
        "rate_tolerance": slo_search.RATE_TOLERANCE, "summary": summary_line(result),
        "probes": [{"number": p.number, "rate": p.rate, "confirmation": p.confirmation,
                    "achieved_rate": p.trial.achieved_rate, "latency_ms": p.latency_ms,
                    "p99_ms": p.trial.latency_ms.get("p99"), "holds": p.holds, "why": p.why,
                    "raw_output": p.trial.context.raw_output if p.trial.context else None} for p in result.probes],
    }
