"""Comparing results: the exact permutation test, ratios, and how records are paired up."""

from __future__ import annotations

import pytest

from benchmatrix.results import compare as compare_module
from benchmatrix.results.compare import (VERDICT_FASTER, VERDICT_SAME, VERDICT_SLOWER, VERDICT_TOO_FEW,
                                       compare, compare_cells, compare_records,
                                       permutation_p_value, render_comparison_markdown,
                                       smallest_possible_p, trial_rps, trials_needed_per_side,
                                       unmatched)
from tests.record_factory import make_record


def record(server="uwsgi", app="flask", python="3.13", scenario="json", trials=(1000.0,),
           recorded_at="2026-11-21T08:00:00+00:00", status="ok", flags=(), **extra):
    """A schema 2 record; trials=None makes a schema 1 record whose one run is `rps`."""
    made = dict(recorded_at=recorded_at, python=python, app=app, server=server, scenario=scenario,
                status=status, flags=list(flags), schema=2)
    if trials is None:
        made.update(schema=1, rps=extra.pop("rps"))
    else:
        made.update(rps=sorted(trials)[len(trials) // 2] if trials else None,
                    trials=[{"rps": v} for v in trials])
    made.update(extra)
    return make_record(**made)


# --- the permutation test ----------------------------------------------------------

def test_completely_separated_samples_give_two_out_of_seventy():
    # C(8, 4) = 70 splits; only the observed one and its mirror image are as extreme.
    assert permutation_p_value([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70, abs=0)
    assert permutation_p_value([5, 6, 7, 8], [1, 2, 3, 4]) == pytest.approx(2 / 70, abs=0)


def test_identical_samples_give_one():
    assert permutation_p_value([3.0, 3.0, 3.0], [3.0, 3.0, 3.0]) == 1.0
    assert permutation_p_value([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == 1.0


def test_three_against_three_can_never_go_below_one_tenth():
    assert permutation_p_value([1, 2, 3], [10, 11, 12]) == pytest.approx(0.1)
    assert smallest_possible_p(3, 3) == pytest.approx(0.1)
    assert smallest_possible_p(4, 4) == pytest.approx(2 / 70)
    assert trials_needed_per_side(0.05) == 4


def test_float_rounding_does_not_split_ties():
    # In decimals the observed split and its mirror image are equally extreme (p = 2/20);
    # compared bit for bit, rounding makes the mirror image look less extreme (p = 1/20).
    assert permutation_p_value([0.3, 0.1, 0.7], [3.3, 1.1, 2.2]) == pytest.approx(0.1)


def test_fewer_than_two_trials_on_a_side_gives_no_p_value():
    assert permutation_p_value([1.0], [2.0, 3.0]) is None
    assert permutation_p_value([1.0, 2.0], []) is None


def test_large_samples_fall_back_to_a_seeded_estimate_that_is_repeatable(monkeypatch):
    monkeypatch.setattr(compare_module, "MAX_EXACT_SPLITS", 10)
    monkeypatch.setattr(compare_module, "MONTE_CARLO_SPLITS", 20_000)
    first = permutation_p_value([1, 2, 3, 4], [5, 6, 7, 8])
    assert first == permutation_p_value([1, 2, 3, 4], [5, 6, 7, 8])
    assert first == pytest.approx(2 / 70, abs=0.005)


# --- one comparison ----------------------------------------------------------------

def test_ratio_is_candidate_median_over_baseline_median():
    result = compare_records(record(trials=(900.0, 1000.0, 1100.0)), record(trials=(1200.0, 1230.0, 1300.0)))
    assert result.baseline_rps == 1000.0 and result.candidate_rps == 1230.0
    assert result.ratio == pytest.approx(1.23)


def test_four_trials_a_side_can_show_a_faster_or_slower_candidate():
    slow, fast = record(trials=(100.0, 101.0, 102.0, 103.0)), record(trials=(200.0, 201.0, 202.0, 203.0))
    assert compare_records(slow, fast).verdict == VERDICT_FASTER
    assert compare_records(fast, slow).verdict == VERDICT_SLOWER
    assert compare_records(slow, fast).p_value == pytest.approx(2 / 70)


def test_three_trials_a_side_says_why_nothing_can_be_significant():
    result = compare_records(record(trials=(100.0, 101.0, 102.0)), record(trials=(200.0, 201.0, 202.0)))
    assert result.verdict == VERDICT_SAME and result.p_value == pytest.approx(0.1)
    assert any("smallest possible p is 0.1" in note and "at least 4 trials per side" in note
               for note in result.notes)


def test_schema_1_records_count_as_one_trial_and_are_too_few():
    old = record(trials=None, rps=5000.0)
    assert trial_rps(old) == (5000.0,)
    result = compare_records(old, record(trials=(6000.0, 6100.0, 6200.0)))
    assert result.verdict == VERDICT_TOO_FEW and result.p_value is None
    assert result.ratio == pytest.approx(6100.0 / 5000.0)
    assert any(note.startswith("1 vs 3 trials: a test needs at least 2 per side") for note in result.notes)


def test_a_failed_side_has_no_rate_and_no_ratio():
    failed = record(trials=(0.5, 0.7), status="failed", flags=[{"code": "load-failed"}])
    result = compare_records(failed, record(trials=(1.0, 2.0)))
    assert result.baseline_rps is None and result.ratio is None and result.verdict == VERDICT_TOO_FEW
    assert "baseline failed (load-failed)" in result.notes


# --- pairing records ---------------------------------------------------------------

def test_files_are_matched_by_key_using_the_newest_record_of_each():
    baseline = [record("uwsgi", trials=(1.0, 2.0, 3.0, 4.0), recorded_at="2026-11-01T00:00:00+00:00"),
                record("uwsgi", trials=(10.0, 11.0, 12.0, 13.0)),  # newer: this one counts
                record("gunicorn", trials=(5.0, 6.0)),
                record("uwsgi", scenario="plaintext", trials=(7.0, 8.0))]
    candidate = [record("uwsgi", trials=(20.0, 21.0, 22.0, 23.0)),
                 record("uwsgi", python="3.12", trials=(1.0, 1.0))]
    results = compare(baseline, candidate)
    assert len(results) == 1
    assert results[0].baseline_rps == pytest.approx(11.5) and results[0].candidate_rps == pytest.approx(21.5)
    assert results[0].baseline == results[0].candidate == "uwsgi · flask · py3.13"
    assert results[0].verdict == VERDICT_FASTER
    gaps = unmatched(baseline, candidate)
    assert [key[:4] for key in gaps["baseline_only"]] == [("json", "3.13", "flask", "gunicorn"),
                                                          ("plaintext", "3.13", "flask", "uwsgi")]
    assert [key[:4] for key in gaps["candidate_only"]] == [("json", "3.12", "flask", "uwsgi")]


def test_two_cells_of_one_file_are_compared_per_scenario():
    records = [record("gunicorn", trials=(100.0, 110.0)), record("uwsgi", trials=(200.0, 210.0)),
               record("gunicorn", scenario="plaintext", trials=(120.0, 130.0)),
               record("uwsgi", scenario="plaintext", trials=(220.0, 230.0)),
               record("uwsgi", scenario="plaintext", trials=(240.0, 250.0),
                      recorded_at="2026-11-22T00:00:00+00:00")]
    results = compare_cells(records, "gunicorn/flask", "uwsgi/flask/3.13")
    assert [r.scenario for r in results] == ["json", "plaintext"]
    assert results[1].candidate_rps == pytest.approx(245.0)
    assert results[0].baseline == "gunicorn · flask · py3.13"
    assert results[0].candidate == "uwsgi · flask · py3.13"


def test_a_cell_measured_on_several_pythons_must_name_one():
    records = [record("uwsgi", python="3.12"), record("uwsgi", python="3.13"), record("gunicorn")]
    with pytest.raises(ValueError, match="several Pythons"):
        compare_cells(records, "uwsgi/flask", "gunicorn/flask")


def test_cell_names_are_checked():
    with pytest.raises(ValueError, match="SERVER/APP"):
        compare_cells([record()], "uwsgi", "uwsgi/flask")
    with pytest.raises(ValueError, match="no records"):
        compare_cells([record()], "nginx/flask", "uwsgi/flask")


# --- markdown ----------------------------------------------------------------------

def test_markdown_table_has_the_ratio_p_value_and_verdict():
    results = compare([record(trials=(100.0, 101.0, 101.0, 103.0))],
                      [record(trials=(123.0, 124.0, 124.0, 126.0))])
    text = render_comparison_markdown(results)
    lines = text.splitlines()
    assert lines[0].startswith("| scenario") and set(lines[1]) <= set("|-: ")
    row = lines[2]
    assert "json (closed-loop, 64 conn)" in row and "uwsgi · flask · py3.13" in row
    assert "1.23x" in row and "0.0286" in row and "| faster" in row
    assert "101 (4 trials)" in row and "124 (4 trials)" in row


def test_markdown_without_comparisons_says_so():
    assert "Nothing to compare" in render_comparison_markdown([])
