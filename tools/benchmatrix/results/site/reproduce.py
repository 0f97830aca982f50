"""The command that measures a record again: the nox session of its cell (or of its interleaved
run) with the options that shaped the measurement, as a user would type it."""

from __future__ import annotations

import shlex
from typing import List

from benchmatrix.results.records import Record


def measurement_options(record: Record) -> List[str]:
    options = ["--scenarios", record.scenario, "--duration", "{:g}s".format(record.duration_s),
               "--trials", str(max(record.trial_count, 1)), "--connections", str(record.connections),
               "--threads", str(record.threads), "--workers", str(record.workers)]
    if record.planned_rate:
        options += ["--rate", "{:g}".format(record.planned_rate)]
    if record.connection_mode != "keep-alive":
        options += ["--connection-mode", record.connection_mode]
    for override in record.override_specs:
        options += ["--with", override]
    return options


def reproduce_command(record: Record) -> str:
    """`nox -s "bench-3.13(server='uvicorn', app='raw')" -- --scenarios json ...`, or for a record of an
    interleaved run, `nox -s interleave -- CELL CELL ... -- <options>` with the run's contenders."""
    contenders = record.section("interleaved").get("contenders")
    options = measurement_options(record)
    if contenders:
        options[options.index("--trials")] = "--min-trials"  # an interleaved run's rounds are its trials
        words = ["nox", "-s", "interleave", "--"] + [str(c) for c in contenders] + ["--"] + options
    else:
        session = "bench-{}(server='{}', app='{}')".format(record.python, record.server, record.app)
        words = ["nox", "-s", session, "--"] + options
    return " ".join(shlex.quote(word) for word in words)
