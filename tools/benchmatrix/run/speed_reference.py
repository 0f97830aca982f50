"""The machine's speed at a moment: a fixed CPU-bound loop timed on the server's CPUs between slices.

On a shared VM the CPU the server gets can run at a third of its speed for
minutes (measured here: the same cell's CPU time per request ranged 0.27-0.80 ms
within one run). A loop of fixed length, timed just before each slice on the
CPUs the server is pinned to, says how fast those CPUs were then; dividing a
slice's figure by it (run/interleave_rule.Method) takes out the share of the
drift that is the CPU's speed rather than the stack's. Whether that narrows the
interval is measured (`nox -s calibrate`), so the normalization is a switch.

The loop runs in one long-lived child (the harness's own interpreter, -I -S, no
imports), pinned like the server, woken through a pipe: spawning a process per
slice would time Python's start-up, which depends on the disk cache, not the CPU.
Its wall time is taken, not its CPU time: a CPU shared with a neighbour (steal)
is exactly what slows the server too.
"""

from __future__ import annotations

import subprocess
import sys
from typing import List, Optional, Sequence

ITERATIONS = 300_000  # about 20-40 ms of CPython arithmetic: short beside a 1-2 s slice

_LOOP = """
import sys, time
n = int(sys.argv[1])
for line in sys.stdin:
    started = time.perf_counter()
    x = 1
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    print(round((time.perf_counter() - started) * 1000.0, 4), x & 1, flush=True)
"""


class SpeedReference:
    """A context manager: `time_ms()` runs the fixed loop once on the server's CPUs and returns its milliseconds."""

    def __init__(self, cpu_prefix: Sequence[str] = (), iterations: int = ITERATIONS,
                 python: Optional[str] = None):
        self.argv: List[str] = [*cpu_prefix, python or sys.executable, "-I", "-S", "-c", _LOOP, str(iterations)]
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> "SpeedReference":
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, universal_newlines=True, start_new_session=True)
        return self

    def time_ms(self) -> float:
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().split()
        if not answer:
            raise RuntimeError("the speed reference loop ({}) stopped answering".format(" ".join(self.argv[:3])))
        return float(answer[0])

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            if self.process.stdin:
                self.process.stdin.close()  # the loop ends at end of input
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
            self.process = None
