"""Fix the CPU clock for a benchmark, and put it back afterwards.

Two settings make the clock follow the load or the temperature: the cpufreq
governor, and turbo boost. `tune` sets every governor to "performance" and
turns turbo off, and nothing else: ASLR stays as it is (full randomization is
what benchmarks should run under), and isolation needs a reboot.

The values found are saved to a state file before anything is written, so
`reset` restores exactly what the machine had, not what we guess a default is.
A second `tune` before `reset` keeps the first one's saved values: they are the
machine's own, the second would only record ours.

A setting the machine does not expose (VMs usually have no cpufreq at all) or
that needs root is reported as not changed, never raised: tuning is best
effort, and the report says what is left for the user to do.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from benchmatrix.hosts.machine_state import CPU_DIR, cpu_dirs, read_value

NO_CPUFREQ = "this machine exposes no cpufreq governor (common in VMs)"
NO_TURBO_SWITCH = "this machine exposes no turbo switch (no intel_pstate/no_turbo or cpufreq/boost; common in VMs)"
NEEDS_ROOT = "needs root"
STATE_VERSION = 1


@dataclass(frozen=True)
class Change:
    path: str  # relative to the root, e.g. sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
    previous: str
    new: str


@dataclass(frozen=True)
class NotChanged:
    target: str  # a file, or what is missing ("cpufreq governor", "turbo")
    reason: str


@dataclass
class TuneReport:
    action: str  # "tune" or "reset"
    changed: List[Change] = field(default_factory=list)
    could_not: List[NotChanged] = field(default_factory=list)
    already: List[str] = field(default_factory=list)  # files that held the wanted value already
    state_file: Optional[str] = None  # where the saved values are, while there are any

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)

    def render(self) -> str:
        lines = ["{}: {}".format(self.action, "changed:" if self.changed else "changed nothing")]
        lines += ["  {}: {} -> {}".format(change.path, change.previous, change.new) for change in self.changed]
        if self.already:
            lines.append("  already as wanted: {}".format(", ".join(self.already)))
        if self.could_not:
            lines.append("could not:")
            lines += ["  {}: {}".format(item.target, item.reason) for item in self.could_not]
        if self.state_file:
            lines.append("previous values saved in {} (`system reset` restores them)".format(self.state_file))
        return "\n".join(lines)


def _write(path: Path, value: str) -> None:
    # sysfs takes one write of the whole value; a trailing newline is accepted everywhere.
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def _refusal(error: OSError) -> Optional[str]:
    """Why a write was refused, for the report; None for errors the caller should see raised."""
    if isinstance(error, FileNotFoundError):
        return "file absent"
    if isinstance(error, PermissionError) or error.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        if os.geteuid() == 0:
            # As root, sysfs refuses some writes itself: no_turbo when the firmware has turbo off, or /sys
            # mounted read-only in a container.
            return "refused even as root ({})".format(error.strerror or error)
        return NEEDS_ROOT
    return None


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def _planned(root: Path, report: TuneReport) -> List[Tuple[Path, str, str]]:
    """(file, value now, value wanted) for each setting to change; what cannot be changed goes to the report."""
    plan: List[Tuple[Path, str, str]] = []

    def consider(path: Path, wanted: str) -> None:
        current = read_value(path)
        if current is None:
            report.could_not.append(NotChanged(_relative(path, root), "file absent or unreadable"))
        elif current == wanted:
            report.already.append(_relative(path, root))
        elif not os.access(path, os.W_OK):
            report.could_not.append(NotChanged(_relative(path, root), NEEDS_ROOT))
        else:
            plan.append((path, current, wanted))

    governors = [cpu / "cpufreq" / "scaling_governor" for cpu in cpu_dirs(root)]
    governors = [path for path in governors if path.exists()]
    if not governors:
        report.could_not.append(NotChanged("cpufreq governor", NO_CPUFREQ))
    for path in governors:
        offered = read_value(path.with_name("scaling_available_governors"))
        if offered is not None and "performance" not in offered.split():
            report.could_not.append(NotChanged(_relative(path, root), "the cpufreq driver offers no performance "
                                                                      "governor (offers: {})".format(offered)))
            continue
        consider(path, "performance")

    no_turbo = root / CPU_DIR / "intel_pstate" / "no_turbo"
    boost = root / CPU_DIR / "cpufreq" / "boost"
    if no_turbo.exists():
        consider(no_turbo, "1")
    elif boost.exists():
        consider(boost, "0")
    else:
        report.could_not.append(NotChanged("turbo", NO_TURBO_SWITCH))
    return plan


def _load_saved(state_file: Path) -> Dict[str, str]:
    """The saved {relative path: previous value}; {} when there is no state file. ValueError when it is not ours."""
    try:
        text = state_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        saved = json.loads(text)
        values = saved["previous"]
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValueError("{} is not a state file written by `system tune`; move it away or "
                         "pass another --state-file".format(state_file))
    return values


def _save(state_file: Path, previous: Dict[str, str], root: Path) -> None:
    # Written to a temporary name and renamed, so an interrupted write never leaves half a state file.
    state_file.parent.mkdir(parents=True, exist_ok=True)
    partial = state_file.with_name(state_file.name + ".partial")
    partial.write_text(json.dumps({"version": STATE_VERSION, "root": str(root), "previous": previous},
                                  indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, state_file)


def _save_or_remove(state_file: Path, previous: Dict[str, str], root: Path) -> None:
    if previous:
        _save(state_file, previous, root)
    else:
        try:
            state_file.unlink()
        except FileNotFoundError:
            pass


def _written(path: Path, value: str, relative: str, report: TuneReport) -> Optional[str]:
    """Write value; None when done, else the refusal (also noted in the report). Other errors raise."""
    try:
        _write(path, value)
    except OSError as error:
        reason = _refusal(error)
        if reason is None:
            raise
        report.could_not.append(NotChanged(relative, reason))
        return reason
    return None


def tune(state_file: Path, root: Path = Path("/")) -> TuneReport:
    """Every governor to performance and turbo off where possible, previous values saved to `state_file` first."""
    report = TuneReport("tune")
    plan = _planned(root, report)
    saved = _load_saved(state_file)
    for path, current, _ in plan:
        saved.setdefault(_relative(path, root), current)  # an earlier tune's value is the machine's own
    if plan:
        _save(state_file, saved, root)
    for path, current, wanted in plan:
        relative = _relative(path, root)
        if _written(path, wanted, relative, report) is not None:
            if saved.get(relative) == current:  # never changed, by this tune or an earlier one
                del saved[relative]
            continue
        report.changed.append(Change(relative, current, wanted))
    if plan:
        _save_or_remove(state_file, saved, root)
    report.state_file = str(state_file) if saved else None
    return report


def reset(state_file: Path, root: Path = Path("/")) -> TuneReport:
    """Write back what `tune` saved, then delete `state_file` (kept, with what is left, if some needed root)."""
    report = TuneReport("reset")
    saved = _load_saved(state_file)
    if not saved:
        report.could_not.append(NotChanged(str(state_file), "no saved values: nothing to restore "
                                                            "(tune has not run, or reset already did)"))
        _save_or_remove(state_file, {}, root)
        return report
    left: Dict[str, str] = {}
    for relative, previous in saved.items():
        path = root / relative
        current = read_value(path)
        if current is None:
            report.could_not.append(NotChanged(relative, "file absent (the CPU went offline, or this is another "
                                                         "machine than the one tuned)"))
            continue
        if current == previous:
            report.already.append(relative)
            continue
        reason = _written(path, previous, relative, report)
        if reason is not None:
            if reason != "file absent":
                left[relative] = previous  # kept so a later reset, with root, can still restore it
            continue
        report.changed.append(Change(relative, current, previous))
    _save_or_remove(state_file, left, root)
    report.state_file = str(state_file) if left else None
    return report
