"""Shared helpers: run the real harness as a subprocess and find what it left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Sequence

import psutil
import pytest

# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored across exec: launched that way, the tests' Ctrl-C would reach no harness
# (measured: every Ctrl-C test failed under `setsid bash -c '...' &`). A handled signal resets
# to its default in each child, so handling it here gives every process the tests start the
# Ctrl-C a terminal would deliver.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # real tool outputs and records, copied into tests/
TAG_VARIABLE = "BENCHMATRIX_TEST_TAG"  # inherited by every process a harness run starts


def processes_of_run(tag: str, results_dir: Path) -> List[psutil.Process]:
    """Live processes a harness run started: those whose environment carries the tag, those naming
    the run's results folder on their command line (nginx clears its environment), and all their
    descendants (nginx's workers name neither). Zombies are excluded: they hold nothing."""
    needle = "{}={}".format(TAG_VARIABLE, tag).encode()
    roots = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environ = Path("/proc/{}/environ".format(process.pid)).read_bytes().split(b"\0")
            if needle in environ or str(results_dir) in " ".join(process.cmdline()):
                roots.append(process)
        except (OSError, psutil.Error):
            continue  # it ended while we looked, or is not ours to read
    found = {}
    for root in roots:
        try:
            for process in [root] + root.children(recursive=True):
                if process.status() != psutil.STATUS_ZOMBIE:
                    found[process.pid] = process
        except psutil.Error:
            continue
    return [found[pid] for pid in sorted(found)]


class Harness:
    """Runs `python -m benchmatrix` in this environment, tagged for stray hunting."""

    def __init__(self, results_dir: Path):
        self.results_dir = results_dir
        self.tag = uuid.uuid4().hex

    def env(self, **extra: str) -> Dict[str, str]:
        env = dict(os.environ, **extra)
        env[TAG_VARIABLE] = self.tag
        return env

    def argv(self, *args: str, prefix: Sequence[str] = ()) -> List[str]:
        return [*prefix, sys.executable, "-m", "benchmatrix", *args]

    def run(self, *args: str, timeout: float = 120, prefix: Sequence[str] = (), **env: str) -> subprocess.CompletedProcess:
        """The harness to completion; prefix runs it under another command (nice, chrt ...)."""
        return subprocess.run(self.argv(*args, prefix=prefix), cwd=str(REPO_ROOT), env=self.env(**env),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)

    def popen(self, *args: str, **popen_options) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), cwd=str(REPO_ROOT), env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                **popen_options)

    def bench(self, server: str, app: str, *options: str, **env: str) -> subprocess.CompletedProcess:
        # No primer: a second a cell that only the side probe's rate needs (the tests of the probe ask for one).
        return self.run("run", "--server", server, "--app", app, "--duration", "1s",
                        "--warmup", "0", "--primer", "0", "--trials", "1", "--connections", "8",
                        "--max-busy", "1",  # tests that want the machine-busy flag lower it
                        "--machine-sample", "0",  # half a second a cell; the test of the flag samples
                        "--results-dir", str(self.results_dir), *options, **env)

    def records(self) -> List[dict]:
        path = self.results_dir / "results.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def strays(self) -> List[str]:
        """Live processes of this harness's runs, as "pid: command line" so a failure shows what survived."""
        found = []
        for process in processes_of_run(self.tag, self.results_dir):
            try:
                found.append("{}: {}".format(process.pid, " ".join(process.cmdline())))
            except psutil.Error:
                continue  # it ended between the two reads
        return found


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path / "results")
    yield harness
    assert harness.strays() == [], "the harness left processes behind"


@pytest.fixture(scope="session", autouse=True)
def ceiling_cache(tmp_path_factory) -> Path:
    """One load-generator ceiling cache for the whole test run, none of the user's.

    Runs inherit it, so the ceiling of each (connections, threads) the tests use is
    measured once per test run, as a matrix run measures it once per machine.
    """
    from benchmatrix.load.ceiling import CACHE_VARIABLE

    path = tmp_path_factory.mktemp("ceiling-cache")
    os.environ[CACHE_VARIABLE] = str(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def machine_lock_of_the_test_run(tmp_path_factory) -> Path:
    """The harness runs of this test run take a lock of their own, not the machine's.

    Nothing here is a measurement anyone keeps: queueing behind a benchmark (or another test
    run) on this machine would only add its length to the suite's. The lock's own tests
    contend for a file of their own all the same.
    """
    from benchmatrix.hosts.machine_lock import ENV_VARIABLE

    path = tmp_path_factory.mktemp("machine-lock") / "machine.lock"
    os.environ[ENV_VARIABLE] = str(path)
    return path


@pytest.fixture(scope="session")
def default_cell(tmp_path_factory):
    """One real cell as a user first runs it (gunicorn, Flask, the default scenarios and placement),
    run once for the whole test run; each test that reads it asserts its own outcome."""
    harness = Harness(tmp_path_factory.mktemp("default-cell") / "results")
    result = harness.bench("gunicorn", "flask", "--primer", "1s")  # as a user runs it: the side probe too
    assert harness.strays() == [], "the harness left processes behind"
    return harness, result


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: boots real cells or services for seconds each; "
                            "`nox -s tests -- -m 'not slow'` runs the rest in under a minute")
