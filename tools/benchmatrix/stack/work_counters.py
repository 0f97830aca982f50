"""What the services behind a cell counted: database statements and sessions, upstream calls.

Read before and after each measured trial, so a record can hold the work a scenario
promises per request (matrix/scenarios.WorkContract) against what was really done
(checks/work_done.py). Each source is PostgreSQL's or the stub's own count, not the
app's word:

- statements: pg_stat_statements' `calls` of the statements that contain the scenario's
  marker, in the benchmark's database (updated as each statement ends);
- sessions: pg_stat_database.sessions of that database (PostgreSQL 14+), counted when a
  session ends;
- upstream calls: the stub's own count (stack/upstream_stub.py, counted on arrival).

A count that cannot be read says why (an external server without pg_stat_statements, an
older PostgreSQL); the record then states it was not counted rather than passing it.
"""

from __future__ import annotations

import http.client
import json
from typing import Dict, FrozenSet, List, Optional, Protocol, Sequence
from urllib.parse import urlsplit

from benchmatrix.matrix.scenarios import NEW_CONNECTIONS, QUERIES, UPSTREAM_CALLS, WorkContract
from benchmatrix.stack.postgres_client import PsqlError, run_psql
from benchmatrix.stack.readiness import ServiceError
from benchmatrix.stack.upstream_stub import CALLS_PATH

READ_TIMEOUT_S = 10.0


class WorkCounter(Protocol):
    kinds: FrozenSet[str]  # the kinds of work this source counts when it can

    def read(self, contract: WorkContract) -> Dict[str, int]:
        """Cumulative counts of the kinds of work in the contract that this source can count."""

    def uncounted(self, contract: WorkContract) -> Dict[str, str]:
        """The kinds of work in the contract this source should count but cannot, and why."""


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresWorkCounter:
    """Statements and sessions of the benchmark's database, read with psql.

    stats_url is where psql reads them: for the embedded cluster its `postgres` database,
    so the reading session is never one of the benchmark database's sessions. An
    external server is read in its own database, and each read's session (ended by the
    next read) is taken off.
    """
    kinds = frozenset({QUERIES, NEW_CONNECTIONS})

    def __init__(self, psql: str, stats_url: str, database_name: str, embedded: bool,
                 reads_share_database: bool):
        self.psql = psql
        self.stats_url = stats_url
        self.database_name = database_name
        self.embedded = embedded
        self.reads_share_database = reads_share_database
        self._reads = 0
        self._missing: Optional[Dict[str, str]] = None

    def _query(self, sql: str) -> List[str]:
        return run_psql(self.psql, self.stats_url, ["-F", "\t", "-c", sql], self.embedded,
                        timeout_s=READ_TIMEOUT_S).split()

    def missing(self) -> Dict[str, str]:
        """What this server cannot count, found once by asking it."""
        if self._missing is None:
            self._missing = {}
            try:
                self._query("SELECT count(*) FROM pg_stat_statements")
            except PsqlError as error:
                self._missing[QUERIES] = (
                    "pg_stat_statements is not readable on this server ({}); add it to "
                    "shared_preload_libraries and run CREATE EXTENSION pg_stat_statements to count the "
                    "statements each request runs".format(error.psql_message.splitlines()[0]))
            try:
                self._query("SELECT sessions FROM pg_stat_database LIMIT 1")
            except PsqlError:
                self._missing[NEW_CONNECTIONS] = "pg_stat_database has no session count before PostgreSQL 14"
        return self._missing

    def uncounted(self, contract: WorkContract) -> Dict[str, str]:
        promised = contract.promised()
        return {kind: why for kind, why in self.missing().items() if kind in promised}

    def read(self, contract: WorkContract) -> Dict[str, int]:
        promised = contract.promised()
        database = sql_literal(self.database_name)
        columns = []
        if QUERIES in promised and QUERIES not in self.missing():
            columns.append((QUERIES, "(SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
                                     "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = {} "
                                     "AND strpos(s.query, {}) > 0)".format(database,
                                                                           sql_literal(contract.query_marker))))
        if NEW_CONNECTIONS in promised and NEW_CONNECTIONS not in self.missing():
            columns.append((NEW_CONNECTIONS, "(SELECT sessions FROM pg_stat_database WHERE datname = {})".format(
                database)))
        if not columns:
            return {}
        values = self._query("SELECT " + ", ".join(sql for _, sql in columns))
        counts = {kind: int(value) for (kind, _), value in zip(columns, values)}
        if NEW_CONNECTIONS in counts and self.reads_share_database:
            counts[NEW_CONNECTIONS] -= self._reads  # the earlier reads' own sessions
        self._reads += 1
        return counts


class UpstreamCallCounter:
    """The calls the upstream stub received, from its own count."""
    kinds = frozenset({UPSTREAM_CALLS})

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def uncounted(self, contract: WorkContract) -> Dict[str, str]:
        return {}

    def read(self, contract: WorkContract) -> Dict[str, int]:
        if UPSTREAM_CALLS not in contract.promised():
            return {}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=READ_TIMEOUT_S)
        try:
            connection.request("GET", CALLS_PATH)
            answer = connection.getresponse()
            body = answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise ServiceError("the upstream stub did not say how many calls it received: {}".format(error))
        finally:
            connection.close()
        return {UPSTREAM_CALLS: int(json.loads(body.decode())["calls"])}


class CombinedCounter:
    """Every source a cell has, read together; a cell with no services counts nothing."""

    def __init__(self, counters: Sequence[WorkCounter] = ()):
        self.counters = list(counters)

    def read(self, contract: WorkContract) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for counter in self.counters:
            counts.update(counter.read(contract))
        return counts

    @property
    def kinds(self) -> FrozenSet[str]:
        return frozenset().union(*(counter.kinds for counter in self.counters))

    def uncounted(self, contract: WorkContract) -> Dict[str, str]:
        missing = {kind: "no service of this cell counts it" for kind in contract.promised()
                   if kind not in self.kinds}
        for counter in self.counters:
            missing.update(counter.uncounted(contract))
        return missing
