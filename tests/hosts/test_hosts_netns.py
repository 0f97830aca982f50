"""Roles on hosts of their own: network namespaces made, shaped, used and always deleted.

The namespace tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; CI runs as root,
so there they fail rather than skip when either is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import psutil
import pytest

from benchmatrix.hosts import namespace_entry, netns, rtt
from benchmatrix.hosts.link_shape import LinkShape
from benchmatrix.hosts.netns import NamespaceLab
from benchmatrix.hosts.roles import plan_hosts
from benchmatrix.results.tables import topology
from tests.record_factory import make_record


def require_namespaces():
    missing = [] if os.geteuid() == 0 else ["root"]
    missing += [tool for tool in ("ip", "tc", "nsenter") if shutil.which(tool) is None]
    if missing:
        message = "network namespaces need {}".format(", ".join(missing))
        if os.environ.get("CI"):
            pytest.fail(message + "; CI runs as root with iproute2 installed")
        pytest.skip(message)


def ours():
    """Namespaces of benchmatrix's naming scheme made by this test run (this process, what it started, or
    a run that is gone), and interfaces of its naming in this namespace. Another live run's on this
    machine (another test run, a benchmark) are theirs, not a leftover of ours."""
    mine = {os.getpid()} | {child.pid for child in psutil.Process().children(recursive=True)}
    names = []
    for name in netns.namespaces():
        match = netns._STALE_NAME.match(name)
        if match and (int(match.group(1)) in mine or not psutil.pid_exists(int(match.group(1)))):
            names.append(name)
    links = subprocess.run(["ip", "-o", "link"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    return names, [line for line in links.splitlines() if netns.INTERFACE in line or "bmx" in line]


def listener_in(namespace, address):
    """A TCP listener inside `namespace` (a thread that entered it), accepting until closed; its port."""
    ready = threading.Event()
    holder = {}

    def serve():
        with namespace_entry.entered(namespace):
            server = socket.socket()
        server.bind((address, 0))
        server.listen(64)
        holder["socket"], holder["port"] = server, server.getsockname()[1]
        ready.set()
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            holder.setdefault("connections", []).append(connection)

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(10)
    return holder


# ---------------------------------------------------------------- the link's shape (pure)

def test_a_link_shape_is_parsed_and_checked():
    shape = LinkShape.parse("rate=1gbit,delay=1ms")
    assert (shape.rate, shape.delay, shape.delay_ms) == ("1gbit", "1ms", 1.0)
    assert shape.qdisc_arguments()[:3] == ["netem", "delay", "1ms"]
    assert LinkShape.parse("rate=100mbit").qdisc_arguments()[0] == "tbf"  # a rate alone needs no netem
    # Without netem the delay line delays: the rate is tbf's, and a delay alone needs no qdisc.
    assert shape.qdisc_arguments(netem=False)[:3] == ["tbf", "rate", "1gbit"]
    assert LinkShape.parse("delay=1ms").qdisc_arguments(netem=False) is None
    assert "delay line" in shape.as_metadata(netem=False)["applied_with"]
    assert LinkShape.parse("delay=200us").delay_ms == 0.2
    assert LinkShape.parse(None) is None
    for wrong in ("rate=fast", "delay=1", "speed=1gbit", "rate=1gbit,rate=2gbit", "rate"):
        with pytest.raises(ValueError, match="--link"):
            LinkShape.parse(wrong)


def test_hosts_choices_that_cannot_run_are_refused_before_anything_starts(tmp_path):
    with pytest.raises(ValueError, match="--hosts netns"):
        plan_hosts("local", "rate=1gbit")
    with pytest.raises(ValueError, match="local, netns, or a hosts file"):
        plan_hosts("elsewhere")
    bad = tmp_path / "hosts.toml"
    bad.write_text('[server]\nssh = "root@192.0.2.1"\n')
    with pytest.raises(ValueError, match="server on an SSH host is not supported"):
        plan_hosts(str(bad))
    bad.write_text('[load]\nssh = "root@192.0.2.1"\n')
    with pytest.raises(ValueError, match=r"\[server\] address"):
        plan_hosts(str(bad))
    bad.write_text('[client]\nssh = "x"\n')
    with pytest.raises(ValueError, match="unknown section"):
        plan_hosts(str(bad))
    with pytest.raises(ValueError, match="cannot read"):
        plan_hosts(str(tmp_path / "absent.toml"))


def test_the_report_names_the_hosts_of_a_row_that_had_them():
    record = make_record(server="gunicorn+nginx-unix", meta={"hosts": {"label": "netns 1gbit"}})
    assert topology(record) == "nginx-unix, netns 1gbit"
    assert topology(make_record(server="gunicorn", meta={"hosts": {"label": ""}})) == "direct"


# ---------------------------------------------------------------- real namespaces

def test_the_lab_joins_three_roles_and_leaves_nothing_after_it():
    require_namespaces()
    lab = NamespaceLab.plan()
    assert lab.subnet.subnet_of(netns.BENCHMARK_RANGE)
    with lab.created(say=lambda line: None):
        names, _ = ours()
        assert set(lab.all_namespaces()) <= set(names)
        listener = listener_in(lab.namespace("server"), lab.address("server"))
        # The load's namespace reaches the server's address through the bridge.
        measured = rtt.measure(lab.address("server"), listener["port"], from_namespace=lab.namespace("load"))
        assert measured["samples"] == rtt.SAMPLES and measured["median_ms"] > 0
        listener["socket"].close()
    names, links = ours()
    assert [n for n in names if n in lab.all_namespaces()] == [] and links == []


def test_an_error_inside_the_block_still_deletes_every_namespace():
    require_namespaces()
    lab = NamespaceLab.plan()
    with pytest.raises(RuntimeError, match="boom"):
        with lab.created(say=lambda line: None):
            raise RuntimeError("boom")
    assert not set(lab.all_namespaces()) & set(netns.namespaces())


def test_namespaces_of_a_killed_run_are_removed_and_reported_at_the_next_start():
    require_namespaces()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs: its "run" was killed before it could clean up
    stale = "{}{}-server".format(netns.NAME_PREFIX, dead.pid)
    subprocess.run(["ip", "netns", "add", stale], check=True)
    live = "{}{}-server".format(netns.NAME_PREFIX, os.getpid())  # this process lives: not stale
    subprocess.run(["ip", "netns", "add", live], check=True)
    try:
        said = []
        removed = netns.remove_stale(said.append)
        assert stale in removed and live not in removed
        assert stale in said[0] and stale not in netns.namespaces() and live in netns.namespaces()
    finally:
        for name in (stale, live):
            subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)


def delay_lines():
    """Delay line processes still running (pids), whichever run started them."""
    found = subprocess.run(["pgrep", "-f", "benchmatrix.hosts.delay_line"], stdout=subprocess.PIPE,
                           universal_newlines=True).stdout
    return [int(pid) for pid in found.split()]


def test_a_process_left_in_a_killed_runs_namespace_is_stopped_with_it():
    require_namespaces()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = "{}{}-switch".format(netns.NAME_PREFIX, dead.pid)
    subprocess.run(["ip", "netns", "add", stale], check=True)
    # What a SIGKILLed run leaves: its delay line, still in its namespace, which it keeps alive.
    left = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "300"], start_new_session=True)
    try:
        time.sleep(0.2)
        assert netns.remove_stale(lambda line: None) == [stale]
        assert left.wait(timeout=10) == -signal.SIGKILL
        assert stale not in netns.namespaces()
    finally:
        if left.poll() is None:
            left.kill()
        subprocess.run(["ip", "netns", "delete", stale], stderr=subprocess.DEVNULL)


def test_a_delayed_link_adds_twice_the_delay_to_every_round_trip():
    """netem where the kernel has it, else the delay line: either way a round trip waits 2 x 1 ms."""
    require_namespaces()
    lab = NamespaceLab.plan(link=LinkShape.parse("rate=1gbit,delay=1ms"))
    with lab.created(say=lambda line: None):
        listener = listener_in(lab.namespace("server"), lab.address("server"))
        measured = rtt.measure(lab.address("server"), listener["port"], from_namespace=lab.namespace("load"))
        listener["socket"].close()
        if lab.delay_line:
            assert delay_lines(), "the delay line should run while the lab is up"
    # A connect is a SYN and a SYN-ACK, each held at least 1 ms; unshaped it takes ~0.05 ms.
    assert 2.0 <= measured["min_ms"] and measured["median_ms"] < 2.0 + 8.0, measured
    assert ours() == ([], []) and delay_lines() == []


def test_a_rate_limited_link_paces_a_transfer():
    """2 MB over a 10 Mbit/s link take at least 1.6 s; unshaped, a veth moves them in milliseconds."""
    require_namespaces()
    size = 2 * 1000 * 1000
    lab = NamespaceLab.plan(link=LinkShape.parse("rate=10mbit"))
    with lab.created(say=lambda line: None):
        with namespace_entry.entered(lab.namespace("server")):
            server = socket.socket()
        server.bind((lab.address("server"), 0))
        server.listen(1)
        received = {}

        def receive():
            connection, _ = server.accept()
            count = 0
            while True:
                chunk = connection.recv(1 << 16)
                if not chunk:
                    break
                count += len(chunk)
            received.update(bytes=count, at=time.monotonic())
            connection.close()

        receiver = threading.Thread(target=receive, daemon=True)
        receiver.start()
        with namespace_entry.entered(lab.namespace("load")):
            sender = socket.create_connection((lab.address("server"), server.getsockname()[1]), timeout=30)
        started = time.monotonic()
        with sender:
            sender.sendall(b"x" * size)
        receiver.join(60)
        server.close()
    assert received["bytes"] == size
    elapsed = received["at"] - started
    assert elapsed >= size * 8 / 10e6 * 0.9, "a 10 Mbit/s link moved {} bytes in {:.2f} s".format(size, elapsed)


# ---------------------------------------------------------------- real cells

@pytest.mark.slow
def test_a_cell_on_three_namespaces_gives_an_ok_row_naming_its_hosts(harness):
    require_namespaces()
    # No ceiling: across the namespaces it runs wrk and nginx under the same prefixes as this cell's load
    # and server, which this test runs for real; measuring it would add 10 s.
    done = harness.bench("gunicorn", "flask", "--scenarios", "json", "--hosts", "netns", "--ceiling", "off",
                         timeout=240)
    assert done.returncode == 0, done.stdout
    [record] = harness.records()
    assert record["status"] == "ok", record["flags"]
    hosts = record["meta"]["hosts"]
    assert {role: where["host"] for role, where in hosts["roles"].items()} == {
        "server": "netns", "load": "netns", "database": "netns"}
    assert hosts["rtt"]["load-server"]["median_ms"] > 0
    assert record["meta"]["server"]["listens_on"].startswith(hosts["roles"]["server"]["address"])
    assert ours() == ([], [])


@pytest.mark.slow
def test_the_database_on_its_own_namespace_serves_the_agents_with_a_password(harness):
    require_namespaces()
    # No cooperative-I/O check: on sync gunicorn it waits out 20 serialized seconds that say nothing here.
    done = harness.bench("gunicorn", "flask", "--scenarios", "agents", "--hosts", "netns", "--ceiling", "off",
                         "--coop-check", "off", timeout=240)
    assert done.returncode == 0, done.stdout
    [record] = harness.records()
    assert record["status"] == "ok", record["flags"]
    database = record["meta"]["database"]
    assert database["settings"]["listen_addresses"] == record["meta"]["hosts"]["roles"]["database"]["address"]
    assert ":***@" in database["url"]  # a password login, and the record does not show it
    assert record["meta"]["hosts"]["rtt"]["server-database"]["median_ms"] > 0
    assert ours() == ([], [])


@pytest.mark.slow
def test_ctrl_c_during_the_load_leaves_no_namespace(harness):
    # SIGTERM takes the same way out as Ctrl-C (test_end_to_end.py proves it on a plain cell).
    stop = signal.SIGINT
    require_namespaces()
    process = harness.popen("run", "--server", "gunicorn", "--app", "flask", "--scenarios", "json",
                            "--duration", "30s", "--warmup", "0", "--ceiling", "off", "--hosts", "netns",
                            "--results-dir", str(harness.results_dir), start_new_session=True)
    try:
        for line in process.stdout:
            if "trial 1/" in line:
                break
        time.sleep(0.5)
        assert ours()[0], "the run's namespaces should exist while it loads"
        os.killpg(process.pid, stop)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, output
    assert ours() == ([], [])


@pytest.mark.slow
def test_a_delayed_link_shows_in_the_rtt_and_in_every_request(harness):
    require_namespaces()
    # One connection: every request waits at least one round trip, so p50 is at least 2 ms.
    done = harness.bench("gunicorn", "flask", "--scenarios", "json", "--hosts", "netns", "--link",
                         "rate=1gbit,delay=1ms", "--connections", "1", "--ceiling", "off", timeout=240)
    assert done.returncode == 0, done.stdout
    [record] = harness.records()
    assert record["status"] == "ok", record["flags"]
    hosts = record["meta"]["hosts"]
    assert hosts["label"] == "netns 1gbit/1ms" and hosts["link"]["link"]["expected_rtt_ms"] == 2.0
    assert hosts["rtt"]["load-server"]["min_ms"] >= 2.0
    assert record["latency_ms"]["p50"] >= 2.0
    assert ours() == ([], []) and delay_lines() == []


@pytest.mark.slow
def test_a_delayed_link_whose_server_fails_to_boot_leaves_nothing_behind(harness):
    # Namespaces and the delay line both: what a plain link's failed boot would leave is a subset.
    require_namespaces()
    done = harness.bench("gunicorn", "flask", "--scenarios", "json", "--hosts", "netns", "--ceiling", "off",
                         "--link", "rate=1gbit,delay=1ms", "--app-target", "no_such_module:app",
                         "--boot-timeout", "10")
    assert done.returncode != 0
    assert "no_such_module" in done.stdout, done.stdout
    assert ours() == ([], []) and delay_lines() == []
