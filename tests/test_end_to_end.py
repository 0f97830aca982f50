"""Real cells on 127.0.0.1: real gunicorn, real apps, real wrk, short durations."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # real cells and services: the default run has them, -m 'not slow' skips them


def codes(record):
    return [f["code"] for f in record["flags"]]


def response_flags(record):
    """Flags about the server's answers, as opposed to the machine or the load generator."""
    return [c for c in codes(record) if c in ("non-2xx", "socket-errors", "timeouts", "no-successful-responses")]


def without_taskset(argv):
    """The command itself, after the `taskset -c CPUS` that --pin auto puts in front."""
    return argv[3:] if argv[:2] == ["taskset", "-c"] else argv


def test_a_real_cell_appends_an_ok_record_per_scenario(default_cell):
    harness, result = default_cell
    assert result.returncode == 0, result.stdout
    records = harness.records()
    assert [r["scenario"] for r in records] == ["json", "plaintext"]
    for record in records:
        assert record["status"] == "ok", record["flags"]
        assert record["rps"] > 0
        assert record["mode"] == "closed-loop"
        assert record["latency_ms"]["p99"] >= record["latency_ms"]["p50"] > 0
        assert record["meta"]["packages"]["gunicorn"]
        assert without_taskset(record["meta"]["load_command"])[0].endswith("wrk")
        assert (harness.results_dir / record["raw_output"] / "server.log").is_file()
        (trial,) = record["trials"]
        assert (harness.results_dir / trial["raw_output"]).is_file()
        usage = trial["resources"]
        assert usage["server_cpu_s"] > 0 and usage["server_peak_rss_mb"] > 10
        # Pre-forked workers share the interpreter's pages: split (PSS) or left out (USS), they weigh less.
        assert 0 < usage["server_peak_uss_mb"] <= usage["server_peak_pss_mb"] < usage["server_peak_rss_mb"]
        assert trial["resources"]["load_generator_cpu_s"] > 0
    table = (harness.results_dir / "results.md").read_text().splitlines()
    assert sum(1 for line in table if line.startswith("| date")) == 1
    assert sum(1 for line in table if "| flask " in line) == 2


def test_an_app_answering_500_fails_verification_and_is_never_ok(harness):
    result = harness.bench("gunicorn", "flask", "--app-target", "tests.apps.broken:app")
    assert result.returncode == 1
    assert "answered 500" in result.stdout
    records = harness.records()
    assert records and all(r["status"] == "failed" for r in records)
    assert all(r["rps"] is None for r in records)
    assert records[0]["flags"][0]["code"] == "verification-failed"


def test_errors_under_load_flag_the_record(harness):
    result = harness.bench("gunicorn", "flask", "--app-target", "tests.apps.flaky:app",
                           "--scenarios", "json")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["status"] == "flagged"
    assert response_flags(record) == ["non-2xx"]
    assert record["errors"]["non2xx"] > 0
    assert record["rps"] < record["rps_all"]


def test_a_server_that_cannot_boot_fails_fast_with_its_log(harness):
    started = time.monotonic()
    result = harness.bench("gunicorn", "flask", "--app-target", "tests.apps.missing:app")
    assert result.returncode == 2
    assert "exited with code" in result.stdout
    assert "tests.apps.missing" in result.stdout  # gunicorn's own error, from the log tail
    assert time.monotonic() - started < 20


def test_a_taken_port_is_refused_with_advice(harness):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = harness.bench("gunicorn", "flask", "--port", str(busy.getsockname()[1]))
    assert result.returncode == 2
    assert "is taken" in result.stdout and "--port" in result.stdout
    assert harness.records() == []


def test_missing_wrk_says_how_to_install_it(harness):
    result = harness.bench("gunicorn", "flask", PATH=os.path.dirname(os.path.realpath(os.__file__)))
    assert result.returncode == 2
    assert "apt-get install wrk" in result.stdout


def test_unknown_options_and_servers_get_usage_errors(harness):
    unknown_option = harness.run("run", "--server", "gunicorn", "--app", "flask", "--turbo")
    assert unknown_option.returncode == 2 and "unrecognized arguments: --turbo" in unknown_option.stdout
    unknown_server = harness.run("run", "--server", "tornado", "--app", "flask")
    assert unknown_server.returncode == 2 and "invalid choice: 'tornado'" in unknown_server.stdout
    fractional = harness.run("run", "--server", "gunicorn", "--app", "flask", "--duration", "1.5s")
    assert fractional.returncode == 2 and "whole seconds" in fractional.stdout


