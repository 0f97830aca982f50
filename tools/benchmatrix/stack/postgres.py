"""PostgreSQL for the database scenarios: a throwaway cluster, or a server you name.

    with database(run_dir, external_url=os.environ.get("BENCH_DATABASE_URL")) as db:
        ...  # apps connect to db.url; db.version and db.settings go into the record

By default a fresh cluster is initdb'ed into a temporary directory, started as a
supervised child and removed afterwards. PostgreSQL refuses to run as root, so
under root the server runs as the `postgres` system account. With an external
URL nothing is started: the schema is applied idempotently and the server used
as it is. Clients are Debian's psql, because the harness has no database driver.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence

from benchmatrix.stack.postgres_client import (AGENTS_QUERY, PsqlError, check_connects, describe, find_psql,
                                              find_server_bin_dir, mask_password, run_psql, seed)
from benchmatrix.stack.postgres_cluster import DEFAULT_MAX_CONNECTIONS, DatabaseHost, embedded_cluster
from benchmatrix.stack.readiness import ServiceError

# What users of the database import from here, wherever it is defined.
__all__ = ["AGENTS_QUERY", "DEFAULT_MAX_CONNECTIONS", "Database", "DatabaseHost", "PsqlError", "ServiceError",
           "database", "find_psql", "mask_password", "run_psql"]

DATABASE_NAME = "benchmatrix"


@dataclass(frozen=True)
class Database:
    url: str  # libpq URL over TCP loopback: what the apps connect to
    socket_url: Optional[str]  # the same database over the unix socket (embedded only)
    version: str
    settings: Dict[str, str]
    embedded: bool
    log_path: Path
    # The postmaster (embedded only). Its children are not in its process group:
    # PostgreSQL gives each one a session of its own, so find them by parent pid.
    pid: Optional[int] = None
    cluster_dir: Optional[Path] = None  # removed when the block ends
    # Where the harness reads the server's statistics (stack/work_counters.py): the embedded
    # cluster's `postgres` database, so its reads are never sessions of the benchmark's database.
    stats_url: Optional[str] = None
    psql: Optional[str] = None
    name: str = DATABASE_NAME

    def work_counter(self):
        """What this server counts of a scenario's promised work: statements and sessions."""
        from benchmatrix.stack.work_counters import PostgresWorkCounter

        return PostgresWorkCounter(self.psql, self.stats_url or self.url, self.name, self.embedded,
                                   reads_share_database=self.stats_url is None)

    @property
    def max_connections(self) -> int:
        return int(self.settings["max_connections"])

    def metadata(self) -> Dict[str, object]:
        return {"url": mask_password(self.url), "version": self.version, "embedded": self.embedded,
                "settings": dict(self.settings)}



@contextlib.contextmanager
def database(run_dir: Path, external_url: Optional[str] = None, bin_dirs: Optional[Sequence[Path]] = None,
             max_connections: int = DEFAULT_MAX_CONNECTIONS, boot_timeout_s: float = 30.0,
             prefix: Sequence[str] = (), listen: Optional["DatabaseHost"] = None) -> Iterator[Database]:
    """A seeded database for one run: embedded by default, or the server at external_url.

    prefix (taskset) places the embedded server's processes; an external one is where it is.
    """
    log_path = Path(run_dir) / "postgres.log"
    if external_url:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        psql = find_psql(bin_dirs)
        check_connects(psql, external_url, embedded=False)
        seed(psql, external_url, embedded=False, log_path=log_path)
        settings = describe(psql, external_url, embedded=False)
        _count_statements(psql, external_url, embedded=False, log_path=log_path)
        name = run_psql(psql, external_url, ["-c", "SELECT current_database()"], embedded=False).strip()
        yield Database(url=external_url, socket_url=None, version=settings.pop("server_version"),
                       settings=settings, embedded=False, log_path=log_path, psql=psql, name=name)
        return
    bin_dir = find_server_bin_dir(bin_dirs)
    psql = str(bin_dir / "psql")
    with embedded_cluster(log_path, bin_dir, max_connections, boot_timeout_s, prefix, listen) as cluster:
        run_psql(psql, cluster.url("postgres"), ["-c", "CREATE DATABASE {}".format(DATABASE_NAME)],
                 embedded=True, log_path=log_path)
        url = cluster.url(DATABASE_NAME)
        seed(psql, url, embedded=True, log_path=log_path)
        settings = describe(psql, url, embedded=True)
        stats_url = cluster.url("postgres")
        _count_statements(psql, stats_url, embedded=True, log_path=log_path)
        yield Database(url=url, socket_url=cluster.socket_url(DATABASE_NAME),
                       version=settings.pop("server_version"), settings=settings, embedded=True,
                       log_path=log_path, pid=cluster.pid, cluster_dir=cluster.cluster_dir,
                       stats_url=stats_url, psql=psql)


def _count_statements(psql: str, url: str, embedded: bool, log_path: Path) -> None:
    """pg_stat_statements' view, where the server preloads it. An external server that does not (or a
    role that may not create it) is left as it is: its records say the statements were not counted."""
    try:
        run_psql(psql, url, ["-c", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"], embedded,
                 log_path=log_path)
    except PsqlError:
        if embedded:
            raise
