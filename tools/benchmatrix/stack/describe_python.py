"""Describe the interpreter and packages of the environment this runs in, as one JSON line.

The harness runs this with a cell's own interpreter (`<venv>/bin/python
.../stack/describe_python.py`, by path), so it reads the measured environment
from outside without importing anything into it. Standard library only, and
Python 3.8 syntax: it runs on every interpreter of the matrix.
"""

import hashlib
import json
import platform
import re
import sys
import sysconfig
from importlib import metadata


def normalized(name: str) -> str:
    """PEP 503's form of a distribution name: "API_Hour" and "api-hour" are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict:
    return {normalized(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
            if dist.metadata["Name"]}


def freeze_sha(packages: dict) -> str:
    """A hash of every installed distribution and version: equal hashes, equal environments."""
    pins = sorted("{}=={}".format(name, version) for name, version in packages.items())
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()[:16]


def threading_build() -> dict:
    """Whether this is a free-threaded build, and whether the GIL is really off in it.

    A free-threaded build (Py_GIL_DISABLED) still runs with the GIL when PYTHON_GIL=1 or -X gil=1 say so,
    or once an extension that does not declare itself free-threading safe is imported; the record keeps
    what sys._is_gil_enabled() (3.13 and newer) says here, None where it does not exist.
    """
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {"free_threaded": free_threaded, "gil_enabled": is_gil_enabled() if is_gil_enabled else None,
            # The matrix's Python axis value: "3.13t" names the free-threaded build of 3.13.
            "axis": "{}.{}{}".format(sys.version_info[0], sys.version_info[1], "t" if free_threaded else "")}


def describe() -> dict:
    packages = installed()
    build = threading_build()
    return {"implementation": platform.python_implementation(), "version": platform.python_version(),
            "major_minor": "{}.{}".format(*sys.version_info[:2]), "axis": build["axis"],
            "free_threaded": build["free_threaded"], "gil_enabled": build["gil_enabled"],
            "build": " ".join(platform.python_build()),
            "compiler": platform.python_compiler(), "executable": sys.executable, "prefix": sys.prefix,
            "packages": packages, "freeze_sha": freeze_sha(packages)}


if __name__ == "__main__":
    print(json.dumps(describe(), sort_keys=True))
