"""`benchmatrix system show|tune|reset`: look at the machine before a benchmark, and fix its clock.

show prints what hosts/machine_state.py finds and what to do about it (machine_advice.py); tune
and reset (hosts/tuning.py) print what they changed and what they could not,
then the machine as it is afterwards, so one command both acts and shows
whether it was enough.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmatrix.hosts import tuning
from benchmatrix.hosts.machine_advice import advice, render_state
from benchmatrix.hosts.machine_state import collect_machine_state

# The temporary directory, not the results folder: the saved values describe this boot of this
# machine, and a reboot restores the firmware's settings anyway.
DEFAULT_STATE_FILE = Path(tempfile.gettempdir()) / "benchmatrix-tuning.json"
ACTIONS = ("show", "tune", "reset")


def add_system_parser(commands) -> None:
    system = commands.add_parser(
        "system", help="show what the machine is doing, or fix its CPU clock for benchmarking",
        description="show: CPU governor, turbo, isolation, ASLR, virtualization, load and the busiest "
                    "processes, with what to change. tune (as root): every cpufreq governor to "
                    "performance and turbo off, saving the previous values to --state-file. "
                    "reset: restore those values.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False)
    system.add_argument("action", nargs="?", choices=ACTIONS, default="show", help="what to do")
    system.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE,
                        help="where tune saves the values it replaces, and reset reads them from")
    system.add_argument("--json", action="store_true",
                        help="print JSON: {\"state\", \"advice\"}, and for tune and reset also \"report\"")
    # A copy of /sys and /proc to read and write instead of the machine's; for the tests.
    system.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
    system.add_argument("--sample", type=float, default=0.5, metavar="SECONDS",
                        help="how long to watch the other processes' CPU use")


def command_system(args: argparse.Namespace) -> int:
    root = getattr(args, "root", Path("/"))
    report = None
    try:
        if args.action == "tune":
            report = tuning.tune(args.state_file, root=root)
        elif args.action == "reset":
            report = tuning.reset(args.state_file, root=root)
    except (OSError, ValueError) as error:
        # tune and reset report missing files and refused writes themselves; what reaches here is
        # something else (a state file that cannot be written, a sysfs write the kernel rejects).
        print("benchmatrix: error: {}".format(error), file=sys.stderr)
        return 2
    state = collect_machine_state(root=root, sample_s=getattr(args, "sample", 0.5))
    found = advice(state)
    if args.json:
        output = {"state": state, "advice": [item.as_dict() for item in found]}
        if report is not None:
            output["report"] = report.as_dict()
        print(json.dumps(output, indent=2, sort_keys=True))
        return 0
    if report is not None:
        print(report.render())
        print()
        print("after {}:".format(report.action))
    print(render_state(state, found))
    return 0
