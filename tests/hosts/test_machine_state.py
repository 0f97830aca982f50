"""The machine's state before a benchmark, the advice drawn from it, and tuning its clock.

The real machine is only read (any machine passes); everything that writes goes
to a fake /sys under tmp_path, so no test changes the machine it runs on.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import psutil
import pytest

from tests.spinners import SPIN, start_detached_spinner, stop, wait_until_spinning
from benchmatrix.hosts import tuning
from benchmatrix.hosts.machine_advice import advice, render_state
from benchmatrix.hosts.machine_state import collect_machine_state
from benchmatrix.hosts.system_command import DEFAULT_STATE_FILE, add_system_parser, command_system

# Spins for at most a minute, so a test killed before its cleanup leaves nothing spinning for long.
CPU = Path("sys/devices/system/cpu")


def test_a_busy_process_is_named_and_our_own_children_are_not():
    detached = child = None
    try:
        detached = start_detached_spinner()
        assert detached not in {p.pid for p in psutil.Process().children(recursive=True)}
        child = subprocess.Popen([sys.executable, "-c", SPIN]).pid
        wait_until_spinning(detached)
        wait_until_spinning(child)
        state = collect_machine_state(sample_s=1.0)
    finally:
        stop(detached)
        stop(child)
        if child is not None:
            os.waitpid(child, 0)
    busiest = {entry["pid"]: entry for entry in state["busiest_processes"]}
    assert detached in busiest, state["busiest_processes"]
    assert busiest[detached]["cpu_percent"] > 20 and "python" in busiest[detached]["name"]
    assert child not in busiest and os.getpid() not in busiest
    assert len(state["busiest_processes"]) <= 5
    json.dumps(state)  # JSON-able as it is


def test_the_real_machine_is_described_and_rendered():
    state = collect_machine_state(sample_s=0.1)
    assert state["cpu_count"]["available"] == len(os.sched_getaffinity(0))
    assert state["cpu_count"]["online"] == os.cpu_count()
    assert state["aslr"] is None or state["aslr"]["value"] in (0, 1, 2)
    assert state["load_average"] is None or len(state["load_average"]) == 3
    text = render_state(state, advice(state))
    assert text.splitlines()[0].startswith("cpu_model: ") and "\nadvice:" in text


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path


def fake_sysfs(root: Path, governors: Sequence[str] = ("powersave", "ondemand"),
               offered: str = "performance powersave ondemand", no_turbo: Optional[str] = "0") -> Path:
    for cpu, governor in enumerate(governors):
        write(root, "{}/cpu{}/cpufreq/scaling_governor".format(CPU, cpu), governor)
        write(root, "{}/cpu{}/cpufreq/scaling_available_governors".format(CPU, cpu), offered)
        write(root, "{}/cpu{}/cpufreq/scaling_driver".format(CPU, cpu), "intel_pstate")
    if no_turbo is not None:
        write(root, "{}/intel_pstate/no_turbo".format(CPU), no_turbo)
    return root


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text().strip()


def test_a_root_with_nothing_in_it_gives_nones_not_errors(tmp_path):
    state = collect_machine_state(root=tmp_path, sample_s=0.0)
    for key in ("governors", "scaling_drivers", "turbo", "isolated_cpus", "nohz_full_cpus",
                "kernel_cmdline", "aslr", "load_average", "cpu_model", "kernel_release"):
        assert state[key] is None, key
    assert state["virtualization"] == {"vm": None, "container": None, "hypervisor_flag": None,
                                       "detected_by": "cpuinfo hypervisor flag"}
    json.dumps(state)
    assert "governor: not exposed (no cpufreq)" in render_state(state, advice(state))


def test_a_fake_machine_is_read_as_the_kernel_writes_it(tmp_path):
    root = fake_sysfs(tmp_path, governors=["powersave"] * 11)
    write(root, "{}/cpu10/cpufreq/scaling_governor".format(CPU), "performance")
    write(root, "{}/isolated".format(CPU), "2-3")
    write(root, "{}/nohz_full".format(CPU), "(null)")
    # What follows "--" is init's, not the kernel's.
    write(root, "proc/cmdline", "quiet isolcpus=2-3 rcu_nocbs=2-3 nohz_full -- isolcpus=9")
    write(root, "proc/sys/kernel/randomize_va_space", "0")
    write(root, "proc/cpuinfo", "processor\t: 0\nmodel name\t: Fake CPU @ 2GHz\nflags\t\t: fpu hypervisor sse\n\n"
                                "processor\t: 1\nmodel name\t: Other\n")
    write(root, "proc/loadavg", "3.50 2.00 1.25 4/300 1234")
    state = collect_machine_state(root=root, sample_s=0.0)
    assert list(state["governors"]) == ["cpu{}".format(n) for n in range(11)]  # cpu10 after cpu9
    assert state["governors"]["cpu10"] == "performance"
    assert state["turbo"] == {"enabled": True, "source": "intel_pstate/no_turbo", "value": "0"}
    assert state["isolated_cpus"] == [2, 3] and state["nohz_full_cpus"] == []
    assert state["kernel_cmdline"] == {"isolcpus": "2-3", "nohz_full": "", "rcu_nocbs": "2-3"}
    assert state["aslr"]["value"] == 0 and "disabled" in state["aslr"]["meaning"]
    assert state["cpu_model"] == "Fake CPU @ 2GHz"
    assert state["virtualization"]["vm"] == "unknown hypervisor"
    assert state["load_average"] == [3.5, 2.0, 1.25]
    text = render_state(state, advice(state))
    assert "governor: powersave on CPU 0-9, performance on CPU 10" in text
    assert "turbo: on (intel_pstate/no_turbo = 0)" in text and "isolated_cpus: 2-3" in text


def tuned_state(**changes: Any) -> Dict[str, Any]:
    """A machine with nothing to say about: 8 CPUs, 1-7 isolated, clock fixed, full ASLR, idle, bare metal."""
    state: Dict[str, Any] = {
        "cpu_model": "Test CPU", "cpu_count": {"available": 8, "online": 8, "available_list": "0-7"},
        "governors": {"cpu{}".format(n): "performance" for n in range(8)},
        "scaling_drivers": {"cpu{}".format(n): "intel_pstate" for n in range(8)},
        "turbo": {"enabled": False, "source": "intel_pstate/no_turbo", "value": "1"},
        "isolated_cpus": list(range(1, 8)), "nohz_full_cpus": list(range(1, 8)),
        "kernel_cmdline": {"isolcpus": "1-7", "nohz_full": "1-7", "rcu_nocbs": "1-7"},
        "aslr": {"value": 2, "meaning": "full"}, "kernel_release": "6.1.0",
        "virtualization": {"vm": None, "container": None, "hypervisor_flag": False,
                           "detected_by": "systemd-detect-virt"},
        "load_average": [0.1, 0.1, 0.1], "busiest_processes": [], "sample_s": 0.5}
    state.update(changes)
    return state


def only(found, topic):
    (item,) = [item for item in found if item.topic == topic]
    return item


def test_a_tuned_machine_gets_no_advice():
    assert advice(tuned_state()) == []
    assert "advice: none" in render_state(tuned_state(), [])


def test_a_governor_other_than_performance_is_a_warning():
    governors = {"cpu0": "powersave", "cpu1": "powersave", "cpu2": "performance"}
    item = only(advice(tuned_state(governors=governors)), "governor")
    assert item.severity == "warn" and "powersave on CPU 0-1" in item.finding and "cpu2" not in item.finding
    assert "system tune" in item.what_to_do
    assert not [i for i in advice(tuned_state(governors=None)) if i.topic == "governor"]  # no cpufreq: nothing to set


def test_turbo_on_is_a_warning_naming_its_switch():
    item = only(advice(tuned_state(turbo={"enabled": True, "source": "cpufreq/boost", "value": "1"})), "turbo")
    assert item.severity == "warn" and "echo 0 > /sys/devices/system/cpu/cpufreq/boost" in item.what_to_do


def test_aslr_disabled_is_a_warning():
    item = only(advice(tuned_state(aslr={"value": 0, "meaning": "disabled"})), "aslr")
    assert item.severity == "warn" and "randomize_va_space=2" in item.what_to_do
    assert advice(tuned_state(aslr={"value": 1, "meaning": "conservative"})) == []


def test_other_processes_busy_now_are_a_warning_naming_them():
    busiest = [{"pid": 4242, "name": "make", "cpu_percent": 197.0}, {"pid": 77, "name": "cc1", "cpu_percent": 40.0}]
    item = only(advice(tuned_state(load_average=[4.1, 2.0, 1.0], busiest_processes=busiest)), "load")
    assert item.severity == "warn"
    assert item.finding == ("other processes kept 2.4 of 8 available CPUs busy over the last 0.5s (above 25%): "
                            "make (pid 4242, 197% of a CPU), cc1 (pid 77, 40% of a CPU); 1-minute load average 4.10")
    # 25% of the CPUs is the limit itself, not above it.
    assert advice(tuned_state(busiest_processes=[{"pid": 1, "name": "make", "cpu_percent": 200.0}])) == []


def test_a_load_average_left_by_the_runs_own_work_is_no_warning():
    # A minute after the previous cell (or the preparation) the load average still shows it; the sample
    # of what other processes do now is what counts, and unsampled (--machine-sample 0) says nothing.
    assert advice(tuned_state(load_average=[4.1, 2.0, 1.0], busiest_processes=[])) == []
    assert advice(tuned_state(load_average=[4.1, 2.0, 1.0], busiest_processes=None)) == []


def test_isolation_is_advised_only_where_it_is_practical():
    item = only(advice(tuned_state(isolated_cpus=[])), "isolation")
    assert item.severity == "info" and "isolcpus=1-7" in item.what_to_do and "--pin 1-3:4-7" in item.what_to_do
    two = tuned_state(cpu_count={"available": 2, "online": 2, "available_list": "0-1"}, isolated_cpus=None)
    item = only(advice(two), "isolation")
    assert item.severity == "info" and "not practical" in item.finding and "isolcpus" not in item.what_to_do


def test_a_vm_is_worth_knowing_not_a_warning():
    virt = {"vm": "kvm", "container": None, "hypervisor_flag": True, "detected_by": "systemd-detect-virt"}
    item = only(advice(tuned_state(virtualization=virt)), "virtualization")
    assert item.severity == "info" and "kvm" in item.finding and "steal time" in item.finding
    assert "within one run" in item.what_to_do


def test_tune_then_reset_restores_exactly_what_was_there(tmp_path):
    root = fake_sysfs(tmp_path / "root")
    state_file = tmp_path / "state" / "tuning.json"
    report = tuning.tune(state_file, root=root)
    assert read(root, "{}/cpu0/cpufreq/scaling_governor".format(CPU)) == "performance"
    assert read(root, "{}/cpu1/cpufreq/scaling_governor".format(CPU)) == "performance"
    assert read(root, "{}/intel_pstate/no_turbo".format(CPU)) == "1"
    assert {(c.previous, c.new) for c in report.changed} == {("powersave", "performance"),
                                                              ("ondemand", "performance"), ("0", "1")}
    assert report.could_not == [] and report.state_file == str(state_file)
    assert json.loads(state_file.read_text())["previous"] == {
        "{}/cpu0/cpufreq/scaling_governor".format(CPU): "powersave",
        "{}/cpu1/cpufreq/scaling_governor".format(CPU): "ondemand",
        "{}/intel_pstate/no_turbo".format(CPU): "0"}
    assert "-> performance" in report.render()

    report = tuning.reset(state_file, root=root)
    assert read(root, "{}/cpu0/cpufreq/scaling_governor".format(CPU)) == "powersave"
    assert read(root, "{}/cpu1/cpufreq/scaling_governor".format(CPU)) == "ondemand"
    assert read(root, "{}/intel_pstate/no_turbo".format(CPU)) == "0"
    assert len(report.changed) == 3 and report.could_not == []
    assert not state_file.exists() and report.state_file is None


def test_a_second_tune_keeps_the_machines_own_values(tmp_path):
    root = fake_sysfs(tmp_path / "root")
    state_file = tmp_path / "tuning.json"
    tuning.tune(state_file, root=root)
    write(root, "{}/cpu1/cpufreq/scaling_governor".format(CPU), "schedutil")  # someone changed it meanwhile
    report = tuning.tune(state_file, root=root)
    assert [(c.previous, c.new) for c in report.changed] == [("schedutil", "performance")]
    assert len(report.already) == 2
    tuning.reset(state_file, root=root)
    assert read(root, "{}/cpu1/cpufreq/scaling_governor".format(CPU)) == "ondemand"  # not our "performance"


def test_no_cpufreq_is_reported_not_raised(tmp_path):
    state_file = tmp_path / "tuning.json"
    report = tuning.tune(state_file, root=tmp_path)
    assert report.changed == []
    reasons = {item.target: item.reason for item in report.could_not}
    assert reasons["cpufreq governor"] == "this machine exposes no cpufreq governor (common in VMs)"
    assert reasons["turbo"] == tuning.NO_TURBO_SWITCH
    assert not state_file.exists()
    report = tuning.reset(state_file, root=tmp_path)
    assert report.changed == [] and "nothing to restore" in report.could_not[0].reason


def test_a_refused_write_needs_root_and_leaves_nothing_to_restore(tmp_path, monkeypatch):
    root = fake_sysfs(tmp_path / "root", governors=["powersave"], no_turbo=None)
    write(root, "{}/cpufreq/boost".format(CPU), "1")
    state_file = tmp_path / "tuning.json"

    def refuse(path, value):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(tuning, "_write", refuse)
    monkeypatch.setattr(tuning.os, "geteuid", lambda: 1000)
    report = tuning.tune(state_file, root=root)
    assert report.changed == []
    assert {item.reason for item in report.could_not} == {"needs root"}
    assert {item.target for item in report.could_not} == {"{}/cpu0/cpufreq/scaling_governor".format(CPU),
                                                           "{}/cpufreq/boost".format(CPU)}
    assert read(root, "{}/cpu0/cpufreq/scaling_governor".format(CPU)) == "powersave"
    assert not state_file.exists()


def test_a_governor_the_driver_does_not_offer_is_not_written(tmp_path):
    root = fake_sysfs(tmp_path / "root", governors=["schedutil"], offered="schedutil", no_turbo="1")
    report = tuning.tune(tmp_path / "tuning.json", root=root)
    assert report.changed == [] and "offers: schedutil" in report.could_not[0].reason
    assert report.already == ["{}/intel_pstate/no_turbo".format(CPU)]


def system_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmatrix")
    add_system_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["system", *argv])


def test_system_defaults_to_show_with_a_state_file_in_the_temporary_directory():
    args = system_args()
    assert (args.action, args.state_file, args.json) == ("show", DEFAULT_STATE_FILE, False)
    with pytest.raises(SystemExit):
        system_args("overclock")


def test_system_show_json_on_the_real_machine(capsys):
    assert command_system(system_args("--json", "--sample", "0.1")) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["state"]["cpu_count"]["online"] == os.cpu_count()
    assert all(item["severity"] in ("warn", "info") for item in output["advice"])


def test_system_tune_and_reset_print_what_changed_then_the_state(tmp_path, capsys):
    root = fake_sysfs(tmp_path / "root")
    state_file = tmp_path / "tuning.json"
    options = ("--root", str(root), "--state-file", str(state_file), "--sample", "0")
    assert command_system(system_args("tune", *options)) == 0
    out = capsys.readouterr().out
    assert "cpu0/cpufreq/scaling_governor: powersave -> performance" in out and str(state_file) in out
    assert "after tune:" in out and "governor: performance on CPU 0-1" in out
    assert command_system(system_args("reset", *options)) == 0
    out = capsys.readouterr().out
    assert "cpu1/cpufreq/scaling_governor: performance -> ondemand" in out
    assert "governor: powersave on CPU 0, ondemand on CPU 1" in out and not state_file.exists()


def test_system_tune_on_a_machine_without_cpufreq_says_what_it_could_not(tmp_path, capsys):
    args = system_args("tune", "--root", str(tmp_path), "--state-file", str(tmp_path / "s.json"), "--sample", "0")
    assert command_system(args) == 0
    assert "could not:\n  cpufreq governor: this machine exposes no cpufreq governor" in capsys.readouterr().out


def test_system_reset_with_a_state_file_not_ours_is_one_line_and_exit_2(tmp_path, capsys):
    state_file = write(tmp_path, "tuning.json", "not json")
    assert command_system(system_args("reset", "--root", str(tmp_path), "--state-file", str(state_file))) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("benchmatrix: error: ") and "not a state file" in line and captured.out == ""
    assert state_file.read_text() == "not json\n"  # left for the user to look at
