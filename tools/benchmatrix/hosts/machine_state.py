"""What the machine is doing before a benchmark, and what to change about it.

A number measured on a machine whose clock follows the load (an "ondemand" or
"powersave" governor, turbo boost), whose other processes hold a CPU, or whose
hypervisor lends its CPUs to neighbours, says as much about the machine as
about the server. None of that shows in the number itself, so it is looked at
before measuring (in the spirit of pyperf's `system show`); machine_advice.py says
what in it may skew a benchmark and the command or setting that changes it.

Every reader returns None for a file that is not there rather than failing:
containers and VMs lack much of /sys (no cpufreq at all is common), and a
missing fact is something to report, not a reason to refuse to report the rest.
The readers take a `root` so the tests can point them at a fake /sys and /proc.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import psutil

from benchmatrix.hosts.pinning import available_cpus, format_cpu_list, parse_cpu_list

CPU_DIR = Path("sys/devices/system/cpu")  # relative, so it can be joined to a fake root
CMDLINE_OPTIONS = ("isolcpus", "nohz_full", "rcu_nocbs")
ASLR_MEANINGS = {0: "disabled: every run gets the same memory layout",
                 1: "conservative: stack, mmap and VDSO randomized, heap not",
                 2: "full: stack, mmap, VDSO and heap randomized"}
TOP_PROCESSES = 5


def read_value(path: Path) -> Optional[str]:
    """A /sys or /proc file's text, stripped; None when it is absent or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def cpu_dirs(root: Path) -> List[Path]:
    """cpu0, cpu1, ... in numeric order (cpu10 after cpu9, not after cpu1)."""
    base = root / CPU_DIR
    try:
        entries = [entry for entry in base.iterdir() if entry.name[3:].isdigit() and entry.name.startswith("cpu")]
    except OSError:
        return []
    return sorted(entries, key=lambda entry: int(entry.name[3:]))


def per_cpu_cpufreq(root: Path, name: str) -> Optional[Dict[str, str]]:
    """cpufreq/<name> of every CPU that has one, e.g. {"cpu0": "performance"}; None when no CPU has cpufreq."""
    values = {}
    for cpu in cpu_dirs(root):
        value = read_value(cpu / "cpufreq" / name)
        if value is not None:
            values[cpu.name] = value
    return values or None


def turbo_state(root: Path = Path("/")) -> Optional[Dict[str, Any]]:
    """Whether the CPU may clock above its base frequency, and which switch says so; None when neither exists.

    intel_pstate has its own switch with inverted sense (no_turbo = 1 means off);
    acpi-cpufreq and amd-pstate use cpufreq/boost (1 means on).
    """
    no_turbo = read_value(root / CPU_DIR / "intel_pstate" / "no_turbo")
    if no_turbo in ("0", "1"):
        return {"enabled": no_turbo == "0", "source": "intel_pstate/no_turbo", "value": no_turbo}
    boost = read_value(root / CPU_DIR / "cpufreq" / "boost")
    if boost in ("0", "1"):
        return {"enabled": boost == "1", "source": "cpufreq/boost", "value": boost}
    return None


def _cpu_list_file(path: Path) -> Optional[List[int]]:
    """A kernel CPU list file as CPUs; [] when it is empty (nothing configured), None when absent."""
    text = read_value(path)
    if text is None:
        return None
    if text in ("", "(null)"):  # nohz_full reads "(null)" on some kernels when not configured
        return []
    try:
        return parse_cpu_list(text)
    except ValueError:
        return None


def isolated_cpus(root: Path = Path("/")) -> Optional[List[int]]:
    return _cpu_list_file(root / CPU_DIR / "isolated")


def nohz_full_cpus(root: Path = Path("/")) -> Optional[List[int]]:
    return _cpu_list_file(root / CPU_DIR / "nohz_full")


def cmdline_options(root: Path = Path("/")) -> Optional[Dict[str, Optional[str]]]:
    """The kernel command line's CPU isolation options: value, "" for a bare flag, None when not given."""
    text = read_value(root / "proc" / "cmdline")
    if text is None:
        return None
    words = text.split()
    if "--" in words:  # what follows is for init, not the kernel
        words = words[:words.index("--")]
    found: Dict[str, Optional[str]] = {name: None for name in CMDLINE_OPTIONS}
    for word in words:
        name, _, value = word.partition("=")
        if name in found:
            found[name] = value  # the last one wins, as in the kernel
    return found


def aslr(root: Path = Path("/")) -> Optional[Dict[str, Any]]:
    text = read_value(root / "proc" / "sys" / "kernel" / "randomize_va_space")
    if text is None or not text.isdigit():
        return None
    value = int(text)
    return {"value": value, "meaning": ASLR_MEANINGS.get(value, "unknown setting")}


def _cpuinfo_first_block(root: Path) -> Dict[str, str]:
    """The first processor's "key: value" lines of /proc/cpuinfo (the others repeat them on every machine we run on)."""
    text = read_value(root / "proc" / "cpuinfo") or ""
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model(root: Path = Path("/")) -> Optional[str]:
    fields = _cpuinfo_first_block(root)
    # "model name" on x86; ARM kernels have no such line, and platform.processor() is often empty there too.
    fallback = platform.processor() if root == Path("/") else None
    return fields.get("model name") or fields.get("Hardware") or fallback or None


