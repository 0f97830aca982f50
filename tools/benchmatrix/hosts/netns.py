"""Network namespaces as hosts: the server, the load generator and the database each in its own.

    lab = NamespaceLab.plan(link=LinkShape.parse("rate=1gbit,delay=1ms"))
    with lab.created(say=print):
        ...  # lab.address("server"), lab.namespace("load") ...

Each role gets a namespace with one interface (`bmx0`) on a subnet of 198.18.0.0/15
(RFC 2544's range for benchmarking), joined in a fourth namespace, the "switch": the
topology of TechEmpower's three machines on one switch, so every role reaches every
other by address and nothing is created in the machine's own namespace. A link shape
is met by every packet leaving a role: it is paced at `rate` (tbf on the role's
interface, or netem with a delay) and waits `delay`, so a round trip between two
roles takes twice the delay. The delay is netem's where the kernel has netem; where
it has not, the switch routes instead of bridging and sends every packet between
roles through a TUN device and the delay line (delay_line.py), which holds it for
the delay and hands it back.

Deleting a namespace deletes its interface, the veth's peer and their qdiscs, so
tearing down is deleting the four namespaces. A run killed with SIGKILL cannot do
that; its namespaces carry its pid in their names, and the next run deletes (and
reports) those whose run is gone.

iproute2's `ip` and `tc` do the work: they are what the kernel's own documentation
and every operator uses, and an error names the command that failed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from benchmatrix.hosts.link_shape import LinkShape
from benchmatrix.hosts.namespace_entry import command_prefix

ROLES = ("server", "load", "database")
SWITCH = "switch"
NAME_PREFIX = "bmx"  # namespaces are bmx<pid>-<role>; the pid tells a live run's from a stale one's
INTERFACE = "bmx0"  # each role's interface, inside its namespace
BENCHMARK_RANGE = ipaddress.ip_network("198.18.0.0/15")
HOST_NUMBER = {"server": 10, "load": 20, "database": 30}  # the last octet of each role's address
# Set in every role's namespace. A new namespace starts from the kernel's defaults, where
# tcp_tw_reuse=2 lets a client reuse a TIME_WAIT port on loopback only: across the veth a
# server that closes every connection (gunicorn sync) ran wrk out of ports within seconds
# (measured: 2,247 then 303 req/s, p50 171 ms). 1 is what loopback runs get, so both compare.
ROLE_SYSCTLS = {"net.ipv4.tcp_tw_reuse": "1"}
DELAY_DEVICE = "bmxd0"  # the switch's TUN device, when the delay line applies the delay
DELAY_TABLE = "100"  # the switch's routing table for packets arriving from a role: to the delay line
DELAY_LINE_READY_S = 10.0
_STALE_NAME = re.compile(r"^{}(\d+)-(?:{})$".format(NAME_PREFIX, "|".join(ROLES + (SWITCH,))))


class NamespaceError(RuntimeError):
    """The namespaces cannot be made here; the message says what to do."""


# ---------------------------------------------------------------- running ip and tc

def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=30)
    if done.returncode != 0:
        raise NamespaceError("`{}` failed: {}".format(" ".join(argv), done.stderr.strip() or done.stdout.strip()))
    return done.stdout


def _sysctl(namespace: str, settings: Dict[str, str]) -> None:
    _run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w",
          *("{}={}".format(key, value) for key, value in settings.items())])


def check_can_create(link: Optional[LinkShape]) -> None:
    """Say what is missing before anything is made: privilege, ip, tc, a Python that can setns."""
    if os.geteuid() != 0:
        raise NamespaceError("--hosts netns creates network namespaces, which needs root (CAP_SYS_ADMIN and "
                             "CAP_NET_ADMIN); run it as root (e.g. `sudo tools/nox ...`) or leave --hosts out "
                             "to run every role here over loopback")
    for tool, why in (("ip", "--hosts netns"), ("tc", "--link")):
        if tool == "tc" and link is None:
            continue
        if shutil.which(tool) is None:
            raise NamespaceError("{} needs iproute2's `{}`, which is not on PATH; install it with "
                                 "`apt-get install iproute2` (tools/setup.sh does this)".format(why, tool))
    if not hasattr(os, "setns"):
        raise NamespaceError("--hosts netns needs the harness on Python 3.12 or newer (os.setns); this one is "
                             "{}.{}".format(*sys.version_info[:2]))


def check_link_supported(link: LinkShape, probe_name: str) -> bool:
    """Try the link's qdisc on a throwaway interface in a throwaway namespace, so a kernel without
    one is said before anything else starts; True when netem is there to apply the delay.

    Without netem (a module some kernels lack) a delay goes to the delay line, which needs
    a TUN device: that is tried too.
    """
    _run(["ip", "netns", "add", probe_name])
    try:
        _run(["ip", "-n", probe_name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"])
        netem = bool(link.delay) and _qdisc_works(probe_name, link.qdisc_arguments(netem=True))
        tbf = link.qdisc_arguments(netem=False)
        if not netem and tbf and not _qdisc_works(probe_name, tbf):
            raise NamespaceError("--link {}: this kernel has no tc qdisc 'tbf' (module sch_tbf) to pace the rate; "
                                 "load it (`modprobe sch_tbf`) or leave the rate out".format(link.label()))
        if link.delay and not netem:
            try:
                _run(["ip", "-n", probe_name, "tuntap", "add", "dev", DELAY_DEVICE, "mode", "tun"])
            except NamespaceError as error:
                raise NamespaceError("--link {}: this kernel has no netem (module sch_netem) and no TUN device for "
                                     "the delay line ({}); load one (`modprobe sch_netem` or `modprobe tun`) or "
                                     "leave the delay out".format(link.label(), error))
        return netem
    finally:
        _run(["ip", "netns", "delete", probe_name])


def _qdisc_works(namespace: str, arguments: Sequence[str]) -> bool:
    try:
        _run(["tc", "-n", namespace, "qdisc", "replace", "dev", "probe0", "root", *arguments])
    except NamespaceError as error:
        if "kind is unknown" in str(error) or "Unknown qdisc" in str(error):
            return False
        raise
    return True


def namespaces() -> List[str]:
    """The network namespaces `ip netns` knows by name."""
    return [line.split()[0] for line in _run(["ip", "netns", "list"]).splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_processes_in(name: str) -> List[int]:
    """SIGKILL whatever still runs in namespace `name` (a killed run's delay line, say); their pids.

    A namespace lives on while a process is in it, and with it its interfaces: deleting
    its name alone would leave them behind, out of sight of `ip netns list`.
    """
    try:
        pids = [int(pid) for pid in _run(["ip", "netns", "pids", name]).split()]
    except NamespaceError:
        return []
    for pid in pids:
        if pid == os.getpid():
            continue  # the harness, back from the load namespace or not: never itself
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def remove_stale(say: Callable[[str], None]) -> List[str]:
    """Delete the namespaces of benchmatrix runs that are gone (killed before they could); their names."""
    stale = [name for name in namespaces()
             if _STALE_NAME.match(name) and not _pid_alive(int(_STALE_NAME.match(name).group(1)))]
    for name in stale:
        stop_processes_in(name)
        _run(["ip", "netns", "delete", name])
    if stale:
        say("removed network namespaces left by a killed run: {}".format(", ".join(stale)))
    return stale


def _networks_in_use() -> List[ipaddress.IPv4Network]:
    """IPv4 networks this machine's own namespace has addresses or routes on, and live runs' subnets."""
    used: List[ipaddress.IPv4Network] = []
    sources = [["ip", "-j", "-4", "addr"]] + [["ip", "-n", name, "-j", "-4", "addr"]
                                             for name in namespaces() if _STALE_NAME.match(name)]
    for argv in sources:
        for link in json.loads(_run(argv) or "[]"):
            for info in link.get("addr_info", []):
                used.append(ipaddress.ip_network("{}/{}".format(info["local"], info["prefixlen"]), strict=False))
    for route in json.loads(_run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        destination = route.get("dst", "")
        if destination and destination != "default":  # the default route says nothing of who uses what
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(destination, strict=False))
    return used


def free_subnet(seed: int) -> ipaddress.IPv4Network:
    """A /24 of 198.18.0.0/15 that nothing here uses, starting the search at `seed` (the pid)."""
    used = _networks_in_use()
    candidates = list(BENCHMARK_RANGE.subnets(new_prefix=24))
    for offset in range(len(candidates)):
        subnet = candidates[(seed + offset) % len(candidates)]
        if subnet.network_address.packed[-2] == 0:
            continue  # 198.18.0.0/24 is the range's first: left to whoever set up this machine by hand
        if not any(subnet.overlaps(network) for network in used):
            return subnet
    raise NamespaceError("every /24 of 198.18.0.0/15 is in use on this machine; free one (ip addr, ip route)")


# ---------------------------------------------------------------- the lab

@dataclass(frozen=True)
class NamespaceLab:
    """The planned namespaces of one run: names, subnet, addresses and link; `created()` makes them."""
    run_pid: int
    subnet: ipaddress.IPv4Network
    link: Optional[LinkShape]
    netem: bool = True  # False: this kernel has no netem, and the delay line applies the link's delay
    _processes: List[subprocess.Popen] = field(default_factory=list, compare=False, repr=False)  # the delay line

    @classmethod
    def plan(cls, link: Optional[LinkShape] = None, run_pid: Optional[int] = None,
             say: Callable[[str], None] = print) -> "NamespaceLab":
        check_can_create(link)
        remove_stale(say)  # before choosing a subnet, so a killed run's does not look taken
        pid = run_pid if run_pid is not None else os.getpid()
        netem = check_link_supported(link, "{}{}-{}".format(NAME_PREFIX, pid, SWITCH)) if link else True
        return cls(run_pid=pid, subnet=free_subnet(pid), link=link, netem=netem)

    @property
    def delay_line(self) -> bool:
        """Whether the link's delay is the delay line's (and the switch routes rather than bridges)."""
        return bool(self.link and self.link.delay and not self.netem)

    def namespace(self, role: str) -> str:
        return "{}{}-{}".format(NAME_PREFIX, self.run_pid, role)

    def address(self, role: str) -> str:
        return str(self.subnet.network_address + HOST_NUMBER[role])

    def all_namespaces(self) -> List[str]:
        return [self.namespace(role) for role in ROLES + (SWITCH,)]

    def as_metadata(self) -> Dict[str, object]:
        switch = "a router sending every packet between roles through the delay line" if self.delay_line else "a bridge"
        return {"subnet": str(self.subnet), "switch": "{} ({})".format(self.namespace(SWITCH), switch),
                "sysctls": dict(ROLE_SYSCTLS),
                "link": self.link.as_metadata(self.netem) if self.link else None}

    @contextlib.contextmanager
    def created(self, say: Callable[[str], None] = print,
                delay_line_prefix: Sequence[str] = ()) -> Iterator["NamespaceLab"]:
        """The namespaces, switch, veths, addresses, qdiscs and delay line for the block; all gone however
        it ends. `delay_line_prefix` places the delay line (taskset: on the load generator's CPUs)."""
        try:
            self._create()
            if self.delay_line:
                self._start_delay_line(list(delay_line_prefix))
            say("network namespaces {} on {}{}".format(
                ", ".join("{} {}".format(role, self.address(role)) for role in ROLES), self.subnet,
                ", link {}{}".format(self.link.label(), " (delay by the delay line: no netem here)"
                                     if self.delay_line else "") if self.link else ", unshaped veth link"))
            yield self
        finally:
            self.delete()

    def _create(self) -> None:
        switch = self.namespace(SWITCH)
        for name in self.all_namespaces():
            _run(["ip", "netns", "add", name])
            _run(["ip", "-n", name, "link", "set", "lo", "up"])
        if self.delay_line:
            self._create_router(switch)
        else:
            _run(["ip", "-n", switch, "link", "add", "br0", "type", "bridge"])
            _run(["ip", "-n", switch, "link", "set", "br0", "up"])
        for role in ROLES:
            name = self.namespace(role)
            # Made inside the switch with its peer placed straight into the role's namespace:
            # no interface ever appears in the machine's own namespace, not even for a moment.
            _run(["ip", "-n", switch, "link", "add", role, "type", "veth", "peer", "name", INTERFACE,
                  "netns", name])
            if self.delay_line:
                self._route_role(switch, role)
            else:
                _run(["ip", "-n", switch, "link", "set", role, "master", "br0", "up"])
            _run(["ip", "-n", name, "addr", "add", "{}/{}".format(self.address(role), self.subnet.prefixlen),
                  "dev", INTERFACE])
            _run(["ip", "-n", name, "link", "set", INTERFACE, "up"])
            _sysctl(name, ROLE_SYSCTLS)
            qdisc = self.link.qdisc_arguments(self.netem) if self.link else None
            if qdisc:
                _run(["tc", "-n", name, "qdisc", "add", "dev", INTERFACE, "root", *qdisc])

    def _create_router(self, switch: str) -> None:
        """The switch as a router whose every packet from a role goes to the delay line's TUN device.

        A packet the delay line writes back arrives from the TUN device, so the main table
        routes it on to its role: each packet between roles passes the delay line once.
        Reverse-path filtering is off, since such a packet arrives where its source is not.
        """
        _sysctl(switch, {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0",
                         "net.ipv4.conf.default.rp_filter": "0"})
        _run(["ip", "-n", switch, "tuntap", "add", "dev", DELAY_DEVICE, "mode", "tun"])
        _run(["ip", "-n", switch, "link", "set", DELAY_DEVICE, "up"])
        _sysctl(switch, {"net.ipv4.conf.{}.rp_filter".format(DELAY_DEVICE): "0"})
        _run(["ip", "-n", switch, "route", "add", "default", "dev", DELAY_DEVICE, "table", DELAY_TABLE])

    def _route_role(self, switch: str, role: str) -> None:
        # The roles keep their /24 as on the bridge: the switch answers their ARP for each other
        # (proxy ARP, without its default random wait of up to 0.8 s) and routes each /32.
        _run(["ip", "-n", switch, "link", "set", role, "up"])
        _sysctl(switch, {"net.ipv4.conf.{}.proxy_arp".format(role): "1",
                         "net.ipv4.conf.{}.rp_filter".format(role): "0",
                         "net.ipv4.neigh.{}.proxy_delay".format(role): "0"})
        _run(["ip", "-n", switch, "route", "add", self.address(role) + "/32", "dev", role])
        _run(["ip", "-n", switch, "rule", "add", "iif", role, "lookup", DELAY_TABLE])

    def _start_delay_line(self, prefix: List[str]) -> None:
        from benchmatrix.harness_env import REPO_ROOT
        from benchmatrix.hosts.delay_line import READY

        argv = prefix + command_prefix(self.namespace(SWITCH)) + [
            sys.executable, "-m", "benchmatrix.hosts.delay_line", "--device", DELAY_DEVICE,
            "--delay-us", "{:g}".format(self.link.delay_ms * 1000)]
        line = subprocess.Popen(argv, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, start_new_session=True)
        # Stopped with the namespaces (delete() kills what runs in the switch), however the run ends.
        ready, _, _ = select.select([line.stdout], [], [], DELAY_LINE_READY_S)
        first = line.stdout.readline() if ready else ""
        if READY not in first:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(line.pid, signal.SIGKILL)
            line.wait()
            raise NamespaceError("the delay line did not start within {:.0f} s: {}{}".format(
                DELAY_LINE_READY_S, " ".join(argv), "\n" + first + line.stdout.read() if first else ""))
        self._processes.append(line)

    def delete(self) -> None:
        """Delete this lab's namespaces (what exists of them); raise if one is still there afterwards."""
        for process in self._processes:  # the delay line: stopped first, and waited for
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            process.stdout.close()
        self._processes.clear()
        present = set(namespaces())
        for name in self.all_namespaces():
            if name in present:
                stop_processes_in(name)
                with contextlib.suppress(NamespaceError):
                    _run(["ip", "netns", "delete", name])
        remaining = set(namespaces())
        left = [name for name in self.all_namespaces() if name in remaining]
        if left:
            raise NamespaceError("could not delete the network namespaces {}; delete them with "
                                 "`ip netns delete NAME`".format(", ".join(left)))
