"""benchmatrix.nox from another project's noxfile: two lines declare the bench sessions."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmatrix.matrix.listing import discover


def test_a_two_line_noxfile_elsewhere_lists_the_bench_sessions_of_the_matrix(tmp_path):
    noxfile = tmp_path / "noxfile.py"
    noxfile.write_text("from benchmatrix.nox import bench_sessions\nbench_sessions()\n", encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "nox", "-f", str(noxfile), "-l", "--json", "-k", "bench"],
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    sessions = [s for s in json.loads(listed.stdout) if s["call_spec"]]  # not the Pythons missing here
    listing = discover()
    assert len([s for s in sessions if s["name"] == "bench"]) == len(listing.defaults)
    assert len([s for s in sessions if s["name"] != "bench"]) == len(listing.cells)
    # nox's folder is the project's own, beside its noxfile: the interpreters are linked there.
    assert (tmp_path / ".nox" / "interpreters").is_dir()
