"""The arithmetic of trials: medians, spreads and the unstable-trials judgement."""

from __future__ import annotations

import pytest

from benchmatrix.run.trials import resource_summary, spread, summarize, unstable


def trial(rps, p99, non2xx=0, cpu=1.0, rss=50.0):
    return {"rps": rps, "rps_all": rps, "requests": int(rps),
            "latency_ms": {"avg": 1.0, "p50": 1.0, "p75": 1.5, "p90": 2.0, "p99": p99, "max": 9.0},
            "errors": {"non2xx": non2xx, "timeout": 0},
            "resources": {"server_cpu_s": cpu, "server_peak_rss_mb": rss, "load_generator_cpu_s": 0.2}}


def test_spread_of_known_values():
    result = spread([90.0, 100.0, 110.0])
    assert result["median"] == 100.0 and result["min"] == 90.0 and result["max"] == 110.0
    assert result["cv"] == pytest.approx((200 / 3) ** 0.5 / 100)


def test_spread_ignores_missing_values_and_is_none_without_any():
    assert spread([None, 5.0])["median"] == 5.0
    assert spread([None, None]) is None


def test_summary_takes_medians_sums_errors_and_keeps_spreads():
    summary = summarize([trial(100, 10), trial(120, 30, non2xx=2), trial(110, 20, non2xx=1)])
    assert summary["rps"] == 110 and summary["latency_ms"]["p99"] == 20
    assert summary["errors"] == {"non2xx": 3, "timeout": 0}
    assert summary["spread"]["latency_ms"]["p99"]["max"] == 30
    assert summary["requests"] == 330


def test_a_fixed_limit_flags_only_past_it():
    assert unstable([100, 101, 99], max_cv=0.05) is None
    reason = unstable([60, 100, 140], max_cv=0.05)
    assert "varied" in reason and "min 60" in reason and "limit 5%" in reason


def test_healthy_spread_is_judged_against_the_expected_noise_not_a_fixed_limit():
    # 11% between three trials is what an 8% noise gives now and then: not flagged ...
    assert unstable([3400, 3700, 4150]) is None
    # ... but 40% is not, and the reason says what was expected and why.
    reason = unstable([2000, 3700, 4100])
    assert "expected about 8%" in reason and "0.001" in reason


def test_a_noisier_machine_raises_what_is_expected():
    shaky = [2600, 3700, 4100]
    assert unstable(shaky) is not None
    assert unstable(shaky, machine_cv=0.15) is None
    assert unstable([2000, 3700, 5600], machine_cv=0.15) is not None


def test_one_trial_cannot_be_unstable():
    assert unstable([3700]) is None and unstable([]) is None


def test_resources_report_median_cpu_and_peak_memory():
    usage = resource_summary([trial(1, 1, cpu=1.0, rss=40), trial(1, 1, cpu=3.0, rss=90), trial(1, 1, cpu=2.0)])
    assert usage == {"server_cpu_s": 2.0, "server_peak_rss_mb": 90, "load_generator_cpu_s": 0.2,
                     "server_cpu_ms_per_request": 2000.0}


def test_cpu_per_request_is_each_trials_cpu_over_its_own_requests():
    # 1000 answers for 0.5 s, 2000 for 1.2 s, 500 for 0.6 s: 0.5, 0.6 and 1.2 ms each, median 0.6 (not 2.3 s / 3500).
    usage = resource_summary([trial(1000, 1, cpu=0.5), trial(2000, 1, cpu=1.2), trial(500, 1, cpu=0.6)])
    assert usage["server_cpu_ms_per_request"] == 0.6
    assert "server_cpu_ms_per_request" not in resource_summary([trial(0, 1)])  # no answers: no cost per answer


def costed(requests, server, stack, support=None, pss=None, processes=None):
    """A trial as the sampler with support trees records it."""
    resources = {"server_cpu_s": server, "stack_cpu_s": stack, "support_cpu_s": support or {},
                 "load_generator_cpu_s": 0.2}
    if pss is not None:
        resources["server_peak_pss_mb"] = pss
    if processes is not None:
        resources["server_processes"] = processes
    return {"requests": requests, "resources": resources}


