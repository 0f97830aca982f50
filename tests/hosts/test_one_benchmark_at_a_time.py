"""Two benchmarks on one machine never measure at the same time: real harness runs, a real kernel lock."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT, Harness
from benchmatrix.hosts.machine_lock import ENV_VARIABLE, describe_holder


@pytest.fixture
def lock_file(tmp_path, monkeypatch):
    # The runs below contend for this file exactly as for the machine's; a private one keeps the
    # test from queueing behind (or holding up) a real benchmark on this machine.
    path = tmp_path / "machine.lock"
    monkeypatch.setenv(ENV_VARIABLE, str(path))
    return path


def bench_argv(harness: Harness):
    return harness.argv("run", "--server", "gunicorn", "--app", "flask", "--scenarios", "json", "--duration", "1s",
                        "--warmup", "0", "--primer", "0", "--trials", "1", "--connections", "8", "--max-busy", "1",
                        "--machine-sample", "0", "--results-dir", str(harness.results_dir))


def wait_until_held_by(pid: int, lock_file, deadline_s: float = 60.0) -> None:
    """Until the lock file names `pid` as its holder: the run has taken the machine."""
    deadline = time.monotonic() + deadline_s
    while "pid {} ".format(pid) not in (describe_holder(str(lock_file)) or ""):
        assert time.monotonic() < deadline, "the first run never took the machine"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_bench_started_while_another_holds_the_machine_runs_after_it(tmp_path, lock_file):
    # The second starts once the first holds the machine (not merely at the same moment: a quick
    # first run could end before the second asks, and then nothing would be tested). Different
    # results folders: the lock is the machine's, not the folder's.
    runs = [Harness(tmp_path / "first"), Harness(tmp_path / "second")]
    processes = []
    try:
        for harness in runs:
            processes.append(subprocess.Popen(bench_argv(harness), cwd=str(REPO_ROOT), env=harness.env(),
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
            if len(processes) == 1:
                wait_until_held_by(processes[0].pid, lock_file)
        outputs = [p.communicate(timeout=180)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert "waiting for the machine" not in outputs[0], outputs[0]
    assert "waiting for the machine: held by pid {} (bench gunicorn/flask".format(processes[0].pid) in outputs[1]
    (held,), (queued,) = runs[0].records(), runs[1].records()
    # The waiter took the machine only once the holder had recorded its result and stopped.
    assert queued["meta"]["machine_lock"]["acquired_at"] >= held["recorded_at"][:19] + "Z"
    assert queued["meta"]["machine_lock"]["waited_s"] > 0
    assert held["meta"]["machine_lock"]["waited_s"] == 0
    for harness in runs:
        assert harness.strays() == []


def test_with_no_wait_a_busy_machine_is_refused_at_once(harness, lock_file):
    holder = subprocess.Popen([sys.executable, "-m", "benchmatrix.hosts.machine_lock", "hold", "120",
                               "--what", "someone else's benchmark"], cwd=str(REPO_ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--no-wait")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3, result.stdout
    message = result.stdout.strip().splitlines()[-1]
    assert "pid {} (someone else's benchmark)".format(holder.pid) in message and "--no-wait" in message
    assert not harness.records() and not (harness.results_dir / "raw").exists()
