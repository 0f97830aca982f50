"""Where each role of a cell runs: the server (with nginx), the load generator, the database.

`--hosts local` (the default) runs all three here over loopback. `--hosts netns` gives
each its own network namespace (hosts/netns.py), optionally behind a shaped link
(`--link rate=1gbit,delay=1ms`). `--hosts FILE.toml` names real machines:

    [server]
    address = "192.0.2.10"       # an address of this machine the load host reaches the server at
    [load]
    ssh = "bench@loadgen"        # wrk runs there, over SSH (hosts/ssh.py)
    ssh_options = ["-i", "/home/bench/.ssh/id_ed25519"]

The server and the database run on the machine the harness runs on (the database
elsewhere is BENCH_DATABASE_URL, unchanged). The CPU placement (hosts/pinning.py)
applies on top: in namespaces each role still gets its own CPUs.

A HostsPlan is made before anything starts (so every error comes first) and brought
up with `up()`; it then tells the stack where to bind and what to prefix each role's
commands with, and tells the record which host each role ran on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from benchmatrix.hosts import namespace_entry, netns
from benchmatrix.hosts.link_shape import LinkShape
from benchmatrix.hosts.netns import NamespaceLab
from benchmatrix.hosts.ssh import RemoteSession, SshHost

LOOPBACK = "127.0.0.1"
_FILE_ROLES = {"server": {"address"}, "load": {"ssh", "ssh_options"}, "database": set()}


@dataclass
class HostsPlan:
    kind: str  # "local", "netns" or "file"
    lab: Optional[NamespaceLab] = None
    server_address_in_file: Optional[str] = None
    load_ssh: Optional[SshHost] = None
    source: Optional[str] = None  # the hosts file
    remote: Optional[RemoteSession] = field(default=None, repr=False)  # once up
    remote_wrk_version: Optional[str] = None

    # ------------------------------------------------------------ addresses

    @property
    def server_address(self) -> str:
        """Where the load and every check reach the server (or nginx in front of it)."""
        if self.lab:
            return self.lab.address("server")
        return self.server_address_in_file or LOOPBACK

    @property
    def database_address(self) -> str:
        """Where the embedded PostgreSQL and the upstream stub listen."""
        return self.lab.address("database") if self.lab else LOOPBACK

    @property
    def database_clients(self) -> Optional[str]:
        """The subnet allowed to log in to the embedded database with a password; None: loopback, trust."""
        return str(self.lab.subnet) if self.lab else None

    @property
    def database_namespace(self) -> Optional[str]:
        return self.lab.namespace("database") if self.lab else None

    # ------------------------------------------------------------ command prefixes

    def server_prefix(self) -> List[str]:
        return namespace_entry.command_prefix(self.lab.namespace("server")) if self.lab else []

    def support_prefix(self) -> List[str]:
        """For the upstream stub: it runs on the database's host."""
        return namespace_entry.command_prefix(self.lab.namespace("database")) if self.lab else []

    def load_prefix(self) -> List[str]:
        """For wrk and h2load: on an SSH host, the wrapper that runs them there (after up())."""
        return self.remote.prefix() if self.remote else []

    @property
    def load_is_remote(self) -> bool:
        return self.load_ssh is not None

    # ------------------------------------------------------------ bringing up

    @contextlib.contextmanager
    def up(self, files_for_load: Sequence[Path], load_tools: Dict[str, str],
           say: Callable[[str], None] = print, load_cpu_prefix: Sequence[str] = ()) -> Iterator["HostsPlan"]:
        """The hosts ready for the block: namespaces made and the harness inside the load one, or the
        SSH load host checked and supplied. Torn down however the block ends. A delay line runs
        on the load generator's CPUs (`load_cpu_prefix`), as a NIC's work would be the client's."""
        with contextlib.ExitStack() as stack:
            if self.lab:
                stack.enter_context(self.lab.created(say=say, delay_line_prefix=load_cpu_prefix))
                # From here on the harness is the load host: wrk, h2load and every check start here.
                stack.enter_context(namespace_entry.entered(self.lab.namespace("load")))
            if self.load_ssh:
                self.remote = stack.enter_context(self.load_ssh.session(
                    files_for_load, sorted(set(load_tools.values())), say=say))
                self.remote.tools = dict(load_tools)
                self.remote_wrk_version = self.load_ssh.tool_version("wrk")
                stack.callback(setattr, self, "remote", None)
            yield self

    # ------------------------------------------------------------ the record

    def roles(self) -> Dict[str, Dict[str, Any]]:
        if self.lab:
            return {role: {"host": "netns", "namespace": self.lab.namespace(role), "address": self.lab.address(role)}
                    for role in netns.ROLES}
        load = ({"host": "ssh", "destination": self.load_ssh.destination} if self.load_ssh
                else {"host": "local", "address": LOOPBACK})
        return {"server": {"host": "local", "address": self.server_address}, "load": load,
                "database": {"host": "local", "address": LOOPBACK}}

    def as_metadata(self, rtt: Dict[str, Any]) -> Dict[str, Any]:
        data: Dict[str, Any] = {"kind": self.kind, "roles": self.roles(), "rtt": rtt,
                                "link": self.link_metadata()}
        if self.source:
            data["file"] = self.source
        if self.remote_wrk_version:
            data["load_wrk_version"] = self.remote_wrk_version
        return data

    def link_metadata(self) -> Dict[str, Any]:
        if self.lab:
            return dict(self.lab.as_metadata(), kind="veth pairs through a {}".format(
                "router and a delay line" if self.lab.delay_line else "bridge"))
        if self.load_ssh:
            return {"kind": "the network between this machine and the load host"}
        return {"kind": "loopback"}

    def label(self) -> str:
        """Short, for tables: "" for local (today's rows), else e.g. "netns 1gbit/1ms"."""
        if self.lab:
            return "netns" + (" " + self.lab.link.label() if self.lab.link else "")
        if self.load_ssh:
            return "ssh load"
        return ""

    def identity(self) -> Optional[Dict[str, Any]]:
        """What a load generator's ceiling depends on beyond the machine: None for loopback."""
        if self.kind == "local":
            return None
        return {"kind": self.kind, "link": self.lab.link.as_metadata(self.lab.netem) if self.lab and self.lab.link else None,
                "load": self.load_ssh.destination if self.load_ssh else None}


