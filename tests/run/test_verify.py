"""What counts as a correct answer, on the pure check (the live path is in test_end_to_end)."""

from __future__ import annotations

from benchmatrix.matrix.scenarios import SCENARIOS
from benchmatrix.run.verify import check_response

JSON = SCENARIOS["json"]
PLAIN = SCENARIOS["plaintext"]


def test_equal_json_with_other_spacing_passes():
    assert check_response(JSON, 200, "application/json", b'{"message":"Hello, World!"}') is None


def test_charset_parameters_are_allowed():
    assert check_response(PLAIN, 200, "text/plain; charset=utf-8", b"Hello, World!") is None


def test_a_500_is_reported_with_its_body():
    message = check_response(JSON, 500, "text/html", b"<h1>Server Error</h1>")
    assert "answered 500" in message and "Server Error" in message


def test_a_wrong_content_type_is_reported():
    assert "Content-Type 'text/html'" in check_response(PLAIN, 200, "text/html", b"Hello, World!")


def test_a_wrong_body_is_reported():
    assert "returned body" in check_response(PLAIN, 200, "text/plain", b"Hello World")
    assert "returned body" in check_response(JSON, 200, "application/json", b"not json")
