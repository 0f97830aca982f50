"""The load generator's ceiling: measured against a real nginx, cached by what it depends on."""

from __future__ import annotations

import dataclasses
import time

import pytest

from benchmatrix.hosts.pinning import resolve_pinning
from benchmatrix.load import ceiling
from benchmatrix.load.wrk import LoadSettings, require_wrk
from benchmatrix.checks.validity import assess_ceiling
from tests.spinners import start_detached_spinner, stop, wait_until_spinning

SETTINGS = LoadSettings(threads=2, connections=8, duration_s=2, timeout_s=2)


def sample(print_, rps=50000.0, age_s=0.0):
    return ceiling.Ceiling(rps=rps, trials=[rps], cv=0.02, measured_at=time.time() - age_s, fingerprint=print_)


def test_a_stored_ceiling_is_found_again_under_the_same_conditions_only(tmp_path):
    cache = tmp_path / "ceilings.json"
    print_ = ceiling.fingerprint(resolve_pinning("off"), SETTINGS, "wrk 4.1.0", "1.22.1")
    ceiling.store(sample(print_), cache)
    found = ceiling.cached(print_, path=cache)
    assert found is not None and found.reused and found.rps == 50000.0
    other = dict(print_, connections=64)
    assert ceiling.cached(other, path=cache) is None


def test_an_old_ceiling_is_not_reused(tmp_path):
    cache = tmp_path / "ceilings.json"
    print_ = ceiling.fingerprint(None, SETTINGS, "wrk 4.1.0", "1.22.1")
    ceiling.store(sample(print_, age_s=ceiling.MAX_AGE_S - 60), cache)
    assert ceiling.cached(print_, path=cache) is not None
    assert ceiling.cached(print_, max_age_s=30, path=cache) is None


def test_a_ceiling_from_a_busy_or_unsteady_moment_is_said_unreliable():
    assert ceiling.unreliable_reason(0.4, 0.01, 2) is None  # 20% of 2 CPUs, 1% spread: quiet
    assert ceiling.unreliable_reason(0.6, 0.01, 2) == "other processes kept 0.6 of 2 CPUs busy while it was measured"
    assert ceiling.unreliable_reason(None, 0.06, 2) == "its trials varied 6.0% (a quiet machine: under 5%)"


def test_an_unreliable_ceiling_serves_its_run_and_is_never_cached(tmp_path, monkeypatch):
    cache = tmp_path / "ceilings.json"
    monkeypatch.setenv(ceiling.CACHE_VARIABLE, str(tmp_path))
    busy = dataclasses.replace(sample({"fixed": "print"}, rps=38500.0), unreliable="other processes kept ...")
    monkeypatch.setattr(ceiling, "fingerprint", lambda *args, **kwargs: {"fixed": "print"})
    monkeypatch.setattr(ceiling, "measure", lambda *args, **kwargs: busy)
    said = []
    found = ceiling.find_or_measure("wrk", SETTINGS, None, tmp_path / "raw", "wrk", "nginx", say=said.append)
    assert found is busy and not cache.exists()
    assert said == ["load generator ceiling not cached, it may not be this machine's: other processes kept ..."]
    assert found.as_metadata()["unreliable"] == "other processes kept ..."


@pytest.mark.slow
def test_a_ceiling_measured_beside_busy_processes_is_not_reused_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setenv(ceiling.CACHE_VARIABLE, str(tmp_path))
    measure = ceiling.measure  # 2 one-second trials: what is judged is the machine around them, not their length
    monkeypatch.setattr(ceiling, "measure", lambda *args, **kwargs: measure(*args, trials=2, trial_s=1, **kwargs))
    pinning = resolve_pinning("auto")
    spinners = [start_detached_spinner() for _ in range(2)]  # not the run's own: their parent is gone
    try:
        for spinner in spinners:
            wait_until_spinning(spinner)
        found = ceiling.find_or_measure(require_wrk(), SETTINGS, pinning, tmp_path / "raw", "test", "test",
                                        say=lambda line: None)
    finally:
        for spinner in spinners:
            stop(spinner)
    # Two spinners beside nginx and wrk on 2 CPUs hold about one CPU between them: far past a quarter of two.
    assert found.unreliable and found.unreliable.startswith("other processes kept"), found
    assert ceiling.cached(ceiling.fingerprint(pinning, SETTINGS, "test", "test")) is None


def test_an_unreadable_cache_means_measuring_again(tmp_path):
    cache = tmp_path / "ceilings.json"
    cache.write_text("{not json")
    assert ceiling.cached({"any": 1}, path=cache) is None


@pytest.mark.slow
def test_the_ceiling_target_measured_as_a_cell_is_load_generator_bound(tmp_path):
    # nginx's fixed body is as fast as anything the generator can drive: measured as if it
    # were a cell, it reaches (about) its own ceiling, and that is exactly what the flag is for.
    pinning = resolve_pinning("auto")
    print_ = ceiling.fingerprint(pinning, SETTINGS, "test", "test")
    first = ceiling.measure(require_wrk(), SETTINGS, pinning, tmp_path / "first", print_, trials=2, trial_s=1)
    again = ceiling.measure(require_wrk(), SETTINGS, pinning, tmp_path / "again", print_, trials=2, trial_s=1)
    assert first.rps > 0 and len(first.trials) == 2
    assert (tmp_path / "first" / "trial2.txt").exists()
    (flag,) = assess_ceiling(again.rps, first)
    assert flag.code == "load-generator-bound"
