"""A second load generator as a cross-check: one h2load trial at the load wrk's trials had.

A number that only one tool ever produced may be partly that tool's. With
`--cross-check h2load`, each closed-loop record gets one more trial from h2load
(nghttp2's generator, forced to HTTP/1.1) at the connections, threads and duration
wrk used; the record keeps h2load's req/s and its ratio to the record's median, and
a disagreement beyond DISAGREE_SHARE flags the row (generators-disagree).

Matching the load, measured with Debian 12's h2load 1.52 (tests/fixtures/h2load):
- one request in flight per connection (-m 1), as wrk; wrk splits connections evenly
  over its threads (connections // threads each), so h2load gets the count wrk opens;
- a timed run (-D) has no per-request timeout in h2load (-N and -T do not apply to
  it, nghttp2 issue #1960), so wrk's --timeout has no counterpart: noted in the record;
- when connections close after each answer (--connection-mode close, or a server that
  closes keep-alive connections, like gunicorn's sync worker), a timed h2load before
  1.64 usually never ends, spinning on a CPU (issue #2250): the cross-check is then
  skipped with the reason recorded, rather than run a different load or hang;
- in a timed run h2load counts a reset connection as no error: that client just stops,
  so its req/s drops and shows as a disagreement, not as socket errors.

What is sent: the scenario's headers with -H, its body with -d from a file written beside
the raw output. -d makes the request a POST; any other method is set with -H ":method: M",
which h2load 1.52 honours on HTTP/1.1 too (measured: PUT, PATCH and DELETE with and without
-d, and a body-less POST, reached a server as such). A flow cannot be expressed: h2load
sends one request again and again; it is skipped with the reason recorded, as the
closing-connection case is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from benchmatrix.checks.flags import Flag, make_flag
from benchmatrix.load.parse import WrkOutputError
from benchmatrix.load.wrk import LoadSettings, LoadToolMissing
from benchmatrix.matrix.scenarios import GET, FlowStep, HttpRequest
from benchmatrix.stack.process import run_bounded

TOOL = "h2load"
KNOWN_TOOLS = (TOOL,)  # what --cross-check accepts
DISAGREE_SHARE = 0.15  # h2load's req/s further than this from wrk's (either way) flags the row
CLOSE_FIXED_IN = (1, 64)  # nghttp2 PR #2249: timed HTTP/1.1 runs with closing connections end again
MARGIN_S = 15  # past --duration: start-up and the stop of every client


@dataclass(frozen=True)
class H2load:
    binary: str
    version: Optional[str]  # "1.52.0"; None if `h2load --version` said nothing readable

    @property
    def version_tuple(self) -> Tuple[int, ...]:
        return tuple(int(part) for part in self.version.split(".")) if self.version else ()


def find_h2load() -> H2load:
    path = shutil.which(TOOL)
    if path is None:
        raise LoadToolMissing(
            "h2load (for --cross-check h2load) was not found on PATH. Install it with "
            "`sudo apt-get install nghttp2-client` (tools/setup.sh does this), then run the bench again.")
    return H2load(path, h2load_version(path))


def h2load_version(binary: str) -> Optional[str]:
    try:
        output = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                timeout=5).stdout.decode("utf-8", errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"nghttp2/(\d+(?:\.\d+)+)", output)  # "h2load nghttp2/1.52.0"
    return found.group(1) if found else None


@dataclass(frozen=True)
class H2loadResult:
    """h2load's summary. `done` counts responses of any status; errored requests got none."""
    duration_s: float
    rps_all: float  # h2load's own req/s: every response, errors too
    total: int
    started: int
    done: int
    succeeded: int  # 2xx responses
    failed: int  # non-2xx responses plus errored requests
    errored: int
    timeout: int
    status_2xx: int
    status_3xx: int
    status_4xx: int
    status_5xx: int
    protocol: Optional[str]  # "http/1.1" once a connection was made

    @property
    def non2xx(self) -> int:
        return max(self.done - self.succeeded, 0)

    @property
    def successful_rps(self) -> float:
        # Only 2xx answers are throughput, as in the record's own req/s.
        return self.rps_all * self.succeeded / self.done if self.done else 0.0

    @property
    def has_errors(self) -> bool:
        return bool(self.non2xx or self.errored or self.timeout)


