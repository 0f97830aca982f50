"""A project's apps beside benchmatrix's servers: the same rules, tags and names, its own scenarios."""

from __future__ import annotations

from dataclasses import replace
from typing import List

from benchmatrix.matrix.cells import App, Matrix
from benchmatrix.matrix.scenarios import DEFAULT_SCENARIOS, Scenario
from benchmatrix.project_config.model import ProjectApp, ProjectConfig


def as_app(config: ProjectConfig, app: ProjectApp) -> App:
    # requirements stay empty: they are benchmatrix's pip specifiers, pinned by its lock groups; the
    # project's install lines are installed as the project says (sessions/install.py).
    return App(name=app.name, targets=dict(app.targets), environment=dict(app.env), requirements=(),
               scenarios=tuple(s.name for s in config.scenarios_of(app.name)), install=app.install,
               setup=app.setup, services=app.services, root=config.root)


def with_project(matrix: Matrix, config: ProjectConfig) -> Matrix:
    """benchmatrix's servers, Pythons and settings; the project's apps instead of benchmatrix's."""
    return replace(matrix, apps={app.name: as_app(config, app) for app in config.apps})


def select_project_scenarios(config: ProjectConfig, app: str, names: str) -> List[Scenario]:
    """--scenarios for a project's app: its scenario names, or the default/"all" for every one it has."""
    own = {s.name: s for s in config.scenarios_of(app)}
    chosen: List[Scenario] = []
    for name in (part.strip() for part in names.split(",")):
        if name in (DEFAULT_SCENARIOS, "all") and name not in own:
            chosen += [s for s in own.values() if s not in chosen]
        elif name in own:
            if own[name] not in chosen:
                chosen.append(own[name])
        else:
            raise ValueError("app {!r} of {} has no scenario {!r}; it has: {}".format(
                app, config.path, name, ", ".join(own) or "none"))
    if not chosen:
        raise ValueError("app {!r} of {} has no scenario; add a [scenarios.NAME] table".format(app, config.path))
    return chosen


def choose_scenarios(app: str, names: str) -> List[Scenario]:
    """--scenarios of a run: the active project's scenarios of `app`, else benchmatrix's own (matrix/scenarios.py)."""
    from benchmatrix.matrix.cells import load_matrix
    from benchmatrix.matrix.scenarios import select_scenarios
    from benchmatrix.project_config.active import active_project

    config = active_project()
    if config is not None:
        return select_project_scenarios(config, app, names)
    return select_scenarios(names.split(","), load_matrix().apps[app].scenarios or None)
