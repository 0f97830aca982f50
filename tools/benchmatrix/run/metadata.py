"""The conditions a measurement was made under: versions, machine, source tree.

Collected once per run (never inside a measured window) and copied into every
record, so a number can always be traced to what produced it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional

from benchmatrix.hosts.fingerprint import machine_fingerprint
from benchmatrix.matrix.cells import REPO_ROOT

from benchmatrix.stack.describe_python import freeze_sha, installed, normalized


def _command_output(argv: Iterable[str]) -> Optional[str]:
    try:
        completed = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   cwd=str(REPO_ROOT), timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.decode("utf-8", errors="replace").strip()


def python_info() -> Dict[str, str]:
    return {"implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "build": " ".join(platform.python_build()),
            "compiler": platform.python_compiler(),
            "executable": sys.executable}


def cpu_model() -> Optional[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def git_state() -> Dict[str, Any]:
    sha = _command_output(["git", "rev-parse", "HEAD"])
    # reports/ is what runs write: the first cell of a matrix run must not mark the next ones dirty.
    status = _command_output(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports"])
    if sha is None or not re.fullmatch(r"[0-9a-f]{40}", sha):  # not a checkout, or no git
        return {"sha": None, "dirty": None}
    return {"sha": sha, "dirty": bool(status)}


def wrk_version(wrk: str) -> Optional[str]:
    output = _command_output([wrk, "-v"])
    return output.splitlines()[0] if output else None


def service_versions() -> Dict[str, Optional[str]]:
    """Versions of the system services a cell may put in its path (None when not installed)."""
    versions: Dict[str, Optional[str]] = {}
    for name, argv in (("nginx", ["nginx", "-v"]), ("postgresql", ["postgres", "--version"])):
        output = _command_output(argv) if shutil.which(argv[0]) else None
        versions[name] = output.splitlines()[0] if output else None
    return versions


def machine_info() -> Dict[str, Any]:
    # The fingerprint keeps records of different machines apart when results are merged and
    # reported (hosts/fingerprint.py); the rest says what the machine was.
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "kernel": platform.release(), "os": platform.platform(terse=True),
            "load_average_1m": os.getloadavg()[0], "fingerprint": machine_fingerprint(),
            "hostname": socket.gethostname()}


def harness_info() -> Dict[str, Any]:
    """The harness's own interpreter and environment, kept apart from the measured one."""
    return {"python": python_info(), "prefix": sys.prefix, "freeze_sha": freeze_sha(installed())}


def cell_environment_info(description: Dict[str, Any], package_names: Iterable[str]) -> Dict[str, Any]:
    """The measured environment as its own interpreter described it (stack/describe_python.py)."""
    python = {key: description[key] for key in ("implementation", "version", "build", "compiler", "executable")}
    # Whether it is a free-threaded build and the GIL was off (None before 3.13, which cannot tell).
    python.update({key: description.get(key) for key in ("free_threaded", "gil_enabled")})
    packages = description["packages"]
    return {"python": python, "prefix": description["prefix"],
            "packages": {name: packages.get(normalized(name)) for name in package_names},
            "freeze_sha": description["freeze_sha"]}


@dataclass(frozen=True)
class MeasuredEnvironment:
    """What was measured and with what, collected once before anything starts.

    python, packages and freeze_sha stay top-level in a record, as older records have them:
    they are the cell's; the harness's own interpreter is kept apart under `harness`.
    """
    python: Dict[str, str]  # the cell's interpreter, as it described itself
    packages: Dict[str, Optional[str]]  # the matrix's packages for this cell -> installed version
    freeze_sha: str
    cell_environment: Dict[str, Any]  # prefix and every installed distribution
    harness: Dict[str, Any]
    load_tool_version: Optional[str]  # wrk -v
    services: Dict[str, Optional[str]]  # nginx, postgresql
    machine: Dict[str, Any]  # cpu model, kernel, fingerprint ... (machine_info)
    git: Dict[str, Any]


def describe_environment(cell_description: Dict[str, Any], package_names: Iterable[str],
                         wrk: str) -> MeasuredEnvironment:
    cell = cell_environment_info(cell_description, package_names)
    return MeasuredEnvironment(
        python=cell["python"], packages=cell["packages"], freeze_sha=cell["freeze_sha"],
        cell_environment={"prefix": cell["prefix"], "installed": cell_description["packages"]},
        harness=harness_info(), load_tool_version=wrk_version(wrk), services=service_versions(),
        machine=machine_info(), git=git_state())
