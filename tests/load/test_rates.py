"""Rate choices and the rate-not-achieved judgement."""

from __future__ import annotations

import pytest

from benchmatrix.load.parse import FixedRateResult, Latency, SocketErrors
from benchmatrix.load.rates import parse_rates
from benchmatrix.checks.validity import assess_rate


def test_absolute_and_relative_rates():
    absolute, relative = parse_rates("2000, 50%")
    assert absolute.resolve(None) == 2000 and not absolute.relative
    assert relative.resolve(5000.0) == 2500.0 and relative.resolve(None) is None


@pytest.mark.parametrize("text", ["fast", "0", "-5", "50%%", "5000%", ""])
def test_malformed_rates_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="requests per second"):
        parse_rates(text)


def result(planned, achieved):
    return FixedRateResult(driver="wrk-fixed-rate", planned_rate=planned, achieved_rate=achieved,
                           requests=int(achieved), duration_s=1.0, latency=Latency(1, 1, 1),
                           non2xx=0, socket_errors=SocketErrors())


def test_a_run_within_one_percent_of_its_plan_is_not_flagged():
    assert assess_rate(result(200, 198.1)) == []
    (flag,) = assess_rate(result(200, 197.9))
    assert flag.code == "rate-not-achieved" and "197.9 of a planned 200" in flag.reason
