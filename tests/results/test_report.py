"""The full tables (reports/tables.md) from records: sorted, marked, newest per cell, and stable."""

from __future__ import annotations

from benchmatrix.results.tables import render_all_tables as render_readme_tables
from benchmatrix.results.tables import stale_reasons, synthetic_note
from tests.record_factory import flags, make_record

FLAG = flags("non-2xx")


def records():
    return [make_record(server="gunicorn", rps=4000.0),
            make_record(server="uwsgi", rps=6000.0),
            make_record(server="gunicorn-gevent", rps=9000.0, status="flagged", flags=FLAG),
            make_record(server="gunicorn", rps=4500.0, recorded_at="2026-11-22T08:00:00+00:00"),
            make_record(server="uwsgi", scenario="plaintext", rps=7000.0)]


def table_rows(text, scenario):
    section = text.split("### Scenario `{}`".format(scenario))[1].split("###")[0]
    return [line for line in section.splitlines() if line.startswith("| 3.12")]


def test_clean_rows_sort_by_req_s_and_flagged_rows_follow():
    rows = table_rows(render_readme_tables(records()), "json")
    assert [row.split("|")[3].strip() for row in rows] == ["uwsgi", "gunicorn", "gunicorn-gevent"]
    assert "9000 (!)" in rows[2] and "flagged (non-2xx)" in rows[2]


def test_only_the_newest_record_of_a_cell_is_shown():
    rows = table_rows(render_readme_tables(records()), "json")
    assert "4500" in rows[1] and not any("4000" in row for row in rows)


def test_each_scenario_gets_its_own_table():
    text = render_readme_tables(records())
    assert "### Scenario `json`" in text and "### Scenario `plaintext`" in text


def test_rows_measured_with_other_load_flags_than_the_newest_run_are_stale():
    old = make_record(server="uwsgi", duration_s=5.0)
    new = make_record(server="gunicorn", recorded_at="2026-11-22T08:00:00+00:00")
    rows = table_rows(render_readme_tables([old, new]), "json")
    uwsgi, gunicorn = sorted(rows, key=lambda row: "gunicorn" in row)
    assert "STALE: other load flags than the newest run" in uwsgi and "STALE" not in gunicorn


def test_rows_whose_pins_changed_since_are_stale():
    from benchmatrix.matrix.cells import constraints_fingerprint
    current = constraints_fingerprint("3.12", "default")
    changed = make_record(meta={"constraints": dict(current, sha="0" * 16)})
    assert stale_reasons(changed, changed) == ["pins changed since"]
    assert stale_reasons(make_record(meta={"constraints": current}), changed) == []


def test_the_summary_names_the_fastest_clean_stack_and_counts_faster_flagged_ones():
    text = render_readme_tables(records())
    summary = text.split("**Fastest valid stack per scenario**")[1].split("###")[0]
    assert "- `json`: flask on uwsgi (Python 3.12, direct), 6000 req/s" in summary
    assert "1 flagged row(s) measured faster" in summary  # gunicorn-gevent at 9000, flagged


