"""One benchmark at a time per machine.

Two benchmarks on one machine share its CPUs, caches and memory bandwidth, and
each makes the other's numbers wrong without either noticing. So every run takes
one machine-wide lock first, whatever results folder it writes to and whoever
runs it, and a second run waits for the first (or, with --no-wait, refuses).

The lock is the kernel's (flock), not the file's existence: the kernel drops it
whenever the holder's process ends, SIGKILL and power cuts included, so there is
never a stale lock to clean up by hand. The file only carries a description of
the holder (pid, what, since when) so a waiter can say whom it is waiting for;
that description may be stale or missing, and is only ever used for messages.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional

import psutil

ENV_VARIABLE = "BENCHMATRIX_MACHINE_LOCK"
RUN_LOCK_DIR = "/run/lock"  # the FHS place for machine-wide lock files; a module global so tests can move it
LOCK_NAME = "benchmatrix.lock"

# One acquisition per process. A second machine_lock() in the same process would
# open a second file description, and flock treats that as a different owner: it
# would wait on itself forever. Refusing is better than a hang.
_held_path: Optional[str] = None
_held_guard = threading.Lock()


class MachineBusy(Exception):
    """Another process holds the machine and we were asked not to wait; the message says who and what to do."""

    def __init__(self, message: str, path: str = "", holder: Optional[str] = None):
        super().__init__(message)
        self.path = path
        self.holder = holder


@dataclass(frozen=True)
class LockHold:
    path: str
    waited_s: float  # 0.0 when the machine was free at once
    acquired_at: str  # ISO 8601 UTC
    holder_seen: Optional[str] = None  # who held it when we had to wait; None if we did not wait

    def as_metadata(self) -> dict:
        """What a record keeps of it: whether this run queued behind another, and from when it held the machine."""
        return {"waited_s": round(self.waited_s, 1), "acquired_at": self.acquired_at,
                "held_by_before": self.holder_seen, "path": self.path}


def lock_path() -> str:
    """$BENCHMATRIX_MACHINE_LOCK, else /run/lock/benchmatrix.lock, else one in the temporary folder.

    Machine-wide on purpose: a lock per results folder would let two users (or one
    user with two folders) benchmark at once, which is what the lock is for.
    """
    chosen = os.environ.get(ENV_VARIABLE)
    if chosen:
        return chosen
    if os.path.isdir(RUN_LOCK_DIR) and os.access(RUN_LOCK_DIR, os.W_OK | os.X_OK):
        return os.path.join(RUN_LOCK_DIR, LOCK_NAME)
    return os.path.join(tempfile.gettempdir(), LOCK_NAME)


def _utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return "{} s".format(seconds)
    if seconds < 2 * 3600:
        return "{} min".format(seconds // 60)
    return "{} h {} min".format(seconds // 3600, seconds % 3600 // 60)


def _pid_alive(pid: int) -> bool:
    """Alive and not a zombie: a zombie has closed its files, so it holds no lock either."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's process: alive, just not ours to inspect


def _user() -> str:
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # a container user with no passwd entry
        return str(os.getuid())


def describe_holder(path: str) -> Optional[str]:
    """Who the lock file says holds the machine, as "pid 1234 (what) since ..., 12 s ago".

    None when the file says nothing usable (missing, empty, half written, not
    ours). This reads the description only; whether anyone holds the lock is
    flock's answer, so call this once flock has said the machine is busy.
    """
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as file:
            record = json.loads(file.read())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    what = str(record.get("what") or "no description")
    user = record.get("user")
    whose = " of user {}".format(user) if user and user != _user() else ""
    since = record.get("since") or "an unknown time"
    text = "pid {}{} ({}) since {}".format(pid, whose, what, since)
    if isinstance(record.get("since_epoch"), (int, float)):
        text += ", {} ago".format(_age(time.time() - record["since_epoch"]))
    if not _pid_alive(pid):
        # The holder that wrote this has ended; the lock now belongs to someone
        # who has not written their own description yet (or could not).
        return "a process that has not said who it is (the lock file still names {}, which has exited)".format(text)
    return text


def _holder_text(path: str) -> str:
    return describe_holder(path) or (
        "a process that has not said who it is (it may have only just taken the lock; the lock file is {})".format(path))


def _open(path: str) -> int:
    """The lock file open for writing (read-only if that is all we may), created 0o666 if absent."""
    while True:
        try:
            # Open before creating: with fs.protected_regular, O_CREAT on another
            # user's file in a sticky folder (/tmp, /run/lock) fails even when
            # its mode allows writing.
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            pass
        except PermissionError:
            # Someone else's file with a narrower mode. flock works on a read-only
            # descriptor, so we still contend; we just cannot describe ourselves.
            return os.open(path, os.O_RDONLY)
        else:
            _widen(fd)
            return fd
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # another process created it between our two opens
        _widen(fd)
        return fd


