"""benchmarks/step_products.py builds, times every step's products, and checks MKL's against rnnzoo's.

One round only: what is tested is that the benchmark runs the products it says it runs. Its
figures are in docs/kernel-notes.md. Where torch carries MKL (its x86 wheels), both of MKL's
engines must have run and given rnnzoo's products back to float32 rounding; a wrong call (a
transposed layout, a wrong leading dimension) gives other numbers, not merely other times.
"""

import json
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "step_products.py"


def test_the_step_products_benchmark_times_the_products_it_names(native, tmp_path):
    out = tmp_path / "steps.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    steps = [row["step"] for row in report["results"]]
    assert steps == [f"{model} layer {layer} {way}" for model in ("SimpleRNN", "LSTM", "GRU")
                     for layer in (1, 2) for way in ("forward", "backward")]
    assert all(row["rnnzoo_gflops"] > 0 for row in report["results"])
    if torch.backends.mkl.is_available():
        for row in report["results"]:
            assert row["mkl_packed_gflops"] > 0 and row["mkl_sgemm_gflops"] > 0, row
            assert row["max_difference"] < 1e-5, row
    assert "SimpleRNN layer 1 forward" in printed.stdout


def test_the_benchmark_times_the_shapes_it_is_given(native, tmp_path):
    """One row over 3 panels and a bit (few-row tiles and a last panel in part), 3 rows two passes deep."""
    out = tmp_path / "shapes.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "1", "--shapes", "1x64x100,3x300x64",
                              "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    results = json.loads(out.read_text())["results"]
    assert [row["step"] for row in results] == ["1x64x100", "3x300x64"]
    if torch.backends.mkl.is_available():
        assert all(row["max_difference"] < 1e-5 for row in results), results
    wrong = subprocess.run([sys.executable, str(SCRIPT), "--shapes", "1x0x4"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "expected MxKxN" in wrong.stderr.splitlines()[-1]