_FINISHED = re.compile(r"^finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s", re.M)
_REQUESTS = re.compile(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                       r"(\d+) errored, (\d+) timeout", re.M)
_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.M)
_PROTOCOL = re.compile(r"^Application protocol: (\S+)", re.M)
_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_h2load(text: str) -> H2loadResult:
    """The summary of one h2load run; WrkOutputError when the output holds none (it was killed, or failed)."""
    finished, requests, status = _FINISHED.search(text), _REQUESTS.search(text), _STATUS.search(text)
    if not (finished and requests and status):
        last = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "(no output)")
        raise WrkOutputError("h2load printed no summary (no 'finished in', 'requests:' and 'status codes:' "
                             "lines); its last line: {}".format(last.strip()))
    protocol = _PROTOCOL.search(text)
    total, started, done, succeeded, failed, errored, timeout = (int(v) for v in requests.groups())
    s2, s3, s4, s5 = (int(v) for v in status.groups())
    return H2loadResult(duration_s=float(finished.group(1)) * _UNIT_S[finished.group(2)],
                        rps_all=float(finished.group(3)), total=total, started=started, done=done,
                        succeeded=succeeded, failed=failed, errored=errored, timeout=timeout,
                        status_2xx=s2, status_3xx=s3, status_4xx=s4, status_5xx=s5,
                        protocol=protocol.group(1) if protocol else None)


