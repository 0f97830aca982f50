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
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import psutil

from benchmatrix.hosts.netns import enter_in_child
from benchmatrix.stack.process import free_port, signals_deferred, started
from benchmatrix.stack.readiness import NotReady, ServiceError, log_tail, wait_ready
from benchmatrix.paths import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "configs" / "postgres" / "schema.sql"
DATABASE_NAME = "benchmatrix"
SUPERUSER = "postgres"  # initdb -U: the same role name whoever runs the server
SERVER_ACCOUNT = "postgres"  # the system user the server runs as when we are root
EXPECTED_ROWS = 50

# The query every app's database endpoint runs, copied verbatim into the apps.
AGENTS_QUERY = (
    "SELECT af.number, als.extension, als.context, als.state_interface, "
    "'offline' AS status, '-1' AS extension_status, '0' AS paused "
    "FROM agentfeatures af LEFT JOIN agent_login_status als ON (af.id = als.agent_id)"
)

# Sized for the busiest cell: two app servers x 16 workers x pools of 5 is 160,
# a gevent/async route fanning out 10 concurrent queries per request adds tens
# more, and psql plus superuser_reserved_connections (3) need a few. 300 keeps
# "too many clients already" out of the results; an unused slot costs ~50 kB of
# shared memory (51 MB in all with shared_buffers=32MB, against 41 MB at 100).
DEFAULT_MAX_CONNECTIONS = 300

INSTALL_HINT = ("install them with `apt-get install postgresql` (or run tools/setup.sh), or set "
                "BENCH_DATABASE_URL to a server you run yourself")


def server_settings(port: int, socket_dir: Path, max_connections: int,
                    listen_address: str = "127.0.0.1") -> Dict[str, str]:
    """The -c options of the embedded server, each chosen for a throwaway read-mostly database."""
    return {
        "listen_addresses": listen_address,
        "port": str(port),
        "unix_socket_directories": str(socket_dir),
        "max_connections": str(max_connections),
        # The data is recreated every run: durability buys nothing, and fsync
        # stalls would show up as application latency.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        # The whole data set is a few kilobytes; the default 128MB would only cost RAM.
        "shared_buffers": "32MB",
        # Static data: no background vacuum competing with a measurement
        # (schema.sql runs ANALYZE so the planner still has statistics).
        "autovacuum": "off",
    }


# What a record states about the server, read back from it (so external servers are described too).
RECORDED_SETTINGS = ("max_connections", "fsync", "synchronous_commit", "full_page_writes",
                     "shared_buffers", "autovacuum", "listen_addresses", "port")


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

    @property
    def max_connections(self) -> int:
        return int(self.settings["max_connections"])

    def metadata(self) -> Dict[str, object]:
        return {"url": mask_password(self.url), "version": self.version, "embedded": self.embedded,
                "settings": dict(self.settings)}


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


def _client_env(embedded: bool) -> Dict[str, str]:
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
                              stdin=subprocess.DEVNULL, env=_client_env(embedded),
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


# ---------------------------------------------------------------- the embedded cluster