def plan_hosts(choice: str = "local", link: Optional[str] = None, say: Callable[[str], None] = print) -> HostsPlan:
    """The hosts of `--hosts CHOICE [--link SHAPE]`, every error raised (ValueError) before anything starts."""
    shape = LinkShape.parse(link)
    if choice == "local":
        if shape:
            raise ValueError("--link shapes the link between namespaces: give it with --hosts netns "
                             "(loopback cannot be shaped per role)")
        return HostsPlan(kind="local")
    if choice == "netns":
        try:
            return HostsPlan(kind="netns", lab=NamespaceLab.plan(link=shape, say=say))
        except netns.NamespaceError as error:
            raise ValueError(str(error))
    path = Path(choice)
    if path.suffix != ".toml":
        raise ValueError("--hosts {!r}: give local, netns, or a hosts file ending in .toml".format(choice))
    if shape:
        raise ValueError("--link applies to --hosts netns; between real machines the link is what it is")
    return read_hosts_file(path)


def read_hosts_file(path: Path) -> HostsPlan:
    import tomllib  # the harness runs on the newest Python found; a hosts file needs 3.11 or newer
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError("--hosts {}: cannot read it ({})".format(path, error.strerror))
    except tomllib.TOMLDecodeError as error:
        raise ValueError("--hosts {}: not valid TOML ({})".format(path, error))
    unknown = sorted(set(data) - set(_FILE_ROLES))
    if unknown:
        raise ValueError("--hosts {}: unknown section(s) {}; the roles are server, load and database".format(
            path, ", ".join(unknown)))
    for role, table in data.items():
        if "ssh" in table and role != "load":
            raise ValueError("--hosts {}: the {} on an SSH host is not supported: run the harness on the server's "
                             "machine and put the load there{}".format(
                                 path, role, "; for a database elsewhere set BENCH_DATABASE_URL"
                                 if role == "database" else ""))
        extra = sorted(set(table) - _FILE_ROLES[role])
        if extra:
            raise ValueError("--hosts {}: [{}] has unknown key(s) {}; it takes {}".format(
                path, role, ", ".join(extra), ", ".join(sorted(_FILE_ROLES[role])) or "none yet"))
    load = data.get("load", {})
    ssh = None
    if "ssh" in load:
        options = load.get("ssh_options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise ValueError("--hosts {}: [load] ssh_options is a list of strings".format(path))
        ssh = SshHost(str(load["ssh"]), tuple(options))
    server_address = data.get("server", {}).get("address")
    if ssh and not server_address:
        raise ValueError("--hosts {}: with the load on {}, [server] address must say where that host reaches "
                         "this one".format(path, ssh.destination))
    return HostsPlan(kind="file", server_address_in_file=server_address, load_ssh=ssh, source=str(path))
