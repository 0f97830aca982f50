"""Two benchmarks on one machine never measure at the same time: real harness runs, a real kernel lock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, Harness
from benchmatrix.hosts.machine_lock import ENV_VARIABLE


@pytest.fixture
def lock_file(tmp_path, monkeypatch):
    # The runs below contend for this file exactly as for the machine's; a private one keeps the
    # test from queueing behind (or holding up) a real benchmark on this machine.
    path = tmp_path / "machine.lock"
    monkeypatch.setenv(ENV_VARIABLE, str(path))
    return path


def bench_argv(harness: Harness):
    return harness.argv("run", "--server", "gunicorn", "--app", "flask", "--scenarios", "json", "--duration", "2s",
                        "--warmup", "0", "--primer", "0", "--trials", "1", "--connections", "8", "--max-busy", "1",
                        "--results-dir", str(harness.results_dir))


@pytest.mark.slow
def test_two_benches_started_together_run_one_after_the_other(tmp_path, lock_file):
    # Different results folders: the lock is the machine's, not the folder's.
    runs = [Harness(tmp_path / "first"), Harness(tmp_path / "second")]
    processes = [subprocess.Popen(bench_argv(h), cwd=str(REPO_ROOT), env=h.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for h in runs]
    try:
        outputs = [p.communicate(timeout=180)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0, 0], outputs
    waited = [i for i, out in enumerate(outputs) if "waiting for the machine: held by pid" in out]
    assert len(waited) == 1, outputs
    waiter, holder = waited[0], 1 - waited[0]
    assert "held by pid {} (bench gunicorn/flask".format(processes[holder].pid) in outputs[waiter]
    (held,), (queued,) = runs[holder].records(), runs[waiter].records()
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
