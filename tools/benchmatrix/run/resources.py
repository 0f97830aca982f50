"""What a measured run cost the machine: the server's process tree, the support trees, the load generator, the CPUs.

The server's cost is sampled over its whole process tree (master and every
worker) with psutil. Memory is reported as USS (pages only that process holds)
and PSS (shared pages split between the processes sharing them), because the
summed RSS of pre-forked workers counts the shared interpreter and app once per
worker; the RSS sum is kept for comparison with older records. The processes
the run started beside the server (nginx, PostgreSQL, the upstream stub) are
sampled the same way, for CPU only, so a row can say what each request cost the
whole stack. The load generator's CPU is the rusage of children reaped inside
the run, because wrk is the only child that ends inside a measured run.

A tree's CPU over a window counts processes too short-lived for any sample (a
PostgreSQL backend per connection lives a few ms; a 0.1 s sampler never sees
it) through their parents' reaped-children times: see CpuWindow.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Set, Tuple

import psutil

MEMORY_EVERY = 5  # samples between memory readings: reading smaps costs more than reading CPU times


@dataclass(frozen=True)
class ProcessTimes:
    """One process's CPU seconds at one sample (user + system, as psutil reads them)."""

    cpu_s: float  # the process itself, all its threads
    children_cpu_s: float = 0.0  # the children it has waited for, and theirs (the kernel adds them up the chain)
    parent: Optional[int] = None  # its parent's pid at that sample


# One sample of a tree: each process, keyed by an identity that a reused pid does not share
# (pid and start time), to its times then.
TreeSnapshot = Mapping[Hashable, ProcessTimes]


class CpuWindow:
    """The CPU a process tree used between its first and last snapshot, fed one snapshot at a time.

    A pure function of the snapshots (no psutil here), so the accounting can be proven exactly.
    Sampling every process's own CPU time misses what short-lived processes used: a PostgreSQL
    backend opened per request, or a worker gunicorn or uWSGI restarts, may live and die
    between two samples. The kernel does not lose it: when a parent waits for a child that
    ended, the child's whole lifetime CPU (its own, and its reaped children's) is added to
    the parent's children times. So the window's CPU is

    - for each process alive at the last snapshot: its CPU (own + reaped children) at the
      last snapshot minus its base, the base being its CPU at the first snapshot when it was
      there at the window's start, and 0 when it was first seen later (it was born inside
      the window, with nothing used before it);
    - for each process that disappeared during the window: minus its base. Its whole
      lifetime CPU arrives through its parent's reaped-children delta (counted above), so
      what it used before the window must come off, and what it was seen using inside the
      window must not be counted again from its own samples (it would count twice).

    A disappeared process is counted that way only when an ancestor of it is still in the
    tree at the end, because only that ancestor's children times bring its CPU back; one
    whose line of parents left the tree (the root itself died, its orphans went to init)
    counts what it was seen using, last minus base, which is the best left to know.

    What is not counted: CPU of a child that ended and was not yet waited for at the last
    snapshot (a zombie is still listed and read, so this is only a race of microseconds at
    the last sample), and children orphaned to init before their parent waited for them.
    """

    def __init__(self) -> None:
        self._at_start: Optional[Set[Hashable]] = None
        self._base: Dict[Hashable, ProcessTimes] = {}
        self._last: Dict[Hashable, ProcessTimes] = {}
        self._alive: Set[Hashable] = set()

    def add(self, snapshot: TreeSnapshot) -> None:
        if self._at_start is None:
            self._at_start = set(snapshot)
        for key, times in snapshot.items():
            if key not in self._base:
                self._base[key] = times if key in self._at_start else ProcessTimes(0.0, 0.0, times.parent)
            self._last[key] = times
        self._alive = set(snapshot)

    @property
    def cpu_s(self) -> float:
        by_pid = {_pid_of(key): key for key in self._last}
        alive_pids = {_pid_of(key) for key in self._alive}

        def returns_to_tree(key: Hashable) -> bool:
            """True when an ended process's CPU reaches the children times of a process still in the tree."""
            passed: Set[Hashable] = set()
            parent = self._last[key].parent
            while parent is not None and parent not in alive_pids:
                ancestor = by_pid.get(parent)
                if ancestor is None or ancestor in passed:
                    return False
                passed.add(ancestor)
                parent = self._last[ancestor].parent
            return parent is not None

        total = 0.0
        for key, base in self._base.items():
            last = self._last[key]
            if key in self._alive or not returns_to_tree(key):
                total += (last.cpu_s - base.cpu_s) + (last.children_cpu_s - base.children_cpu_s)
            else:
                total -= base.cpu_s + base.children_cpu_s
        return total


def _pid_of(key: Hashable) -> Any:
    return key[0] if isinstance(key, tuple) else key


def window_cpu_s(snapshots: Sequence[TreeSnapshot]) -> float:
    """The CPU a tree used over the given snapshots, in order (see CpuWindow)."""
    window = CpuWindow()
    for snapshot in snapshots:
        window.add(snapshot)
    return window.cpu_s


