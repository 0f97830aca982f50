"""CPU placement choices, and a pinned cell launching its server and wrk through taskset."""

from __future__ import annotations

import os

import pytest

from tools.benchmatrix.hosts.pinning import Pinning, resolve_pinning


def test_auto_pins_only_with_enough_cpus():
    assert resolve_pinning("auto", cpu_count=2) is None
    assert resolve_pinning("auto", cpu_count=8) == Pinning("0-3", "4-7")


def test_explicit_lists_and_off():
    assert resolve_pinning("0:1") == Pinning("0", "1")
    assert resolve_pinning("0-1,4:2-3").load_prefix() == ["taskset", "-c", "2-3"]
    assert resolve_pinning("off") is None


def test_a_malformed_choice_says_what_is_accepted():
    with pytest.raises(ValueError, match="SERVER:LOAD"):
        resolve_pinning("fast")


def test_a_pinned_cell_records_and_applies_its_placement(harness):
    last = str((os.cpu_count() or 1) - 1)
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--pin", "0:" + last)
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["meta"]["pinning"] == {"server_cpus": "0", "load_cpus": last}
    assert record["meta"]["server"]["command"][:3] == ["taskset", "-c", "0"]
    assert record["meta"]["load_command"][:3] == ["taskset", "-c", last]
