"""What in the machine's state (machine_state.py) may skew a benchmark, and what to change about it.

Each finding comes with the command or setting that changes it; `render_state`
shows the state and the advice on a terminal (`benchmatrix system show`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence

from benchmatrix.hosts.pinning import format_cpu_list, parse_cpu_list
from benchmatrix.run.option_specs import default

# Other processes busy now, as a share of all CPUs, above which they compete with the benchmark: the
# --max-busy default, so the warning, the machine-busy flag and a quiet ceiling (load/ceiling.py) agree.
OTHERS_BUSY_LIMIT = default("--max-busy")
ISOLATION_MIN_CPUS = 4  # below this, isolating CPUs leaves too few for everything else


@dataclass(frozen=True)
class Advice:
    topic: str
    finding: str  # what was found, with the values that show it
    what_to_do: str  # the command or setting that changes it
    severity: str = "warn"  # "warn": likely skews the numbers; "info": worth knowing when reading them

    def as_dict(self) -> Dict[str, str]:
        return asdict(self)


def _by_value(per_cpu: Dict[str, str]) -> Dict[str, List[int]]:
    """{"cpu0": "a", "cpu1": "a", "cpu2": "b"} as {"a": [0, 1], "b": [2]}."""
    grouped: Dict[str, List[int]] = {}
    for cpu, value in per_cpu.items():
        grouped.setdefault(value, []).append(int(cpu[3:]))
    return grouped


def _grouped_text(per_cpu: Dict[str, str]) -> str:
    return ", ".join("{} on CPU {}".format(value, format_cpu_list(cpus)) for value, cpus in _by_value(per_cpu).items())


def _process_list(processes: Sequence[Dict[str, Any]]) -> str:
    return ", ".join("{} (pid {}, {:.0f}% of a CPU)".format(p["name"], p["pid"], p["cpu_percent"]) for p in processes)


def _competition(state: Dict[str, Any], available: int) -> List[Advice]:
    """Other processes busy now, from the sample just taken (never the run's own processes).

    Not the 1-minute load average: it remembers the run's own previous cell and its preparation
    for a minute (a fresh smoke warned before 59 of its 65 cells on a quiet machine). Where nothing
    was sampled (--machine-sample 0) nothing is said: the record keeps `busiest_processes: null`.
    """
    busiest = state.get("busiest_processes")
    if not busiest:
        return []
    others = sum(process["cpu_percent"] for process in busiest) / 100.0  # in CPUs
    if others <= OTHERS_BUSY_LIMIT * available:
        return []
    load = state.get("load_average")
    return [Advice(
        "load",
        "other processes kept {:.1f} of {} available CPU{} busy over the last {}s (above {:.0%}): {}{}".format(
            others, available, "" if available == 1 else "s", state.get("sample_s", 0.5), OTHERS_BUSY_LIMIT,
            _process_list(busiest), "; 1-minute load average {:.2f}".format(load[0]) if load else ""),
        "stop those processes or wait for them to finish (kill PID, or systemctl stop the service), then check "
        "again with `python -m benchmatrix system show`")]


def advice(state: Dict[str, Any]) -> List[Advice]:
    """What in `state` may skew a benchmark, most damaging first; [] for a machine with nothing to say."""
    found: List[Advice] = []
    available = (state.get("cpu_count") or {}).get("available") or 1

    found += _competition(state, available)

    governors = state.get("governors")
    if governors:
        slow = {cpu: governor for cpu, governor in governors.items() if governor != "performance"}
        if slow:
            found.append(Advice(
                "governor",
                "cpufreq governor is {}: the clock speed follows the load, so the first seconds of every "
                "run are measured at a lower frequency than the rest".format(_grouped_text(slow)),
                "`python -m benchmatrix system tune` as root (undo with `system reset`), or "
                "`cpupower frequency-set -g performance`"))

    turbo = state.get("turbo")
    if turbo and turbo.get("enabled"):
        off = "1" if turbo["source"] == "intel_pstate/no_turbo" else "0"
        found.append(Advice(
            "turbo",
            "turbo boost is on ({} = {}): the clock rises and falls with temperature and with how many "
            "cores are busy, so the same code runs at different speeds".format(turbo["source"], turbo["value"]),
            "`python -m benchmatrix system tune` as root (undo with `system reset`), or "
            "`echo {} > /sys/devices/system/cpu/{}`".format(off, turbo["source"])))

    randomization = state.get("aslr")
    if randomization and randomization.get("value") == 0:
        found.append(Advice(
            "aslr",
            "ASLR is disabled (kernel.randomize_va_space = 0): every run gets the same memory layout, "
            "so a number may be tied to one lucky or unlucky layout and not repeat elsewhere",
            "`sysctl -w kernel.randomize_va_space=2` (full randomization, as pyperf recommends), and "
            "kernel.randomize_va_space = 2 in /etc/sysctl.d/ to keep it across reboots"))

    if not state.get("isolated_cpus"):
        if available >= ISOLATION_MIN_CPUS:
            listed = (state.get("cpu_count") or {}).get("available_list")
            cpus = parse_cpu_list(listed) if listed else list(range(available))
            # One CPU stays with the kernel and everything else; the rest are split as --pin auto would.
            isolated = cpus[1:]
            server, load_side = isolated[:len(isolated) // 2], isolated[len(isolated) // 2:]
            found.append(Advice(
                "isolation",
                "no CPU is isolated: kernel threads, interrupts and every other process may be scheduled "
                "on the CPUs the server and load generator run on",
                "boot with isolcpus={0} nohz_full={0} rcu_nocbs={0} on the kernel command line "
                "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot), then run with "
                "--pin {1}:{2} (the scheduler does not move work between isolated CPUs, so each side "
                "needs its own list)".format(format_cpu_list(isolated), format_cpu_list(server),
                                             format_cpu_list(load_side)),
                severity="info"))
        else:
            found.append(Advice(
                "isolation",
                "no CPU is isolated, and with {} available CPU{} isolating one is not practical: it would "
                "leave everything else, the load generator included, too few".format(
                    available, "" if available == 1 else "s"),
                "nothing to change; --pin auto (the default) already keeps the server and the load "
                "generator on separate CPUs{}".format("" if available >= 2 else " when there are two or more"),
                severity="info"))

    virt = state.get("virtualization") or {}
    if virt.get("vm") or virt.get("container"):
        kinds = [text for text in ("container ({})".format(virt["container"]) if virt.get("container") else None,
                                   "VM ({})".format(virt["vm"]) if virt.get("vm") else None)
                 if text]
        found.append(Advice(
            "virtualization",
            "running in a {}{}: the host may lend these CPUs to other guests (steal time) and their "
            "load changes this machine's speed from minute to minute".format(
                " inside a ".join(kinds), ", detected by " + virt["detected_by"] if virt.get("detected_by") else ""),
            "compare numbers only within one run (`python -m benchmatrix interleave` alternates the "
            "contenders' trials), not against another run, day or machine; a dedicated host or pinned "
            "vCPUs make them steadier",
            severity="info"))
    return found


def _cpu_text(cpus: Optional[List[int]]) -> str:
    if cpus is None:
        return "not exposed"
    return format_cpu_list(cpus) or "none"


def render_state(state: Dict[str, Any], found: Sequence[Advice]) -> str:
    """`state` as "key: value" lines, then the advice, for a terminal."""
    count = state.get("cpu_count") or {}
    governors = state.get("governors")
    drivers = state.get("scaling_drivers")
    turbo = state.get("turbo")
    cmdline = state.get("kernel_cmdline")
    randomization = state.get("aslr")
    virt = state.get("virtualization") or {}
    load = state.get("load_average")
    busiest = state.get("busiest_processes") or []
    lines = [
        "cpu_model: {}".format(state.get("cpu_model") or "unknown"),
        "cpu_count: {} available of {} online".format(count.get("available"), count.get("online")),
        "governor: {}".format(_grouped_text(governors) if governors else "not exposed (no cpufreq)"),
        "scaling_driver: {}".format(_grouped_text(drivers) if drivers else "not exposed (no cpufreq)"),
        "turbo: {}".format("{} ({} = {})".format("on" if turbo["enabled"] else "off", turbo["source"], turbo["value"])
                           if turbo else "not exposed"),
        "isolated_cpus: {}".format(_cpu_text(state.get("isolated_cpus"))),
        "nohz_full: {}".format(_cpu_text(state.get("nohz_full_cpus"))),
        "kernel_cmdline: {}".format(" ".join("{}={}".format(name, "(not set)" if value is None else value)
                                             for name, value in cmdline.items()) if cmdline else "unreadable"),
        "aslr: {}".format("{} ({})".format(randomization["value"], randomization["meaning"])
                          if randomization else "unreadable"),
        "kernel_release: {}".format(state.get("kernel_release") or "unknown"),
        "virtualization: vm {}, container {} (by {})".format(virt.get("vm") or "none", virt.get("container") or "none",
                                                              virt.get("detected_by", "nothing")),
        "load_average: {}".format(" ".join("{:.2f}".format(value) for value in load) if load else "unreadable"),
        "busiest_processes: {}".format(_process_list(busiest) if busiest else "not sampled"
                                       if state.get("busiest_processes") is None else "none busy during the sample"),
    ]
    lines.append("advice:" if found else "advice: none, the machine looks ready")
    for item in found:
        lines.append("  [{}] {}: {}".format(item.severity, item.topic, item.finding))
        lines.append("      what to do: {}".format(item.what_to_do))
    return "\n".join(lines)
