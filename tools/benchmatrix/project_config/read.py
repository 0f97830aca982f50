"""benchmatrix.toml into a ProjectConfig: the syntax by tomllib (tomli before 3.11), then every key.

Each error is a ConfigError naming the file, the line, the table and key, and what to do,
raised before anything is installed or started.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmatrix.project_config.locate import Locator
from benchmatrix.project_config.model import CONFIG_NAME, INTERFACES, SERVICES, ProjectApp, ProjectConfig
from benchmatrix.project_config.scenarios import (REQUEST_KEYS, SCENARIO_KEYS, STEP_KEYS, build_scenario,
                                                  expectation_of)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the harness runs on 3.13; nox's own Python may be older
    import tomli as tomllib

NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # app and scenario names go into session ids and --scenarios lists
APP_KEYS = ("wsgi", "asgi", "install", "setup", "env", "services")
DOCS = "docs/own-app.md"


class ConfigError(ValueError):
    """A benchmatrix.toml that cannot be used; the message names the line and says what to do."""


class Reader:
    """Checks one parsed file, each error located in its text."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.where = Locator(text)

    def fail(self, line: int, table: str, problem: str, todo: str) -> ConfigError:
        return ConfigError("{}, line {}: {}{}; {}".format(self.path, line, "[{}] ".format(table) if table else "",
                                                           problem, todo))

    def unknown(self, table: Sequence[str], key: str, allowed: Sequence[str], step: Optional[int] = None,
                what: str = "") -> ConfigError:
        line = self.where.key(table, key, step)
        return self.fail(line, self._label(table, step), "unknown key {!r}".format(key),
                         "{} takes: {} (see {})".format(what, ", ".join(allowed), DOCS))

    def wrong(self, table: Sequence[str], key: str, expected: str, value: Any, step: Optional[int] = None,
              todo: str = "") -> ConfigError:
        line = self.where.key(table, key, step)
        return self.fail(line, self._label(table, step), "{!r} must be {}, not {!r}".format(key, expected, value),
                         todo or "write it as {}".format(expected))

    @staticmethod
    def _label(table: Sequence[str], step: Optional[int]) -> str:
        return ".".join(table) + ("" if step is None else " flow step {}".format(step + 1))

    def check_keys(self, table: Sequence[str], data: Dict[str, Any], allowed: Sequence[str], what: str,
                   step: Optional[int] = None) -> None:
        for key in data:
            if key not in allowed:
                raise self.unknown(table, key, allowed, step, what)

    def string(self, table, data, key, step=None, default: Optional[str] = None) -> Optional[str]:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.wrong(table, key, "a string", value, step)
        return value

    def strings(self, table, data, key, step=None) -> Tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.wrong(table, key, "a list of strings", value, step, 'write it as ["...", "..."]')
        return tuple(value)

    def string_table(self, table, data, key, step=None) -> Tuple[Tuple[str, str], ...]:
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise self.wrong(table, key, "a table of strings", value, step, 'write it as { NAME = "value" }')
        return tuple((name, item) for name, item in value.items())


def read_config(root: Path) -> ProjectConfig:
    """The project at root, from root/benchmatrix.toml; a ConfigError says what is wrong and where."""
    root = Path(root).resolve()
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError("{}: not found; write one beside your noxfile (a complete example: {})".format(path, DOCS))
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("{}: not valid TOML: {}; fix the syntax there".format(path, error))
    return parse_config(root, path, text, data)


def parse_config(root: Path, path: Path, text: str, data: Dict[str, Any]) -> ProjectConfig:
    reader = Reader(path, text)
    reader.check_keys((), data, ("apps", "scenarios"), "the file's top level")
    for table in ("apps", "scenarios"):
        if not isinstance(data.get(table), dict) or not data[table]:
            raise reader.fail(1, "", "no [{}.NAME] table".format(table),
                              "declare at least one (see {})".format(DOCS))
    apps = tuple(_app(reader, name, value) for name, value in data["apps"].items())
    scenarios, only = [], []
    for name, value in data["scenarios"].items():
        table = ("scenarios", name)
        _check_name(reader, table, name)
        if not isinstance(value, dict):
            raise reader.wrong(("scenarios",), name, "a table", value)
        reader.check_keys(table, value, SCENARIO_KEYS, "a scenario")
        for_apps = reader.strings(table, value, "apps")
        unknown = [app for app in for_apps if app not in {a.name for a in apps}]
        if unknown:
            raise reader.fail(reader.where.key(table, "apps"), ".".join(table), "unknown app {!r}".format(unknown[0]),
                              "name one of: {}".format(", ".join(a.name for a in apps)))
        if for_apps:
            only.append((name, for_apps))
        scenarios.append(_scenario(reader, root, name, value))
    return ProjectConfig(root=root, apps=apps, scenarios=tuple(scenarios), scenario_apps=tuple(only))


def _check_name(reader: Reader, table: Sequence[str], name: str) -> None:
    if not NAME.match(name):
        raise reader.fail(reader.where.table(table), ".".join(table), "name {!r} has characters a cell name cannot "
                          "hold".format(name), "use letters, digits, '_', '-' and '.' only")


