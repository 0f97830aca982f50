"""The conditions a measurement was made under: versions, machine, source tree.

Collected once per run (never inside a measured window) and copied into every
record, so a number can always be traced to what produced it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from typing import Any, Dict, Iterable, Optional

from tools.benchmatrix.matrix.cells import REPO_ROOT

try:
    from importlib import metadata as importlib_metadata
except ImportError:  # pragma: no cover - Python < 3.8 is outside the matrix
    importlib_metadata = None  # type: ignore


def _command_output(argv: Iterable[str]) -> Optional[str]:
    try:
        completed = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   cwd=str(REPO_ROOT), timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.decode("utf-8", errors="replace").strip()


def package_versions(names: Iterable[str]) -> Dict[str, Optional[str]]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def freeze_fingerprint() -> str:
    """A hash of every installed distribution and version: equal hashes, equal environments."""
    pins = sorted("{}=={}".format(d.metadata["Name"], d.version).lower()
                  for d in importlib_metadata.distributions())
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()[:16]


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
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "kernel": platform.release(), "os": platform.platform(terse=True),
            "load_average_1m": os.getloadavg()[0]}


def collect_run_metadata(package_names: Iterable[str], wrk: str) -> Dict[str, Any]:
    return {"python": python_info(), "packages": package_versions(package_names),
            "freeze_sha": freeze_fingerprint(), "load_tool": {"name": "wrk", "version": wrk_version(wrk)},
            "services": service_versions(),
            "machine": machine_info(), "git": git_state()}
