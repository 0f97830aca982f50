"""Options declared once: the parsers, RunOptions, the shard estimate, smoke and docs/options.md all agree."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmatrix.cli.main import build_parser
from benchmatrix.cli.options_command import DOCS_PAGE, options_page
from benchmatrix.matrix.scenarios import GROUPS
from benchmatrix.matrix.shards import LoadShape
from benchmatrix.results.smoke import BENCH_OPTIONS
from benchmatrix.run import option_specs
from benchmatrix.run.options import RunOptions
from benchmatrix.sessions.shard_arguments import parse_shard_arguments
from tests.conftest import REPO_ROOT

# RunOptions field -> the flag that sets it, where the value is the option's own.
FIELDS = {"duration_s": "--duration", "warmup_s": "--warmup", "primer_s": "--primer", "trials": "--trials",
          "threads": "--threads", "boot_timeout_s": "--boot-timeout", "max_cv": "--max-cv", "max_busy": "--max-busy",
          "machine_sample_s": "--machine-sample", "pin": "--pin", "ceiling": "--ceiling",
          "connection_mode": "--connection-mode", "coop_check": "--coop-check", "coop_requests": "--coop-requests",
          "cross_check": "--cross-check", "hosts": "--hosts", "link": "--link", "results_dir": "--results-dir"}


def run_arguments(*words):
    return build_parser().parse_args(["run", "--server", "gunicorn", "--app", "flask", *words])


def test_run_options_take_every_default_from_the_declarations():
    options = RunOptions(server="gunicorn", app="flask")
    for field, flag in FIELDS.items():
        assert getattr(options, field) == option_specs.default(flag), flag
    assert options.side_probe is (option_specs.default("--side-probe") == "on")
    assert options.wait_for_machine is not option_specs.default("--no-wait")


def test_the_run_and_interleave_parsers_default_to_the_declarations():
    args = run_arguments()
    interleave = build_parser().parse_args(["interleave", "--cell", "gunicorn/flask", "--cell", "uwsgi/flask"])
    for spec in option_specs.OPTIONS:
        if spec.group != option_specs.COMPARISON:  # `run` compares nothing
            assert getattr(args, spec.dest) == spec.default, spec.flag
        if spec.group in (option_specs.MEASUREMENT, option_specs.COMPARISON) and spec.flag != "--duration":
            assert getattr(interleave, spec.dest) == spec.default, spec.flag
    assert interleave.duration is None and interleave.slice == 1  # interleave's own: short slices


def test_a_declared_type_validates_on_the_command_line(capsys):
    for words in (["--duration", "1.5s"], ["--trials", "0"], ["--machine-sample", "-1"], ["--connections", "8,8"],
                  ["--measure-first", "0"], ["--ceiling", "sometimes"]):
        with pytest.raises(SystemExit):
            run_arguments(*words)
    assert run_arguments("--duration", "2m", "--connections", "16,32").duration == 120


def test_the_shard_estimate_and_smoke_use_the_runs_own_options():
    shape = LoadShape()
    assert (shape.duration_s, shape.trials, shape.warmup_s, shape.primer_s) == tuple(
        option_specs.default(flag) for flag in ("--duration", "--trials", "--warmup", "--primer"))
    assert shape.scenarios == len(GROUPS[option_specs.default("--scenarios")])
    args, rest = parse_shard_arguments(["--count", "4", "--duration", "5s", "--", "--scenarios", "json"])
    assert args.load_shape == LoadShape(duration_s=5, trials=3) and rest == ["--scenarios", "json"]
    smoke = run_arguments(*BENCH_OPTIONS)
    assert (smoke.duration, smoke.warmup, smoke.primer, smoke.trials, smoke.measure_first, smoke.machine_sample) == (
        1, 0, 0, 1, 1, 0)


def test_the_options_table_has_one_row_per_option_and_docs_options_md_is_generated_from_it():
    table = option_specs.render_options_table()
    rows = [line for line in table.splitlines() if line.startswith("| `--")]
    assert [row.split("`")[1].split(" ")[0] for row in rows] == [spec.flag for spec in option_specs.OPTIONS]
    assert all(row.count(" | ") == 3 for row in rows), "a cell of the table holds an unescaped |"
    assert DOCS_PAGE.read_text(encoding="utf-8") == options_page(), \
        "docs/options.md is stale: run `benchmatrix options --markdown --write docs/options.md`"


def test_help_works_from_an_installed_package_outside_a_checkout(tmp_path):
    # BENCHMATRIX_ROOT at an empty folder is what an installed package sees elsewhere: no configs/.
    env = dict(os.environ, BENCHMATRIX_ROOT=str(tmp_path))
    for words in (["--help"], ["run", "--help"], ["interleave", "--help"]):
        shown = subprocess.run([sys.executable, "-m", "benchmatrix", *words], cwd=str(tmp_path), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        assert shown.returncode == 0 and "usage:" in shown.stdout, shown.stdout


def test_no_module_of_the_package_is_over_400_lines():
    package = REPO_ROOT / "tools" / "benchmatrix"
    mine = [package / "nox.py", package / "tox.py", package / "run" / "option_specs.py",
            *(package / "cli").glob("*.py"), *(package / "sessions").glob("*.py"), *(package / "matrix").glob("*.py")]
    long = {str(path.relative_to(package)): n for path in mine
            for n in [len(path.read_text(encoding="utf-8").splitlines())] if n > 400}
    assert long == {}
