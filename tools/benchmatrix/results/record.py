"""The Record: one self-describing measurement, typed, and how every schema version on disk becomes one.

On disk a record is one JSON object per line of results.jsonl. Every version the
harness ever wrote still loads: `Record.from_json` is the one place that upgrades
an older record (fields it lacked get the value that describes what it measured),
and keeps keys it does not know (a newer harness's), so merging results never
drops a field. `to_json` writes the same object shape every version has written,
readable without this package.

Schema versions:
1. one measured run per record, `raw_output` the load generator's output file;
2. trials, spread, resources; fixed-rate runs (planned_rate, achieved_rate, and a
   spectrum that is the median trial's); in_flight from some point on;
3. histogram, spectrum_source (the spectrum merged from every trial's histogram),
   record_id, connection_mode;
4. latency_source: closed-loop latencies from the samples wrk measured, without the
   synthetic ones its summary adds (older closed-loop records include them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from benchmatrix.checks.flags import Flag
from benchmatrix.load.results import MEASURED, PLANNED_SEND_TIME, WITH_SYNTHETIC

SCHEMA_VERSION = 4
CLOSED_LOOP = "closed-loop"
FIXED_RATE = "fixed-rate"
KEEP_ALIVE = "keep-alive"


@dataclass(frozen=True)
class Latency:
    """Latency in ms by statistic ("avg", "p50", "p75", "p90", "p99", "p99.9", "max", "stdev"), as
    measured; a statistic the driver did not report is absent, one it could not compute is None."""

    values: Dict[str, Optional[float]] = field(default_factory=dict)

    def get(self, statistic: str) -> Optional[float]:
        return self.values.get(statistic)

    @property
    def p50(self) -> Optional[float]:
        return self.values.get("p50")

    @property
    def p99(self) -> Optional[float]:
        return self.values.get("p99")

    @property
    def max(self) -> Optional[float]:
        return self.values.get("max")

    def to_json(self) -> Dict[str, Optional[float]]:
        return dict(self.values)


@dataclass(frozen=True)
class Spread:
    """One figure over a record's trials."""

    median: float
    min: float
    max: float
    cv: float  # coefficient of variation (population standard deviation / mean); 0 for one trial

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> Optional["Spread"]:
        if not data:
            return None
        return cls(data["median"], data["min"], data["max"], data.get("cv", 0.0))

    def to_json(self) -> Dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max, "cv": self.cv}


@dataclass(frozen=True)
class TrialSpread:
    """How the trials of a record spread: req/s and each latency statistic. Records without trials
    (schema 1, or nothing measured) have none, and write it as {}."""

    rps: Optional[Spread] = None
    latency_ms: Dict[str, Spread] = field(default_factory=dict)
    measured: bool = False  # False: no trials were summarized, written as {}

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> "TrialSpread":
        if not data:
            return cls()
        latency = {name: Spread.from_json(value) for name, value in (data.get("latency_ms") or {}).items()}
        return cls(Spread.from_json(data.get("rps")), {k: v for k, v in latency.items() if v}, measured=True)

    def to_json(self) -> Dict[str, Any]:
        if not self.measured:
            return {}
        return {"rps": self.rps.to_json() if self.rps else None,
                "latency_ms": {name: spread.to_json() for name, spread in self.latency_ms.items()}}


