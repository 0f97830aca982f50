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

The child is in its own process group, stopped as a group however the run ends
(stack/process.stop_group). An answer that does not come within ANSWER_TIMEOUT_S,
or a child that died, is a ServiceError, which the interleaved comparison records
as a failed slice (load-failed) rather than losing the scenario's slices or hanging.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from typing import List, Optional, Sequence

from benchmatrix.stack.process import signals_deferred, stop_group
from benchmatrix.stack.readiness import ServiceError

# About 45-90 ms of CPython arithmetic (measured on the project's shared 2-core VM, Python 3.13, in the
# records' speed_reference_ms): short beside a 1-2 s slice.
ITERATIONS = 300_000
ANSWER_TIMEOUT_S = 10.0  # a hundred times the loop's usual time: only a stuck or starved child takes longer

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
                 python: Optional[str] = None, timeout_s: float = ANSWER_TIMEOUT_S):
        self.argv: List[str] = [*cpu_prefix, python or sys.executable, "-I", "-S", "-c", _LOOP, str(iterations)]
        self.timeout_s = timeout_s
        self.process: Optional[subprocess.Popen] = None
        self._pending = b""
        self._failed = False  # it did not answer: no point waiting for it to end on its own

    def __enter__(self) -> "SpeedReference":
        with signals_deferred():  # an interrupt right after fork must not lose the child
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    def time_ms(self) -> float:
        """The loop's milliseconds; ServiceError if the child is gone or does not answer within timeout_s."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        try:
            self.process.stdin.write(b"go\n")
            self.process.stdin.flush()
        except OSError as error:  # BrokenPipeError: the child has exited
            raise self._failure("stopped ({})".format(error.strerror or error))
        answer = self._read_line().split()
        try:
            return float(answer[0])
        except (IndexError, ValueError):
            raise self._failure("answered {!r}".format(b" ".join(answer).decode(errors="replace")))

    def _read_line(self) -> bytes:
        """One line of the child's output, waiting at most timeout_s (a plain readline would wait forever)."""
        assert self.process is not None and self.process.stdout
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + self.timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise self._failure("did not answer within {:g} s".format(self.timeout_s))
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise self._failure("stopped answering (exit status {})".format(self.process.poll()))
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _failure(self, what: str) -> ServiceError:
        self._failed = True
        return ServiceError("the speed reference loop ({}) {}".format(" ".join(self.argv[:3]), what))

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.stdin:
            try:
                process.stdin.close()  # the loop ends at end of input
            except OSError:
                pass  # the child is gone already: its pipe cannot be flushed
        if not self._failed:
            try:
                process.wait(timeout=0.5)  # a loop of 45-90 ms ends well within it
            except subprocess.TimeoutExpired:
                pass  # stuck mid-loop: its group is stopped below
        stop_group(process, grace_s=2.0)  # the whole group, whatever the loop started or however it hangs
        if process.stdout:
            process.stdout.close()
