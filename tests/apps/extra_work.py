"""The Flask app with a fixed amount of extra CPU work per request: a copy of a cell made slower on purpose.

The calibration's detection test (`nox -s calibrate -- --detect 0.10`) compares
the cell against this copy spinning 10% of the cell's own CPU time per request,
and counts how often the comparison tells them apart. The work is a busy loop on
the thread's own CPU clock (time.thread_time), not on the wall clock: a request
preempted mid-spin must still cost exactly the extra CPU asked for, or the copy
would be "10% slower" only on a quiet machine.

Targets, so each contender of one comparison can ask for its own amount:
  tests.apps.extra_work:app       extra microseconds from BENCHMATRIX_EXTRA_WORK_US (0 when unset)
  tests.apps.extra_work:spin_250  250 us of extra CPU per request (any whole number; spin_0 is the plain
                                  app behind the same wrapper, the fair baseline)
"""

import os
import time

from apps.flask.app import app as flask_app

VARIABLE = "BENCHMATRIX_EXTRA_WORK_US"


def spin_cpu_us(microseconds: int) -> None:
    """Busy until this thread has used `microseconds` more of CPU."""
    until = time.thread_time_ns() + microseconds * 1000
    while time.thread_time_ns() < until:
        pass


def with_extra_work(microseconds: int):
    def extra_work_app(environ, start_response):
        if microseconds:
            spin_cpu_us(microseconds)
        return flask_app(environ, start_response)
    return extra_work_app


app = with_extra_work(int(os.environ.get(VARIABLE) or 0))


def __getattr__(name: str):
    """spin_<N>: the app with N microseconds of extra CPU per request (a module attribute made on demand)."""
    prefix, _, amount = name.partition("_")
    if prefix == "spin" and amount.isdigit():
        return with_extra_work(int(amount))
    raise AttributeError(name)
