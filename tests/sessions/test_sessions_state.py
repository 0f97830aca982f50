"""The matrix run's logic (benchmatrix.sessions) on its explicit state, without starting nox."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmatrix.matrix.listing import discover
from benchmatrix.run import resume
from benchmatrix.sessions import queue
from benchmatrix.sessions.bench import measured_before, results_dir_of
from benchmatrix.sessions.prepare import deal, install_only_command
from benchmatrix.sessions.project import BenchProject
from benchmatrix.sessions.selection import family_sessions, python_only_selection
from benchmatrix.sessions.state import (
    FINISHING, PREPARED, PREPARING, BenchArguments, MatrixRun, RunTicket, parse_bench_arguments, ticket_arguments,
    trusts_preparation, waits_for_builds)
from benchmatrix.sessions.tests_session import pytest_arguments

CELLS = ["bench-3.13(server='a', app='x')", "bench-3.13(server='b', app='x')", "bench-3.13(server='c', app='x')"]


def test_a_matrix_run_knows_each_cells_place_among_its_bench_sessions_only():
    run = MatrixRun()
    run.learn_queue(["tests", *CELLS, "report"])
    run.learn_queue(["something else"])  # learned once, at the first bench session
    assert run.queue == CELLS
    assert [run.position(name) for name in CELLS] == [(1, 3), (2, 3), (3, 3)]
    assert run.remaining(CELLS[1]) == CELLS[1:]


def test_a_single_cell_is_no_matrix_run():
    run = MatrixRun()
    run.learn_queue(CELLS[:1])
    assert run.position(CELLS[0]) is None and run.progress_arguments(CELLS[0], 5.0) == []
    assert not run.should_prepare(CELLS[0], None)


def test_progress_counts_time_from_the_first_measured_cell_and_the_cells_skipped_before():
    run = MatrixRun()
    run.learn_queue(CELLS)
    assert run.skip_as_measured(CELLS[0]) == 1
    assert run.progress_arguments(CELLS[1], 100.0) == ["--progress", "2/3@0.0:1"]
    assert run.progress_arguments(CELLS[2], 142.5) == ["--progress", "3/3@42.5:1"]


def test_the_first_cell_prepares_the_run_once_and_no_started_nox_prepares_again():
    run = MatrixRun()
    run.learn_queue(CELLS)
    assert run.should_prepare(CELLS[0], None)
    run.prepared = True
    assert not run.should_prepare(CELLS[1], None)
    assert trusts_preparation(run, None)
    for phase in (PREPARING, FINISHING, PREPARED):
        assert not MatrixRun(queue=list(CELLS)).should_prepare(CELLS[0], RunTicket(phase))


def test_who_trusts_the_preparations_stamp_and_who_waits_for_a_build(tmp_path):
    fresh = MatrixRun(queue=list(CELLS))
    assert not trusts_preparation(fresh, None) and not trusts_preparation(fresh, RunTicket(PREPARING))
    assert trusts_preparation(fresh, RunTicket(PREPARED))
    assert waits_for_builds(None) and waits_for_builds(RunTicket(FINISHING))
    assert not waits_for_builds(RunTicket(PREPARING, tmp_path / "deferred.txt"))
    assert waits_for_builds(RunTicket(PREPARING))  # nowhere to leave the cell for later: it waits


def test_a_ticket_travels_in_a_file_and_collects_the_cells_left_for_later(tmp_path):
    ticket = RunTicket(PREPARING, tmp_path / "deferred.txt")
    path = ticket.write(tmp_path / "ticket.json")
    read = RunTicket.read(path)
    assert read == ticket and read.deferred() == []
    read.defer(CELLS[1])
    read.defer(CELLS[0])
    read.defer(CELLS[1])  # both jobs may leave the same cell
    assert RunTicket.read(path).deferred() == [CELLS[1], CELLS[0]]
    with pytest.raises(ValueError, match="unknown matrix run phase"):
        RunTicket("measuring")


def test_a_bench_sessions_arguments_keep_the_matrix_runs_own_from_the_harness(tmp_path):
    path = RunTicket(PREPARED).write(tmp_path / "ticket.json")
    parsed = parse_bench_arguments(["--duration", "1s", "--remeasure", *ticket_arguments(path), "--trials", "1"])
    assert parsed == BenchArguments(("--duration", "1s", "--trials", "1"), remeasure=True, ticket=RunTicket(PREPARED))
    assert parse_bench_arguments(["--benchmatrix-ticket=" + str(path)]).ticket == RunTicket(PREPARED)
    assert results_dir_of(parsed.options, Path("/default")) == Path("/default")
    assert results_dir_of(["--results-dir", "/x"], Path("/default")) == Path("/x")


def ledger_with(results_dir: Path, fingerprint: str) -> None:
    resume.mark_measured(results_dir, fingerprint, {"run_id": "r1", "status": "ok"})


def test_a_cell_measured_with_the_same_fingerprint_is_skipped_unless_remeasured_or_prepared(tmp_path):
    ledger_with(tmp_path, "f1")
    run = MatrixRun(queue=list(CELLS))
    said = measured_before(run, CELLS[0], BenchArguments(()), tmp_path, "f1")
    assert said.startswith("benchmatrix: [cell 1/3] already measured") and "(1 skipped so far)" in said
    assert run.skipped == [CELLS[0]]
    assert measured_before(run, CELLS[1], BenchArguments(()), tmp_path, "other") is None
    assert measured_before(run, CELLS[1], BenchArguments((), remeasure=True), tmp_path, "f1") is None
    assert measured_before(run, CELLS[1], BenchArguments((), ticket=RunTicket(PREPARING)), tmp_path, "f1") is None
    assert measured_before(MatrixRun(queue=CELLS[:1]), CELLS[0], BenchArguments(()), tmp_path, "f1") is None


def test_preparation_deals_the_cells_round_robin_and_passes_the_ticket_on_the_command_line(tmp_path):
    assert deal(CELLS, 2) == [[CELLS[0], CELLS[2]], [CELLS[1]]]
    assert deal(CELLS[:1], 2) == [CELLS[:1]]
    project = BenchProject(noxfile=tmp_path / "noxfile.py", root=tmp_path, work_dir=tmp_path / ".nox")
    command = install_only_command(project, CELLS[:2], tmp_path / "t.json")
    assert command[1:] == ["-m", "nox", "--noxfile", str(tmp_path / "noxfile.py"), "--install-only", "-s",
                           *CELLS[:2], "--", "--benchmatrix-ticket", str(tmp_path / "t.json")]


def test_the_queue_is_read_from_noxs_manifest_in_run_order():
    def runner(name):
        return SimpleNamespace(friendly_name=name)

    manifest = SimpleNamespace(_consumed=[runner("tests"), runner(CELLS[0])], _queue=[runner(CELLS[1])])
    assert queue.nox_queue(SimpleNamespace(_runner=SimpleNamespace(manifest=manifest))) == ["tests", *CELLS[:2]]
    assert queue.nox_queue(SimpleNamespace()) is None


def test_the_pinned_nox_has_the_manifest_the_queue_is_read_from():
    nox_sessions = pytest.importorskip("nox.sessions")
    nox_manifest = pytest.importorskip("nox.manifest")
    from nox._options import options

    config = options.namespace(posargs=[], envdir=".nox")
    manifest = nox_manifest.Manifest({}, config)
    runner = nox_sessions.SessionRunner("bench", ["bench(server='a', app='x')"], lambda s: None, config, manifest)
    manifest.add_session(runner)
    next(manifest)
    assert queue.nox_queue(nox_sessions.Session(runner)) == ["bench(server='a', app='x')"]


def test_a_python_alone_selects_its_family_and_any_selection_beside_it_wins():
    pythons = ("3.9", "3.13")
    assert python_only_selection(["-p", "3.9", "-l"], pythons, None) == ["3.9"]
    assert python_only_selection(["-p", "3.9", "3.8"], pythons, None) == ["3.9"]
    assert python_only_selection(["-p", "3.9", "-s", "tests"], pythons, None) == []
    assert python_only_selection(["-p", "3.9", "-k", "raw"], pythons, None) == []
    assert python_only_selection(["-p", "3.9"], pythons, "tests") == []
    assert python_only_selection(["-s", "x", "--", "-p", "3.9"], pythons, None) == []


def test_family_sessions_name_the_default_and_the_pinned_cells_as_nox_does():
    listing = discover()
    if not listing.found:
        pytest.skip("no interpreter of the matrix here")
    plain = family_sessions(listing, ["bench"])
    assert len(plain) == len(listing.defaults)
    assert all(name.startswith("bench(server='") for name in plain)
    newest = "bench-" + listing.newest
    assert family_sessions(listing, [newest]) == ["{}({})".format(newest, c.session_id)
                                                  for c in listing.cells if c.python == listing.newest]


def test_paths_among_the_tests_posargs_replace_the_default_folder(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")
    assert pytest_arguments(["-q", "-k", "fast"], tmp_path) == ["tests", "-q", "-k", "fast"]
    assert pytest_arguments(["-q", "tests/test_x.py"], tmp_path) == ["-q", "tests/test_x.py"]
    assert pytest_arguments(["tests/test_x.py::test_y", "-x"], tmp_path) == ["tests/test_x.py::test_y", "-x"]
    assert pytest_arguments([], tmp_path) == ["tests"]
