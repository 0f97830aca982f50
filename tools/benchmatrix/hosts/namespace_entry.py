"""Entering a named network namespace: the calling thread, a child before it execs, or a command.

Kept apart from the lab that creates the namespaces (netns.py), so what only needs
to run inside one (the embedded database, a round-trip probe) imports no more.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterator, List

def namespace_path(name: str) -> str:
    return "/run/netns/" + name


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """The calling thread inside namespace `name` for the block, then back where it was.

    A network namespace belongs to a thread, and what it starts inherits it: the harness
    enters the load generator's namespace, so wrk, h2load and every check it makes connect
    from the load host, as on a separate client machine, without a prefix on each command.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(namespace_path(name), os.O_RDONLY)
        try:
            os.setns(target, os.CLONE_NEWNET)
        finally:
            os.close(target)
        try:
            yield
        finally:
            os.setns(own, os.CLONE_NEWNET)
    finally:
        os.close(own)


def enter_in_child(name: str) -> Callable[[], None]:
    """A preexec step that moves a child into namespace `name` (for children that must still drop root
    afterwards, where `nsenter` as a prefix would run after the drop and fail)."""
    path = namespace_path(name)

    def preexec() -> None:
        fd = os.open(path, os.O_RDONLY)
        os.setns(fd, os.CLONE_NEWNET)
        os.close(fd)
    return preexec


def command_prefix(name: str) -> List[str]:
    """Run a command inside namespace `name`; nsenter execs it in place, so its pid is the command's."""
    return ["nsenter", "--net=" + namespace_path(name), "--"]
