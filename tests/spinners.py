"""Busy processes for tests of "is the machine busy?": one that is ours, one that is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Optional

import psutil

SPIN = "import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass\n"


def wait_until_spinning(pid: int) -> None:
    """Until the interpreter has started and is burning CPU, so the sample sees it spin."""
    deadline = time.monotonic() + 10
    process = psutil.Process(pid)
    while sum(process.cpu_times()[:2]) < 0.1:
        assert time.monotonic() < deadline, "the spinner {} never got going".format(pid)
        time.sleep(0.02)


def start_detached_spinner() -> int:
    """A spinner that is not our descendant: its parent exits at once, so it is handed to init (or a subreaper)."""
    launcher = ("import subprocess, sys\n"
                "spinner = subprocess.Popen([sys.executable, '-c', {!r}], stdin=subprocess.DEVNULL,\n"
                "                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                "print(spinner.pid)\n").format(SPIN)
    completed = subprocess.run([sys.executable, "-c", launcher], stdout=subprocess.PIPE, check=True, timeout=30)
    return int(completed.stdout)


def stop(pid: Optional[int]) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
