"""Where a key sits in a TOML text: tomllib reports lines for syntax errors only, so a key's line
is found here, for the errors about its meaning (an unknown key, a wrong type)."""

from __future__ import annotations

import re
from typing import List, Optional, Sequence


def _header_name(line: str) -> Optional[str]:
    """"[apps.shop]" -> "apps.shop" (quotes and spaces dropped); None when the line is no table header."""
    match = re.match(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$", line)
    if not match:
        return None
    return ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))


class Locator:
    def __init__(self, text: str):
        self.lines: List[str] = text.splitlines()

    def _key_pattern(self, key: str):
        return re.compile(r"(^|[{,])\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")

    def table(self, path: Sequence[str]) -> int:
        """The 1-based line of the table's header, or of the dotted key that opens it; 1 if not found."""
        wanted = ".".join(path)
        for number, line in enumerate(self.lines, 1):
            if _header_name(line) == wanted:
                return number
        if len(path) > 1:
            return self.key(path[:-1], path[-1])
        return 1

    def _section(self, path: Sequence[str]) -> range:
        start = self.table(path) if path else 0
        end = next((n for n in range(start + 1, len(self.lines) + 1) if _header_name(self.lines[n - 1])
                    is not None), len(self.lines) + 1)
        return range(start, end)  # 1-based lines, the header's included

    def key(self, path: Sequence[str], key: str, step: Optional[int] = None) -> int:
        """The line of `key` in the table at `path` (in its step-th inline table of `flow` when step is given)."""
        pattern = self._key_pattern(key)
        section = [n for n in self._section(path) if n >= 1]
        if step is not None:
            section = self._step_lines(path, section, step)
        for number in section:
            if pattern.search(self.lines[number - 1]):
                return number
        # A table of its own ([servers.x] for the top level's unknown "servers").
        for number, line in enumerate(self.lines, 1):
            name = _header_name(line)
            if name is not None and (name == ".".join(list(path) + [key]) or
                                     name.startswith(".".join(list(path) + [key]) + ".")):
                return number
        return section[0] if section else self.table(path)

    def _step_lines(self, path: Sequence[str], section: List[int], step: int) -> List[int]:
        """The lines from the flow's step-th inline table on (TOML keeps an inline table on one line)."""
        flow_line = self.key(path, "flow")
        starts = [n for n in section if n >= flow_line and "{" in self.lines[n - 1]]
        if step < len(starts):
            return [starts[step]]
        return [flow_line]
