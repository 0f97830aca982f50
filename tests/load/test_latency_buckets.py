"""The latency histograms fixed_rate.lua and flow.lua share (load/latency_buckets.lua), on exact samples.

wrk runs its script before it connects anywhere, so a script that prints and exits makes wrk a LuaJIT
shell: no server, a few milliseconds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from benchmatrix.load import fixed_rate
from benchmatrix.load.request_script import FLOW_SCRIPT, lua_string

MODULE = Path(fixed_rate.__file__).with_name("latency_buckets.lua")


def run_lua(tmp_path: Path, body: str) -> list:
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed")
    script = tmp_path / "probe.lua"
    script.write_text("local b = dofile({})\n{}\nos.exit(0)\n".format(lua_string(str(MODULE).encode()), body))
    out = subprocess.run([wrk, "-s", str(script), "http://127.0.0.1:9/"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=10)
    return out.stdout.decode().splitlines()


def test_buckets_are_one_ns_wide_below_128_then_64_to_each_power_of_two(tmp_path):
    lines = run_lua(tmp_path, """
for _, ns in ipairs({0, 127.9, 128, 129, 130, 255, 256, 2^36 - 1, 2^36, 1e12}) do
  local i = b.bucket(ns)
  io.write(i, " ", b.num(b.bucket_value(i)), "\\n")
end""")
    assert lines == ["0 0.5", "127 127.5", "128 129", "128 129", "129 131", "191 255",
                     "192 258", "1983 68451041280", "1983 68451041280", "1983 68451041280"]


def test_threads_histograms_merge_into_exact_counts_percentiles_and_json(tmp_path):
    lines = run_lua(tmp_path, """
local ffi = require("ffi")
local one, two = ffi.new("lb_histogram"), ffi.new("lb_histogram")
b.clear(one)
b.clear(two)
for _, s in ipairs({100e-9, 1e-3, 1e-3, 100}) do b.record(one, s) end
b.record(two, 2e-3)
local h = b.merged({one, two})
local mean, stdev = b.mean_stdev(h)
io.write(h.total, " ", b.num(mean), " ", b.num(h.max / 1e6), "\\n")
for _, p in ipairs({0, 50, 75, 80, 99.99, 100}) do io.write(b.num(b.value_at(h, p)), "\\n") end
io.write(b.histogram_json(h), "\\n", b.spectrum_json(h), "\\n")
io.write(b.num(0 / 0), " ", b.num(1 / 3), " ", b.num(1 / 3, 10), " ", b.num(-2), "\\n")""")
    assert lines == [
        "5 20000.8 100000",
        "0.0001005", "1.00352", "2.00704", "2.00704", "68451", "100000",
        "[[0.1005,1],[1003.52,2],[2007.04,1],[68451041.3,1]]",
        # rank ceil(p% of 5): the 1st sample up to 20 %, the 3rd up to 60 %, the 4th up to 80 %
        "[[0,0.0001005],[10,0.0001005],[20,0.0001005],[30,1.00352],[40,1.00352],[50,1.00352],[55,1.00352],"
        "[60,1.00352],[65,2.00704],[70,2.00704],[75,2.00704],[77.5,2.00704],[80,2.00704],[100,100000]]",
        "null 0.333333 0.3333333333 -2",
    ]


def test_the_scripts_share_the_one_copy():
    """Both scripts load the module from their own folder and keep no histogram code of their own."""
    for script in (fixed_rate.SCRIPT, FLOW_SCRIPT):
        text = script.read_text(encoding="utf-8")
        assert script.parent == MODULE.parent and '"latency_buckets.lua")' in text
        assert "function bucket" not in text and "frexp" not in text and "function num" not in text


def test_an_ssh_load_host_gets_the_module_beside_the_scripts():
    """The scripts find the module in their own folder, so the copy to a load host must carry it there too."""
    from benchmatrix.run.cell_run import load_files

    copied = {path.name: path.parent for path in load_files()}
    assert copied["latency_buckets.lua"] == copied["fixed_rate.lua"] == copied["flow.lua"]
