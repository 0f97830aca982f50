"""A project's setup command that outlives its deadline is stopped with everything it started."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from benchmatrix.matrix.cells import App
from benchmatrix.stack.cell_env import CellEnvironment
from benchmatrix.stack.project_app import run_setup
from benchmatrix.stack.readiness import ServiceError


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its new parent to reap it."""
    try:
        with open("/proc/{}/stat".format(pid)) as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_setup_command_past_its_deadline_leaves_no_grandchild_running(tmp_path: Path):
    # The shell starts a sleep in the background (the harness's grandchild), notes its pid, then waits on it.
    app = App(name="shop", targets={"wsgi": "shop:app"}, environment={}, requirements=(), root=tmp_path,
              setup=("sleep 30 & echo $! > sleeper.pid; echo started; wait",))
    started = time.monotonic()
    with pytest.raises(ServiceError) as raised:
        run_setup(app, CellEnvironment(Path(sys.prefix)), {}, lambda line: None, timeout_s=0.5)
    pid = int((tmp_path / "sleeper.pid").read_text())
    deadline = time.monotonic() + 1.0
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(pid)
    assert time.monotonic() - started < 2.0
    assert str(raised.value) == ("setup command of app 'shop' did not finish within 0.5 s (stopped, with what it "
                                 "started): sleep 30 & echo $! > sleeper.pid; echo started; wait\n"
                                 "  last lines of its output:\n    started")
