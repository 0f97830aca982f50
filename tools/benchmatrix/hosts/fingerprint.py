"""Which machine a record was measured on, as a short stable hash.

Numbers from two machines are not comparable in one column, and results merged from
several machines must stay apart: every record carries this fingerprint. It covers
the host and its hardware (host name, machine id, CPU model and count, memory), and
nothing that changes between runs (load, time). The kernel is left out on purpose: a
VM's kernel build changes with its host's updates (measured here: two builds within a
week on the same machine) and is kept in every record's meta.machine.kernel instead.
Standard library only: the noxfile reads it too, from nox's own environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
from typing import Any, Dict, Optional


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _cpu_model() -> Optional[str]:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def _memory_kib() -> Optional[int]:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return None


def machine_identity() -> Dict[str, Any]:
    """What the fingerprint is made of, kept beside it so a reader can see why two machines differ."""
    return {"hostname": socket.gethostname(), "machine_id": (_read("/etc/machine-id") or "").strip() or None,
            "cpu_model": _cpu_model(), "cpu_count": os.cpu_count(), "memory_kib": _memory_kib(),
            "arch": platform.machine()}


def fingerprint_of(identity: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def machine_fingerprint() -> str:
    return fingerprint_of(machine_identity())