def _server_account() -> Optional[pwd.struct_passwd]:
    """Whom to run the server as: None means ourselves; under root, the postgres account."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise ServiceError("running as root, and PostgreSQL refuses root, but there is no '{}' system "
                           "user to run it as; `apt-get install postgresql` creates one, or run the "
                           "harness as a normal user".format(SERVER_ACCOUNT))


def _become(account: pwd.struct_passwd) -> Callable[[], None]:
    # Python 3.8's Popen has no user=/group=, so the child drops root itself, after fork.
    def preexec() -> None:
        os.setgid(account.pw_gid)
        os.initgroups(account.pw_name, account.pw_gid)
        os.setuid(account.pw_uid)
    return preexec


def _cluster_parent(account: Optional[pwd.struct_passwd]) -> str:
    """A temp directory the server account can enter, short enough for a unix socket path."""
    parent = tempfile.gettempdir()
    enterable = account is None or all(
        os.stat(str(path)).st_mode & 0o001 for path in [Path(parent)] + list(Path(parent).parents))
    return parent if enterable and len(parent) < 60 else "/tmp"


def _run_logged(argv: Sequence[str], log_path: Path, what: str, timeout_s: float, **options) -> None:
    with open(str(log_path), "ab") as log:
        try:
            code = subprocess.run(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout_s, **options).returncode
        except subprocess.TimeoutExpired:
            code = None
    if code != 0:
        raise ServiceError("{} {}\n  command: {}\n  last lines of {}:\n{}".format(
            what, "timed out" if code is None else "failed with code {}".format(code),
            " ".join(argv), log_path, log_tail(log_path)))


def _pg_isready(bin_dir: Path, port: int, host: str = "127.0.0.1") -> int:
    argv = [str(bin_dir / "pg_isready"), "-q", "-h", host, "-p", str(port),
            "-U", SUPERUSER, "-d", "postgres", "-t", "2"]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, env=_client_env(True), timeout=10).returncode
    except subprocess.TimeoutExpired:
        return 2


def _readiness_probe(bin_dir: Path, port: int, host: str = "127.0.0.1") -> Callable[[], Optional[str]]:
    def probe() -> Optional[str]:
        status = _pg_isready(bin_dir, port, host)
        if status == 3:  # pg_isready made no attempt: our arguments are wrong, waiting will not help
            raise NotReady("could not be probed by pg_isready")
        return None if status == 0 else "no connection accepted on {}:{}".format(host, port)
    return probe


def _children(pid: int) -> List[psutil.Process]:
    """The live children of pid; psutil remembers each one's start time, so a reused pid is told apart."""
    try:
        return psutil.Process(pid).children()
    except psutil.Error:
        return []


def _kill_survivors(children: List[psutil.Process]) -> None:
    # Finds something only when the postmaster had to be SIGKILLed: a fast
    # shutdown ends every child before the postmaster itself exits.
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()  # psutil checks first that the pid is still this process


@dataclass(frozen=True)
class DatabaseHost:
    """Where the embedded server listens: loopback here, or a namespace's address (--hosts netns)."""
    address: str = "127.0.0.1"
    namespace: Optional[str] = None  # the network namespace the server runs in
    clients: Optional[str] = None  # the subnet allowed to log in, with a password; None: loopback, trust


def _chain(first: Callable[[], None], then: Optional[Callable[[], None]]) -> Callable[[], None]:
    def both() -> None:
        first()
        if then is not None:
            then()
    return both


@dataclass(frozen=True)
class _Cluster:
    bin_dir: Path
    cluster_dir: Path
    port: int
    pid: int
    host: str = "127.0.0.1"
    password: Optional[str] = None  # set when clients log in over a subnet (password authentication)

    def url(self, database: str) -> str:
        login = SUPERUSER + (":" + self.password if self.password else "")
        return "postgresql://{}@{}:{}/{}".format(login, self.host, self.port, database)

    def socket_url(self, database: str) -> str:
        return "postgresql://{}@/{}?host={}&port={}".format(SUPERUSER, database, self.cluster_dir, self.port)


