"""A measuring command's user errors and interrupts, turned into one line and an exit code."""

from __future__ import annotations

import sys


def fail(error) -> int:
    print("benchmatrix: error: {}".format(error), file=sys.stderr)
    return 2


def guarded(run) -> int:
    from benchmatrix.hosts.machine_lock import MachineBusy
    from benchmatrix.hosts.netns import NamespaceError
    from benchmatrix.hosts.ssh import RemoteHostError
    from benchmatrix.load.wrk import LoadToolMissing
    from benchmatrix.stack.process import Interrupted, raise_on_sigterm
    from benchmatrix.stack.readiness import ServiceError

    raise_on_sigterm()
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
