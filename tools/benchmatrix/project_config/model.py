"""What a project's benchmatrix.toml declares, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

from benchmatrix.matrix.scenarios import Scenario

CONFIG_NAME = "benchmatrix.toml"
INTERFACES = ("wsgi", "asgi")  # what a project's app may declare; the servers of configs/matrix.json serve them
SERVICES = {"postgres": "DATABASE_URL"}  # a service -> the variable its URL is handed over in


@dataclass(frozen=True)
class ProjectApp:
    name: str
    targets: Tuple[Tuple[str, str], ...]  # (interface, "module:attr" or "module:factory()")
    install: Tuple[str, ...] = ()  # requirement lines, as in a requirements file ("-e .", "flask>=3")
    setup: Tuple[str, ...] = ()  # shell commands run in the cell's environment before it boots
    env: Tuple[Tuple[str, str], ...] = ()
    services: Tuple[str, ...] = ()  # of SERVICES


@dataclass(frozen=True)
class ProjectConfig:
    root: Path  # the folder holding benchmatrix.toml: the apps' working directory, reports/ and .nox/
    apps: Tuple[ProjectApp, ...]
    scenarios: Tuple[Scenario, ...]
    # scenario name -> the apps it is for; a scenario not listed here is for every app
    scenario_apps: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()

    @property
    def path(self) -> Path:
        return self.root / CONFIG_NAME

    def scenarios_of(self, app: str) -> Tuple[Scenario, ...]:
        only = dict(self.scenario_apps)
        return tuple(s for s in self.scenarios if s.name not in only or app in only[s.name])
