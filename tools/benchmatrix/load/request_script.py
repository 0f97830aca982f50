"""What wrk sends beyond a plain GET, written as the Lua its --script runs.

wrk takes one script. For a single request the harness writes a short prelude that sets
wrk.method, wrk.headers and wrk.body (wrk builds its static request from them once per
thread, so this costs nothing per request) and then runs the report script that would
have run anyway (wrk_report.lua closed-loop, fixed_rate.lua open-loop) with dofile, so
its line numbers and its name stay in any error. For a flow the prelude declares the
steps for flow.lua (load/flow_report.py reads what it prints).

The prelude is written next to the trial's raw output, so the record's raw folder keeps
exactly what was sent.

"{var}" in a flow step's headers and body becomes a template: literal pieces and the names
of variables an earlier step extracted (so JSON braces in a body are never mistaken for
one). "regex:PATTERN" extractions run under wrk as Lua patterns (LuaJIT has no regular
expressions): lua_pattern translates the common subset and refuses the rest before load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

from benchmatrix.matrix.scenarios import FlowStep, HttpRequest

HERE = Path(__file__).resolve().parent
FLOW_SCRIPT = HERE / "flow.lua"
VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
EXTRACT_KINDS = ("cookie", "header", "regex")

Piece = Tuple[bool, str]  # (is a variable, literal text or the variable's name)


class UnsupportedUnderWrk(ValueError):
    """A request or flow wrk's Lua cannot send as declared; the message says what to change."""


def lua_string(data: bytes) -> str:
    """A Lua string literal holding exactly these bytes (printable ASCII kept, the rest as \\ddd)."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append("\\{:03d}".format(byte))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _text(value: str, encoding: str = "utf-8") -> str:
    return lua_string(value.encode(encoding))


def request_prelude(request: HttpRequest, report_script: Path) -> str:
    """Lua that sets wrk's static request to `request`, then runs `report_script`."""
    lines = ["-- written by benchmatrix (load/request_script.py): the scenario's request, then the report script",
             "wrk.method = " + _text(request.method)]
    for name, value in request.headers:
        lines.append("wrk.headers[{}] = {}".format(_text(name), _text(value)))
    if request.body:
        lines.append("wrk.body = " + lua_string(request.body))
    lines.append("dofile({})".format(_text(str(report_script))))
    return "\n".join(lines) + "\n"


def template(text: str, known: Iterable[str]) -> Tuple[Piece, ...]:
    """`text` cut into literal pieces and the "{name}"s of variables in `known`; other braces stay literal."""
    known = set(known)
    pieces: List[Piece] = []
    at = 0
    for found in VARIABLE.finditer(text):
        if found.group(1) not in known:
            continue
        if found.start() > at:
            pieces.append((False, text[at:found.start()]))
        pieces.append((True, found.group(1)))
        at = found.end()
    if at < len(text) or not pieces:
        pieces.append((False, text[at:]))
    return tuple(pieces)


def fill(pieces: Sequence[Piece], values) -> str:
    """The text of a template with each variable's value (KeyError names a variable never extracted)."""
    return "".join(values[text] if is_variable else text for is_variable, text in pieces)


def split_extraction(source: str) -> Tuple[str, str]:
    """("cookie", "csrftoken") from "cookie:csrftoken"; ValueError naming the accepted kinds."""
    kind, _, argument = source.partition(":")
    if kind not in EXTRACT_KINDS or not argument:
        raise ValueError("extract {!r}: expected cookie:NAME, header:NAME or regex:PATTERN".format(source))
    return kind, argument


_CLASS_ESCAPES = {"d": "%d", "D": "%D", "w": "%w_", "s": "%s", "S": "%S"}
_ESCAPES = {"d": "%d", "D": "%D", "w": "[%w_]", "W": "[^%w_]", "s": "%s", "S": "%S"}
_LUA_MAGIC = "^$()%.[]*+-?"