@contextlib.contextmanager
def embedded_cluster(log_path: Path, bin_dir: Path, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                     boot_timeout_s: float = 30.0, prefix: Sequence[str] = (),
                     listen: Optional["DatabaseHost"] = None) -> Iterator[_Cluster]:
    """initdb, start and wait for a private server; stop it (fast shutdown) and delete it afterwards.

    listen puts the server on a host of its own (a network namespace and its address), where
    only its subnet may log in, with a password; without it the server listens on loopback
    and trusts local logins, as a throwaway cluster on one machine can.
    """
    account = _server_account()
    listen = listen or DatabaseHost()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    options = {"env": _client_env(True)}
    cluster_dir = Path(tempfile.mkdtemp(prefix="benchmatrix-pg-", dir=_cluster_parent(account)))
    children: List[psutil.Process] = []
    try:
        if account is not None:
            os.chown(str(cluster_dir), account.pw_uid, account.pw_gid)
            options["preexec_fn"] = _become(account)
        options["cwd"] = str(cluster_dir)  # our cwd may be closed to the server account (/root)
        authentication = ["-A", "trust"]
        password = None
        if listen.clients:
            password = secrets.token_hex(16)
            password_file = cluster_dir / "password"
            password_file.write_text(password + "\n", encoding="utf-8")
            if account is not None:
                os.chown(str(password_file), account.pw_uid, account.pw_gid)
            # The harness's own psql comes over the unix socket (trusted); the apps over the subnet.
            authentication = ["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", str(password_file)]
        _run_logged([str(bin_dir / "initdb"), "-D", str(cluster_dir / "data"), "-U", SUPERUSER,
                     *authentication, "-E", "UTF8", "--locale=C", "--no-sync"],
                    log_path, "initdb", timeout_s=120, **options)
        if listen.clients:
            (cluster_dir / "password").unlink()
            # Only the benchmark's subnet, and only with the password: not 'all', not trust.
            with open(str(cluster_dir / "data" / "pg_hba.conf"), "w", encoding="utf-8") as hba:
                hba.write("local all all trust\nhost all all {} scram-sha-256\n".format(listen.clients))
            if listen.namespace:
                # Into the database's namespace first, then down to the server account: a prefix
                # such as nsenter would run after the drop, without the privilege to enter.
                options["preexec_fn"] = _chain(enter_in_child(listen.namespace), options.get("preexec_fn"))
        port = free_port()
        settings = server_settings(port, cluster_dir, max_connections, listen_address=listen.address)
        # prefix (taskset) execs the postgres binary in place: the pid stays the postmaster's.
        argv = [*prefix, str(bin_dir / "postgres"), "-D", str(cluster_dir / "data")]
        for name, value in settings.items():
            argv += ["-c", "{}={}".format(name, value)]
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
        # The signal reaches the postmaster only: it gives each child a session of its
        # own, and itself ends them all before it exits.
        with started(argv, log_path, env=options["env"], cwd=cluster_dir, grace_s=15.0,
                     stop_signal=signal.SIGINT, preexec_fn=options.get("preexec_fn"),
                     long_running=True) as process:
            try:
                wait_ready(process, _readiness_probe(bin_dir, port, listen.address), boot_timeout_s,
                           "PostgreSQL", log_path)
                yield _Cluster(bin_dir, cluster_dir, port, process.pid, host=listen.address, password=password)
            finally:
                children = _children(process.pid)
    finally:
        _kill_survivors(children)
        with signals_deferred():  # a second Ctrl-C must not leave half a cluster on disk
            shutil.rmtree(str(cluster_dir), ignore_errors=True)
        if cluster_dir.exists():
            raise ServiceError("could not remove the cluster directory {}".format(cluster_dir))


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
        yield Database(url=external_url, socket_url=None, version=settings.pop("server_version"),
                       settings=settings, embedded=False, log_path=log_path)
        return
    bin_dir = find_server_bin_dir(bin_dirs)
    psql = str(bin_dir / "psql")
    with embedded_cluster(log_path, bin_dir, max_connections, boot_timeout_s, prefix, listen) as cluster:
        run_psql(psql, cluster.url("postgres"), ["-c", "CREATE DATABASE {}".format(DATABASE_NAME)],
                 embedded=True, log_path=log_path)
        url = cluster.url(DATABASE_NAME)
        seed(psql, url, embedded=True, log_path=log_path)
        settings = describe(psql, url, embedded=True)
        yield Database(url=url, socket_url=cluster.socket_url(DATABASE_NAME),
                       version=settings.pop("server_version"), settings=settings, embedded=True,
                       log_path=log_path, pid=cluster.pid, cluster_dir=cluster.cluster_dir)
