"""The run's steps: their order, how an exit code ends them, and that everything started is stopped."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import List

import pytest

from benchmatrix.pipeline import CELL_STEPS, Step, execute


def test_the_steps_read_in_the_order_a_cell_runs():
    assert [step.name for step in CELL_STEPS] == [
        "plan", "take the machine", "check the machine", "place roles", "ceiling", "stack up", "verify",
        "measure, verify again", "stack down", "record", "release"]


def fake_run(events: List[str]) -> SimpleNamespace:
    run = SimpleNamespace(machine=contextlib.ExitStack(), started=contextlib.ExitStack())
    run.machine.callback(events.append, "machine released")
    run.started.callback(events.append, "lock-side first started, stopped last")
    return run


def starts(name: str):
    def step(run):
        run.started.callback(run.events.append, "stopped " + name)
        run.events.append("started " + name)
    return Step(name, step)


def test_a_step_that_returns_an_exit_code_ends_the_run_and_stops_what_was_started_in_reverse():
    events: List[str] = []
    run = fake_run(events)
    run.events = events
    ran_after = []
    steps = [starts("database"), starts("server"), Step("verify", lambda run: 1),
             Step("measure", lambda run: ran_after.append("measure"))]
    assert execute(run, steps) == 1
    assert ran_after == []
    assert events == ["started database", "started server", "stopped server", "stopped database",
                      "lock-side first started, stopped last", "machine released"]


def test_ctrl_c_in_any_step_still_stops_everything_in_reverse():
    events: List[str] = []
    run = fake_run(events)
    run.events = events

    def interrupted(run):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(run, [starts("server"), starts("nginx"), Step("measure", interrupted)])
    assert events[2:] == ["stopped nginx", "stopped server", "lock-side first started, stopped last",
                          "machine released"]


def test_steps_that_return_nothing_run_to_the_end_with_exit_code_zero():
    events: List[str] = []
    run = fake_run(events)
    assert execute(run, [Step("a", lambda run: None), Step("b", lambda run: None)]) == 0
    assert events == ["lock-side first started, stopped last", "machine released"]
