"""The endpoints every app serves, and what a correct answer looks like.

A scenario is the unit of measurement: one path, loaded on its own. Verification
and load both read this table, so an app cannot be measured on an endpoint
whose answer was never checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List

HELLO = "Hello, World!"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    content_type: str  # the media type the response must declare
    body: bytes  # the exact body, or its JSON value when content_type is JSON
    is_json: bool = False


SCENARIOS: Dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("json", "/json", "application/json", b'{"message": "Hello, World!"}', is_json=True),
        Scenario("plaintext", "/plaintext", "text/plain", HELLO.encode()),
    )
}


def select_scenarios(names: Iterable[str]) -> List[Scenario]:
    """Scenarios by name, in the order given; a ValueError names the valid ones."""
    chosen = []
    for name in names:
        name = name.strip()
        if name not in SCENARIOS:
            raise ValueError("unknown scenario {!r}; choose from: {}".format(
                name, ", ".join(SCENARIOS)))
        chosen.append(SCENARIOS[name])
    if not chosen:
        raise ValueError("no scenario given; choose from: {}".format(", ".join(SCENARIOS)))
    return chosen
