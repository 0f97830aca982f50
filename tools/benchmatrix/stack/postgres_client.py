"""PostgreSQL's client side: finding Debian's programs and running psql against a server.

The harness has no database driver: psql applies the schema, checks the seeded rows
and reads back the settings a record states, for the embedded cluster and for a
server named by BENCH_DATABASE_URL alike.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from benchmatrix.paths import REPO_ROOT
from benchmatrix.stack.readiness import ServiceError

SCHEMA_PATH = REPO_ROOT / "configs" / "postgres" / "schema.sql"
EXPECTED_ROWS = 50

# The query every app's database endpoint runs, copied verbatim into the apps.
AGENTS_QUERY = (
    "SELECT af.number, als.extension, als.context, als.state_interface, "
    "'offline' AS status, '-1' AS extension_status, '0' AS paused "
    "FROM agentfeatures af LEFT JOIN agent_login_status als ON (af.id = als.agent_id)"
)

INSTALL_HINT = ("install them with `apt-get install postgresql` (or run tools/setup.sh), or set "
                "BENCH_DATABASE_URL to a server you run yourself")


# What a record states about the server, read back from it (so external servers are described too).
RECORDED_SETTINGS = ("max_connections", "fsync", "synchronous_commit", "full_page_writes",
                     "shared_buffers", "autovacuum", "listen_addresses", "port", "shared_preload_libraries")


def mask_password(dsn: str) -> str:
    """A DSN fit for logs and errors: passwords in URL userinfo, query or key=value form hidden."""
    masked = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)('[^']*'|[^\s&]+)", r"\1***", masked, flags=re.IGNORECASE)



# ---------------------------------------------------------------- finding the programs

def _version_key(bin_dir: Path) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def candidate_bin_dirs() -> List[Path]:
    """Debian's versioned directories, newest first, then whatever pg_config names."""
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bindir = subprocess.run([pg_config, "--bindir"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, universal_newlines=True,
                                    timeout=10).stdout.strip()
            if bindir and Path(bindir) not in dirs:
                dirs.append(Path(bindir))
    return dirs


def _has_programs(directory: Path, names: Sequence[str]) -> bool:
    return all(os.access(str(directory / name), os.X_OK) for name in names)


def find_server_bin_dir(bin_dirs: Optional[Sequence[Path]] = None) -> Path:
    """The directory holding initdb, postgres, pg_isready and psql of one version."""
    searched = list(bin_dirs) if bin_dirs is not None else candidate_bin_dirs()
    wanted = ("initdb", "postgres", "pg_isready", "psql")
    for directory in searched:
        if _has_programs(Path(directory), wanted):
            return Path(directory)
    raise ServiceError("PostgreSQL's programs ({}) were not found in {}; {}".format(
        ", ".join(wanted), ", ".join(map(str, searched)) or "/usr/lib/postgresql/*/bin", INSTALL_HINT))


def find_psql(bin_dirs: Optional[Sequence[Path]] = None) -> str:
    searched = list(bin_dirs) if bin_dirs is not None else candidate_bin_dirs()
    for directory in searched:
        if _has_programs(Path(directory), ("psql",)):
            return str(Path(directory) / "psql")
    on_path = shutil.which("psql") if bin_dirs is None else None
    if on_path:
        return on_path
    raise ServiceError("psql (PostgreSQL's client) was not found in {} nor on PATH; install it "
                       "with `apt-get install postgresql-client`".format(", ".join(map(str, searched))))


# ---------------------------------------------------------------- running psql

class PsqlError(ServiceError):
    def __init__(self, url: str, psql_message: str):
        self.psql_message = psql_message.strip().replace("\n", "\n    ") or "(no message)"
        super().__init__("psql failed against {}:\n    {}".format(mask_password(url), self.psql_message))


def client_env(embedded: bool) -> Dict[str, str]:
    env = dict(os.environ)
    if embedded:
        # The user's PGHOST, PGSSLMODE, PGOPTIONS... describe their own server, not ours.
        env = {name: value for name, value in env.items() if not name.startswith("PG")}
    env.setdefault("PGCONNECT_TIMEOUT", "5")  # an unroutable host fails in seconds, not minutes
    return env


def run_psql(psql: str, url: str, args: Sequence[str], embedded: bool, timeout_s: float = 60,
             log_path: Optional[Path] = None) -> str:
    """Run psql against url (never prompting for a password); its output, or a ServiceError."""
    argv = [psql, "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url] + list(args)
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=client_env(embedded),
                              universal_newlines=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ServiceError("psql against {} did not finish within {:.0f} s".format(mask_password(url), timeout_s))
    if log_path is not None:
        with open(str(log_path), "a", encoding="utf-8") as log:
            log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise PsqlError(url, done.stderr)
    return done.stdout


def check_connects(psql: str, url: str, embedded: bool) -> None:
    try:
        run_psql(psql, url, ["-c", "SELECT 1"], embedded, timeout_s=30)
    except PsqlError as error:
        origin = "the embedded server" if embedded else "BENCH_DATABASE_URL"
        raise ServiceError("cannot connect to PostgreSQL at {} ({}); psql says:\n    {}".format(
            mask_password(url), origin, error.psql_message))


def seed(psql: str, url: str, embedded: bool, log_path: Path) -> None:
    """Apply schema.sql (idempotent), then check the benchmark query sees exactly the agents."""
    run_psql(psql, url, ["-f", str(SCHEMA_PATH)], embedded, log_path=log_path)
    counts = run_psql(psql, url, ["-F", " ", "-c",
                                  "SELECT (SELECT count(*) FROM ({}) AS q), "
                                  "(SELECT count(*) FROM agent_login_status)".format(AGENTS_QUERY)],
                      embedded).split()
    if counts != [str(EXPECTED_ROWS), "0"]:
        raise ServiceError(
            "the benchmark query returns {} rows with {} rows in agent_login_status at {}; it must be "
            "{} and 0 for results to compare: use an empty database or drop tables agentfeatures and "
            "agent_login_status".format(counts[0], counts[1], mask_password(url), EXPECTED_ROWS))


def describe(psql: str, url: str, embedded: bool) -> Dict[str, str]:
    """server_version plus RECORDED_SETTINGS as the server reports them (with units, e.g. 32MB)."""
    names = ", ".join("'{}'".format(name) for name in RECORDED_SETTINGS)
    output = run_psql(psql, url, ["-F", "\t", "-c",
                                  "SELECT 'server_version', current_setting('server_version') UNION ALL "
                                  "SELECT name, current_setting(name) FROM pg_settings "
                                  "WHERE name IN ({})".format(names)], embedded)
    return dict(line.split("\t", 1) for line in output.splitlines() if "\t" in line)
