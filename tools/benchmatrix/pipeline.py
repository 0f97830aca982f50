"""What running one cell does, step by step: read this first.

    plan -> take the machine -> check it -> place roles -> ceiling -> stack up -> verify
         -> measure (each scenario verified again after its load) -> stack down -> record -> release

`run_cell` plans the run (every user error is raised there, before anything starts),
then `execute` runs CELL_STEPS in order on it. A step returns None to go on, or an
int to end the run with that exit code. Whatever a step starts goes on one of the
run's two ExitStacks, so however the steps end (a failed verification, an error,
Ctrl-C) the stack stops in reverse order (nginx, server, stub, database, hosts) and
the machine is released last. An interleaved comparison (run/interleave.py) runs the
same steps, holding the machine once for all its cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from benchmatrix.run.cell_run import CellRun, load_files, load_tools, mark_measured, prepare_cell_run
from benchmatrix.run.options import RunOptions


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[CellRun], Optional[int]]  # None: go on; an int: the run's exit code, now


def say_the_plan(run: CellRun) -> None:
    run.console.say(run.describe())


def take_the_machine(run: CellRun) -> None:
    """One benchmark at a time on this machine: wait for (or refuse on) another holder."""
    run.take_machine()


def check_the_machine(run: CellRun) -> None:
    """Its state and how busy it is, before the server starts, so the server's own work is not counted."""
    run.check_machine()


def place_the_roles(run: CellRun) -> None:
    """The server's, load generator's and database's hosts: namespaces or an SSH load host (hosts/roles.py).
    Up before the ceiling, which is measured across the same link as the cell."""
    pinning = run.pinning
    run.started.enter_context(run.hosts.up(load_files(), load_tools(run), say=run.console.say,
                                           load_cpu_prefix=pinning.load_prefix() if pinning else ()))


def find_the_ceiling(run: CellRun) -> None:
    """How fast the load generator alone can go, for each closed-loop load (load/ceiling.py)."""
    run.find_ceilings()


def bring_the_stack_up(run: CellRun) -> None:
    """PostgreSQL, the upstream stub, the app server, nginx: each ready before the next (stack/cell_stack.py)."""
    run.boot(run.started)


def verify(run: CellRun) -> Optional[int]:
    """Every endpoint answers correctly before any load: a fast 500 is not a result."""
    return None if run.verified() else 1


def measure(run: CellRun) -> None:
    """The hosts' round trips and the cooperative-I/O check, then each scenario: primer, warmup, trials
    with side probes, and its answers verified again after the load (run/measure.py, run/answers.py).
    Each record is appended the moment its scenario ends."""
    assert run.machine_check is not None and run.ceiling is not None, "the machine and the ceiling come first"
    measurement = run.measurement_after_checks(run.machine_check.flags, run.ceiling.ceilings)
    for scenario in run.plan.options.measured_scenarios:
        measurement.measure(scenario)


def take_the_stack_down(run: CellRun) -> None:
    run.started.close()


def record(run: CellRun) -> None:
    """Say what was appended, and let a resumed matrix run skip this cell (run/resume.py)."""
    run.console.say("done: {} record(s) appended to {}".format(
        len(run.recorder.statuses), run.plan.options.results_dir / "results.jsonl"))
    mark_measured(run)


def release(run: CellRun) -> int:
    run.machine.close()
    return 1 if run.recorder.any_failed else 0


CELL_STEPS: Sequence[Step] = (
    Step("plan", say_the_plan),
    Step("take the machine", take_the_machine),
    Step("check the machine", check_the_machine),
    Step("place roles", place_the_roles),
    Step("ceiling", find_the_ceiling),
    Step("stack up", bring_the_stack_up),
    Step("verify", verify),
    Step("measure, verify again", measure),
    Step("stack down", take_the_stack_down),
    Step("record", record),
    Step("release", release),
)


def execute(run: CellRun, steps: Sequence[Step] = CELL_STEPS) -> int:
    """Run the steps in order; the first int one returns is the exit code (0 when none does)."""
    with run.machine, run.started:  # closed in reverse however the steps end; closing twice is a no-op
        for step in steps:
            outcome = step.run(run)
            if outcome is not None:
                return outcome
    return 0


def run_cell(options: RunOptions) -> int:
    """One cell, start to end: its plan, then every step; the exit code."""
    return execute(prepare_cell_run(options))
