"""What a measured run cost the machine, read from /proc and the kernel's rusage.

The server's cost is sampled over its whole process group (master and every
worker); the load generator's is its own CPU time, taken from the rusage of
reaped children, because wrk is the only child that ends inside a measured run.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def live_process_stats() -> Iterator[Tuple[int, List[str]]]:
    """(pid, the /proc/<pid>/stat fields after the command name) for every live, non-zombie process.

    Fields: state is [0], ppid [1], pgrp [2], utime [11], stime [12], starttime [19], rss [21].
    """
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if fields[0] != "Z":
            yield int(entry.name), fields


def group_members(pgid: int) -> Dict[int, Tuple[float, int]]:
    """pid -> (CPU seconds so far, resident bytes) for every live process of the group."""
    return {pid: ((int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[21]) * PAGE_BYTES)
            for pid, fields in live_process_stats() if int(fields[2]) == pgid}


@dataclass
class GroupUsage:
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    pids_before: Optional[Set[int]] = None
    pids_after: Optional[Set[int]] = None

    @property
    def restarted(self) -> bool:
        """True when a worker died or was replaced during the run."""
        return self.pids_before is not None and self.pids_before != self.pids_after


class GroupSampler:
    """Samples a process group's CPU and summed RSS in a thread while a run is under way.

    Summed RSS counts pages shared between pre-forked workers once per worker, so it
    overstates memory; it is still the figure that grows when workers grow.
    """

    def __init__(self, pgid: int, interval_s: float = 0.1):
        self.pgid = pgid
        self.interval_s = interval_s
        self.usage = GroupUsage()
        self._start_cpu: Dict[int, float] = {}
        self._last_cpu: Dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> Dict[int, Tuple[float, int]]:
        members = group_members(self.pgid)
        for pid, (cpu_s, _rss) in members.items():
            self._start_cpu.setdefault(pid, cpu_s)
            self._last_cpu[pid] = cpu_s
        rss = sum(rss for _cpu, rss in members.values())
        self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, rss)
        return members

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> "GroupSampler":
        first = self._sample()
        self._start_cpu = {pid: cpu for pid, (cpu, _rss) in first.items()}
        self.usage.pids_before = set(first)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.usage.pids_after = set(self._sample())
        self.usage.cpu_s = sum(self._last_cpu[pid] - self._start_cpu[pid] for pid in self._last_cpu)


class ChildrenCpu:
    """CPU seconds used by children reaped inside the block (here: the load generator)."""

    def __enter__(self) -> "ChildrenCpu":
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._before = usage.ru_utime + usage.ru_stime
        self.cpu_s = 0.0
        return self

    def __exit__(self, *exc_info) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = usage.ru_utime + usage.ru_stime - self._before


def _cpu_times() -> Tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy_share(window_s: float = 0.5) -> float:
    """Share of all CPUs busy over a short window; taken while the server idles."""
    busy_before, total_before = _cpu_times()
    time.sleep(window_s)  # a measurement window, not a wait for readiness
    busy_after, total_after = _cpu_times()
    total = total_after - total_before
    return (busy_after - busy_before) / total if total else 0.0


class RunQueueWait:
    """Seconds a process's threads spent runnable but waiting for a CPU.

    Read from /proc/<pid>/task/*/schedstat, sampled while the process runs (the
    last sample can be up to one interval old: the process is gone at the end).
    A load generator that waits for CPUs as long as it computes is not setting
    the pace it was asked to; something else on the machine is.
    """

    def __init__(self, pid: int, interval_s: float = 0.1):
        self.pid = pid
        self.interval_s = interval_s
        self._first: Dict[str, int] = {}
        self._last: Dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> None:
        try:
            tasks = list(Path("/proc/{}/task".format(self.pid)).iterdir())
        except OSError:
            return
        for task in tasks:
            try:
                wait_ns = int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
            self._first.setdefault(task.name, wait_ns)
            self._last[task.name] = wait_ns

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    @property
    def wait_s(self) -> float:
        return sum(self._last[tid] - self._first[tid] for tid in self._last) / 1e9

    def __enter__(self) -> "RunQueueWait":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
