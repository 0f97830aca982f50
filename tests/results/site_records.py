"""Records for the site's tests: one interleaved json run of two cells on machine A, a row of a
third cell measured apart, a failed db_sleep row, and a cell measured on machine B."""

from __future__ import annotations

from typing import Any, Dict, List

from benchmatrix.results.records import Record
from tests.record_factory import make_record

MACHINE_A = {"fingerprint": "aaaa", "cpu_model": "AMD EPYC", "cpu_count": 2, "hostname": "vm",
             "advice": [{"finding": "load is <high>", "what_to_do": "wait & retry"}]}
MACHINE_B = {"fingerprint": "bbbb", "cpu_model": "Intel Xeon", "cpu_count": 8, "hostname": "big"}
ROUNDS = (1000.0, 1020.0, 990.0, 1010.0, 1005.0)


def _meta(machine: Dict[str, Any], **more: Any) -> Dict[str, Any]:
    meta = {"load_command": ["wrk", "--connections", "64"], "machine": machine,
            "git": {"sha": "0123456789abcdef", "dirty": False}, "packages": {"gunicorn": "23.0.0"}}
    meta.update(more)
    return meta


def interleaved(server: str, scale: float, position: int) -> Record:
    trials = [{"round": n, "rps": rate * scale, "latency_ms": {"p50": 1.0, "p99": 2.0}, "errors": {},
               "raw_output": "raw/run1/json.trial{}.txt".format(n)} for n, rate in enumerate(ROUNDS, start=1)]
    return make_record(
        run_id="run1", record_id="run1/{}".format(position), server=server, rps=1005.0 * scale,
        recorded_at="2026-12-01T10:0{}:00+00:00".format(position), trials=trials, raw_output="raw/run1",
        spectrum=[[0.0, 0.5], [50.0, 1.0], [90.0, 1.5], [99.0, 2.0], [100.0, 3.0]], spectrum_source="5 trials merged",
        meta=_meta(MACHINE_A, interleaved={"group": "interleaved-1", "contenders": ["uvicorn/flask", server + "/flask"]}))


def site_records() -> List[Record]:
    return [
        interleaved("uvicorn", 1.0, 1),
        interleaved("gunicorn", 0.5, 2),
        make_record(run_id="run2", record_id="run2/1", server="uwsgi", rps=700.0, meta=_meta(MACHINE_A),
                    recorded_at="2026-11-30T09:00:00+00:00"),
        make_record(run_id="run3", record_id="run3/1", scenario="db_sleep", rps=None, status="failed",
                    flags=[{"code": "load-failed", "reason": "wrk said <nothing> & exited", "hint": "read <raw>"}],
                    meta=_meta(MACHINE_A), recorded_at="2026-11-30T08:00:00+00:00"),
        make_record(run_id="run4", record_id="run4/1", server="uvicorn", rps=9000.0, meta=_meta(MACHINE_B),
                    recorded_at="2026-12-02T08:00:00+00:00"),
    ]
