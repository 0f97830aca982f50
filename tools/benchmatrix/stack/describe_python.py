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


def describe() -> dict:
    packages = installed()
    return {"implementation": platform.python_implementation(), "version": platform.python_version(),
            "major_minor": "{}.{}".format(*sys.version_info[:2]), "build": " ".join(platform.python_build()),
            "compiler": platform.python_compiler(), "executable": sys.executable, "prefix": sys.prefix,
            "packages": packages, "freeze_sha": freeze_sha(packages)}


if __name__ == "__main__":
    print(json.dumps(describe(), sort_keys=True))
