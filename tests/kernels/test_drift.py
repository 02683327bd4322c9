"""benchmarks/drift.py repeats rounds of a notebook model's steps and the floor's products.

One short round: what is tested is that the benchmark runs and that its summary is what its rounds
say. Its figures are in docs/performance.md.
"""

import json
import subprocess
import sys
from pathlib import Path

from rnnzoo.bench.benchmark import matmul_flops, seed_cases

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "drift.py"


def test_a_round_reports_the_step_the_floor_and_their_ratio(tmp_path):
    out = tmp_path / "drift.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--model", "GRUs", "--mode", "infer", "--minutes", "0",
                              "--steps", "1", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    assert (report["model"], report["mode"], report["steps"]) == ("GRUs", "infer", 1)
    [only] = report["rounds"]
    infer_flops = matmul_flops(next(case for case in seed_cases() if case.name == "GRUs"))[1]
    floor_ms = infer_flops / (only["floor_gflops"] * 1e9) * 1e3
    assert abs(only["percent"] - 100 * floor_ms / only["step_ms"]) < 1e-9 * only["percent"]
    summary = report["summary"]
    assert summary["rounds"] == 1 and summary["correlation"] is None
    assert summary["percent"]["median"] == only["percent"] and summary["at_target"] == (only["percent"] >= 85)
    assert "GRUs, inference" in printed.stdout and "% of floor" in printed.stdout


def test_bad_arguments_are_one_line_errors():
    printed = subprocess.run([sys.executable, str(SCRIPT), "--minutes", "soon"], capture_output=True, text=True,
                             timeout=600)
    assert printed.returncode == 2
    assert printed.stderr.strip().splitlines()[-1].endswith(
        "argument --minutes: expected minutes, a number >= 0, got 'soon'")
