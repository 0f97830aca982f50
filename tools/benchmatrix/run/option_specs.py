"""Every option of a cell's run, declared once: its flag, default, type (with validation) and help.

The `benchmatrix run` and `interleave` parsers add their arguments from here, RunOptions
takes its defaults from here, and so do the shard planner's load shape, the shard
session's arguments, smoke's short settings and docs/options.md (render_options_table).
Standard library only: nox's interpreter reads the defaults for shards and smoke.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from benchmatrix.load.parse import parse_duration_s
from benchmatrix.matrix.scenarios import GROUPS, IO_CONNECTIONS, IO_TIMEOUT_S, SCENARIOS
from benchmatrix.paths import PROJECT_ROOT

RUN = "run"  # only `benchmatrix run` (and the bench sessions) take it
MEASUREMENT = "measurement"  # how a cell is measured: `run` and `interleave` both take it
COMPARISON = "comparison"  # how cells are compared in slices: `interleave` and `calibrate` take it

# What a scenario gets when neither it (matrix/scenarios.py) nor the command line says otherwise.
DEFAULT_CONNECTIONS = 64  # CPU-bound scenarios: enough to keep every worker busy
DEFAULT_TIMEOUT_S = 2

Help = Union[str, Callable[[], str]]  # a callable where the help says what this machine would do


def whole_seconds(text: str) -> int:
    """wrk only takes whole seconds, so refuse anything else up front."""
    try:
        seconds = parse_duration_s(str(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError("{!r}: wrk runs in whole seconds; give e.g. 1s, 10s or 2m".format(text))
    return int(seconds)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("{!r} is not a whole number".format(text))
    if value < 1:
        raise argparse.ArgumentTypeError("{!r} must be 1 or more".format(text))
    return value


def non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("{!r} is not a number of seconds".format(text))
    if value < 0:
        raise argparse.ArgumentTypeError("{!r}: give 0 (no sample) or more seconds".format(text))
    return value


def connection_counts(text: str) -> Tuple[int, ...]:
    """"64", or "16,32,64" for a concurrency sweep."""
    counts = tuple(positive_int(part.strip()) for part in text.split(","))
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError("{!r}: give each connection count once".format(text))
    return counts


def latency_target(text: str):
    from benchmatrix.load.latency_target import parse_latency_target

    try:
        return parse_latency_target(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def package_overrides(text: str):
    from benchmatrix.matrix.overrides import parse_overrides

    try:
        return parse_overrides(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def cross_check_tool(text: str) -> str:
    from benchmatrix.load.cross_check import KNOWN_TOOLS

    if text not in KNOWN_TOOLS:
        raise argparse.ArgumentTypeError("{!r} is not a known second load generator; known: {}".format(
            text, ", ".join(KNOWN_TOOLS)))
    return text


@dataclass(frozen=True)
class Option:
    flag: str  # "--duration"
    default: Any
    help: Help
    group: str = MEASUREMENT
    parse: Optional[Callable[[str], Any]] = None  # argparse's type=: converts and validates
    metavar: Optional[str] = None
    choices: Optional[Sequence[str]] = None
    switch: bool = False  # a flag without a value (store_true)
    shown_default: Optional[str] = None  # the default as the docs say it, where the value is machine-specific
    shown_help: Optional[str] = None  # the help as the docs say it, where the help is machine-specific

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def help_text(self) -> str:
        return self.help() if callable(self.help) else self.help

    def add_to(self, parser: argparse.ArgumentParser, **overrides) -> None:
        """This option as an argparse argument; overrides for a parser that differs (e.g. its default)."""
        settings: Dict[str, Any] = {"default": self.default, "help": self.help_text()}
        if self.switch:
            settings["action"] = "store_true"
        else:
            settings.update(type=self.parse, metavar=self.metavar, choices=self.choices)
        settings.update(overrides)
        parser.add_argument(self.flag, **{k: v for k, v in settings.items() if v is not None or k == "default"})

    def argument(self, value: Any) -> List[str]:
        """The command-line words that set this option to `value` (for the nested runs smoke starts)."""
        if self.switch:
            return [self.flag] if value else []
        return [self.flag, str(value)]


def _ceiling_help() -> str:
    from benchmatrix.load import ceiling

    return CEILING_HELP.format(hours=ceiling.MAX_AGE_S // 3600, share=round(ceiling.BOUND_SHARE * 100))


def _workers_help() -> str:
    from benchmatrix.hosts.pinning import resolve_pinning
    from benchmatrix.matrix.cells import MATRIX_FILE, read_matrix

    if not MATRIX_FILE.is_file():
        return WORKERS_HELP.format(here="")
    matrix = read_matrix()  # benchmatrix's own file: a user's project's apps do not change the workers
    auto = resolve_pinning("auto")
    here = ": {} with --pin auto here, {} with --pin off".format(
        auto.server_cpu_count if auto else matrix.worker_count(), matrix.worker_count())
    return WORKERS_HELP.format(here=here)


CEILING_HELP = ("the load generator's ceiling (wrk against nginx's fixed body on the server's CPUs, same connections "
                "and threads): auto reuses one measured quietly here in the last {hours} h under the same "
                "conditions, measure measures again, off skips it (the records then cannot say whether wrk set the "
                "pace); a cell at {share}%% of it or more is flagged load-generator-bound")
WORKERS_HELP = "server workers (default: one per CPU the server gets{here})"
SCENARIOS_HELP = "comma-separated endpoints to measure, from: {}; or groups: {}; all".format(
    ", ".join(SCENARIOS), "; ".join("{} = {}".format(g, ",".join(names)) for g, names in GROUPS.items() if g != "all"))

OPTIONS: Tuple[Option, ...] = (
    Option("--venv", None, "the cell's virtualenv: the server runs from its interpreter, and its version picks the "
           "cell's Python (nox passes .nox/<session>); default: the harness's own", RUN, Path, "DIR"),
    Option("--trials", 3, "measured runs per scenario; the record holds their median and spread", RUN, positive_int),
    Option("--rate", None, "also run fixed-rate (open-loop) trials at these rates: req/s (2000) or shares of this "
           "cell's closed-loop maximum (50%%,90%%); uses wrk2 when installed, else the built-in driver on wrk; "
           "latency counts from each request's planned send time", RUN),
    Option("--slo", None, "after the closed-loop trials, search the highest fixed rate whose percentile stays within "
           "TIME (p99=50ms, p99.9=0.2s, max=1s) and whose achieved rate holds to 5%%: fixed-rate probes between 0 and "
           "the closed-loop peak, each --duration long, every probe kept in raw/; one record per scenario says the "
           "rate", RUN, latency_target, "pNN=TIME"),
    Option("--cross-check", None, "after each closed-loop record's wrk trials, one more trial with a second load "
           "generator (h2load, HTTP/1.1) at the same connections, threads and duration; the record keeps its req/s "
           "and the ratio to wrk's median, and more than 15%% apart flags the row generators-disagree (needs "
           "`apt-get install nghttp2-client`)", RUN, cross_check_tool, "TOOL"),
    Option("--port", None, "loopback port for the server (default: a free one)", RUN, positive_int),
    Option("--hosts", "local", "where the server, the load generator and the database run: all here over loopback "
           "(local), each in its own network namespace on 198.18.0.0/15 joined by a bridge (netns, needs root), or "
           "as a hosts file names them (the load on an SSH host; see docs/hosts.md); the record names each role's host "
           "and the round-trip times", RUN, metavar="local|netns|FILE.toml"),
    Option("--link", None, "with --hosts netns, shape every role's link: e.g. rate=1gbit,delay=1ms (each packet "
           "leaving a role is paced at RATE by tc and waits DELAY, by netem or, on a kernel without it, the delay "
           "line; a round trip takes twice DELAY)", RUN, metavar="rate=RATE,delay=DELAY"),
    Option("--progress", None, "this cell's place in a matrix run, optionally with the seconds the matrix has spent "
           "(3/10@42.5; the bench sessions pass it), for the '[cell 3/10, ~4m10s left]' prefix", RUN,
           metavar="CELL/CELLS"),
    Option("--with", None, "run the cell with this release of one of its packages instead of its pin "
           "(uvicorn==0.30.6; several separated by commas): a bench session builds it a virtualenv of its own "
           "(.nox/<session>-with-<hash>) from the cell's pins without that package's line, then the release; the run "
           "checks the virtualenv has it and records it (meta.overrides), and tables label the cell with it",
           RUN, package_overrides, "PACKAGE==VERSION"),
    Option("--app-target", None, "serve this importable callable instead of the app's own (benchmark your own app "
           "with the same servers and checks)", RUN, metavar="MODULE:CALLABLE"),
    Option("--duration", 10, "measured load per scenario (wrk takes whole seconds: 10s, 2m)", parse=whole_seconds),
    Option("--warmup", 2, "discarded load before each measurement; 0 skips it", parse=whole_seconds),
    Option("--primer", 1, "short checked burst before the warmup; a scenario that gets no successful response in it "
           "fails at once; 0 skips it", parse=whole_seconds),
    Option("--max-cv", None, "flag a scenario whose req/s varies more than this between trials (0.10 = 10%%); by "
           "default the spread is tested against this machine's known noise (the load generator ceiling's own "
           "spread, at least the typical 8%%)", parse=float),
    Option("--max-busy", 0.25, "flag the cell when more than this share of all CPUs is busy in the 0.5 s before its "
           "server starts (0.25 = 25%%)", parse=float),
    Option("--machine-sample", 0.5, "how long the machine is watched before the server starts, for --max-busy and "
           "the busiest other processes; 0 skips it and records both as unknown (nox -s smoke: its cells prove they "
           "work, they measure nothing worth keeping)", parse=non_negative_seconds, metavar="SECONDS"),
    Option("--pin", "auto", "CPU placement: auto (on 2+ CPUs, the first half to the server and nginx in front of it, "
           "the rest to wrk, the database and the upstream stub; workers default to one per server CPU); SERVER:LOAD "
           "CPU lists, e.g. 0:1; or off (everything shares every CPU)"),
    Option("--ceiling", "auto", _ceiling_help, choices=("auto", "measure", "off")),
    Option("--side-probe", "on", "check answers on the side while the load runs (under 1%% of the requests); off only "
           "to measure what the probe costs", choices=("on", "off")),
    Option("--connection-mode", "keep-alive", "keep-alive: wrk reuses each connection; close: every request asks for "
           "a new one (Connection: close), as a client behind a non-pooling proxy does",
           choices=("keep-alive", "close")),
    Option("--no-wait", False, "refuse at once (exit 3) when another benchmark holds this machine, instead of waiting "
           "for it to finish", switch=True),
    Option("--connections", None, "open connections wrk keeps busy (default: {}, or {} for I/O-bound scenarios, as "
           "the seeds ran them); several (16,32,64,128,256) sweep them: one closed-loop record per count, and the "
           "report draws req/s and p99 against connections and names the knee".format(DEFAULT_CONNECTIONS,
                                                                                        IO_CONNECTIONS),
           parse=connection_counts, metavar="N[,N...]"),
    Option("--threads", 2, "wrk threads (capped at --connections)", parse=positive_int),
    Option("--timeout", None, "a response slower than this counts as a timeout error (default: {}s, or {}s for "
           "I/O-bound scenarios)".format(DEFAULT_TIMEOUT_S, IO_TIMEOUT_S), parse=whole_seconds),
    Option("--scenarios", "hello", SCENARIOS_HELP),
    Option("--measure-first", None, "put load on only the first N of --scenarios; the others are still verified "
           "before the load (nox -s smoke: 1)", parse=positive_int, metavar="N"),
    Option("--coop-check", "auto", "send N concurrent requests to /db_sleep?s=1 and /upstream before the load and "
           "record whether the stack overlapped them (~1 s) or queued them (~N s per worker); auto: when a chosen "
           "scenario needs the database or the upstream", choices=("auto", "on", "off")),
    Option("--coop-requests", 10, "concurrent requests of the cooperative-I/O check", parse=positive_int, metavar="N"),
    Option("--workers", None, _workers_help, parse=positive_int, shown_default="one per server CPU",
           shown_help=WORKERS_HELP.format(here="")),
    Option("--boot-timeout", 30, "how long the server may take to answer before the cell fails", parse=whole_seconds),
    Option("--results-dir", PROJECT_ROOT / "reports", "where results.jsonl, results.md and raw/ live", parse=Path,
           shown_default="reports/ of the checkout"),
)
# The sliced comparison's (run/interleave.py, run/interleave_rule.py); `calibrate` measures which settle fastest.
OPTIONS += (
    Option("--slice", 1, "seconds of load per slice: the contenders' load alternates A B | B A | ... in slices "
           "this long, each a wrk run of its own (1: the A/A runs of docs/trust.md narrowed the interval more "
           "than 2 at equal load)", group=COMPARISON, parse=whole_seconds, metavar="SECONDS"),
    Option("--metric", "rps", "the ratio that drives the stopping rule: rps (req/s; throughput, the question on a "
           "quiet machine) or cpu (the stack's CPU time per request; cost, steadier on a noisy one); both are "
           "printed and recorded", group=COMPARISON, choices=("rps", "cpu")),
    Option("--normalize", "none", "speed-reference: divide each slice's figure by the fixed loop timed on the "
           "server's CPUs just before it (off until A/A runs show it narrows the interval)", group=COMPARISON,
           choices=("none", "speed-reference")),
    Option("--min-pairs", 5, "ABBA pairs of slices before the comparison may stop", group=COMPARISON,
           parse=positive_int, metavar="N"),
    Option("--speed-reference", "on", "time the fixed loop before each slice and keep it in the records",
           group=COMPARISON, choices=("on", "off")),
)
BY_FLAG: Dict[str, Option] = {option.flag: option for option in OPTIONS}


def option(flag: str) -> Option:
    return BY_FLAG[flag]


def default(flag: str) -> Any:
    return BY_FLAG[flag].default


def add_options(parser: argparse.ArgumentParser, group: str, **overrides: Dict[str, Any]) -> None:
    """Every option of a group; overrides maps a flag to its argparse settings that differ here."""
    for spec in OPTIONS:
        if spec.group == group:
            spec.add_to(parser, **overrides.get(spec.flag, {}))


def arguments(values: Dict[str, Any]) -> List[str]:
    """Command-line words for these option values, by flag, checked against the declarations."""
    words: List[str] = []
    for flag, value in values.items():
        words += BY_FLAG[flag].argument(value)
    return words


TAKEN_BY = {RUN: "run", COMPARISON: "interleave, calibrate"}


def render_options_table() -> str:
    """The options as a markdown table (docs/options.md is this, generated by `benchmatrix options --markdown`)."""
    lines = ["| option | default | what it does | taken by |", "|---|---|---|---|"]
    for spec in OPTIONS:
        shown = spec.shown_default or ("off" if spec.switch else "-" if spec.default is None else str(spec.default))
        value = " " + (spec.metavar or spec.dest.upper()) if not spec.switch else ""
        text = (spec.shown_help or spec.help_text()).replace("%%", "%").replace("|", "\\|")
        if spec.choices:
            text += " (one of: {})".format(", ".join(spec.choices))
        lines.append("| `{}{}` | {} | {} | {} |".format(spec.flag, value.replace("|", "\\|"), shown, text,
                                                         TAKEN_BY.get(spec.group, "run, interleave")))
    return "\n".join(lines) + "\n"