def test_the_stacks_cpu_per_request_is_each_trials_stack_over_its_own_requests():
    # 0.5 + 0.25 s over 1000, 1.2 + 0.8 s over 2000, 0.6 + 0.6 s over 500: 0.75, 1.0 and 2.4 ms each.
    usage = resource_summary([costed(1000, 0.5, 0.75, {"postgres": 0.2, "nginx": 0.05}),
                              costed(2000, 1.2, 2.0, {"postgres": 0.6, "nginx": 0.2}),
                              costed(500, 0.6, 1.2, {"postgres": 0.5, "nginx": 0.1})])
    assert usage["stack_cpu_ms_per_request"] == 1.0 and usage["server_cpu_ms_per_request"] == 0.6
    assert usage["support_cpu_s"] == {"postgres": 0.5, "nginx": 0.1}  # each role's median


def test_without_support_trees_the_stack_is_the_server_and_no_roles_are_listed():
    usage = resource_summary([costed(1000, 0.5, 0.5), costed(1000, 0.7, 0.7)])
    assert usage["stack_cpu_ms_per_request"] == usage["server_cpu_ms_per_request"] == 0.6
    assert "support_cpu_s" not in usage


def test_older_trials_have_no_stack_figure():
    usage = resource_summary([trial(1000, 1, cpu=0.5)])
    assert "stack_cpu_ms_per_request" not in usage and "support_cpu_s" not in usage
    assert "server_pss_mb_per_worker" not in usage  # no PSS sampled


def test_memory_per_worker_is_the_highest_peak_pss_over_the_launched_workers():
    trials = [costed(1000, 0.5, 0.5, pss=90.0, processes=5), costed(1000, 0.5, 0.5, pss=120.0, processes=5)]
    assert resource_summary(trials, workers=4)["server_pss_mb_per_worker"] == 30.0  # the master's share included
    # No worker count given: the processes at the end of the trial that peaked, less the master.
    trials[1]["resources"]["server_processes"] = 4
    assert resource_summary(trials)["server_pss_mb_per_worker"] == 40.0


def test_a_lone_process_of_unknown_workers_has_no_memory_per_worker():
    assert "server_pss_mb_per_worker" not in resource_summary([costed(1000, 0.5, 0.5, pss=50.0, processes=1)])
    assert "server_pss_mb_per_worker" not in resource_summary([costed(1000, 0.5, 0.5, pss=50.0)])
    assert resource_summary([costed(1000, 0.5, 0.5, pss=50.0, processes=1)], workers=1)[
        "server_pss_mb_per_worker"] == 50.0


def test_a_trial_is_written_in_the_shape_records_have_always_stored():
    from benchmatrix.run.trials import Trial, TrialContext
    from tests.fake_driver import fixed_rate_result, wrk_result

    context = TrialContext(resources={"server_cpu_s": 1.0}, server_restarted=False, settle_s=0.0,
                           raw_output="raw/r/json.trial1.txt", answers_during_load=None)
    closed = Trial.from_result(wrk_result(1000.0, requests=2000)).with_context(context).in_round(2, 1)
    assert closed.to_json() == {
        "rps": 1000.0, "rps_all": 1000.0, "requests": 2000,
        "latency_ms": {"avg": 2.0, "stdev": 1.0, "p50": 2.0, "p75": 3.0, "p90": 5.0, "p99": 9.0, "p99.9": 15.0,
                       "max": 20.0, "p99.99": 19.0},
        "errors": {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}, "in_flight": 2.0,
        "bytes": 300000, "elapsed_s": 2.0, "result_source": "done() JSON", "histogram": None, "synthetic_samples": 0,
        "latency_source": "measured samples", "wrk_latency_ms": None,
        "resources": {"server_cpu_s": 1.0}, "server_restarted": False, "settle_s": 0.0,
        "raw_output": "raw/r/json.trial1.txt", "answers_during_load": None, "round": 2, "position_in_round": 1}
    fixed = Trial.from_result(fixed_rate_result(100.0, achieved=99.0, p99_ms=8.0, non2xx=9)).as_probe(3, True)
    assert fixed.to_json() == {
        "rps": 90.0, "rps_all": 99.0, "requests": 99, "planned_rate": 100.0, "achieved_rate": 99.0,
        "latency_ms": {"avg": 4.0, "stdev": 1.0, "p50": 2.0, "p75": 8.0 / 3, "p90": 4.0, "p99": 8.0, "p99.9": 12.0,
                       "max": 16.0},
        "uncorrected_latency_ms": None, "spectrum": [[50.0, 2.0], [99.0, 8.0], [100.0, 16.0]],
        "errors": {"non2xx": 9, "connect": 0, "read": 0, "write": 0, "timeout": 0}, "histogram": None,
        "latency_source": "from each request's planned send time", "probe": {"number": 3, "confirmation": True}}