def test_sigint_during_load_leaves_no_process_and_no_partial_record(harness):
    # Without the ceiling (64 connections would measure one first): the signal tests are about stopping.
    process = harness.popen("run", "--server", "gunicorn", "--app", "flask", "--scenarios", "json",
                            "--duration", "30s", "--warmup", "0", "--primer", "0", "--machine-sample", "0",
                            "--ceiling", "off", "--results-dir", str(harness.results_dir), start_new_session=True)
    try:
        for line in process.stdout:
            if "trial 1/" in line:
                break
        time.sleep(0.5)  # wrk is mid-run now
        assert len(harness.strays()) >= 3  # harness, server master and workers, wrk
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, output
    assert "interrupted" in output
    assert harness.strays() == []
    assert all(r["status"] in ("ok", "flagged") for r in harness.records())  # whole records only


def test_sigterm_stops_the_run_like_ctrl_c(harness):
    process = harness.popen("run", "--server", "gunicorn-gthread", "--app", "flask", "--duration",
                            "30s", "--warmup", "0", "--primer", "0", "--ceiling", "off", "--results-dir",
                            str(harness.results_dir))
    for line in process.stdout:
        if "trial 1/" in line:
            break
    process.terminate()
    assert process.wait(timeout=30) == 130
    assert harness.strays() == []


def test_uwsgi_serves_every_request_without_socket_errors(harness):
    # uWSGI's http-socket closes each connection; configs/uwsgi.ini makes it say so.
    result = harness.bench("uwsgi", "django", "--scenarios", "plaintext")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    # On 2 cores uWSGI keeps both CPUs busy and wrk may be flagged short of CPU; that is not this test.
    assert not response_flags(record), record["flags"]
    assert without_taskset(record["meta"]["server"]["command"])[0].endswith("uwsgi")


@pytest.mark.parametrize("delay_s", [0.3, 1.0, 1.8])
def test_ctrl_c_at_any_phase_leaves_nothing_behind(harness, delay_s):
    # The delays land in start-up, boot or verification, and the primer or the measured run.
    process = harness.popen("run", "--server", "gunicorn", "--app", "flask", "--duration", "5s",
                            "--warmup", "0", "--primer", "1s", "--ceiling", "off", "--results-dir",
                            str(harness.results_dir), start_new_session=True)
    time.sleep(delay_s)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=30)[0]
    assert process.returncode in (130, -2), output  # interrupted, by the handler or before it was set
    assert harness.strays() == []
    assert all(r["status"] in ("ok", "failed") for r in harness.records())


def test_a_worker_replaced_mid_run_flags_the_record(harness):
    result = harness.bench("gunicorn", "flask", "--app-target", "tests.apps.crashy:app",
                           "--scenarios", "json", "--primer", "0", "--duration", "2s")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert "server-restarted" in [f["code"] for f in record["flags"]]
    assert record["status"] == "flagged"


