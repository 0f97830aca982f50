"""Every process the harness starts, and how it is stopped.

Each child gets its own process group (and session), so stopping it means
signalling the whole group: pre-fork servers leave workers behind otherwise,
and a Ctrl-C in the terminal does not reach them. Stop is SIGTERM to the
group, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.readiness import ServiceError, wait_ready

class Interrupted(BaseException):
    """SIGTERM turned into an exception so that cleanup runs as for Ctrl-C."""


def raise_on_sigterm() -> None:
    def handler(signum, frame):
        raise Interrupted("terminated by signal {}".format(signum))
    signal.signal(signal.SIGTERM, handler)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ensure_port_free(port: int, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            raise ServiceError(
                "port {} on {} is taken ({}); stop what listens there, choose another "
                "--port, or leave --port out to get a free one".format(port, host, error.strerror))


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _only_zombies(pgid)


def _only_zombies(pgid: int) -> bool:
    """Whether every process left in the group has exited and only waits to be reaped. A grandchild
    whose parent died is reaped by PID 1, which in a container can take over a second (measured: 1.5 s);
    nothing of it runs meanwhile, so waiting for it (and then SIGKILLing nothing) only delays the stop."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False  # not Linux: signal 0 is all there is to go by
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/stat".format(entry)) as stat:
                state, _, group = stat.read().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(group) == pgid and state != "Z":
            return False
    return True


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then act on them as usual.

    Used where an interrupt would leave a process untracked (between fork and
    bookkeeping) or half stopped. Handlers are swapped rather than the signal mask
    blocked, because children inherit a blocked mask and could then not be stopped.
    """
    received: List[int] = []
    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum))
                for signum in watched}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), received[0])


def stop_group(process: subprocess.Popen, grace_s: float = 10.0,
               stop_signal: int = signal.SIGTERM) -> None:
    """SIGTERM the process group, wait for every member, then SIGKILL what is left.

    stop_signal exists for servers whose SIGTERM is not "stop now" (PostgreSQL's
    is a smart shutdown that waits for clients; SIGINT is its fast shutdown).
    """
    with signals_deferred():
        _stop_group(process, grace_s, stop_signal)


def _stop_group(process: subprocess.Popen, grace_s: float, stop_signal: int = signal.SIGTERM) -> None:
    pgid = process.pid  # start_new_session makes the child its group's leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, stop_signal)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so its pid does not linger as a zombie
        if not _group_alive(pgid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()


def _find_prctl() -> Optional[Callable[..., int]]:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child must not dlopen
    except (OSError, AttributeError):
        return None  # not Linux: services then stop only when the harness stops them


_PRCTL = _find_prctl()
_PR_SET_PDEATHSIG = 1


def _dies_with_parent(signum: int, then: Optional[Callable[[], None]]) -> Callable[[], None]:
    """A preexec function: run `then` (e.g. dropping privileges), then ask the kernel for `signum`
    when the harness dies. A harness killed with SIGKILL cannot stop its services itself; without
    this they would outlive it in their own sessions, holding ports and CPUs. Set after `then`
    because a change of credentials clears it."""
    def preexec() -> None:
        if then is not None:
            then()
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    return preexec


def spawn(argv: Sequence[str], log_path: Path, env: Optional[Mapping[str, str]] = None,
          cwd: Optional[Path] = None, preexec_fn: Optional[Callable[[], None]] = None,
          death_signal: Optional[int] = None) -> subprocess.Popen:
    """Start argv in a new session; with death_signal, it also gets that signal if the harness dies."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if death_signal is not None:
        preexec_fn = _dies_with_parent(death_signal, preexec_fn)
    with open(str(log_path), "ab") as log:
        return subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(env) if env else None,
                                cwd=str(cwd) if cwd else None, start_new_session=True,
                                preexec_fn=preexec_fn)


@contextlib.contextmanager
def started(argv: Sequence[str], log_path: Path, env: Optional[Mapping[str, str]] = None,
            cwd: Optional[Path] = None, grace_s: float = 10.0,
            stop_signal: int = signal.SIGTERM,
            preexec_fn: Optional[Callable[[], None]] = None,
            long_running: bool = False) -> Iterator[subprocess.Popen]:
    """A child in its own process group, stopped with its whole group however the block ends.

    long_running services also get stop_signal from the kernel if the harness dies
    (not short commands such as wrk, which may start while sampler threads run, and
    a preexec function is only safe in a process without other threads).
    """
    process = None
    try:
        with signals_deferred():  # an interrupt right after fork must not lose the child
            process = spawn(argv, log_path, env=env, cwd=cwd, preexec_fn=preexec_fn,
                            death_signal=stop_signal if long_running else None)
        yield process
    finally:
        if process is not None:
            stop_group(process, grace_s, stop_signal)


