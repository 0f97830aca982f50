"""The bisect over releases on scripted comparisons: each step x scenario tested at 0.05 / (steps x scenarios),
so the chance of naming a release when none differs stays at 0.05 however many are walked."""

from __future__ import annotations

import pytest

from benchmatrix.results.ratio import PairedEstimate
from benchmatrix.run.bisect import per_test_alpha, walk_releases


def ratio(p_value):
    return PairedEstimate(ratio=1.05, low=1.01, high=1.09, p_value=p_value, rounds=10, sd_log=0.03, p_raw=p_value)


def walk(p_values, scenarios=1):
    """Releases 1..n+1, step i's ratio with p_values[i] on every scenario; and the steps compared."""
    releases = [str(n) for n in range(1, len(p_values) + 2)]
    compared = []

    def compare(before, after):
        compared.append(after)
        return {"s{}".format(k): ratio(p_values[int(before) - 1]) for k in range(scenarios)}

    return walk_releases("uvicorn", releases, compare, scenarios), compared


def test_each_step_and_scenario_is_tested_at_alpha_over_their_number():
    assert per_test_alpha(6, 1) == pytest.approx(0.01)
    assert per_test_alpha(6, 3) == pytest.approx(0.05 / 15)
    # Tested each at 0.05, five steps where none differs would name one in 1 - 0.95^5 = 22.6% of walks.
    assert 1 - 0.95 ** 5 == pytest.approx(0.2262, abs=1e-4)


def test_a_p_value_below_0_05_but_above_the_corrected_level_names_no_release():
    outcome, compared = walk([0.2, 0.03, 0.4, 0.5, 0.9])
    assert outcome.first_different is None and compared == ["2", "3", "4", "5", "6"]
    assert outcome.render().splitlines()[-2:] == [
        "each of the 5 step(s) x 1 scenario(s) is tested at p <= 0.01 (0.05 / 5, Bonferroni): the chance of "
        "naming a release when none differs is at most 5%",
        "none of these releases differs from its predecessor at p <= 0.01"]


def test_the_walk_stops_at_the_first_step_below_the_corrected_level():
    # 4 steps x 2 scenarios: each at 0.05 / 8 = 0.00625; 0.008 is not below it, 0.001 is.
    outcome, compared = walk([0.2, 0.008, 0.001, 0.5], scenarios=2)
    assert compared == ["2", "3", "4"] and outcome.first_different.after == "4"
    assert outcome.steps[1].alpha == pytest.approx(0.05 / 8) and outcome.steps[1].significant == []
    # One scenario: each at 0.0125, and 0.008 names release 3.
    outcome, compared = walk([0.2, 0.008, 0.001, 0.5], scenarios=1)
    assert compared == ["2", "3"] and outcome.first_different.significant == ["s0"]
    assert outcome.render().splitlines()[-1] == (
        "first release whose ratio to its predecessor is significant: uvicorn 3 (3 vs 2: s0)")


def test_a_run_stopped_on_its_target_between_looks_passes_on_no_p_value():
    from types import SimpleNamespace

    from benchmatrix.cli.bisect_command import judged

    assert judged(ratio(0.001), SimpleNamespace(at_look=True)).p_value == 0.001
    between = judged(ratio(0.001), SimpleNamespace(at_look=False))
    assert between.p_value is None and between.ratio == 1.05
    outcome, _ = walk([0.5])
    assert judged(None, None) is None