def matched_load(settings: LoadSettings) -> Tuple[int, int]:
    """(connections, threads) wrk really opens: it refuses more threads than connections and gives each
    thread connections // threads, so 7 connections on 2 threads are 6."""
    threads = max(1, min(settings.threads, settings.connections))
    return threads * (settings.connections // threads), threads


def h2load_argv(h2load: str, settings: LoadSettings, url: str, request: HttpRequest = GET,
                data_path: Optional[Path] = None) -> List[str]:
    """h2load's command line; a request with a body needs data_path, the file holding it."""
    connections, threads = matched_load(settings)
    close = ["-H", "Connection: close"] if settings.connection_close else []
    headers = [word for name, value in request.headers for word in ("-H", "{}: {}".format(name, value))]
    data = ["-d", str(data_path)] if request.body and data_path is not None else []
    if request.method != ("POST" if data else "GET"):
        headers = ["-H", ":method: {}".format(request.method)] + headers
    return [h2load, "--h1", "-c", str(connections), "-t", str(threads), "-m", "1",
            "-D", "{}s".format(int(round(settings.duration_s))), *close, *headers, *data, url]


def request_skip_reason(request: HttpRequest, steps: Sequence[FlowStep] = ()) -> Optional[str]:
    """Why h2load cannot send what the scenario sends, or None."""
    if steps:
        return ("h2load cannot run a flow (steps in order sharing cookies and values): it repeats one request; "
                "a flow is measured by wrk alone")
    return None


def skip_reason(h2load: H2load, settings: LoadSettings, server_closes: Optional[bool],
                request: HttpRequest = GET, steps: Sequence[FlowStep] = ()) -> Optional[str]:
    """Why this load cannot be cross-checked with this h2load, or None."""
    cannot_send = request_skip_reason(request, steps)
    if cannot_send:
        return cannot_send
    if h2load.version_tuple and h2load.version_tuple >= CLOSE_FIXED_IN:
        return None
    if settings.connection_close:
        why = "--connection-mode close asks for a new connection per request"
    elif server_closes:
        why = "the server closes the connection after every answer"
    else:
        return None
    return ("{}, and a timed h2load {} usually never ends then (nghttp2 issue #2250, fixed in {}): "
            "skipped rather than hang or measure another load".format(
                why, h2load.version or "(unknown version)", ".".join(map(str, CLOSE_FIXED_IN))))


def data_file(raw_path: Path, request: HttpRequest) -> Optional[Path]:
    """The request's body in a file beside the raw output, for -d; None without a body."""
    if not request.body:
        return None
    path = raw_path.with_name(raw_path.stem + ".body")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(request.body)
    return path


def run_cross_check(h2load: H2load, settings: LoadSettings, url: str, raw_path: Path,
                    prefix: Sequence[str] = (), request: HttpRequest = GET) -> Tuple[List[str], H2loadResult]:
    """One h2load run after `prefix` (the load generator's CPU pinning); the raw output stays at raw_path.

    Raises WrkOutputError on output without a summary, ServiceError when it overran its deadline.
    """
    argv = list(prefix) + h2load_argv(h2load.binary, settings, url, request, data_file(raw_path, request))
    output = run_bounded(argv, timeout_s=settings.duration_s + MARGIN_S, log_path=raw_path)
    return argv, parse_h2load(output)


def ratio_to_wrk(wrk_rps: Optional[float], result: H2loadResult) -> Optional[float]:
    """h2load's successful req/s over wrk's; None when either side has nothing clean to compare."""
    if not wrk_rps or result.has_errors or not result.done:
        return None
    return result.successful_rps / wrk_rps


def assess_cross_check(wrk_rps: Optional[float], result: H2loadResult,
                       share: float = DISAGREE_SHARE) -> List[Flag]:
    """Flags from the h2load trial: its errors as the wrk path flags them, else a disagreement."""

    def flag(code: str, reason: str) -> Flag:
        return make_flag(code, "cross-check ({}): {}".format(TOOL, reason))

    if not wrk_rps:
        return []  # wrk measured nothing clean: the record's own flags say so
    flags = []
    if result.non2xx:
        flags.append(flag("non-2xx", "{} of {} responses ({:.1%}) were not 2xx".format(
            result.non2xx, result.done, result.non2xx / result.done)))
    if result.errored:
        flags.append(flag("socket-errors", "{} requests errored (connection failed or reset)".format(result.errored)))
    if result.timeout:
        flags.append(flag("timeouts", "{} requests timed out".format(result.timeout)))
    if flags:
        return flags
    if not result.done:
        return [flag("generators-disagree", "h2load completed no request at the load where wrk measured "
                     "{:,.0f} req/s".format(wrk_rps))]
    ratio = result.successful_rps / wrk_rps
    if abs(ratio - 1) > share:
        return [flag("generators-disagree", "h2load measured {:,.0f} req/s, {:.2f}x wrk's median {:,.0f} "
                     "(more than {:.0%} apart)".format(result.successful_rps, ratio, wrk_rps, share))]
    return []


def cross_check_metadata(h2load: H2load, argv: Optional[List[str]], result: Optional[H2loadResult],
                         wrk_rps: Optional[float], raw_output: Optional[str],
                         skipped: Optional[str] = None) -> Dict[str, Any]:
    """What the record keeps of the cross-check (meta["cross_check"]); `skipped` says why it did not run."""
    ratio = ratio_to_wrk(wrk_rps, result) if result else None
    return {
        "tool": TOOL, "version": h2load.version, "argv": argv, "raw_output": raw_output, "skipped": skipped,
        "rps": round(result.successful_rps, 1) if result else None,
        "rps_all": round(result.rps_all, 1) if result else None,
        "requests": result.done if result else None,
        "protocol": result.protocol if result else None,
        "errors": {"non2xx": result.non2xx, "errored": result.errored, "timeout": result.timeout} if result else None,
        "wrk_rps": None if wrk_rps is None else round(wrk_rps, 1),
        "ratio_to_wrk": None if ratio is None else round(ratio, 4),
        "disagree_share": DISAGREE_SHARE,
        "unmatched": ["wrk's --timeout: a timed h2load run has no per-request timeout"],
    }


def cross_check(driver, settings: LoadSettings, url: str, raw_path: Path, prefix: Sequence[str],
                wrk_rps: Optional[float], server_closes: Optional[bool], relative: Callable[[Path], str],
                settle: Callable[[], Any], say: Callable[[str], None], request: HttpRequest = GET,
                steps: Sequence[FlowStep] = ()) -> Tuple[Dict[str, Any], List[Flag]]:
    """The record's cross-check by `driver` (load/driver.H2loadDriver, or a test's fake with a .tool):
    (meta, flags). A skip or an h2load failure is recorded, never raised: wrk's trials stand on their own.
    settle() runs first, as before each wrk trial."""
    from benchmatrix.load.driver import LoadRequest
    from benchmatrix.stack.readiness import ServiceError

    h2load = driver.tool
    reason = skip_reason(h2load, settings, server_closes, request, steps)
    if reason:
        say("cross-check (h2load) skipped: " + reason)
        return cross_check_metadata(h2load, None, None, wrk_rps, None, skipped=reason), []
    say("cross-check trial with h2load, {:g} s".format(settings.duration_s))
    settle()
    try:
        ran = driver.run(LoadRequest(settings, url, raw_path, prefix=tuple(prefix), request=request))
    except (WrkOutputError, ServiceError) as error:
        reason = "h2load gave no result: {}".format(str(error).splitlines()[0])
        say("cross-check (h2load) failed: " + reason)
        return cross_check_metadata(h2load, None, None, wrk_rps, relative(raw_path), skipped=reason), []
    argv, result = ran.argv, ran.result
    meta = cross_check_metadata(h2load, argv, result, wrk_rps, relative(raw_path))
    say("cross-check (h2load): {:,.0f} req/s{}".format(result.successful_rps, "" if meta["ratio_to_wrk"] is None
                                                       else ", {:.2f}x wrk".format(meta["ratio_to_wrk"])))
    return meta, assess_cross_check(wrk_rps, result)
