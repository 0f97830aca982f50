"""The load generator on a real SSH host: a local sshd, started here inside a namespace.

Two namespaces stand for two machines joined by a cable: "here" runs the harness, the
server and its checks; "there" runs Debian's sshd with a throwaway host key, key logins
only, listening on its own address alone. The harness reaches "there" only over SSH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from benchmatrix.hosts import netns

SSHD = "/usr/sbin/sshd"
# What the restricted login's PATH holds: a shell's basics, but no wrk.
BASICS = ("sh", "mktemp", "cat", "rm", "kill", "sleep", "head", "true")


def require_sshd():
    missing = [] if os.geteuid() == 0 else ["root"]
    missing += [tool for tool in ("ip", "ssh", "ssh-keygen") if shutil.which(tool) is None]
    missing += [] if os.access(SSHD, os.X_OK) else [SSHD + " (openssh-server)"]
    if missing:
        message = "the SSH tests need {}".format(", ".join(missing))
        if os.environ.get("CI"):
            pytest.fail(message + "; tools/setup.sh installs them and CI runs as root")
        pytest.skip(message)


def run(*argv):
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def remote_dirs():
    """Working directories an SSH load host was given (with the Lua scripts copied there). Other runs on
    this machine make /tmp/benchmatrix-* folders too, for their unix sockets: those are not counted."""
    return sorted(str(p) for p in Path("/tmp").glob("benchmatrix-????????") if p.is_dir() and any(p.glob("*.lua")))


@pytest.fixture
def two_machines(tmp_path):
    """("here" namespace, its address, ssh options for the normal key, for the key without wrk, there's address)."""
    require_sshd()
    subnet = netns.free_subnet(os.getpid() + 97)
    here, there = "bmxssh{}-here".format(os.getpid()), "bmxssh{}-there".format(os.getpid())
    here_address, there_address = str(subnet.network_address + 1), str(subnet.network_address + 2)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "user"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "user-without-wrk"))
    bare = tmp_path / "bare-path"
    bare.mkdir()
    for tool in BASICS:
        (bare / tool).symlink_to(shutil.which(tool))
    (keys / "authorized_keys").write_text(
        (keys / "user.pub").read_text()
        + 'environment="PATH={}" '.format(bare) + (keys / "user-without-wrk.pub").read_text())
    config = tmp_path / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress {}:22".format(there_address), "HostKey {}".format(keys / "host"),
        "AuthorizedKeysFile {}".format(keys / "authorized_keys"), "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no",
        "PermitUserEnvironment yes", "StrictModes no", "PidFile {}".format(tmp_path / "sshd.pid"), ""]))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    sshd = None
    try:
        for name in (here, there):
            run("ip", "netns", "add", name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        run("ip", "-n", here, "link", "add", "cable", "type", "veth", "peer", "name", "cable", "netns", there)
        for name, address in ((here, here_address), (there, there_address)):
            run("ip", "-n", name, "addr", "add", "{}/{}".format(address, subnet.prefixlen), "dev", "cable")
            run("ip", "-n", name, "link", "set", "cable", "up")
        sshd = subprocess.Popen(["ip", "netns", "exec", there, SSHD, "-D", "-e", "-f", str(config)],
                                stdout=subprocess.DEVNULL, stderr=open(str(tmp_path / "sshd.log"), "w"))
        common = ["-o", "UserKnownHostsFile={}".format(tmp_path / "known_hosts"),
                  "-o", "StrictHostKeyChecking=accept-new", "-o", "IdentitiesOnly=yes"]
        deadline = time.monotonic() + 15
        while subprocess.run(["ip", "netns", "exec", here, "ssh", "-o", "BatchMode=yes", "-i", str(keys / "user"),
                              *common, "root@" + there_address, "true"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            assert time.monotonic() < deadline, (tmp_path / "sshd.log").read_text()
            time.sleep(0.2)
        yield (here, here_address, ["-i", str(keys / "user")] + common,
               ["-i", str(keys / "user-without-wrk")] + common, there_address)
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait(10)
        for name in (here, there):
            subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)


def hosts_file(path, server_address, load_address, options):
    path.write_text('[server]\naddress = "{}"\n[load]\nssh = "root@{}"\nssh_options = [{}]\n'.format(
        server_address, load_address, ", ".join('"{}"'.format(o) for o in options)))
    return path


def wrk_processes(namespace: str):
    """wrk processes running inside `namespace` (the load host): other runs' wrk on this machine are theirs."""
    target = os.stat("/run/netns/" + namespace).st_ino
    found = []
    for pid in subprocess.run(["pgrep", "-x", "wrk"], stdout=subprocess.PIPE, universal_newlines=True).stdout.split():
        try:
            if os.stat("/proc/{}/ns/net".format(pid)).st_ino == target:
                found.append(pid)
        except OSError:
            continue  # it ended meanwhile
    return found


@pytest.mark.slow
def test_wrk_runs_on_the_ssh_host_and_its_result_is_recorded(harness, two_machines, tmp_path):
    here, here_address, options, _, there_address = two_machines
    before = remote_dirs()
    hosts = hosts_file(tmp_path / "hosts.toml", here_address, there_address, options)
    # No ceiling: measured from there it runs wrk through the same remote command as the load (10 s more).
    done = harness.bench("gunicorn", "flask", "--scenarios", "json", "--hosts", str(hosts), "--ceiling", "off",
                         prefix=["ip", "netns", "exec", here], timeout=240)
    assert done.returncode == 0, done.stdout
    [record] = harness.records()
    assert record["status"] == "ok", record["flags"]
    assert record["meta"]["hosts"]["roles"]["load"] == {"host": "ssh", "destination": "root@" + there_address}
    assert "benchmatrix.hosts.remote_command" in record["meta"]["load_command"]
    assert record["meta"]["hosts"]["rtt"]["server-load"]["median_ms"] > 0
    assert record["requests"] > 0 and record["rps"] > 0
    assert record["resources"]["load_generator_cpu_s"] is None  # ssh's CPU here is not wrk's there
    assert remote_dirs() == before, "the run left its working directory on the load host"
    assert wrk_processes("bmxssh{}-there".format(os.getpid())) == []


def test_a_load_host_without_wrk_gives_one_clear_error(harness, two_machines, tmp_path):
    here, here_address, _, options_without_wrk, there_address = two_machines
    before = remote_dirs()
    hosts = hosts_file(tmp_path / "hosts.toml", here_address, there_address, options_without_wrk)
    done = harness.bench("gunicorn", "flask", "--scenarios", "json", "--hosts", str(hosts), "--ceiling", "off",
                         prefix=["ip", "netns", "exec", here], timeout=120)
    assert done.returncode == 2, done.stdout
    errors = [line for line in done.stdout.splitlines() if line.startswith("benchmatrix: error:")]
    assert len(errors) == 1 and "lacks wrk" in errors[0] and "root@" + there_address in errors[0], done.stdout
    assert harness.records() == []
    assert remote_dirs() == before