def _app(reader: Reader, name: str, data: Any) -> ProjectApp:
    table = ("apps", name)
    _check_name(reader, table, name)
    if not isinstance(data, dict):
        raise reader.wrong(("apps",), name, "a table", data)
    reader.check_keys(table, data, APP_KEYS, "an app")
    targets = tuple((interface, reader.string(table, data, interface)) for interface in INTERFACES
                    if interface in data)
    if not targets:
        raise reader.fail(reader.where.table(table), ".".join(table), "no entry point",
                          'add wsgi = "module:attr" or asgi = "module:attr" ("module:factory()" calls a factory)')
    for interface, target in targets:
        if not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(\))?$", target):
            raise reader.wrong(table, interface, '"module:attr" or "module:factory()"', target)
    services = reader.strings(table, data, "services")
    for service in services:
        if service not in SERVICES:
            raise reader.fail(reader.where.key(table, "services"), ".".join(table),
                              "unknown service {!r}".format(service), "services are: {}".format(", ".join(SERVICES)))
    return ProjectApp(name=name, targets=targets, install=reader.strings(table, data, "install"),
                      setup=reader.strings(table, data, "setup"), env=reader.string_table(table, data, "env"),
                      services=services)


def _request(reader: Reader, root: Path, table, data: Dict[str, Any], step: Optional[int]):
    """(path, method, headers, body) of a scenario or a step, each key checked."""
    path = reader.string(table, data, "path", step)
    if path is None or not path.startswith("/"):
        raise reader.fail(reader.where.key(table, "path", step) if path is not None else
                          reader.where.table(table), reader._label(table, step),
                          "'path' is {}".format("missing" if path is None else "not absolute: {!r}".format(path)),
                          'write path = "/your/endpoint"')
    method = reader.string(table, data, "method", step, "GET").upper()
    headers = reader.string_table(table, data, "headers", step)
    body = reader.string(table, data, "body", step)
    body_file = reader.string(table, data, "body_file", step)
    if body is not None and body_file is not None:
        raise reader.fail(reader.where.key(table, "body_file", step), reader._label(table, step),
                          "both 'body' and 'body_file'", "keep one of them")
    if body_file is not None:
        try:
            sent = (root / body_file).read_bytes()
        except OSError as error:
            raise reader.fail(reader.where.key(table, "body_file", step), reader._label(table, step),
                              "cannot read body_file {!r}: {}".format(body_file, error.strerror),
                              "give a path relative to {}".format(root))
    else:
        sent = (body or "").encode("utf-8")
    return path, method, headers, sent


def _answer(reader: Reader, table, data: Dict[str, Any], step: Optional[int]):
    """(status, content_type, check, expected body, contains) of a scenario or a step."""
    status = data.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise reader.wrong(table, "status", "an HTTP status (an integer from 100 to 599)", status, step)
    content_type = reader.string(table, data, "content_type", step, "")
    contains = reader.strings(table, data, "contains", step)
    given = [key for key in ("json", "json_subset", "expect_body", "contains") if key in data]
    if len(given) > 1:
        raise reader.fail(reader.where.key(table, given[1], step), reader._label(table, step),
                          "both {!r} and {!r}".format(given[0], given[1]), "keep one expectation per request")
    if "json_subset" in data and not isinstance(data["json_subset"], dict):
        raise reader.wrong(table, "json_subset", "a table", data["json_subset"], step)
    if "expect_body" in data:
        reader.string(table, data, "expect_body", step)
    check, expected = expectation_of(data)
    if check in ("json", "json-subset") and not content_type:
        content_type = "application/json"
    return status, content_type, check, expected, contains


def _positive(reader: Reader, table, data: Dict[str, Any], key: str) -> Optional[int]:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise reader.wrong(table, key, "a positive integer", value)
    return value


def _scenario(reader: Reader, root: Path, name: str, data: Dict[str, Any]):
    table = ("scenarios", name)
    load = {"connections": _positive(reader, table, data, "connections"),
            "timeout_s": _positive(reader, table, data, "timeout")}
    if "flow" not in data:
        request = _request(reader, root, table, data, None)
        return build_scenario(name, request, _answer(reader, table, data, None), **load)
    extra = [key for key in data if key not in ("flow", "apps", "connections", "timeout")]
    if extra:
        raise reader.fail(reader.where.key(table, extra[0]), ".".join(table),
                          "{!r} beside 'flow'".format(extra[0]), "put it in the flow's steps")
    flow = data["flow"]
    if not isinstance(flow, list) or not flow or not all(isinstance(step, dict) for step in flow):
        raise reader.wrong(table, "flow", "a non-empty list of inline tables", flow,
                           todo="write flow = [ { path = \"/a\" }, { path = \"/b\" } ]")
    steps: List[tuple] = []
    for index, step in enumerate(flow):
        reader.check_keys(table, step, STEP_KEYS, "a flow step", index)
        extract = reader.string_table(table, step, "extract", index)
        for variable, source in extract:
            if not re.match(r"^(cookie|header|regex):.+", source):
                raise reader.wrong(table, "extract", '"cookie:NAME", "header:NAME" or "regex:PATTERN"', source, index)
        label = reader.string(table, step, "name", index)
        steps.append((label, _request(reader, root, table, step, index), _answer(reader, table, step, index), extract))
    return build_scenario(name, None, None, steps, **load)


__all__ = ["ConfigError", "read_config", "REQUEST_KEYS", "APP_KEYS"]
