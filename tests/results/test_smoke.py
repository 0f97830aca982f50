"""The smoke table: nox's --report joined with the records of the scratch results folder."""

from __future__ import annotations

import json

from benchmatrix.results.smoke import summarize


def write_report(path, sessions):
    path.write_text(json.dumps({"result": 0, "sessions": sessions}))


def session(name, server, app, result, duration):
    return {"args": {"server": server, "app": app}, "name": name, "result": result, "result_code": 1,
            "reason": None, "signatures": ["{}(server='{}', app='{}')".format(name, server, app)],
            "duration": duration}


def record(server, app, python, scenario, rps, flags=()):
    return {"server": server, "app": app, "python": python, "scenario": scenario, "rps": rps,
            "flags": [{"code": code} for code in flags]}


def test_one_row_per_session_with_its_rates_flags_and_verdict(tmp_path):
    write_report(tmp_path / "report.json", [
        session("bench", "gunicorn", "flask", "success", 5.3),
        session("bench", "gunicorn-gevent-psycogreen", "raw", "failed", 2.8),
    ])
    records = [record("gunicorn", "flask", "3.13", "json", 5029.4, ["machine-busy"]),
               record("gunicorn", "flask", "3.13", "plaintext", 5431.0)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    table, passed = summarize(tmp_path / "report.json", tmp_path, 61.0)
    assert not passed
    assert "| gunicorn | flask | 3.13 | pass | json 5029, plaintext 5431 | 5.3 | machine-busy |" in table
    assert "| gunicorn-gevent-psycogreen | raw | ? | FAIL |" in table
    assert "2 cell(s): 1 passed, 1 failed; wall time 61 s (1.0 min)" in table


def test_a_pinned_python_family_keeps_its_own_records(tmp_path):
    write_report(tmp_path / "report.json", [session("bench-3.9", "gunicorn", "flask", "success", 5.0),
                                            session("bench-3.13", "gunicorn", "flask", "success", 5.0)])
    records = [record("gunicorn", "flask", "3.9", "json", 100.0), record("gunicorn", "flask", "3.13", "json", 200.0)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    table, passed = summarize(tmp_path / "report.json", tmp_path, 10.0)
    assert passed
    assert "| gunicorn | flask | 3.9 | pass | json 100 |" in table
    assert "| gunicorn | flask | 3.13 | pass | json 200 |" in table
