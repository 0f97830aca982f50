"""The machine lock with real processes and the kernel's own locks.

Every test points BENCHMATRIX_MACHINE_LOCK at a file of its own, so none waits on
(or blocks) a real benchmark running on this machine. Deadlines are generous and
only turn a hang into a failure; no assertion depends on how fast anything is.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

from benchmatrix.hosts import machine_lock as module
from benchmatrix.hosts.machine_lock import ENV_VARIABLE, LockHold, MachineBusy, describe_holder, lock_path, machine_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0
WHAT = "bench gunicorn/flask py3.13"


@pytest.fixture
def lock_file(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "machine.lock"
    monkeypatch.setenv(ENV_VARIABLE, str(path))
    return path


@pytest.fixture
def spawn(lock_file: Path):
    """Starts `machine_lock hold` processes on the test's lock file; kills each by pid at the end."""
    started: List[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmatrix.hosts.machine_lock", "hold", *args],
            cwd=str(REPO_ROOT), env=dict(os.environ, **{ENV_VARIABLE: str(lock_file)}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
            process.stdout.close()
            process.stderr.close()


def wait_for_held(process: subprocess.Popen) -> None:
    """Until the process prints "held"; fails (with its stderr) if it exits or the deadline passes first."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            line = process.stdout.readline()
            if line.strip() == "held":
                return
            if not line:
                break  # end of output: it exited
    process.kill()
    pytest.fail("holder never said held; exit {}, stderr:\n{}".format(process.wait(), process.stderr.read()))


def holder(spawn, what: str = WHAT) -> subprocess.Popen:
    process = spawn("600", "--what", what)
    wait_for_held(process)
    return process


def until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.02)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_holder_makes_no_wait_refuse_at_once_naming_it(lock_file, spawn):
    process = holder(spawn)
    said: List[str] = []
    with pytest.raises(MachineBusy) as raised:
        with machine_lock("second", wait=False, say=said.append):
            pytest.fail("got the machine while another process held it")
    message = str(raised.value)
    assert "pid {}".format(process.pid) in message and WHAT in message, message
    assert "since 20" in message and "without --no-wait" in message, message
    assert said == []
    assert "pid {} ({})".format(process.pid, WHAT) in describe_holder(str(lock_file))


def test_a_waiter_gets_the_machine_only_after_the_holder_ends(lock_file, spawn):
    process = holder(spawn)
    said: List[str] = []
    held = threading.Event()
    result: List[LockHold] = []

    def waiter() -> None:
        with machine_lock("waiter", wait=True, say=said.append, poll_s=0.02, remind_s=0.1) as hold:
            result.append(hold)
            held.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    try:
        # The first line and a reminder: it is waiting, and keeps saying so.
        until(lambda: len(said) >= 2, "the waiter to say it waits and remind once")
        assert not held.is_set() and process.poll() is None
        process.terminate()  # a normal exit: the holder's cleanup runs and releases
        assert process.wait(timeout=DEADLINE_S) == 0
        thread.join(DEADLINE_S)
        assert held.is_set(), "the waiter never got the machine after the holder ended"
    finally:
        process.kill()
    (hold,) = result
    assert hold.waited_s > 0 and hold.path == str(lock_file)
    assert "pid {} ({})".format(process.pid, WHAT) in hold.holder_seen
    first, reminder = said[0], said[1]
    assert first.startswith("waiting for the machine: held by pid {} ({}) since ".format(process.pid, WHAT))
    assert "--no-wait" in first
    assert "still waiting" in reminder and "pid {}".format(process.pid) in reminder
    assert said[-1].startswith("got the machine after waiting")


def test_sigkill_of_the_holder_releases_the_machine(lock_file, spawn):
    process = holder(spawn)
    with pytest.raises(MachineBusy):
        with machine_lock("second", wait=False, say=pytest.fail):
            pass
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # Its description is left behind (it had no chance to clear it) and names a dead process.
    assert "which has exited" in describe_holder(str(lock_file))
    with machine_lock("after the kill", wait=False, say=pytest.fail) as hold:
        assert hold.waited_s == 0.0 and hold.holder_seen is None


def test_a_stale_description_blocks_no_one(lock_file):
    pid = dead_pid()
    lock_file.write_text(json.dumps({"pid": pid, "what": WHAT, "since": "2026-12-02T19:40:02Z",
                                     "since_epoch": time.time() - 12, "command": ["python"]}))
    with machine_lock("mine", wait=False, say=pytest.fail) as hold:
        assert hold.holder_seen is None
        assert json.loads(lock_file.read_text())["pid"] == os.getpid()
    lock_file.write_text("{not json")  # half written, or by something else entirely
    with machine_lock("mine", wait=False, say=pytest.fail):
        pass


def test_a_holder_without_a_usable_description_still_gets_a_sensible_message(lock_file):
    # A holder between taking the lock and describing itself, or one whose description is a dead pid's.
    with open(lock_file, "w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # another open file, so a different owner, even in this process
        with pytest.raises(MachineBusy) as raised:
            with machine_lock("second", wait=False):
                pass
        assert "has not said who it is" in str(raised.value) and str(lock_file) in str(raised.value)
        pid = dead_pid()
        lock_file.write_text(json.dumps({"pid": pid, "what": WHAT, "since": "2026-12-02T19:40:02Z"}))
        with pytest.raises(MachineBusy) as raised:
            with machine_lock("second", wait=False):
                pass
        message = str(raised.value)
        assert "has not said who it is" in message and "pid {}".format(pid) in message and "has exited" in message


def test_release_leaves_the_file_and_lets_the_next_process_in(lock_file, spawn):
    with machine_lock(WHAT, wait=False, say=pytest.fail) as hold:
        record = json.loads(lock_file.read_text())
        assert record["pid"] == os.getpid() and record["what"] == WHAT and record["since"] == hold.acquired_at
        assert abs(record["since_epoch"] - time.time()) < 3600 and record["command"]
        inode = lock_file.stat().st_ino
    assert lock_file.exists() and lock_file.stat().st_ino == inode
    assert describe_holder(str(lock_file)) is None  # the holder cleared its description on the way out
    holder(spawn, what="next")  # proves the next process gets in
    assert lock_file.stat().st_ino == inode


def test_taking_it_twice_in_one_process_raises_and_keeps_the_first(lock_file, spawn):
    with machine_lock("outer", wait=False):
        with pytest.raises(RuntimeError, match="already holds"):
            with machine_lock("inner", wait=False):
                pass
        refused = spawn("0", "--no-wait")
        _, stderr = refused.communicate(timeout=DEADLINE_S)
        assert refused.returncode == 1 and "pid {} (outer)".format(os.getpid()) in stderr, stderr
    with machine_lock("again", wait=False):  # released, and the flag with it
        pass


def test_the_file_is_writable_by_every_user_whatever_the_umask(lock_file):
    previous = os.umask(0o077)
    try:
        with machine_lock("mine", wait=False):
            pass
    finally:
        os.umask(previous)
    assert lock_file.stat().st_mode & 0o777 == 0o666


def test_lock_path_is_machine_wide_unless_told(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path / "chosen.lock"))
    assert lock_path() == str(tmp_path / "chosen.lock")
    monkeypatch.delenv(ENV_VARIABLE)
    monkeypatch.setattr(module, "RUN_LOCK_DIR", str(tmp_path))
    assert lock_path() == str(tmp_path / "benchmatrix.lock")
    monkeypatch.setattr(module, "RUN_LOCK_DIR", str(tmp_path / "absent"))
    monkeypatch.setattr(module.tempfile, "gettempdir", lambda: "/somewhere/tmp")
    assert lock_path() == "/somewhere/tmp/benchmatrix.lock"