@dataclass
class TreeUsage:
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0  # summed over the tree: shared pages counted once per process
    peak_uss_bytes: int = 0
    peak_pss_bytes: int = 0
    pids_before: Optional[Set[int]] = None
    pids_after: Optional[Set[int]] = None
    support_cpu_s: Dict[str, float] = field(default_factory=dict)  # role ("nginx", "postgres") -> its tree's CPU

    @property
    def restarted(self) -> bool:
        """True when a process of the server died during the run (whether or not it was replaced).

        A process that only appeared is not a restart: a pre-fork master still forking its
        last workers when the first one answers adds pids in the first trial (measured: raw
        apps on gunicorn with no primer), and that is boot, not a crash.
        """
        return self.pids_before is not None and bool(self.pids_before - (self.pids_after or set()))

    @property
    def server_processes(self) -> Optional[int]:
        """How many processes the server tree had at the last sample (master included)."""
        return None if self.pids_after is None else len(self.pids_after)

    @property
    def stack_cpu_s(self) -> float:
        """The server's tree and every support tree: what the whole stack under test used."""
        return self.cpu_s + sum(self.support_cpu_s.values())

    def as_resources(self) -> Dict[str, Any]:
        mb = 2 ** 20
        resources: Dict[str, Any] = {
            "server_cpu_s": round(self.cpu_s, 3),
            "server_peak_uss_mb": round(self.peak_uss_bytes / mb, 1),
            "server_peak_pss_mb": round(self.peak_pss_bytes / mb, 1),
            "server_peak_rss_mb": round(self.peak_rss_bytes / mb, 1),
            "support_cpu_s": {role: round(cpu_s, 3) for role, cpu_s in self.support_cpu_s.items()},
            "stack_cpu_s": round(self.stack_cpu_s, 3)}
        if self.server_processes is not None:
            resources["server_processes"] = self.server_processes
        return resources


def process_tree(root_pid: int) -> List[psutil.Process]:
    """The root and all its descendants that are alive now (none when the root is gone)."""
    try:
        root = psutil.Process(root_pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


@dataclass
class TreeMemory:
    rss_bytes: int = 0
    uss_bytes: int = 0
    pss_bytes: int = 0


def read_tree(root_pid: int, with_memory: bool = False
              ) -> Tuple[Dict[Tuple[int, float], ProcessTimes], Optional[TreeMemory]]:
    """One snapshot of a tree's CPU times (keyed by pid and start time), and its summed memory if asked."""
    snapshot: Dict[Tuple[int, float], ProcessTimes] = {}
    memory = TreeMemory() if with_memory else None
    for process in process_tree(root_pid):
        try:
            with process.oneshot():
                times = process.cpu_times()
                key = (process.pid, process.create_time())
                parent = process.ppid()
                full = _memory(process) if memory is not None else None
        except psutil.Error:
            continue  # it ended while we looked
        snapshot[key] = ProcessTimes(times.user + times.system, times.children_user + times.children_system, parent)
        if memory is not None and full is not None:
            memory.rss_bytes += full.rss
            memory.uss_bytes += full.uss
            memory.pss_bytes += getattr(full, "pss", 0)
    return snapshot, memory


def _memory(process: psutil.Process) -> Any:
    """Its memory, or None where it cannot be read (an ended process not yet waited for): its CPU still counts,
    since leaving it out of the snapshot would take it for gone before its parent holds its CPU."""
    try:
        return process.memory_full_info()
    except psutil.Error:
        return None


class ServerTreeSampler:
    """Samples a process tree's CPU time and memory in a thread while a run is under way.

    support_roots (role -> root pid: "nginx", "postgres", "upstream stub") are the processes
    the run started beside the server; each tree is sampled at the same moments, for CPU only.
    """

    def __init__(self, root_pid: int, support_roots: Optional[Mapping[str, int]] = None,
                 interval_s: float = 0.1):
        self.root_pid = root_pid
        self.support_roots = dict(support_roots or {})
        self.interval_s = interval_s
        self.usage = TreeUsage()
        self._server_cpu = CpuWindow()
        self._support_cpu = {role: CpuWindow() for role in self.support_roots}
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> Set[int]:
        with_memory = self._samples % MEMORY_EVERY == 0
        self._samples += 1
        snapshot, memory = read_tree(self.root_pid, with_memory)
        self._server_cpu.add(snapshot)
        for role, root_pid in self.support_roots.items():
            self._support_cpu[role].add(read_tree(root_pid)[0])
        if memory is not None:
            self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, memory.rss_bytes)
            self.usage.peak_uss_bytes = max(self.usage.peak_uss_bytes, memory.uss_bytes)
            self.usage.peak_pss_bytes = max(self.usage.peak_pss_bytes, memory.pss_bytes)
        return {pid for pid, _ in snapshot}

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
        self.usage.cpu_s = self._server_cpu.cpu_s
        self.usage.support_cpu_s = {role: window.cpu_s for role, window in self._support_cpu.items()}


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
