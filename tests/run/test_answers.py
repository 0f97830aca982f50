"""The side probe's rate and the answer logs, against a real server only where it matters."""

from __future__ import annotations

from benchmatrix.run import answers
from benchmatrix.stack import probe


def test_the_probe_stays_under_one_percent_of_the_primer_rate():
    assert answers.probe_interval_s(2500.0) == answers.PROBE_MIN_INTERVAL_S  # 4/s against 2500/s
    assert answers.probe_interval_s(100.0) == 1.0  # 1/s against 100/s: 1%
    assert answers.probe_interval_s(0.8) == 125.0  # a slow I/O scenario: none within a 5 s trial
    assert answers.probe_interval_s(None) is None and answers.probe_interval_s(0.0) is None


def test_a_log_keeps_the_first_wrong_answer():
    log = answers.AnswerLog("during the load")
    for problem in ("", "GET /json answered 302", "", "GET /json returned body 'x'"):
        log.add(problem)
    assert log.as_metadata() == {"checked": 4, "wrong": 2, "first_wrong": "GET /json answered 302"}


def test_wrong_answers_are_written_for_the_raw_folder_and_right_ones_are_not(tmp_path):
    right, wrong = answers.AnswerLog("during the load"), answers.AnswerLog("after the load")
    right.add("")
    wrong.add("GET /json answered 302")
    answers.save_wrong(tmp_path / "none.txt", [right])
    answers.save_wrong(tmp_path / "json.wrong-answers.txt", [right, wrong])
    assert not (tmp_path / "none.txt").exists()
    assert (tmp_path / "json.wrong-answers.txt").read_text() == "after the load: GET /json answered 302\n"


def trial(requests, bytes_read):
    return {"requests": requests, "bytes": bytes_read}


def test_bytes_per_answer_inside_the_verified_band_pass():
    # 161-byte answers, 64 connections, 100,000 answers: the half-read tail is allowed.
    assert answers.size_problem([161, 161], [trial(100000, 161 * 100000 + 64 * 100)], 64) is None


def test_bytes_per_answer_far_from_the_verified_size_are_a_changed_answer():
    reason = answers.size_problem([161], [trial(50000, 95 * 50000)], 64)  # a bare 302 is smaller
    assert "averaged 95.0 bytes under load against 161 verified" in reason


def test_without_a_verified_size_or_a_byte_count_nothing_is_judged():
    assert answers.size_problem([], [trial(1000, 1)], 8) is None
    assert answers.size_problem([161], [{"requests": 10}], 8) is None


def answer(**headers):
    return probe.Answer(200, {k.lower().replace("_", "-"): v for k, v in headers.items()}, b"Hello, World!")


GOOD = dict(Date="Wed, 02 Dec 2026 20:00:00 GMT", Server="gunicorn", Content_Length="13")


def test_a_server_sending_what_techempower_checks_gets_no_warning():
    later = dict(GOOD, Date="Wed, 02 Dec 2026 20:00:07 GMT")
    assert answers.header_warnings(answer(**GOOD), answer(**later), 7.0) == []


def test_missing_or_malformed_headers_are_warnings():
    assert answers.header_warnings(answer(Server="x", Content_Length="13"), answer(), 5) == ["no Date header"]
    odd = dict(GOOD, Date="2026-12-02T20:00:00Z")
    assert "not in IMF-fixdate form" in answers.header_warnings(answer(**odd), answer(**odd), 5)[0]
    assert answers.header_warnings(answer(**GOOD), answer(**GOOD), 6)[0].startswith("Date stayed")
    bare = dict(Date=GOOD["Date"])
    assert answers.header_warnings(answer(**bare), answer(**bare), 1) == [
        "no Server header", "neither Content-Length nor chunked Transfer-Encoding"]