def run_bounded(argv: Sequence[str], timeout_s: float, log_path: Path,
                env: Optional[Mapping[str, str]] = None,
                observer: Optional[Callable[[int], ContextManager[Any]]] = None) -> str:
    """Run a short-lived command to completion (or kill it at the deadline); return its output.

    observer(pid), if given, is a context manager held while the command runs.
    """
    with started(argv, log_path, env=env, grace_s=2.0) as process:
        with observer(process.pid) if observer else contextlib.nullcontext():
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise ServiceError("{} did not finish within {:.0f} s and was killed".format(argv[0], timeout_s))
    return log_path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Finished:
    """What a command run to its end (or to its deadline) left: its exit code and everything it printed."""
    returncode: Optional[int]  # None: stopped at the deadline
    output: str


def run_captured(command: Union[str, Sequence[str]], timeout_s: float, env: Optional[Mapping[str, str]] = None,
                 cwd: Optional[Path] = None, shell: bool = False) -> Finished:
    """Run a command in a session of its own, its output captured, and stop its whole process group when it
    ends or at the deadline.

    Killing only the process started (what subprocess.run does on timeout) would stop a shell
    but leave what it started running, holding ports, files and CPU; and a command that put
    something in the background and returned would leave that behind too.
    """
    with signals_deferred():  # an interrupt right after fork must not lose the child
        process = subprocess.Popen(command if shell else list(command), shell=shell, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, universal_newlines=True,
                                   errors="replace", env=dict(env) if env is not None else None,
                                   cwd=str(cwd) if cwd else None, start_new_session=True)
    timed_out = False
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        stop_group(process, grace_s=2.0)
    if timed_out:
        output, _ = process.communicate()  # the group is gone, so the pipe is closed: what it printed so far
        return Finished(None, output)
    return Finished(process.returncode, output)


@dataclass
class HttpService:
    """A long-running server answering HTTP on 127.0.0.1:port, or on a unix socket.

    With protocol "uwsgi" the server speaks uWSGI's binary protocol, so readiness
    is a socket connect; whoever fronts it (nginx) checks the HTTP answer.
    """
    name: str
    argv: List[str]
    port: Optional[int]
    log_path: Path
    ready_path: str = "/"
    env: Dict[str, str] = field(default_factory=dict)
    cwd: Optional[Path] = None
    boot_timeout_s: float = 30.0
    process: Optional[subprocess.Popen] = None
    socket_path: Optional[str] = None
    protocol: str = "http"
    host: str = probe.LOOPBACK  # where it listens: loopback, or its namespace's address (--hosts netns)
    stop_signal: int = signal.SIGTERM  # what stops it at once (recipes.py: gunicorn's is SIGINT)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(port=None if self.socket_path else self.port, socket_path=self.socket_path, host=self.host)

    @property
    def base_url(self) -> str:
        return self.endpoint.url

    def _probe(self) -> Optional[str]:
        # Readiness means what the load will hit answers: a TCP accept alone can
        # come from a master process whose workers are still importing the app.
        if self.protocol != "http":
            return None if probe.accepts(self.endpoint) else "no connection accepted"
        return None if probe.status_or_none(self.endpoint, self.ready_path) is not None else "no HTTP answer"

    @contextlib.contextmanager
    def running(self) -> Iterator["HttpService"]:
        """Started and ready; stopped with its whole group however the block ends."""
        env = dict(os.environ)
        # With it set (Docker's Python images set it), every boot compiles the app's packages
        # again: measured, a Django cell then took 2.3 s to boot instead of 1.0 s.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(self.env)
        with started(self.argv, self.log_path, env=env, cwd=self.cwd, long_running=True,
                     stop_signal=self.stop_signal) as self.process:
            wait_ready(self.process, self._probe, self.boot_timeout_s, self.name, self.log_path,
                       extra="\n  listening on: {}".format(self.base_url))
            yield self