def _widen(fd: int) -> None:
    # The umask (often 022) narrows the mode given to open; without this the next
    # user's benchmark could not open the file for writing.
    try:
        os.fchmod(fd, 0o666)
    except PermissionError:
        pass  # someone else's file: its owner decides


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd: int, path: str) -> bool:
    """Whether path still names the file we locked (a temporary-folder cleaner may have removed it).

    A lock on a removed file excludes nobody: the next process creates and locks a new one.
    """
    try:
        on_disk, ours = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino)


def _describe_self(fd: int, what: str, now: float) -> None:
    record = {
        "pid": os.getpid(),
        "what": what,
        "since": _utc_iso(now),
        "since_epoch": now,
        "user": _user(),
        "command": list(getattr(sys, "orig_argv", sys.argv)),
    }
    try:
        os.ftruncate(fd, 0)
        # An unbuffered write at offset 0: nothing is left in a buffer for a waiter to miss.
        os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
    except OSError:
        pass  # opened read-only, or a full disk: waiters will say the holder is unnamed


@contextlib.contextmanager
def machine_lock(what: str, wait: bool = True, say: Callable[[str], None] = print,
                 poll_s: float = 0.2, remind_s: float = 30.0) -> Iterator[LockHold]:
    """Hold the machine for the body: wait for (or, with wait=False, refuse on) another holder.

    Raises MachineBusy when wait is False and someone holds it, and RuntimeError
    when this process already holds it.
    """
    global _held_path
    path = lock_path()
    with _held_guard:
        if _held_path is not None:
            raise RuntimeError("this process already holds the machine lock {}; taking it again would "
                               "wait on itself forever".format(_held_path))
        _held_path = path
    fd = -1
    acquired = False  # only the holder may clear the description: a refused waiter has the file open too
    try:
        try:
            fd = _open(path)
        except OSError as error:
            raise OSError(error.errno, "cannot open the machine lock {}: {}; set {} to a file in a writable "
                          "folder".format(path, error.strerror, ENV_VARIABLE)) from error
        started = time.monotonic()
        holder_seen: Optional[str] = None
        next_reminder = 0.0
        while True:
            if _try_flock(fd):
                if _same_file(fd, path):
                    acquired = True
                    break
                os.close(fd)  # the file we locked was removed; contend for the one others will open
                fd = -1  # so the cleanup does not close it twice if the reopen fails
                fd = _open(path)
                continue
            if holder_seen is None:
                holder_seen = _holder_text(path)
                if not wait:
                    raise MachineBusy(
                        "the machine is busy: held by {}. Wait for it to finish, or run "
                        "without --no-wait to queue behind it (lock file {})".format(holder_seen, path),
                        path=path, holder=holder_seen)
                say("waiting for the machine: held by {}; pass --no-wait to refuse instead "
                    "of waiting".format(holder_seen))
                next_reminder = started + remind_s
            elif time.monotonic() >= next_reminder:
                say("still waiting for the machine after {}: held by {}".format(
                    _age(time.monotonic() - started), _holder_text(path)))
                next_reminder += remind_s
            time.sleep(poll_s)
        waited_s = time.monotonic() - started if holder_seen is not None else 0.0
        now = time.time()
        _describe_self(fd, what, now)
        if holder_seen is not None:
            say("got the machine after waiting {}".format(_age(waited_s)))
        yield LockHold(path=path, waited_s=waited_s, acquired_at=_utc_iso(now), holder_seen=holder_seen)
    finally:
        if fd >= 0:
            if acquired:
                with contextlib.suppress(OSError):
                    # Clear our description while still holding the lock, so nobody
                    # reads it as the next holder's; the file itself stays (see below).
                    os.ftruncate(fd, 0)
            # Unlock explicitly (a forked child sharing the descriptor would keep
            # it locked past close), but never delete the file: a waiter that
            # opened it would then lock a removed file while a newcomer locks a new one.
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        with _held_guard:
            _held_path = None


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmatrix.hosts.machine_lock",
                                     description="Reserve the machine as a benchmark would.")
    commands = parser.add_subparsers(dest="command", required=True)
    hold = commands.add_parser("hold", help="take the machine lock, print 'held', and keep it for SECONDS")
    hold.add_argument("seconds", type=float)
    hold.add_argument("--what", default="reserved by hand")
    hold.add_argument("--no-wait", action="store_true", help="refuse instead of waiting if the machine is busy")
    options = parser.parse_args(argv)
    # A plain `kill` ends the reservation through the context manager's cleanup.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        with machine_lock(options.what, wait=not options.no_wait,
                          say=lambda line: print("benchmatrix: " + line, file=sys.stderr, flush=True)):
            print("held", flush=True)
            time.sleep(options.seconds)
    except MachineBusy as busy:
        print("benchmatrix: {}".format(busy), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
