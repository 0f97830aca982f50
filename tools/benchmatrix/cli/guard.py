"""A measuring command's user errors and interrupts, turned into one line and an exit code."""

from __future__ import annotations

import sys


def fail(error) -> int:
    print("benchmatrix: error: {}".format(error), file=sys.stderr)
    return 2


def raise_on_sigint() -> None:
    """Ctrl-C and `kill -INT` stop the command, even where it started with SIGINT ignored.

    A command started in the background of a non-interactive shell (`benchmatrix calibrate ... &`, a
    script, a CI step) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler:
    SIGINT did nothing, and a calibration went on to its next A/A run. Every process the harness starts
    is in its own process group and stopped by it, so the harness itself must be the one to stop.
    """
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)


def guarded(run) -> int:
    from benchmatrix.hosts.machine_lock import MachineBusy
    from benchmatrix.hosts.netns import NamespaceError
    from benchmatrix.hosts.ssh import RemoteHostError
    from benchmatrix.load.wrk import LoadToolMissing
    from benchmatrix.stack.process import Interrupted, raise_on_sigterm
    from benchmatrix.stack.readiness import ServiceError

    raise_on_sigterm()
    raise_on_sigint()
    try:
        return run()
    except MachineBusy as error:
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 3
    except (ValueError, LoadToolMissing, ServiceError, NamespaceError, RemoteHostError) as error:
        return fail(error)
    except (KeyboardInterrupt, Interrupted):
        print("benchmatrix: interrupted; every process this run started has been stopped",
              file=sys.stderr)
        return 130