def interleaved(server, rates, group="interleaved-1", status="ok", recorded_at="2026-12-02T10:00:00+00:00"):
    trials = [{"rps": rps, "round": number} for number, rps in enumerate(rates, start=1)]
    return make_record(server=server, rps=sorted(rates)[len(rates) // 2], trials=trials, status=status,
                       recorded_at=recorded_at, meta={"interleaved": {"group": group}, "ceiling_share": 0.05,
                                                      "load_command": ["wrk"]})


def test_the_headline_ranks_from_an_interleaved_run_rather_than_rows_measured_apart():
    # A faster row measured on its own does not outrank the interleaved run's winner.
    apart = make_record(server="meinheld", rps=99000.0, recorded_at="2026-11-20T08:00:00+00:00")
    group = [interleaved("uwsgi", [6000, 6100, 5900, 6050, 6000]),
             interleaved("gunicorn", [4000, 4100, 3950, 4020, 4010])]
    text = render_readme_tables([apart] + group)
    summary = text.split("**Fastest valid stack per scenario**")[1].split("####")[0]
    assert "- `json`: flask on uwsgi (Python 3.12, direct)" in summary
    assert "the runner-up gunicorn · flask · py3.12" in summary and "interleaved run of 2026-12-02" in summary
    ranking = text.split("#### Ranking `json`")[1].split("###")[0]
    rows = [line for line in ranking.splitlines() if line.startswith("| 1") or line.startswith("| 2")]
    assert "uwsgi" in rows[0] and "fastest" in rows[0]
    assert "gunicorn" in rows[1] and "0.67x" in rows[1] and "5%" in rows[1]


def test_without_an_interleaved_run_the_headline_says_the_rows_were_measured_apart():
    early = make_record(server="uwsgi", rps=6000.0, recorded_at="2026-11-21T08:00:00+00:00",
                        meta={"load_generator_ceiling": {"rps": 100000.0}})
    late = make_record(server="gunicorn", rps=4000.0, recorded_at="2026-11-21T11:00:00+00:00",
                       meta={"load_generator_ceiling": {"rps": 80000.0}})
    summary = render_readme_tables([early, late]).split("**Fastest valid stack per scenario**")[1].split("###")[0]
    assert "2 rows measured apart over 3.0 h" in summary
    assert "ceiling ranged 80,000-100,000 req/s (+25%)" in summary and "not a ranking" in summary


def test_a_winner_within_the_noise_of_the_runner_up_is_called_a_tie():
    group = [interleaved("uwsgi", [6000, 6300, 5800, 6100, 5900]),
             interleaved("gunicorn", [6100, 5900, 6000, 6050, 5950])]
    summary = render_readme_tables(group).split("**Fastest valid stack per scenario**")[1].split("####")[0]
    assert "not distinguishable from the runner-up" in summary and "95% CI" in summary


def test_a_later_comparison_of_two_cells_does_not_replace_the_wider_ranking():
    ranking = [interleaved(server, rates) for server, rates in (
        ("uwsgi", [6000, 6100, 5900, 6050, 6000]), ("gunicorn", [4000, 4100, 3950, 4020, 4010]),
        ("meinheld", [7000, 7100, 6900, 7050, 7000]))]
    later_pair = [interleaved(server, rates, group="interleaved-2", recorded_at="2026-12-03T10:00:00+00:00")
                  for server, rates in (("gunicorn-gthread", [500, 510, 490, 505, 500]),
                                        ("uvicorn", [450, 460, 440, 455, 450]))]
    summary = render_readme_tables(ranking + later_pair).split("**Fastest valid stack per scenario**")[1]
    assert "- `json`: flask on meinheld" in summary.split("####")[0] and "3 cells" in summary.split("####")[0]


def test_the_readme_ranking_says_how_to_make_one_when_there_is_none():
    from benchmatrix.results.report import render_ranking_section

    text = render_ranking_section(records(), "reports/tables.md")
    assert "No interleaved ranking yet: `nox -s ranking`, then `nox -s report`." in text
    assert text.rstrip().endswith("[reports/tables.md](reports/tables.md).") and "### Scenario" not in text


def test_the_readme_ranking_of_several_machines_names_each():
    from benchmatrix.results.report import render_ranking_section

    def on(machine, server, rates):
        record = interleaved(server, rates, group="interleaved-" + machine)
        return make_record(server=server, rps=record.rps, trials=record.trials,
                           meta=dict(record.meta, machine={"fingerprint": machine, "hostname": machine}))

    group = [on(machine, server, rates) for machine in ("aaaa", "bbbb") for server, rates in (
        ("uwsgi", [6000, 6100, 5900]), ("gunicorn", [4000, 4100, 3950]))]
    text = render_ranking_section(group, "reports/tables.md")
    assert text.count("#### Ranking `json`") == 2
    assert "Machine aaaa (host aaaa):" in text and "Machine bbbb (host bbbb):" in text


def test_rows_that_hold_wrks_synthetic_latencies_are_said_so():
    older = make_record()  # schema 3, closed loop: wrk's own figures
    measured = make_record(schema=4, latency_source="measured samples")
    fixed = make_record(mode="fixed-rate", planned_rate=100.0)  # from planned send times: nothing to say
    assert older.includes_synthetic_latency and not measured.includes_synthetic_latency
    assert not fixed.includes_synthetic_latency
    assert synthetic_note([measured, fixed]) == ""
    assert "of 1 closed-loop record (schema 3 and older) are wrk's own" in synthetic_note([older, measured])


def test_fixed_rate_tables_show_what_each_request_cost_the_server_and_the_stack():
    # At one planned rate across cells, CPU per request is the efficiency comparison.
    fixed = make_record(mode="fixed-rate", planned_rate=1000.0, achieved_rate=999.0,
                        resources={"server_cpu_s": 2.5, "server_cpu_ms_per_request": 0.25,
                                   "stack_cpu_ms_per_request": 0.4, "server_pss_mb_per_worker": 30.0})
    section = render_readme_tables([fixed]).split("### Scenario `json`, fixed rate")[1]
    header = next(line for line in section.splitlines() if line.startswith("| python"))
    row = next(line for line in section.splitlines() if line.startswith("| 3.12"))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    assert (cells["CPU ms/req"], cells["stack CPU ms/req"], cells["PSS MB/worker"]) == ("0.250", "0.400", "30.0")
