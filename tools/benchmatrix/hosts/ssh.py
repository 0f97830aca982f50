"""A role on a real machine over SSH: OpenSSH's client, one shared control connection.

    host = SshHost("bench@loadgen", options=("-i", "/path/key"))
    with host.session(files=[...], tools=["wrk"], say=print) as remote:
        argv = remote.prefix() + [wrk, ...]   # run_bounded(argv) runs wrk there

The first command opens a control master (ControlMaster=auto), every later one rides on
it, so a trial does not pay a new key exchange. Before anything runs, the remote tools
are checked (one error naming all that is missing) and the files the role needs are
copied into a fresh remote directory. However the run ends, whatever still runs from
that directory is stopped, the directory removed and the master closed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Sequence, Tuple


class RemoteHostError(RuntimeError):
    """The SSH host cannot play its role; the message says what is missing."""


@dataclass(frozen=True)
class SshHost:
    destination: str  # what `ssh` takes: [user@]host
    options: Tuple[str, ...] = ()  # more ssh options, e.g. ("-i", KEY, "-o", "UserKnownHostsFile=...")
    connect_timeout_s: int = 10

    @property
    def control_path(self) -> str:
        # A short fixed path per destination and harness: a unix socket path has 107 bytes at most.
        digest = hashlib.sha1("{} {} {}".format(self.destination, self.options, os.getpid()).encode()).hexdigest()
        return os.path.join(tempfile.gettempdir(), "bmx-ssh-" + digest[:12])

    def address_and_port(self) -> Tuple[str, int]:
        """The host and port its sshd listens on, from the destination and the options (-p N, -o Port=N)."""
        host = self.destination.rpartition("@")[2]
        port = 22
        options = list(self.options)
        for index, option in enumerate(options):
            if option == "-p" and index + 1 < len(options):
                port = int(options[index + 1])
            elif option.startswith("-p") and option[2:].isdigit():
                port = int(option[2:])
            elif option == "-o" and index + 1 < len(options) and options[index + 1].lower().startswith("port="):
                port = int(options[index + 1].split("=", 1)[1])
        return host, port

    def ssh_argv(self) -> List[str]:
        return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout={}".format(self.connect_timeout_s),
                "-o", "ControlMaster=auto", "-o", "ControlPath=" + self.control_path,
                "-o", "ControlPersist=300", *self.options, self.destination]

    def run(self, command: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
        """One shell command there; its completed process (stdout and stderr as text)."""
        try:
            return subprocess.run(self.ssh_argv() + ["--", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, universal_newlines=True, timeout=timeout_s)
        except FileNotFoundError:
            raise RemoteHostError("an SSH role needs OpenSSH's client, `ssh`, which is not on PATH; install it "
                                  "with `apt-get install openssh-client`")
        except subprocess.TimeoutExpired:
            raise RemoteHostError("`{}` on {} did not finish within {:.0f} s".format(
                command, self.destination, timeout_s))

    def check_reachable(self) -> None:
        done = self.run("true", timeout_s=self.connect_timeout_s + 20)
        if done.returncode != 0:
            raise RemoteHostError("cannot run commands on {} over SSH (key-based login, no password prompt): {}"
                                  .format(self.destination, done.stderr.strip() or "exit code {}".format(
                                      done.returncode)))

    def missing_tools(self, tools: Sequence[str]) -> List[str]:
        script = "; ".join("command -v {0} >/dev/null 2>&1 || echo {0}".format(shlex.quote(tool)) for tool in tools)
        done = self.run(script)
        if done.returncode != 0:
            raise RemoteHostError("checking the tools on {} failed: {}".format(self.destination, done.stderr.strip()))
        return done.stdout.split()

    def tool_version(self, tool: str) -> str:
        done = self.run("{} -v 2>&1 | head -n 1".format(shlex.quote(tool)))
        return done.stdout.strip()

    @contextlib.contextmanager
    def session(self, files: Sequence[Path], tools: Sequence[str], say: Callable[[str], None] = print
                ) -> Iterator["RemoteSession"]:
        """Checked, with `files` copied there, for the block; everything started there stopped after it."""
        self.check_reachable()
        try:
            missing = self.missing_tools(tools)
            if missing:
                raise RemoteHostError(
                    "the load host {} lacks {} on PATH; install {} there (on Debian: `apt-get install {}`) "
                    "and run again".format(self.destination, ", ".join(missing),
                                           "it" if len(missing) == 1 else "them",
                                           " ".join(DEBIAN_PACKAGES.get(tool, tool) for tool in missing)))
            made = self.run("mktemp -d /tmp/benchmatrix-XXXXXXXX")
            if made.returncode != 0:
                raise RemoteHostError("could not make a working directory on {}: {}".format(
                    self.destination, made.stderr.strip()))
            remote_dir = made.stdout.strip()
            remote = RemoteSession(self, remote_dir, {str(path): remote_dir + "/" + path.name for path in files})
            try:
                remote.copy()
                say("load host {}: {} checked, {} file(s) copied to {}".format(
                    self.destination, ", ".join(tools), len(files), remote_dir))
                yield remote
            finally:
                remote.stop_everything()
        finally:
            self.close()

    def close(self) -> None:
        subprocess.run(["ssh", "-o", "ControlPath=" + self.control_path, "-O", "exit", self.destination],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


DEBIAN_PACKAGES = {"h2load": "nghttp2-client"}


@dataclass
class RemoteSession:
    host: SshHost
    remote_dir: str
    paths: Dict[str, str]  # local file -> its copy there
    tools: Dict[str, str] = field(default_factory=dict)  # local binary path -> the name run there

    def copy(self) -> None:
        for local, remote in self.paths.items():
            # cat over the control connection: no scp or sftp subsystem needed there.
            with open(local, "rb") as source:
                done = subprocess.run(self.host.ssh_argv() + ["--", "cat > {}".format(shlex.quote(remote))],
                                      stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            if done.returncode != 0:
                raise RemoteHostError("copying {} to {} failed: {}".format(
                    local, self.host.destination, done.stderr.decode(errors="replace").strip()))

    def prefix(self) -> List[str]:
        """What runs a load command there: a local wrapper that rewrites its paths and execs ssh."""
        mapping = dict(self.paths, **self.tools)
        arguments = [sys.executable, "-m", "benchmatrix.hosts.remote_command"]
        for local, remote in sorted(mapping.items()):
            arguments += ["--map", "{}={}".format(local, remote)]
        return arguments + ["--pids", self.remote_dir + "/pids", "--", *self.host.ssh_argv(), "--"]

    def stop_everything(self) -> None:
        """Stop what still runs from the working directory there, then remove it."""
        # Every command there wrote its pid to pids before it exec'ed (remote_command.py): those
        # are what this run started, whatever their command lines look like.
        self.host.run("cd {0} && for pid in $(cat pids 2>/dev/null); do kill -TERM $pid 2>/dev/null; done; "
                      "sleep 0.2; for pid in $(cat pids 2>/dev/null); do kill -KILL $pid 2>/dev/null; done; "
                      "cd / && rm -rf {0}".format(shlex.quote(self.remote_dir)), timeout_s=60)
