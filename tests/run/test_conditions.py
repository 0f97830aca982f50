"""The run's conditions: what each step learned, stated in every record's meta exactly as before."""

from __future__ import annotations

from pathlib import Path

from benchmatrix.hosts.machine_advice import Advice
from benchmatrix.hosts.pinning import Pinning
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import LoadSettings
from benchmatrix.run.conditions import (CeilingOutcome, Conditions, HostsConditions, MachineCheck, check_machine,
                                        find_ceilings)
from benchmatrix.run.metadata import MeasuredEnvironment
from benchmatrix.stack.cell_stack import ServerLaunch, StackConditions

ENVIRONMENT = MeasuredEnvironment(
    python={"version": "3.13.1"}, packages={"gunicorn": "23.0.0"}, freeze_sha="f" * 8,
    cell_environment={"prefix": "/venv", "installed": {"gunicorn": "23.0.0"}}, harness={"prefix": "/harness"},
    load_tool_version="wrk 4.1.0", services={"nginx": "nginx/1.22", "postgresql": None},
    machine={"cpu_model": "x", "fingerprint": "abc"}, git={"sha": "0" * 40, "dirty": False})
SERVER = ServerLaunch(command=["gunicorn", "app"], workers=1, threads_per_worker=1, worker_class="sync",
                      async_cores=None, listens_on="127.0.0.1:8000", protocol="http")
BEFORE_START = ["python", "packages", "freeze_sha", "cell_environment", "harness", "load_tool", "services", "git",
                "pinning", "server", "constraints"]


def planned() -> Conditions:
    return Conditions(environment=ENVIRONMENT, pinning=Pinning("0", "1", "auto"), server=SERVER,
                      workers_rule="one per server CPU (0)", constraints={"file": "py3.13-default.txt"})


def test_before_any_step_the_conditions_are_the_plan_and_the_environment():
    meta = planned().to_json()
    assert list(meta) == BEFORE_START
    assert meta["load_tool"] == {"name": "wrk", "version": "wrk 4.1.0"}
    assert meta["server"] == dict(SERVER.to_json(), workers_rule="one per server CPU (0)")
    assert meta["pinning"] == {"server_cpus": "0", "load_cpus": "1", "chosen_by": "auto"}


def test_every_step_adds_its_part_under_the_keys_records_have_always_had():
    check = MachineCheck(0.123, {"governors": None}, [Advice("load", "busy", "wait")], [])
    stack = StackConditions(server_pid=1, server_log=Path("server.log"), front=None,
                            database={"version": "16"}, upstream=None)
    conditions = Conditions(
        environment=ENVIRONMENT, pinning=None, server=SERVER, workers_rule="--workers 2", constraints=None,
        fixed_rate_driver={"name": "wrk2", "binary": "/usr/bin/wrk2"}, machine_lock={"waited_s": 0.0},
        machine=check, ceiling=CeilingOutcome("auto", error="wrk failed"), stack=stack,
        hosts=HostsConditions({"kind": "local", "label": ""}), coop_check={"db_sleep": {}})
    meta = conditions.to_json()
    assert meta["machine"] == {"cpu_model": "x", "fingerprint": "abc", "busy_share_before_start": 0.123,
                               "state": {"governors": None},
                               "advice": [{"topic": "load", "finding": "busy", "what_to_do": "wait",
                                           "severity": "warn"}]}
    assert meta["load_tool"]["fixed_rate_driver"] == {"name": "wrk2", "binary": "/usr/bin/wrk2"}
    assert meta["pinning"] is None
    assert (meta["machine_lock"], meta["ceiling_choice"], meta["ceiling_error"]) == ({"waited_s": 0.0}, "auto",
                                                                                       "wrk failed")
    assert (meta["front"], meta["database"], meta["hosts"], meta["coop_check"]) == (
        None, {"version": "16"}, {"kind": "local", "label": ""}, {"db_sleep": {}})
    assert "upstream" not in meta  # a part a cell did not start is left out, as before


def test_the_ceiling_is_measured_once_per_load_and_a_failure_is_said_not_raised():
    asked = []

    def measure(settings, key, remeasure):
        asked.append((key, remeasure))
        if key == (64, 2):
            raise WrkOutputError("wrk printed nothing\nmore")
        return "ceiling {}".format(key)

    loads = [LoadSettings(threads=2, connections=8, duration_s=1, timeout_s=2),
             LoadSettings(threads=2, connections=64, duration_s=1, timeout_s=2)]
    said = []
    outcome = find_ceilings("measure", loads + loads[:1], measure, said.append)
    assert asked == [((8, 2), True), ((64, 2), True)]
    assert outcome.ceilings == {(8, 2): "ceiling (8, 2)"}
    assert outcome.error == "wrk printed nothing" and "could not be measured" in said[0]
    off = find_ceilings("off", loads, measure, said.append)
    assert off == CeilingOutcome("off") and len(asked) == 2


def test_an_unwatched_machine_is_said_as_unknown_and_never_flagged_busy():
    # smoke's setting (--machine-sample 0): nothing sampled, so nothing is known to flag.
    said = []
    check = check_machine(0, 0.0, said.append)
    assert check.busy_share_before_start is None and check.flags == []
    assert check.state["busiest_processes"] is None
    assert check.to_json()["busy_share_before_start"] is None
