"""The one key of a comparable series: a table's newest row, a history's series and a cell page of the site.

Two records share a key only when their numbers can be compared over time: the same machine
(the difference of two machines is theirs, not the code's) and every field of CELL_KEY_FIELDS
(results/records.py). `nox -s regressions` (results/history.py) and the site's cell page
(results/site/model.py) group by this key, so a change point one reports the other shows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

from benchmatrix.results.record import KEEP_ALIVE
from benchmatrix.results.records import CELL_KEY_FIELDS, Record


@dataclass(frozen=True)
class CellKey:
    machine: str  # the machine's key (results/machines.py: its fingerprint, or its description on the site)
    # CELL_KEY_FIELDS, each the Record attribute of the same name:
    scenario: str
    python: str
    app: str
    server: str
    hosts_label: str
    mode: str
    connections: int
    planned_rate: Optional[float]
    connection_mode: str
    override_label: str  # "uvicorn==0.30.6", or "" on the cell's pins
    side_probe_off: bool
    sliced: bool

    @property
    def topology(self) -> str:
        """What sits between wrk and the app, and the hosts when not all on this one (results/tables.topology)."""
        front = self.server.partition("+")[2] or "direct"
        return front if self.hosts_label == "local" else "{}, {}".format(front, self.hosts_label)

    @property
    def mode_label(self) -> str:
        """"closed-loop", or "fixed-rate 2000/s" with its planned rate."""
        return self.mode if self.planned_rate is None else "{} {:g}/s".format(self.mode, self.planned_rate)

    @property
    def conditions(self) -> str:
        """What sets this series apart from the cell's usual one: ", ABBA slices, side probe off, netns 1gbit"."""
        parts = [self.connection_mode] if self.connection_mode != KEEP_ALIVE else []
        parts += [self.hosts_label] if self.hosts_label != "local" else []
        parts += ["ABBA slices"] if self.sliced else []
        parts += ["side probe off"] if self.side_probe_off else []
        return "".join(", " + part for part in parts)

    @property
    def cell_label(self) -> str:
        label = "{} · {} · py{}".format(self.server, self.app, self.python)
        return "{} · {}".format(label, self.override_label) if self.override_label else label

    @property
    def label(self) -> str:
        """"uvicorn · raw · py3.13 · json, 64 conn" (the machine aside: a report groups by it first)."""
        return "{} · {}, {} conn{}".format(self.cell_label, self.scenario, self.connections, self.conditions)

    @property
    def title(self) -> str:
        """The cell page's heading: "uvicorn · raw · py3.13 · json · closed-loop, 64 conn"."""
        extra = " with " + self.override_label if self.override_label else ""
        return "{} · {} · py{} · {} · {}, {} conn{}{}".format(self.server, self.app, self.python, self.scenario,
                                                              self.mode_label, self.connections, self.conditions,
                                                              extra)

    @property
    def slug(self) -> str:
        """A file name that is readable and still unique: the stack, then a hash of the whole key."""
        digest = hashlib.sha1(repr(self).encode("utf-8")).hexdigest()[:10]
        return "{}-{}".format(safe_name("{}-{}-py{}-{}".format(self.server, self.app, self.python, self.scenario)),
                              digest)

    @property
    def order(self):
        """Sorting: machine, scenario, then the stack; every part a string, number or bool."""
        return (self.machine, self.scenario, self.server, self.app, self.python, self.hosts_label, self.mode_label,
                self.connections, self.connection_mode, self.override_label, self.side_probe_off, self.sliced)


def cell_key(record: Record, machine: str) -> CellKey:
    return CellKey(machine=machine, **dict(zip(CELL_KEY_FIELDS, record.key(CELL_KEY_FIELDS))))


def safe_name(text: str) -> str:
    """Letters, digits, dots, dashes and underscores only: no path separator, nothing to escape in a URL."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