@dataclass(frozen=True)
class Record:
    run_id: str
    recorded_at: str  # UTC, ISO 8601: strings compare in time order
    python: str
    app: str
    server: str
    scenario: str
    mode: str  # "closed-loop" (wrk keeps every connection busy), "fixed-rate" or "slo-search"
    connections: int
    threads: int
    duration_s: float
    workers: int
    rps: Optional[float]  # successful (2xx/3xx) responses per second; None when unmeasured
    rps_all: Optional[float]  # every response per second, errors included, as wrk printed it
    requests: int
    latency_ms: Latency
    errors: Dict[str, int]
    status: str  # "ok", "flagged" or "failed"
    flags: List[Flag]  # written as {code, reason, hint} objects
    meta: Dict[str, Any]  # the run's conditions: versions, machine, load command, and what a mode adds
    raw_output: Optional[str]  # the run's raw folder (wrk outputs, server log), relative to the results dir
    spread: TrialSpread = field(default_factory=TrialSpread)
    trials: List[Dict[str, Any]] = field(default_factory=list)  # each measured run as it was
    resources: Dict[str, Any] = field(default_factory=dict)  # server CPU and memory, load generator CPU
    planned_rate: Optional[float] = None  # fixed-rate runs: req/s asked for
    achieved_rate: Optional[float] = None  # fixed-rate runs: median req/s completed
    spectrum: List[List[float]] = field(default_factory=list)  # [percentile, ms], ascending, ending at 100
    # The trials' latency histograms merged, HdrHistogram's compressed base64 text (results/latency_histogram.py);
    # None where a trial kept none (a schema 2 record, a wrk without the done() histogram).
    histogram: Optional[str] = None
    spectrum_source: Optional[str] = None  # "3 trials merged (N latencies)", "median trial", or None: no curve
    in_flight: Optional[float] = None  # closed loop: requests the server held at once (req/s x mean latency)
    connection_mode: str = KEEP_ALIVE  # or "close": wrk asked for a new connection per request
    # "<run_id>/<n>", the n-th record of its run: with the machine's fingerprint, what merging
    # results of several machines keys on (results/merge.py). None in records written before it.
    record_id: Optional[str] = None
    # What latency_ms was computed from (load/measured_latency.py); None in records before schema 4
    # (see latency_basis), and then not written back, so an older record rewrites byte for byte.
    latency_source: Optional[str] = None
    schema: int = SCHEMA_VERSION  # the version the record was written with
    # Keys a newer harness wrote that this one does not know: kept, and written back as they were.
    extra: Dict[str, Any] = field(default_factory=dict)

    # --- on disk ---------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Record":
        """A record as any schema version wrote it; raises ValueError when it is no record at all."""
        missing = [name for name in REQUIRED_FIELDS if name not in data]
        if missing:
            raise ValueError("not a record: no {}".format(", ".join(missing)))
        values = {name: data[name] for name in FIELD_NAMES if name in data}
        values.update(
            latency_ms=Latency(dict(data.get("latency_ms") or {})),
            errors=dict(data.get("errors") or {}),
            flags=[Flag.from_json(flag) for flag in data.get("flags") or []],
            meta=dict(data.get("meta") or {}),
            raw_output=data.get("raw_output"),
            spread=TrialSpread.from_json(data.get("spread")),
            trials=list(data.get("trials") or []),
            resources=dict(data.get("resources") or {}),
            spectrum=list(data.get("spectrum") or []),
            connection_mode=data.get("connection_mode") or KEEP_ALIVE,
            schema=int(data.get("schema") or 1),
            extra={key: value for key, value in data.items() if key not in FIELD_NAMES})
        if values["schema"] == 2 and values["spectrum"] and not data.get("spectrum_source"):
            values["spectrum_source"] = "median trial"  # what a schema 2 spectrum was
        return cls(**values)

    def to_json(self) -> Dict[str, Any]:
        data = dict(self.extra)
        for name in FIELD_NAMES:
            data[name] = getattr(self, name)
        data.update(latency_ms=self.latency_ms.to_json(), flags=[flag.to_json() for flag in self.flags],
                    spread=self.spread.to_json())
        if self.latency_source is None:
            del data["latency_source"]
        return data

    def to_json_line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True) + "\n"

    # --- what readers ask of a record ---------------------------------------------------

    def key(self, names: Sequence[str]) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in names)

    def section(self, name: str) -> Dict[str, Any]:
        """One part of meta ("machine", "hosts", "interleaved", "sweep", "slo", ...), {} when absent."""
        return self.meta.get(name) or {}

    @property
    def overrides(self) -> Dict[str, str]:
        """Packages this cell ran at another version than its pins (`--with uvicorn==0.30.6`): name -> version."""
        return dict(self.meta.get("overrides") or {})

    @property
    def override_specs(self) -> Tuple[str, ...]:
        """("uvicorn==0.30.6",), as `--with` takes them, sorted by package; () for a cell on its pins."""
        return tuple("{}=={}".format(name, version) for name, version in sorted(self.overrides.items()))

    @property
    def override_label(self) -> str:
        """"uvicorn==0.30.6" (several joined by spaces); "" for a cell on its pins. A key field of the tables."""
        return " ".join(self.override_specs)

    @property
    def hosts_label(self) -> str:
        """Where the roles ran: "local" (one machine, loopback), or e.g. "netns 1gbit", "ssh load"."""
        return self.section("hosts").get("label") or "local"

    @property
    def side_probe_off(self) -> bool:
        """Measured without the side probe's checks during load (`--side-probe off`), which cost the server a
        little; records written before the option was recorded had it on."""
        return self.meta.get("side_probe") == "off"

    @property
    def sliced(self) -> bool:
        """Trials of an interleaved run cut into ABBA slices (run/interleave_rule.py), not whole trials."""
        return "slice_s" in self.section("interleaved")

    @property
    def cell_label(self) -> str:
        label = "{} · {} · py{}".format(self.server, self.app, self.python)
        return "{} · {}".format(label, self.override_label) if self.overrides else label

    @property
    def latency_basis(self) -> Optional[str]:
        """What the latency figures are: the record's own word, or what its schema and mode imply."""
        if self.latency_source is not None:
            return self.latency_source
        if self.mode == FIXED_RATE:
            return PLANNED_SEND_TIME
        return WITH_SYNTHETIC if self.mode == CLOSED_LOOP else None

    @property
    def includes_synthetic_latency(self) -> bool:
        """Closed-loop latencies that count wrk's synthetic samples (every record before schema 4)."""
        return self.mode == CLOSED_LOOP and self.latency_basis != MEASURED

    @property
    def is_failed(self) -> bool:
        """No throughput to show: a failed run's req/s would be an error rate."""
        return self.status == "failed" or self.rps is None

    @property
    def is_closed_loop(self) -> bool:
        return self.mode == CLOSED_LOOP

    @property
    def is_fixed_rate(self) -> bool:
        return self.mode == FIXED_RATE

    @property
    def is_sweep_level(self) -> bool:
        return bool(self.meta.get("sweep"))

    @property
    def interleaved_group(self) -> Optional[str]:
        return self.section("interleaved").get("group")

    @property
    def flag_codes(self) -> List[str]:
        """Each kind once, in the order first raised: a flag of every trial is still one reason."""
        return list(dict.fromkeys(flag.code for flag in self.flags))

    @property
    def trial_count(self) -> int:
        # Schema 1 records hold a single measured run and no trials list.
        return len(self.trials) or (1 if self.rps is not None else 0)

    @property
    def trial_rates(self) -> Tuple[float, ...]:
        """The req/s of each measured trial; a schema 1 record's one run is its `rps`."""
        values = [t.get("rps") for t in self.trials] if self.trials else [self.rps]
        return tuple(float(v) for v in values if v is not None)

    @property
    def rates_by_round(self) -> Dict[int, float]:
        """An interleaved record's trial req/s by round."""
        return {t["round"]: t["rps"] for t in self.trials if t.get("round") and t.get("rps")}


FIELD_NAMES = tuple(f.name for f in fields(Record) if f.name != "extra")
# What every schema version wrote; a line without them is not a record.
REQUIRED_FIELDS = ("run_id", "recorded_at", "python", "app", "server", "scenario", "mode", "connections",
                   "threads", "duration_s", "workers", "rps", "rps_all", "requests", "status")