def _detect_virt(command: str, kind: str) -> Optional[str]:
    """systemd-detect-virt --vm or --container: the technology's name, None for "none" or when it cannot say."""
    try:
        completed = subprocess.run([command, "--" + kind], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    answer = completed.stdout.decode("utf-8", errors="replace").strip()
    return answer if completed.returncode == 0 and answer and answer != "none" else None


def virtualization(root: Path = Path("/"), detect_virt: Optional[str] = None) -> Dict[str, Any]:
    """VM and container, as systemd-detect-virt names them, else from the cpuinfo `hypervisor` flag.

    The VM and the container are asked apart: plain systemd-detect-virt names only
    the container when there is both, and it is the VM that lends CPUs to neighbours.
    """
    flags = _cpuinfo_first_block(root).get("flags")
    hypervisor_flag = None if flags is None else "hypervisor" in flags.split()
    if detect_virt:
        return {"vm": _detect_virt(detect_virt, "vm"), "container": _detect_virt(detect_virt, "container"),
                "hypervisor_flag": hypervisor_flag, "detected_by": "systemd-detect-virt"}
    # The flag says there is a hypervisor, not which one; a container cannot be told from it.
    return {"vm": "unknown hypervisor" if hypervisor_flag else None, "container": None,
            "hypervisor_flag": hypervisor_flag, "detected_by": "cpuinfo hypervisor flag"}


def kernel_release(root: Path = Path("/")) -> Optional[str]:
    release = read_value(root / "proc" / "sys" / "kernel" / "osrelease")
    return release or (platform.release() if root == Path("/") else None)


def load_average(root: Path = Path("/")) -> Optional[List[float]]:
    """1, 5 and 15 minute load averages (runnable plus uninterruptible tasks)."""
    text = read_value(root / "proc" / "loadavg")
    try:
        return [float(field) for field in text.split()[:3]] if text else None
    except ValueError:
        return None


def _own_pids() -> set:
    """This process, everything it started and the processes that started it (nox, a matrix run's
    parent): the run's own work is not competition, however busy it was a moment ago."""
    pids = {os.getpid()}
    try:
        me = psutil.Process()
        pids.update(child.pid for child in me.children(recursive=True))
        pids.update(parent.pid for parent in me.parents() if parent.pid > 1)
    except psutil.Error:
        pass
    return pids


class OthersCpu:
    """CPUs other processes kept busy while the block ran (never the run's own, see _own_pids).

    CPU times of every other process at the start and the end; one that started meanwhile is
    missed, so the figure is a lower bound, which is the side a "was it quiet?" check may err on.
    """

    def __init__(self) -> None:
        self.busy_cpus: Optional[float] = None
        self._start: Dict[int, float] = {}
        self._started_at = 0.0

    @staticmethod
    def _others() -> Dict[int, float]:
        excluded, times = _own_pids(), {}
        for process in psutil.process_iter():
            if process.pid in excluded:
                continue
            try:
                used = process.cpu_times()
                times[process.pid] = used.user + used.system
            except psutil.Error:
                continue
        return times

    def __enter__(self) -> "OthersCpu":
        self._start, self._started_at = self._others(), time.monotonic()
        return self

    def __exit__(self, *exc_info) -> None:
        elapsed = time.monotonic() - self._started_at
        end = self._others()
        used = sum(max(end[pid] - self._start[pid], 0.0) for pid in end if pid in self._start)
        self.busy_cpus = used / elapsed if elapsed > 0 else None


def busiest_processes(sample_s: float = 0.5, top: int = TOP_PROCESSES) -> List[Dict[str, Any]]:
    """The other processes that used the most CPU over the next `sample_s` seconds.

    Measured over a window rather than read from ps's lifetime average, which
    would rank a long-idle daemon that once worked hard above a job busy now.
    cpu_percent is of one CPU (a process spinning on one CPU is 100). Processes
    that used nothing are left out: five idle names would say nothing.
    """
    excluded = _own_pids()
    watched = []
    for process in psutil.process_iter():
        if process.pid in excluded:
            continue
        try:
            process.cpu_percent(None)  # the first call only sets the starting point
            watched.append(process)
        except psutil.Error:
            continue  # ended meanwhile, or not ours to look at
    time.sleep(sample_s)
    excluded = _own_pids()  # children started during the sample are ours too
    busy = []
    for process in watched:
        if process.pid in excluded:
            continue
        try:
            percent = process.cpu_percent(None)
            if percent > 0:
                busy.append({"pid": process.pid, "name": process.name(), "cpu_percent": round(percent, 1)})
        except psutil.Error:
            continue
    busy.sort(key=lambda entry: entry["cpu_percent"], reverse=True)
    return busy[:top]


def collect_machine_state(root: Path = Path("/"), sample_s: float = 0.5) -> Dict[str, Any]:
    """Everything below as one JSON-able dict; takes about `sample_s` seconds (the process sample).

    With another root the files come from there, but CPU counts and processes are
    this machine's, and systemd-detect-virt is not run: it would describe this one.
    """
    detect_virt = shutil.which("systemd-detect-virt") if root == Path("/") else None
    cpus = available_cpus()
    return {
        "cpu_model": cpu_model(root),
        "cpu_count": {"available": len(cpus), "online": os.cpu_count(), "available_list": format_cpu_list(cpus)},
        "governors": per_cpu_cpufreq(root, "scaling_governor"),
        "scaling_drivers": per_cpu_cpufreq(root, "scaling_driver"),
        "turbo": turbo_state(root),
        "isolated_cpus": isolated_cpus(root),
        "nohz_full_cpus": nohz_full_cpus(root),
        "kernel_cmdline": cmdline_options(root),
        "aslr": aslr(root),
        "kernel_release": kernel_release(root),
        "virtualization": virtualization(root, detect_virt),
        "load_average": load_average(root),
        "busiest_processes": busiest_processes(sample_s) if sample_s > 0 else None,  # None: not sampled
        "sample_s": sample_s,
    }
