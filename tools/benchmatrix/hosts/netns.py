"""Network namespaces as hosts: the server, the load generator and the database each in its own.

    lab = NamespaceLab.plan(link=LinkShape.parse("rate=1gbit,delay=1ms"))
    with lab.created(say=print):
        ...  # lab.address("server"), lab.namespace("load") ...

Each role gets a namespace with one interface (`bmx0`) on a subnet of 198.18.0.0/15
(RFC 2544's range for benchmarking), joined by a bridge in a fourth namespace, the
"switch": the topology of TechEmpower's three machines on one switch, so every role
reaches every other by address and nothing is created in the machine's own
namespace. A link shape is a qdisc on each role's interface: every packet leaving a
role is paced at `rate` (tbf, or netem with a delay) and waits `delay` (netem), so a
round trip between two roles takes twice the delay.

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
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence

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
_STALE_NAME = re.compile(r"^{}(\d+)-(?:{})$".format(NAME_PREFIX, "|".join(ROLES + (SWITCH,))))


class NamespaceError(RuntimeError):
    """The namespaces cannot be made here; the message says what to do."""


# ---------------------------------------------------------------- the link's shape

_RATE = re.compile(r"^\d+(?:\.\d+)?(?:bit|kbit|mbit|gbit)$", re.IGNORECASE)
_DELAY = re.compile(r"^(\d+(?:\.\d+)?)(us|ms)$")


@dataclass(frozen=True)
class LinkShape:
    """What every packet leaving a role meets: a delay (half the round trip) and a rate."""
    rate: Optional[str] = None  # tc's units: 100mbit, 1gbit
    delay: Optional[str] = None  # tc's units: 200us, 1ms

    @classmethod
    def parse(cls, text: Optional[str]) -> Optional["LinkShape"]:
        """`rate=1gbit,delay=1ms` (either part may be left out); None for None or empty."""
        if not text:
            return None
        parts: Dict[str, str] = {}
        for item in text.split(","):
            key, _, value = item.strip().partition("=")
            if key not in ("rate", "delay") or not value or key in parts:
                raise ValueError("--link {!r}: give rate=RATE and/or delay=DELAY once each, e.g. "
                                 "--link rate=1gbit,delay=1ms".format(text))
            parts[key] = value.strip()
        if "rate" in parts and not _RATE.match(parts["rate"]):
            raise ValueError("--link rate={!r}: write a rate as tc does, e.g. 100mbit or 1gbit".format(parts["rate"]))
        if "delay" in parts and not _DELAY.match(parts["delay"]):
            raise ValueError("--link delay={!r}: write a delay as 200us or 1ms".format(parts["delay"]))
        return cls(rate=parts.get("rate"), delay=parts.get("delay"))

    @property
    def delay_ms(self) -> float:
        if not self.delay:
            return 0.0
        number, unit = _DELAY.match(self.delay).groups()
        return float(number) / (1000.0 if unit == "us" else 1.0)

    def qdisc_arguments(self) -> List[str]:
        """tc's `qdisc add ... root` arguments: netem for a delay (with its rate), tbf for a rate alone.

        tbf paces without netem, which some kernels lack (this project's CI machines' among
        them), so a rate-only link works everywhere; a delay needs netem.
        """
        if self.delay:
            # netem's default queue (1000 packets) would drop at 1gbit with a few ms of delay on a
            # burst of 256 connections; 10000 keeps loss out of a link that should only be slow.
            return ["netem", "delay", self.delay] + (["rate", self.rate] if self.rate else []) + ["limit", "10000"]
        # The bucket holds at least two 64 KiB GSO segments (veth hands tbf whole ones) or 1 ms at
        # the rate; a 50 ms queue before drops, far more than any load here builds.
        return ["tbf", "rate", self.rate, "burst", str(max(2 * 65536, int(self.rate_bits_per_s() / 8 / 1000))),
                "latency", "50ms"]

    def rate_bits_per_s(self) -> float:
        number, unit = re.match(r"^(\d+(?:\.\d+)?)([a-z]*)$", self.rate.lower()).groups()
        return float(number) * {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}[unit]

    def label(self) -> str:
        return "/".join(part for part in (self.rate, self.delay) if part)

    def as_metadata(self) -> Dict[str, object]:
        return {"rate": self.rate, "delay": self.delay, "expected_rtt_ms": round(2 * self.delay_ms, 3),
                "applied_with": "tc {} on each role's interface (egress)".format(self.qdisc_arguments()[0])}


# ---------------------------------------------------------------- running ip and tc

def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=30)
    if done.returncode != 0:
        raise NamespaceError("`{}` failed: {}".format(" ".join(argv), done.stderr.strip() or done.stdout.strip()))
    return done.stdout


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


def check_link_supported(link: LinkShape, probe_name: str) -> None:
    """Try the link's qdisc on a throwaway interface in a throwaway namespace, so a kernel without
    it (netem is a module some kernels lack) is said before anything else starts."""
    _run(["ip", "netns", "add", probe_name])
    try:
        _run(["ip", "-n", probe_name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"])
        try:
            _run(["tc", "-n", probe_name, "qdisc", "add", "dev", "probe0", "root", *link.qdisc_arguments()])
        except NamespaceError as error:
            if "kind is unknown" not in str(error):
                raise
            kind = link.qdisc_arguments()[0]
            raise NamespaceError(
                "--link {}: this kernel has no tc qdisc {!r} (module sch_{}){}".format(
                    link.label(), kind, kind,
                    "; load it (`modprobe sch_netem`) or leave the delay out: a rate alone is paced by tbf, "
                    "which needs no netem" if kind == "netem" else ""))
    finally:
        _run(["ip", "netns", "delete", probe_name])


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


def remove_stale(say: Callable[[str], None]) -> List[str]:
    """Delete the namespaces of benchmatrix runs that are gone (killed before they could); their names."""
    stale = [name for name in namespaces()
             if _STALE_NAME.match(name) and not _pid_alive(int(_STALE_NAME.match(name).group(1)))]
    for name in stale:
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


# ---------------------------------------------------------------- entering a namespace

def namespace_path(name: str) -> str:
    return "/run/netns/" + name


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """The calling thread inside namespace `name` for the block, then back where it was.

    A network namespace belongs to a thread, and what it starts inherits it: the harness
    enters the load generator's namespace, so wrk, h2load and every check it makes connect
    from the load host, as on a separate client machine, without a prefix on each command.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(namespace_path(name), os.O_RDONLY)
        try:
            os.setns(target, os.CLONE_NEWNET)
        finally:
            os.close(target)
        try:
            yield
        finally:
            os.setns(own, os.CLONE_NEWNET)
    finally:
        os.close(own)


