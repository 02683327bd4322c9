"""benchmarks/weight_gradients.py times the notebook layers' weight-gradient products on both engines.

One round only: what is tested is that the benchmark runs the products it names and that rnnzoo's
products (and column sums) agree with MKL's, so that a wrong call can't pass for a fast one. Its
figures are in docs/kernel-notes.md.
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "weight_gradients.py"


def test_the_weight_gradients_benchmark_times_the_products_it_names(native, tmp_path):
    out = tmp_path / "weights.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "1", "--threads", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    results = json.loads(out.read_text())["results"]
    assert [(row["m"], row["n"]) for row in results] == [(284, 256), (512, 256), (284, 1024), (512, 1024),
                                                         (256, 768), (28, 768), (128, 384), (256, 384)]
    for row in results:
        assert row["rows"] == 64 * 28 and row["rnnzoo_gflops"] > 0 and row["mkl_gflops"] > 0, row
        assert row["max_difference"] < 1e-5, row
    assert "LSTM layer 2 [h|x]ᵀ dZ" in printed.stdout


def test_the_benchmark_refuses_a_count_below_one():
    wrong = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "0"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "expected a positive integer" in wrong.stderr.splitlines()[-1]
