"""The sessions this nox run will run, in order, read from nox itself.

nox has no public API for its queue. Its manifest, reachable from a running session,
holds the sessions already run and those still queued, in order; reading it costs
nothing, where running `nox -l --json` again (the former way) cost a second nox start
and could disagree with a notify(). nox is pinned (configs/requirements/tools.txt) and
tests/sessions/test_sessions_state.py pins these attributes; without them the run shows no i/N.
"""

from __future__ import annotations

from typing import List, Optional


def nox_queue(session) -> Optional[List[str]]:
    """The names (as `nox -s` takes them) of every session this nox run has run or will run, in order."""
    manifest = getattr(getattr(session, "_runner", None), "manifest", None)
    consumed = getattr(manifest, "_consumed", None)
    queued = getattr(manifest, "_queue", None)
    if consumed is None or queued is None:
        return None
    return [runner.friendly_name for runner in list(consumed) + list(queued)]