def enter_in_child(name: str) -> Callable[[], None]:
    """A preexec step that moves a child into namespace `name` (for children that must still drop root
    afterwards, where `nsenter` as a prefix would run after the drop and fail)."""
    path = namespace_path(name)

    def preexec() -> None:
        fd = os.open(path, os.O_RDONLY)
        os.setns(fd, os.CLONE_NEWNET)
        os.close(fd)
    return preexec


def command_prefix(name: str) -> List[str]:
    """Run a command inside namespace `name`; nsenter execs it in place, so its pid is the command's."""
    return ["nsenter", "--net=" + namespace_path(name), "--"]


# ---------------------------------------------------------------- the lab

@dataclass(frozen=True)
class NamespaceLab:
    """The planned namespaces of one run: names, subnet, addresses and link; `created()` makes them."""
    run_pid: int
    subnet: ipaddress.IPv4Network
    link: Optional[LinkShape]

    @classmethod
    def plan(cls, link: Optional[LinkShape] = None, run_pid: Optional[int] = None,
             say: Callable[[str], None] = print) -> "NamespaceLab":
        check_can_create(link)
        remove_stale(say)  # before choosing a subnet, so a killed run's does not look taken
        pid = run_pid if run_pid is not None else os.getpid()
        if link:
            check_link_supported(link, "{}{}-{}".format(NAME_PREFIX, pid, SWITCH))
        return cls(run_pid=pid, subnet=free_subnet(pid), link=link)

    def namespace(self, role: str) -> str:
        return "{}{}-{}".format(NAME_PREFIX, self.run_pid, role)

    def address(self, role: str) -> str:
        return str(self.subnet.network_address + HOST_NUMBER[role])

    def all_namespaces(self) -> List[str]:
        return [self.namespace(role) for role in ROLES + (SWITCH,)]

    def as_metadata(self) -> Dict[str, object]:
        return {"subnet": str(self.subnet), "switch": self.namespace(SWITCH) + " (a bridge)",
                "sysctls": dict(ROLE_SYSCTLS),
                "link": self.link.as_metadata() if self.link else None}

    @contextlib.contextmanager
    def created(self, say: Callable[[str], None] = print) -> Iterator["NamespaceLab"]:
        """The namespaces, bridge, veths, addresses and qdiscs for the block; all deleted however it ends."""
        try:
            self._create()
            say("network namespaces {} on {}{}".format(
                ", ".join("{} {}".format(role, self.address(role)) for role in ROLES), self.subnet,
                ", link {}".format(self.link.label()) if self.link else ", unshaped veth link"))
            yield self
        finally:
            self.delete()

    def _create(self) -> None:
        switch = self.namespace(SWITCH)
        for name in self.all_namespaces():
            _run(["ip", "netns", "add", name])
            _run(["ip", "-n", name, "link", "set", "lo", "up"])
        _run(["ip", "-n", switch, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", switch, "link", "set", "br0", "up"])
        for role in ROLES:
            name = self.namespace(role)
            # Made inside the switch with its peer placed straight into the role's namespace:
            # no interface ever appears in the machine's own namespace, not even for a moment.
            _run(["ip", "-n", switch, "link", "add", role, "type", "veth", "peer", "name", INTERFACE,
                  "netns", name])
            _run(["ip", "-n", switch, "link", "set", role, "master", "br0", "up"])
            _run(["ip", "-n", name, "addr", "add", "{}/{}".format(self.address(role), self.subnet.prefixlen),
                  "dev", INTERFACE])
            _run(["ip", "-n", name, "link", "set", INTERFACE, "up"])
            for key, value in ROLE_SYSCTLS.items():
                _run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", "{}={}".format(key, value)])
            if self.link:
                self._shape(name)

    def _shape(self, name: str) -> None:
        _run(["tc", "-n", name, "qdisc", "add", "dev", INTERFACE, "root", *self.link.qdisc_arguments()])

    def delete(self) -> None:
        """Delete this lab's namespaces (what exists of them); raise if one is still there afterwards."""
        present = set(namespaces())
        for name in self.all_namespaces():
            if name in present:
                with contextlib.suppress(NamespaceError):
                    _run(["ip", "netns", "delete", name])
        remaining = set(namespaces())
        left = [name for name in self.all_namespaces() if name in remaining]
        if left:
            raise NamespaceError("could not delete the network namespaces {}; delete them with "
                                 "`ip netns delete NAME`".format(", ".join(left)))
