"""Scripted histories for the history, change point and regressions tests: a cell measured daily, seeded noise."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from tests.record_factory import make_record

START = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)
DROP_DAY = 12  # the 13th run (2026-10-13) is the first one 15% slower
NOISE = 0.02  # each run's req/s off its level by a seeded 2% (standard deviation)


def daily_records(days: int = 20, drop: Optional[float] = None, seed: int = 0, server: str = "uvicorn",
                  app: str = "raw", machine: str = "m1", scenario: str = "json", **changes) -> List:
    """One record a day of SERVER/APP's scenario at ~5000 req/s; from DROP_DAY on, `drop` lower (0.15: 15%)."""
    rng = random.Random(seed)
    records = []
    for day in range(days):
        level = 5000.0 * (1.0 - drop if drop and day >= DROP_DAY else 1.0)
        rps = round(level * (1.0 + rng.gauss(0.0, NOISE)), 1)
        p99 = round(15.0 * 5000.0 / rps, 2)
        records.append(make_record(
            run_id="run{:02d}".format(day), record_id="{}-{}-{:02d}".format(server, app, day),
            recorded_at=(START + timedelta(days=day)).isoformat(), server=server, app=app, scenario=scenario,
            python="3.13", rps=rps, rps_all=rps, latency_ms={"avg": 12.0, "p50": 11.0, "p90": 13.0, "p99": p99,
                                                             "max": 40.0},
            meta={"load_command": ["wrk"], "machine": {"fingerprint": machine},
                  "git": {"sha": "c{:039d}".format(day), "dirty": False},
                  "packages": {server: "0.40.0"}}, **changes))
    return records
