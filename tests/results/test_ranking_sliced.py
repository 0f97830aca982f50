"""Rankings of sliced comparisons: ratios by ABBA pair, the CPU-per-request ratio beside req/s, and the
smallest difference an undecided ratio could have seen."""

from __future__ import annotations

import math

import pytest

from benchmatrix.results.ranking import cpu_versus, detectable, render_ranking, versus
from benchmatrix.results.ratio import detectable_effect, paired_ratio

from tests.record_factory import make_record


def sliced(server, rates, cpu_ms, group="interleaved-2"):
    """A sliced interleaved record: one trial per round, 1000 requests each at cpu_ms of the stack's CPU."""
    trials = [{"rps": rps, "round": number, "requests": 1000, "resources": {"stack_cpu_s": cpu * 1.0}}
              for number, (rps, cpu) in enumerate(zip(rates, cpu_ms), start=1)]
    return make_record(server=server, rps=sorted(rates)[len(rates) // 2], trials=trials,
                       meta={"interleaved": {"group": group, "slice_s": 2}, "ceiling_share": 0.05,
                             "load_command": ["wrk"]})


FAST = sliced("uwsgi", [1000.0, 1100.0, 1000.0, 1100.0], [0.5, 0.5, 0.5, 0.5])
# Round by round 10% slower, then 10% faster, in both of its pairs: the pairs' ratios are exactly 1.
SAME = sliced("gunicorn", [900.0, 1210.0, 900.0, 1210.0], [0.55, 0.55, 0.5, 0.5])


def test_sliced_records_are_compared_by_abba_pair_and_on_cpu_per_request():
    estimate = versus(SAME, FAST)
    assert estimate.rounds == 2 and estimate.ratio == pytest.approx(math.sqrt(0.9 * 1.1), rel=1e-12)
    # The same trials paired round by round would see a spread the pairs cancel.
    assert paired_ratio([1000.0, 1100.0] * 2, [900.0, 1210.0] * 2).half_width > estimate.half_width
    cpu = cpu_versus(SAME, FAST)
    assert cpu.ratio == pytest.approx(math.sqrt(1.1), rel=1e-12) and cpu.rounds == 2
    unsliced = make_record(meta={"interleaved": {"group": "g"}}, trials=[{"rps": 1.0, "round": 1}])
    assert cpu_versus(unsliced, unsliced) is None


def test_the_ranking_shows_the_cpu_ratio_and_what_an_undecided_ratio_could_have_seen():
    wide = sliced("gunicorn", [900.0, 1000.0, 1100.0, 1100.0, 1000.0, 1000.0], [0.5] * 6)
    base = sliced("uwsgi", [1000.0] * 6, [0.5] * 6)
    estimate = versus(wide, base)
    assert estimate.contains(1.0)
    assert detectable(estimate) == pytest.approx(detectable_effect(estimate.sd_log, 3), rel=1e-12)
    table = render_ranking("json", [base, wide])
    assert "CPU/request vs fastest" in table and "smallest visible difference" in table
    assert "10 s ABBA slices" in table  # the factory's duration
    assert "1.00x (1.00-1.00)" in table  # the CPU ratio: both cells at 0.5 ms a request
    assert "below {:.1%} unseen".format(detectable(estimate)) in table


def test_the_ranking_repeats_what_the_run_stated_of_an_undecided_ratio():
    record = sliced("gunicorn", [1000.0] * 4, [0.5] * 4)
    record.meta["interleaved"].update(contenders=["uwsgi/flask/3.13", "gunicorn/flask/3.13"], undecided={
        "statement": "a difference below 4.0% cannot be seen here in 120 s of load (at this run's spread)"})
    table = render_ranking("json", [sliced("uwsgi", [1000.0] * 4, [0.5] * 4), record])
    assert table.endswith("\n- {} against uwsgi/flask/3.13: a difference below 4.0% cannot be seen here in 120 s "
                          "of load (at this run's spread)\n".format(record.cell_label))


def test_the_ranking_corrects_p_for_the_run_s_looks_and_says_what_each_figure_is_against():
    from benchmatrix.results.ratio import estimate_from_logs, pair_log_ratios
    from benchmatrix.results.ranking import run_looks

    rates = [1000.0, 1060.0, 1000.0, 1090.0, 1000.0, 1030.0, 1000.0, 1080.0]
    slower = sliced("gunicorn", [1000.0] * 8, [0.5] * 8)
    faster = sliced("uwsgi", rates, [0.5] * 8)
    for record in (slower, faster):
        record.meta["interleaved"].update(looks=8, contenders=["gunicorn/flask/3.13", "uwsgi/flask/3.13"])
    assert run_looks(slower, faster) == 8
    estimate = versus(slower, faster)
    single = estimate_from_logs(pair_log_ratios(rates, [1000.0] * 8))
    # The run judged its ratios at p x 8 looks: the ranking's ratio to the fastest gets the same correction.
    assert estimate.p_raw == pytest.approx(single.p_value, rel=1e-12)
    assert estimate.p_value == pytest.approx(min(1.0, 8 * single.p_value), rel=1e-12)
    assert single.p_value <= 0.05 < estimate.p_value  # one look would call it; the run's 8 looks do not
    assert detectable(estimate, 8) == pytest.approx(detectable_effect(estimate.sd_log, 4, 0.05 / 8), rel=1e-12)
    table = render_ranking("json", [slower, faster])
    assert ("\nEvery ratio, interval, p-value and smallest visible difference in the table is against the fastest "
            "cell, {}; each p-value is corrected for the run's 8 looks (p x 8), as the run judged its own, and a "
            "ratio differs at p <= 0.05.\n".format(faster.cell_label)) in table
    # A record from before `looks` was kept: the looks its ratio to the first shows.
    older = sliced("gunicorn", [1000.0] * 4, [0.5] * 4)
    older.meta["interleaved"]["ratio_to_first"] = {"p_value": 0.06, "p_raw": 0.01}
    assert run_looks(older) == 6 and run_looks(sliced("uwsgi", [1.0], [1.0])) == 1


def test_the_undecided_notes_say_they_are_against_the_run_s_first_cell():
    record = sliced("gunicorn", [1000.0] * 4, [0.5] * 4)
    record.meta["interleaved"].update(contenders=["uwsgi/flask/3.13", "gunicorn/flask/3.13"], undecided={
        "statement": "a difference below 4.0% cannot be seen here in 120 s of load (at this run's spread)"})
    table = render_ranking("json", [sliced("uwsgi", [1000.0] * 4, [0.5] * 4), record])
    assert "\nWhat the run stated of each ratio to its first cell, uwsgi/flask/3.13, that it left undecided:\n\n- " \
        in table
