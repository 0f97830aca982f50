"""One readiness loop for every service: poll a probe to a deadline, noticing early exit.

A service is ready when what the load will hit answers (not when its process
merely exists), so each service supplies its own probe; this loop supplies the
rest: the deadline, the early-exit check, and an error that carries the log tail.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

POLL_INTERVAL_S = 0.05


class ServiceError(RuntimeError):
    """A service did not start or answer; the message carries its log tail."""


class NotReady(Exception):
    """Raised by a probe that knows waiting longer cannot help (its message says why)."""


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log at {})".format(path)
    tail = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) or "    (log is empty)"


def failure(name: str, what: str, command: str, log_path: Path, extra: str = "") -> ServiceError:
    return ServiceError("{} {}\n  command: {}{}\n  last lines of {}:\n{}".format(
        name, what, command, extra, log_path, log_tail(log_path)))


def wait_ready(process: subprocess.Popen, probe: Callable[[], Optional[str]], timeout_s: float,
               name: str, log_path: Path, extra: str = "") -> None:
    """Poll probe() until it returns None (ready), or raise a ServiceError with the log tail.

    probe returns None when ready, else a short description of what it saw
    ("no HTTP answer", "only 502"), used in the timeout message. It may raise
    NotReady to give up at once.
    """
    command = " ".join(map(str, process.args)) if isinstance(process.args, (list, tuple)) else str(process.args)
    deadline = time.monotonic() + timeout_s
    seen = "no answer"
    while True:
        if process.poll() is not None:
            raise failure(name, "exited with code {} before it was ready".format(process.returncode),
                          command, log_path, extra)
        try:
            seen = probe()
        except NotReady as reason:
            raise failure(name, str(reason), command, log_path, extra)
        if seen is None:
            return
        if time.monotonic() > deadline:
            raise failure(name, "was not ready within {:.0f} s ({})".format(timeout_s, seen),
                          command, log_path, extra)
        time.sleep(POLL_INTERVAL_S)
