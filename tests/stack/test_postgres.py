"""PostgreSQL for the database scenarios: real clusters, real psql, nothing left behind."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmatrix.stack.postgres import (AGENTS_QUERY, DEFAULT_MAX_CONNECTIONS, ServiceError, database,
                                        find_psql, mask_password, run_psql)

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them

REPO_ROOT = Path(__file__).resolve().parents[2]


def query(db_url: str, sql: str) -> list:
    return run_psql(find_psql(), db_url, ["-c", sql], embedded=True).splitlines()


def server_processes(postmaster: int) -> dict:
    """pid -> uid of the postmaster and its children (each in a session of its own)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            uid = entry.stat().st_uid
        except OSError:
            continue  # it ended while we looked (a backend of a finished query)
        if fields[0] != "Z" and postmaster in (int(entry.name), int(fields[1])):
            found[int(entry.name)] = uid
    return found


def assert_gone(processes: dict, cluster_dir: Path) -> None:
    survivors = [pid for pid in processes if Path("/proc/{}".format(pid)).exists()]
    assert survivors == [], "PostgreSQL processes survived"
    assert not cluster_dir.exists(), "the cluster directory was left behind"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    with database(tmp_path_factory.mktemp("pg")) as running:
        yield running


def test_the_agents_query_returns_50_rows_over_tcp_and_the_socket(db):
    for url in (db.url, db.socket_url):
        rows = query(url, AGENTS_QUERY)
        assert len(rows) == 50
        assert rows[0] == "1001||||offline|-1|0"
    assert query(db.url, "SELECT count(*) FROM agent_login_status") == ["0"]


def test_version_and_settings_are_what_the_server_reports(db):
    assert db.embedded and db.version.split(".")[0].isdigit()
    assert db.max_connections == DEFAULT_MAX_CONNECTIONS
    assert (db.settings["fsync"], db.settings["synchronous_commit"]) == ("off", "off")
    assert query(db.url, "SHOW max_connections") == [str(DEFAULT_MAX_CONNECTIONS)]
    assert "***" not in str(db.metadata()) and db.metadata()["settings"] == db.settings


def test_seeding_an_already_seeded_server_changes_nothing(db, tmp_path):
    def snapshot():
        return query(db.url, "SELECT * FROM agentfeatures ORDER BY id") + query(db.url, AGENTS_QUERY)

    before = snapshot()
    for _ in range(2):
        with database(tmp_path, external_url=db.url) as again:
            assert not again.embedded and again.pid is None and again.socket_url is None
            assert again.version == db.version and again.max_connections == DEFAULT_MAX_CONNECTIONS
    assert snapshot() == before


def test_the_embedded_server_runs_unprivileged_and_stops_despite_a_busy_client(tmp_path):
    with database(tmp_path) as db:
        uid = os.stat("/proc/{}".format(db.pid)).st_uid
        assert uid == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())
        client = subprocess.Popen([find_psql(), "-X", "-d", db.url, "-c", "SELECT pg_sleep(60)"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while query(db.url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'") != ["1"]:
            assert time.monotonic() < deadline, "the sleeping client never showed up"
            time.sleep(0.05)
        processes = server_processes(db.pid)
        assert len(processes) > 3  # postmaster, its helpers and the client's backend
        assert set(processes.values()) == {uid}
        stopping = time.monotonic()
    # A smart shutdown (SIGTERM) would wait the full minute for that client.
    assert time.monotonic() - stopping < 5
    assert client.wait(timeout=5) != 0
    assert_gone(processes, db.cluster_dir)


def test_an_exception_in_the_block_still_stops_and_removes_the_cluster(tmp_path):
    seen = {}
    with pytest.raises(RuntimeError):
        with database(tmp_path) as db:
            seen.update(processes=server_processes(db.pid), cluster_dir=db.cluster_dir)
            raise RuntimeError("the benchmark failed")
    assert_gone(seen["processes"], seen["cluster_dir"])


def test_ctrl_c_leaves_no_process_and_no_directory(tmp_path):
    # A shell's background job starts with SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: restore it, so the test does not depend on how pytest runs.
    script = ("import signal, sys, time\n"
              "from pathlib import Path\n"
              "from benchmatrix.stack.postgres import database\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "with database(Path(sys.argv[1])) as db:\n"
              "    print(db.pid, db.cluster_dir, flush=True)\n"
              "    time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=str(REPO_ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        pid, cluster_dir = holder.stdout.readline().split()
        processes = server_processes(int(pid))
    finally:
        holder.send_signal(signal.SIGINT)  # also on failure: a SIGKILLed holder would orphan its cluster
        _, errors = holder.communicate(timeout=20)
    assert "KeyboardInterrupt" in errors
    assert len(processes) > 1
    assert_gone(processes, Path(cluster_dir))


def test_a_url_that_does_not_connect_is_named_in_the_error(tmp_path):
    with pytest.raises(ServiceError) as failure:
        with database(tmp_path, external_url="postgresql://nobody@127.0.0.1:1/x"):
            pass
    message = str(failure.value)
    assert "postgresql://nobody@127.0.0.1:1/x" in message and "BENCH_DATABASE_URL" in message
    assert "Connection refused" in message  # psql's own words

    with pytest.raises(ServiceError) as failure:
        with database(tmp_path, external_url="postgresql://nobody:s3cret@127.0.0.1:1/x"):
            pass
    assert "s3cret" not in str(failure.value) and "nobody:***@" in str(failure.value)


def test_passwords_are_masked_in_every_dsn_form():
    assert mask_password("postgresql://u:p%40ss@h:5/d") == "postgresql://u:***@h:5/d"
    assert mask_password("postgresql://u@h/d?password=x&sslmode=off") == "postgresql://u@h/d?password=***&sslmode=off"
    assert mask_password("host=h password='a b' user=u") == "host=h password=*** user=u"


def test_missing_programs_say_what_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    with pytest.raises(ServiceError, match=r"apt-get install postgresql"):
        with database(tmp_path, bin_dirs=[empty]):
            pass
