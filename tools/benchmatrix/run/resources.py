"""What a measured run cost the machine: the server's process tree, the load generator, the CPUs.

The server's cost is sampled over its whole process tree (master and every
worker) with psutil. Memory is reported as USS (pages only that process holds)
and PSS (shared pages split between the processes sharing them), because the
summed RSS of pre-forked workers counts the shared interpreter and app once per
worker; the RSS sum is kept for comparison with older records. The load
generator's CPU is the rusage of children reaped inside the run, because wrk is
the only child that ends inside a measured run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set

import psutil

MEMORY_EVERY = 5  # samples between memory readings: reading smaps costs more than reading CPU times


@dataclass
class TreeUsage:
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0  # summed over the tree: shared pages counted once per process
    peak_uss_bytes: int = 0
    peak_pss_bytes: int = 0
    pids_before: Optional[Set[int]] = None
    pids_after: Optional[Set[int]] = None

    @property
    def restarted(self) -> bool:
        """True when a process of the server died during the run (whether or not it was replaced).

        A process that only appeared is not a restart: a pre-fork master still forking its
        last workers when the first one answers adds pids in the first trial (measured: raw
        apps on gunicorn with no primer), and that is boot, not a crash.
        """
        return self.pids_before is not None and bool(self.pids_before - (self.pids_after or set()))

    def as_resources(self) -> Dict[str, float]:
        mb = 2 ** 20
        return {"server_cpu_s": round(self.cpu_s, 3),
                "server_peak_uss_mb": round(self.peak_uss_bytes / mb, 1),
                "server_peak_pss_mb": round(self.peak_pss_bytes / mb, 1),
                "server_peak_rss_mb": round(self.peak_rss_bytes / mb, 1)}


def process_tree(root_pid: int) -> List[psutil.Process]:
    """The root and all its descendants that are alive now (none when the root is gone)."""
    try:
        root = psutil.Process(root_pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


class ServerTreeSampler:
    """Samples a process tree's CPU time and memory in a thread while a run is under way."""

    def __init__(self, root_pid: int, support_roots=None, interval_s: float = 0.1):
        self.root_pid = root_pid
        self.interval_s = interval_s
        self.usage = TreeUsage()
        self._start_cpu: Dict[int, float] = {}
        self._last_cpu: Dict[int, float] = {}
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> Set[int]:
        with_memory = self._samples % MEMORY_EVERY == 0
        self._samples += 1
        seen: Set[int] = set()
        rss = uss = pss = 0
        for process in process_tree(self.root_pid):
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    memory = process.memory_full_info() if with_memory else None
            except psutil.Error:
                continue  # it ended while we looked
            cpu_s = times.user + times.system
            self._start_cpu.setdefault(process.pid, cpu_s)
            self._last_cpu[process.pid] = cpu_s
            seen.add(process.pid)
            if memory is not None:
                rss, uss, pss = rss + memory.rss, uss + memory.uss, pss + getattr(memory, "pss", 0)
        if with_memory:
            self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, rss)
            self.usage.peak_uss_bytes = max(self.usage.peak_uss_bytes, uss)
            self.usage.peak_pss_bytes = max(self.usage.peak_pss_bytes, pss)
        return seen

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> "ServerTreeSampler":
        self.usage.pids_before = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._samples = 0  # the last sample reads memory too, so a short run still has a figure
        self.usage.pids_after = self._sample()
        self.usage.cpu_s = sum(self._last_cpu[pid] - self._start_cpu[pid] for pid in self._last_cpu)


class ChildrenCpu:
    """CPU seconds used by children reaped inside the block (here: the load generator)."""

    @staticmethod
    def _reaped_cpu_s() -> float:
        times = psutil.Process().cpu_times()
        return times.children_user + times.children_system

    def __enter__(self) -> "ChildrenCpu":
        self._before = self._reaped_cpu_s()
        self.cpu_s = 0.0
        return self

    def __exit__(self, *exc_info) -> None:
        self.cpu_s = self._reaped_cpu_s() - self._before


def machine_busy_share(window_s: float = 0.5) -> float:
    """Share of all CPUs busy over a short window (iowait counts as idle); taken while the server idles."""
    return psutil.cpu_percent(interval=window_s) / 100.0


class RunQueueWait:
    """Seconds a process's threads spent runnable but waiting for a CPU.

    Read from /proc/<pid>/task/*/schedstat, which psutil does not expose, sampled
    while the process runs (the last sample can be up to one interval old: the
    process is gone at the end).
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