def lua_pattern(regex: str) -> str:
    """The Lua pattern for a regular expression of the subset wrk can run: literals, ., \\d \\w \\s (and their
    negations), [...] classes, the quantifiers * + ? *? and one capture group. UnsupportedUnderWrk otherwise."""
    out: List[str] = []
    i, groups = 0, 0

    def refuse(why: str) -> UnsupportedUnderWrk:
        return UnsupportedUnderWrk(
            "regex {!r} cannot run under wrk ({}): wrk's LuaJIT has only Lua patterns; use literals, ., \\d \\w \\s, "
            "[...] classes, * + ? *? and one (group), or extract a cookie: or header: instead".format(regex, why))

    while i < len(regex):
        char = regex[i]
        if char == "\\":
            if i + 1 >= len(regex):
                raise refuse("a trailing backslash")
            nxt = regex[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt.isalnum():
                raise refuse("the escape \\" + nxt)
            else:
                out.append(("%" + nxt) if nxt in _LUA_MAGIC else nxt)
            i += 2
        elif char == "[":
            end = regex.find("]", i + 2 if regex[i + 1:i + 2] in ("]", "^") else i + 1)
            if end < 0:
                raise refuse("an unclosed [")
            body, parts = regex[i + 1:end], ["["]
            j = 0
            if body.startswith("^"):
                parts.append("^")
                j = 1
            while j < len(body):
                c = body[j]
                if c == "\\" and j + 1 < len(body):
                    e = body[j + 1]
                    if e in _CLASS_ESCAPES:
                        parts.append(_CLASS_ESCAPES[e])
                    elif e.isalnum():
                        raise refuse("the escape \\" + e + " in a class")
                    else:
                        parts.append("%" + e if not e.isalnum() else e)
                    j += 2
                    continue
                if c == "-" and 0 < j < len(body) - 1 and parts[-1] not in ("[", "^"):
                    parts.append("-")  # a range, as in the regex
                elif c in "%]-^":
                    parts.append("%" + c)
                else:
                    parts.append(c)
                j += 1
            out.append("".join(parts) + "]")
            i = end + 1
        elif char == "(":
            groups += 1
            if groups > 1 or regex[i + 1:i + 2] == "?":
                raise refuse("more than one group, or a (?...) group")
            out.append("(")
            i += 1
        elif char == ")":
            if out and out[-1] == "(":
                raise refuse("an empty group")
            out.append(")")
            i += 1
            if i < len(regex) and regex[i] in "*+?{":
                raise refuse("a quantified group")
        elif char in "*+?":
            if not out or out[-1] in ("(", ")"):
                raise refuse("a quantifier with nothing to repeat")
            if char == "*" and regex[i + 1:i + 2] == "?":
                out.append("-")
                i += 2
                continue
            if regex[i + 1:i + 2] == "?":
                raise refuse("a lazy " + char + "?")
            out.append(char)
            i += 1
        elif char in "|{}":
            raise refuse("alternation or {n,m} repetition")
        elif char == ".":
            out.append(".")
            i += 1
        elif char in "^$":
            if (char == "^" and i != 0) or (char == "$" and i != len(regex) - 1):
                raise refuse("an anchor inside the pattern")
            out.append(char)
            i += 1
        else:
            out.append("%" + char if char in _LUA_MAGIC else char)
            i += 1
    return "".join(out)


def _pieces_lua(pieces: Sequence[Piece], encoding: str = "utf-8") -> str:
    return "{" + ", ".join("{{{}, {}}}".format("true" if var else "false", _text(text, encoding))
                           for var, text in pieces) + "}"


def flow_prelude(steps: Sequence[FlowStep], report_script: Path, flow_script: Path = FLOW_SCRIPT) -> str:
    """Lua that declares the flow's steps for flow.lua: method, path and headers/body as templates, the status
    each must answer, and what each extracts. UnsupportedUnderWrk when an extraction cannot run under wrk."""
    known: List[str] = []
    rows = []
    for step in steps:
        headers = ", ".join("{{{}, {}}}".format(_text(name), _pieces_lua(template(value, known)))
                            for name, value in step.request.headers)
        extracts = []
        for variable, source in step.extract:
            kind, argument = split_extraction(source)
            extracts.append("{{{}, {}, {}}}".format(_text(variable), _text(kind), _text(
                lua_pattern(argument) if kind == "regex" else argument)))
        # latin-1 both ways keeps any body byte for byte
        body = _pieces_lua(template(step.request.body.decode("latin-1"), known), "latin-1") \
            if step.request.body else "nil"
        rows.append("  {{name = {}, method = {}, path = {}, status = {}, headers = {{{}}}, body = {}, "
                    "extract = {{{}}}}},".format(_text(step.name), _text(step.request.method), _text(step.path),
                                                 step.status, headers, body, ", ".join(extracts)))
        known += [variable for variable, _ in step.extract]
    return ("-- written by benchmatrix (load/request_script.py): the flow's steps, then flow.lua\n"
            "BENCHMATRIX_FLOW = {\n" + "\n".join(rows) + "\n}\n"
            "BENCHMATRIX_REPORT_SCRIPT = " + _text(str(report_script)) + "\n"
            "dofile(" + _text(str(flow_script)) + ")\n")


def script_path(raw_path: Path) -> Path:
    """Where a trial's prelude is written: beside its raw output, named after it."""
    return raw_path.with_name(raw_path.stem + ".request.lua")


def write_script(raw_path: Path, text: str) -> Path:
    path = script_path(raw_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
