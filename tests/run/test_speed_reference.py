"""The speed reference's child: timed answers, and a child that hangs or dies turned into a ServiceError with
its whole process group stopped. Real processes, each well under a second."""

from __future__ import annotations

import os
import time

import pytest

from benchmatrix.run.speed_reference import SpeedReference
from benchmatrix.stack.readiness import ServiceError


def gone(pgid: int) -> bool:
    """Nothing of the group runs: no member left, or only exited ones that PID 1 has yet to reap (in a
    container that takes up to seconds, and nothing of such a member runs meanwhile)."""
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/{}/stat".format(entry)) as stat:
                state, _, group = stat.read().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue  # not a process, or gone meanwhile
        if int(group) == pgid and state != "Z":
            return False
    return True


def test_the_loop_answers_in_milliseconds():
    with SpeedReference(iterations=1000) as reference:
        assert 0 < reference.time_ms() < 1000 and 0 < reference.time_ms() < 1000


@pytest.mark.slow  # ~1.5-2.3 s here: the stopped grandchild is reaped by the container's init
def test_a_child_that_hangs_is_a_service_error_at_its_deadline_and_its_group_is_stopped():
    # The prefix stands where taskset would: a shell that starts a sleeping child and never answers.
    reference = SpeedReference(cpu_prefix=("sh", "-c", "sleep 30 & wait", "x"), timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"did not answer within 0.3 s"):
        with reference:
            pgid = reference.process.pid
            reference.time_ms()
    assert time.monotonic() - started < 5 and gone(pgid)


def test_a_child_that_dies_is_a_service_error():
    reference = SpeedReference(cpu_prefix=("sh", "-c", "exit 3", "x"), timeout_s=5)
    with pytest.raises(ServiceError, match=r"speed reference loop .* (stopped|exit status 3)"):
        with reference:
            reference.process.wait()
            reference.time_ms()
