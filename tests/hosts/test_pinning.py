"""CPU placement choices, and a pinned cell launching its server and wrk through taskset."""

from __future__ import annotations

import pytest

from benchmatrix.hosts.pinning import Pinning, available_cpus, format_cpu_list, parse_cpu_list, resolve_pinning


def test_auto_gives_the_server_its_own_cpus_from_two_on():
    assert resolve_pinning("auto", cpus=[0, 1]) == Pinning("0", "1", chosen_by="auto")
    assert resolve_pinning("auto", cpus=range(8)) == Pinning("0-3", "4-7", chosen_by="auto")
    # A container allowed CPUs 2, 3 and 5 splits those, not the machine's.
    assert resolve_pinning("auto", cpus=[2, 3, 5]) == Pinning("2", "3,5", chosen_by="auto")
    assert resolve_pinning("auto", cpus=[0]) is None


def test_explicit_lists_and_off():
    assert resolve_pinning("0:1", cpus=[0, 1]) == Pinning("0", "1")
    assert resolve_pinning("0-1,4:2-3", cpus=range(8)).load_prefix() == ["taskset", "-c", "2-3"]
    assert resolve_pinning("off", cpus=[0, 1]) is None


def test_cpu_lists_round_trip():
    assert parse_cpu_list("0-2,5") == [0, 1, 2, 5]
    assert format_cpu_list([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8"
    with pytest.raises(ValueError, match="backwards"):
        parse_cpu_list("3-1")


def test_a_malformed_choice_says_what_is_accepted():
    with pytest.raises(ValueError, match="SERVER:LOAD"):
        resolve_pinning("fast")


def test_cpus_that_are_not_there_are_named_with_those_that_are():
    with pytest.raises(ValueError) as raised:
        resolve_pinning("7:9", cpus=[0, 1])
    assert "no CPU 7,9" in str(raised.value) and "the CPUs here are 0-1" in str(raised.value)


def test_pinning_absent_cpus_fails_in_one_line_before_anything_starts(harness):
    missing = max(available_cpus()) + 7
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--pin", "{}:{}".format(missing, missing + 2))
    assert result.returncode == 2
    (line,) = result.stdout.strip().splitlines()
    assert "the CPUs here are {}".format(format_cpu_list(available_cpus())) in line, line
    assert not harness.records() and not (harness.results_dir / "raw").exists()


@pytest.mark.skipif(len(available_cpus()) < 2, reason="needs two CPUs to give each side its own")
def test_by_default_the_server_and_the_load_generator_get_disjoint_cpus(default_cell):
    # Which CPUs an explicit --pin gives is resolve_pinning's, above: the same prefixes follow.
    harness, result = default_cell
    assert result.returncode == 0, result.stdout
    record = harness.records()[0]
    pinning = record["meta"]["pinning"]
    server, load = set(parse_cpu_list(pinning["server_cpus"])), set(parse_cpu_list(pinning["load_cpus"]))
    assert server and load and not server & load and pinning["chosen_by"] == "auto"
    assert record["meta"]["server"]["command"][:3] == ["taskset", "-c", pinning["server_cpus"]]
    assert record["meta"]["load_command"][:3] == ["taskset", "-c", pinning["load_cpus"]]
    # One worker per server CPU, and the record says that is why.
    assert record["workers"] == len(server)
    assert record["meta"]["server"]["workers_rule"].startswith("one per server CPU")
    # The load generator's ceiling on that placement, and the cell's share of it: far below it here.
    ceiling = record["meta"]["load_generator_ceiling"]
    assert ceiling["rps"] > 0 and ceiling["fingerprint"]["placement"] == pinning
    assert 0 < record["meta"]["ceiling_share"] < 0.7
    assert "load-generator-bound" not in [f["code"] for f in record["flags"]]
    # The machine's state before the run, as `nox -s system` shows it.
    state = record["meta"]["machine"]["state"]
    assert state["cpu_count"]["available"] == len(available_cpus()) and "aslr" in state
