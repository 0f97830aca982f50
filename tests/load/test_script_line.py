"""The result line of the harness's own wrk scripts (load/script_line.py), read the same way for
fixed_rate.lua and flow.lua: exact outcomes on made-up lines."""

from __future__ import annotations

import pytest

from benchmatrix.load.flow_report import parse_flow_report
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.script_line import histogram_rows, marked_object, number, optional_number

MARKER = "TEST_JSON "


def missing(text):
    return WrkOutputError("no line in " + text)


def test_the_one_marked_line_is_read_among_wrks_own_output():
    text = "Running 1s test @ http://h/\n" + MARKER + '{"a": 1, "b": null}\nRequests/sec: 3\n'
    data = marked_object(text, MARKER, "test", missing)
    assert data == {"a": 1, "b": None}
    assert number(data, "a", "test") == 1.0 and optional_number(data, "b", "test") is None


@pytest.mark.parametrize("text, message", [
    ("nothing\n", "no line in nothing"),
    (MARKER + "{}\n" + MARKER + "{}\n", "holds 2 test results; parse one run at a time"),
    (MARKER + '{"a": 1\n', "test result line is not valid JSON .*cut short"),
    (MARKER + "[1]\n", "not a JSON object"),
])
def test_a_missing_doubled_or_damaged_line_is_an_error_saying_which(text, message):
    with pytest.raises(WrkOutputError, match=message):
        marked_object(text, MARKER, "test", missing)


def test_numbers_are_numbers_not_booleans_nor_text():
    for value in (True, "1", [1]):
        with pytest.raises(WrkOutputError, match="test has no number 'a'"):
            optional_number({"a": value}, "a", "test")
    with pytest.raises(WrkOutputError, match="got None"):
        number({}, "a", "test")


def test_histogram_rows_are_checked_against_the_answers_they_count():
    assert histogram_rows([[0.1005, 1], [1003.52, 2]], 3, "test") == ((0.1005, 1), (1003.52, 2))
    assert histogram_rows([], 0, "test") == ()
    for rows in ([[1, 0]], [[-1, 1]], [[1, 1.5]], [[1]], [[1, True]], [["1", 1]]):
        with pytest.raises(WrkOutputError, match="histogram row is not"):
            histogram_rows(rows, 1, "test")
    with pytest.raises(WrkOutputError, match="test histogram counts 3 samples for 4 answers"):
        histogram_rows([[1, 3]], 4, "test")
    with pytest.raises(WrkOutputError, match="not a list"):
        histogram_rows({"1": 3}, 3, "test")


def test_a_flow_line_with_a_damaged_histogram_is_refused():
    line = ('BENCHMATRIX_FLOW_JSON {"threads":1,"started":1,"flow":{"name":"flow","count":1,"failed":0,'
            '"mean_ms":1,"histogram_us":[[1000,1]]},"steps":[{"name":"1","count":1,"failed":0,"mean_ms":1,'
            '"histogram_us":[[1000,"x"]]}]}\n')
    with pytest.raises(WrkOutputError, match="flow series '1' histogram row is not"):
        parse_flow_report(line)
    assert parse_flow_report(line.replace('"x"', "1")).steps[0].histogram_us == ((1000.0, 1),)
