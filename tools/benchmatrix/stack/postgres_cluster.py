"""The embedded PostgreSQL: a throwaway cluster initdb'ed into a temporary directory.

It is started as a supervised child, stopped with a fast shutdown and deleted
afterwards, however the block ends. PostgreSQL refuses to run as root, so under
root the server runs as the `postgres` system account.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import psutil

from benchmatrix.hosts.namespace_entry import enter_in_child
from benchmatrix.stack.postgres_client import client_env
from benchmatrix.stack.process import free_port, signals_deferred, started
from benchmatrix.stack.readiness import NotReady, ServiceError, log_tail, wait_ready

SUPERUSER = "postgres"  # initdb -U: the same role name whoever runs the server
SERVER_ACCOUNT = "postgres"  # the system user the server runs as when we are root

# Sized for the busiest cell: two app servers x 16 workers x pools of 5 is 160,
# a gevent/async route fanning out 10 concurrent queries per request adds tens
# more, and psql plus superuser_reserved_connections (3) need a few. 300 keeps
# "too many clients already" out of the results; an unused slot costs ~50 kB of
# shared memory (51 MB in all with shared_buffers=32MB, against 41 MB at 100).
DEFAULT_MAX_CONNECTIONS = 300

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
        # Counts each statement's executions, so a record can show the queries every request
        # really ran (stack/work_counters.py); one hash update per statement.
        "shared_preload_libraries": "pg_stat_statements",
    }



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
        return subprocess.run(argv, stdin=subprocess.DEVNULL, env=client_env(True), timeout=10).returncode
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
    options = {"env": client_env(True)}
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
