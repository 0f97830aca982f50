"""Handing over to the harness: `python -m benchmatrix ...` from its own environment."""

from __future__ import annotations

from benchmatrix import harness_env
from benchmatrix.matrix import interpreters
from benchmatrix.matrix.listing import MatrixListing

# On Ctrl-C nox kills its child 0.5 s after the signal unless told to wait; the harness
# needs up to its stop grace (10 s per service) to take the server down first.
STOP_WAITS = {"interrupt_timeout": 60, "terminate_timeout": 30}
# A nested nox run needs the harness's own stop time, or the cell's server would outlive it.
NESTED_STOP_WAITS = {"interrupt_timeout": 120, "terminate_timeout": 60}


def harness_python(session, listing: MatrixListing) -> str:
    """The harness's interpreter, its environment built on first use and reused while its pins hold."""
    if listing.newest is None:
        session.error(interpreters.missing_message(listing.matrix.pythons[-1]))
    return harness_env.ensure_harness_env(listing.found[listing.newest].path, say=session.log)


def run_harness(session, listing: MatrixListing, *args: str, **options) -> None:
    session.run(harness_python(session, listing), "-m", "benchmatrix", *args, external=True, **options)
