"""The state of one matrix run, held in objects rather than in environment variables.

A matrix run is one nox process running several bench sessions (`nox -s bench-3.13`,
`-t db`, a smoke or shard run). Its first bench session learns the run's queue from nox
and prepares every remaining cell before any is measured; later sessions read their
place (i/N), the cells skipped as measured, and the time since measuring began.

The nox processes a run starts (the preparing `--install-only` jobs, the nested run of
smoke and shard) learn their part from a RunTicket: a small JSON file whose path is on
their command line after `--` (TICKET_OPTION), which the bench session takes out before
the arguments reach the harness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

TICKET_OPTION = "--benchmatrix-ticket"
REMEASURE = "--remeasure"  # a matrix run's posarg: measure cells again even when already measured

# What a started nox process is for:
PREPARING = "preparing"  # installs cells; a cell whose build the other job is running is left for later
FINISHING = "finishing"  # installs the cells left for later, once every build is done
PREPARED = "prepared"  # measures cells this run prepared: it trusts their installs and prepares nothing
PHASES = (PREPARING, FINISHING, PREPARED)


@dataclass(frozen=True)
class RunTicket:
    phase: str
    deferred_file: Optional[Path] = None  # where PREPARING jobs list the cells they left for later

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError("unknown matrix run phase {!r}; one of {}".format(self.phase, ", ".join(PHASES)))

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps({"phase": self.phase, "deferred_file": str(self.deferred_file)
                                    if self.deferred_file else None}), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> "RunTicket":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        deferred_file = data.get("deferred_file")
        return cls(phase=data["phase"], deferred_file=Path(deferred_file) if deferred_file else None)

    def defer(self, session_name: str) -> None:
        with open(str(self.deferred_file), "a", encoding="utf-8") as deferred:
            deferred.write(session_name + "\n")

    def deferred(self) -> List[str]:
        """The cells left for later, each once, in the order they were left."""
        if self.deferred_file is None or not self.deferred_file.is_file():
            return []
        return [name for name in dict.fromkeys(self.deferred_file.read_text(encoding="utf-8").split("\n")) if name]


@dataclass(frozen=True)
class BenchArguments:
    """A bench session's arguments after `--`: the harness's options, and what is the matrix run's."""
    options: Tuple[str, ...]  # for the harness (and the run's fingerprint)
    remeasure: bool = False
    ticket: Optional[RunTicket] = None


def parse_bench_arguments(posargs: Sequence[str]) -> BenchArguments:
    options, ticket, remeasure = [], None, False
    arguments = iter(posargs)
    for argument in arguments:
        if argument == REMEASURE:
            remeasure = True
        elif argument == TICKET_OPTION:
            ticket = RunTicket.read(Path(next(arguments)))
        elif argument.startswith(TICKET_OPTION + "="):
            ticket = RunTicket.read(Path(argument.split("=", 1)[1]))
        else:
            options.append(argument)
    return BenchArguments(tuple(options), remeasure, ticket)


def ticket_arguments(path: Path) -> List[str]:
    return [TICKET_OPTION, str(path)]


@dataclass
class MatrixRun:
    """One nox process's run of bench sessions, learned at its first bench session."""
    queue: Optional[List[str]] = None  # the bench sessions this nox run runs, in order; None until known
    measuring_since: Optional[float] = None  # when the first measured cell handed over to the harness
    skipped: List[str] = field(default_factory=list)  # sessions skipped as already measured
    prepared: bool = False  # this process prepared the rest of its queue

    def learn_queue(self, names: Sequence[str]) -> None:
        if self.queue is None:
            self.queue = [name for name in names if name.startswith("bench")]

    def position(self, name: str) -> Optional[Tuple[int, int]]:
        """(i, N) of this bench session in the run; None outside a matrix run (a single cell)."""
        if not self.queue or len(self.queue) < 2 or name not in self.queue:
            return None
        return self.queue.index(name) + 1, len(self.queue)

    def remaining(self, name: str) -> List[str]:
        """This session and every bench session after it."""
        return self.queue[self.queue.index(name):] if self.queue and name in self.queue else [name]

    def progress_arguments(self, name: str, now: float) -> List[str]:
        """["--progress", "i/N@S:K"]: S the seconds since the run's first measured cell began, K the cells
        skipped before this one, so the harness's time-left estimate averages measured cells only."""
        position = self.position(name)
        if position is None:
            return []
        if self.measuring_since is None:
            self.measuring_since = now
        return ["--progress", "{}/{}@{:.1f}:{}".format(position[0], position[1], now - self.measuring_since,
                                                       len(self.skipped))]

    def skip_as_measured(self, name: str) -> int:
        self.skipped.append(name)
        return len(self.skipped)

    def should_prepare(self, name: str, ticket: Optional[RunTicket]) -> bool:
        """The first cell of a matrix run prepares the rest, unless a ticket gave this process another part."""
        return self.position(name) is not None and not self.prepared and ticket is None


def trusts_preparation(run: MatrixRun, ticket: Optional[RunTicket]) -> bool:
    """Whether the cell's install was stamped by this run's preparation moments ago (so it is not re-checked)."""
    return run.prepared or (ticket is not None and ticket.phase == PREPARED)


def waits_for_builds(ticket: Optional[RunTicket]) -> bool:
    """A preparing job does not wait for the other job's build: it leaves that cell for later."""
    return ticket is None or ticket.phase != PREPARING or ticket.deferred_file is None