@contextlib.contextmanager
def busy_loops(count, cpu=None):
    """Real CPU hogs for the duration of the block, optionally all on one CPU."""
    prefix = ["taskset", "-c", cpu] if cpu is not None else []
    hogs = [subprocess.Popen(prefix + [sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_a_busy_machine_is_flagged(harness):
    # An unwatched machine (--machine-sample 0) is test_conditions.py's: nothing there needs a cell.
    with busy_loops(os.cpu_count() or 1):
        result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--max-busy", "0.25",
                               "--machine-sample", "0.5")
    (record,) = harness.records()
    assert "machine-busy" in [f["code"] for f in record["flags"]], result.stdout
    assert record["meta"]["machine"]["busy_share_before_start"] > 0.25


def test_a_fixed_rate_run_records_its_plan_and_corrected_latency(harness):
    # gunicorn-gthread keeps connections alive: a clean run (the sync worker's rows say idle-reconnects).
    result = harness.bench("gunicorn-gthread", "flask", "--scenarios", "json", "--rate", "100", "--duration", "2s")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()  # an absolute rate needs no closed-loop run first
    assert record["mode"] == "fixed-rate" and record["planned_rate"] == 100
    assert record["status"] == "ok", record["flags"]
    assert abs(record["achieved_rate"] - 100) <= 1
    assert record["meta"]["load_driver"] == "wrk-fixed-rate"
    assert record["spectrum"][-1][0] == 100 and record["latency_ms"]["p99.9"] >= record["latency_ms"]["p50"]
    assert record["spectrum_source"] == "1 trial merged ({} latencies)".format(record["requests"])


def programs(strays):
    """What each "pid: command line" runs: the program's name, or the module after `python -m`."""
    names = set()
    for stray in strays:
        argv = stray.split(": ", 1)[1].split()
        names.add(argv[argv.index("-m") + 1] if "-m" in argv[:3] else os.path.basename(argv[0]).rstrip(":"))
    return names


def test_a_harness_killed_outright_takes_its_services_with_it(harness):
    # SIGKILL leaves the harness no chance to clean up: the kernel's parent-death signal must.
    process = harness.popen("run", "--server", "gunicorn+nginx-unix", "--app", "flask", "--duration", "3s",
                            "--warmup", "0", "--primer", "0", "--trials", "1", "--scenarios", "json",
                            "--ceiling", "off", "--results-dir", str(harness.results_dir))
    try:
        for line in process.stdout:
            if "trial 1/" in line:
                break
        # Up before the kill, or the test proves nothing: the server, its front, and wrk.
        wanted = {"gunicorn", "nginx", "wrk"}
        deadline = time.monotonic() + 10  # wrk starts just after the line is printed
        while not wanted <= programs(harness.strays()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wanted <= programs(harness.strays()), harness.strays()
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 15  # the services go at once; wrk ends with its own 3 s duration
    while harness.strays() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert harness.strays() == []


def test_answers_that_go_wrong_only_under_load_are_caught(harness):
    # Right for the first 200 requests per worker, so verification passes and wrk (which counts a
    # 302 as a success) sees nothing: the side probe and the check after the load do. Which wrong
    # answers the checks tell apart (body, status, Content-Type) is test_verify.py's, without a cell.
    target, wrong = "tests.apps.drifting:redirect", "answered 302"
    result = harness.bench("gunicorn", "flask", "--scenarios", "json", "--app-target", target, "--primer", "1s")
    assert result.returncode == 0, result.stdout
    (record,) = harness.records()
    assert record["status"] == "flagged"
    (flag,) = [f for f in record["flags"] if f["code"] == "responses-changed"]
    assert wrong in flag["reason"], flag
    assert record["meta"]["answers"]["during_load"]["wrong"] > 0
    assert record["meta"]["answers"]["after_load"]["wrong"] > 0
    assert (harness.results_dir / record["raw_output"] / "json.wrong-answers.txt").is_file()


def test_a_correct_app_passes_the_checks_during_and_after_the_load(default_cell):
    harness, result = default_cell
    assert result.returncode == 0, result.stdout
    record = harness.records()[0]  # json
    assert record["status"] == "ok", record["flags"]
    checks = record["meta"]["answers"]
    assert checks["during_load"]["checked"] > 0 and checks["during_load"]["wrong"] == 0
    assert checks["after_load"]["checked"] >= 2 and checks["after_load"]["wrong"] == 0
    # The probe stays under 1% of the requests the trial made.
    assert checks["during_load"]["checked"] < 0.01 * record["requests"]
    # What gunicorn sends, and no header warning: Date (changing), Server, Content-Length.
    headers = checks["headers"]
    assert headers["sent"]["server"] == "gunicorn" and headers["sent"]["content-length"]
    assert headers["warnings"] == []
    # wrk's bytes per answer match the verified answer's size on the wire.
    verified = checks["wire_bytes"]["verified"]
    assert verified and abs(checks["wire_bytes"]["under_load"] - verified[0]) < 0.02 * verified[0]


def test_close_mode_gets_its_own_labelled_row_and_a_closing_server_is_labelled_too(harness, default_cell):
    for mode in ("keep-alive", "close"):
        # No ceiling: a closing load has its own, and measuring it would take longer than the test.
        result = harness.bench("gunicorn-gthread", "flask", "--scenarios", "json", "--connection-mode", mode,
                               "--ceiling", "off")
        assert result.returncode == 0, result.stdout
    kept, closed = harness.records()
    sync = default_cell[0].records()[0]  # sync workers close every connection
    assert (kept["connection_mode"], closed["connection_mode"]) == ("keep-alive", "close")
    assert kept["status"] == closed["status"] == "ok", (kept["flags"], closed["flags"])
    assert closed["rps"] > 0 and closed["rps"] != kept["rps"]
    assert without_taskset(closed["meta"]["load_command"])[-3:-1] == ["--header", "Connection: close"]
    assert kept["meta"]["answers"]["server_closes_connections"] is False
    assert sync["meta"]["answers"]["server_closes_connections"] is True
    # The second run kept the first's row: one header, two rows.
    table = (harness.results_dir / "results.md").read_text()
    assert table.count("| date") == 1 and table.count("| flask ") == 2
    assert "| 8 close " in table
    assert "| 8 (server closes) " in (default_cell[0].results_dir / "results.md").read_text()


def test_measure_first_loads_only_the_first_scenario_but_verifies_them_all(harness):
    # smoke's setting: the json endpoint is loaded, the plaintext one only verified.
    result = harness.bench("gunicorn", "flask", "--scenarios", "json,plaintext", "--measure-first", "1")
    assert result.returncode == 0, result.stdout
    assert "verifying 2 endpoint(s)" in result.stdout
    assert [(r["scenario"], r["status"]) for r in harness.records()] == [("json", "ok")]
    # A wrong plaintext body fails the cell, though plaintext is never loaded.
    result = harness.bench("gunicorn", "flask", "--scenarios", "json,plaintext", "--measure-first", "1",
                           "--app-target", "tests.apps.plaintext_wrong:app")
    assert result.returncode == 1, result.stdout
    failed = [r for r in harness.records() if r["status"] == "failed"]
    assert [r["scenario"] for r in failed] == ["json", "plaintext"]
    assert all(r["flags"][0]["code"] == "verification-failed" for r in failed)
