"""benchmarks/step_parts.py times every native call inside a notebook model's steps.

Two short runs: what is tested is that the calls are the ones the model makes (each recurrent
layer's forward, at inference; and its backward, and dropout, in training, with the gradient
products that calibration put on another engine made in calls of their own), that the sums and
percentages printed are what the parts say, that the replayed steps (the kernels' results given
back at once) ran and took less than a real one, and that the kernels are left as they were found.
Its figures are in docs/kernel-notes.md.
"""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnzoo.bench.benchmark import matmul_flops, seed_cases

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "step_parts.py"
PRODUCTS = {"recurrent_gradient", "matmul_tn", "matmul"}  # the native gradient products made on their own
CALLS = {  # the notebook's GRU: GRU -> Dropout(0.3) -> GRU -> Dense
    "infer": ["forward", "forward"],
    "train": ["forward", "dropout", "forward", "backward", "dropout", "backward"],
}


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_the_parts_are_the_models_native_calls_and_add_up(tmp_path, mode):
    out = tmp_path / "parts.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--model", "GRUs", "--mode", mode, "--steps", "2",
                              "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    calls = [call["call"] for call in report["calls"]]
    # where calibration gave a gradient product to another engine, the backward's products are calls of their own
    assert [call for call in calls if call not in PRODUCTS] == CALLS[mode]
    assert set(calls) - set(CALLS[mode]) <= PRODUCTS
    assert all(call["s"] > 0 for call in report["calls"])
    assert report["native_s"] == pytest.approx(sum(call["s"] for call in report["calls"]), rel=1e-12)
    assert report["outside_s"] == pytest.approx(report["step_s"] - report["native_s"], rel=1e-12)
    train_flops, infer_flops = matmul_flops(next(case for case in seed_cases() if case.name == "GRUs"))
    floor_s = (train_flops if mode == "train" else infer_flops) / (report["floor_gflops"] * 1e9)
    assert report["step_percent"] == pytest.approx(100 * floor_s / report["step_s"], rel=1e-12)
    assert report["native_percent"] == pytest.approx(100 * floor_s / report["native_s"], rel=1e-12)
    assert 0 < report["warm_outside_s"] < report["step_s"]  # the steps again, the kernels' results replayed
    assert "native calls" in printed.stdout and "outside them" in printed.stdout and "caches warm" in printed.stdout


def test_the_native_module_is_handed_back_after_the_run(native):
    from rnnzoo.kernels import build

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import step_parts
    finally:
        sys.path.remove(str(SCRIPT.parent))
    case = next(case for case in seed_cases() if case.name == "Simple_RNNs")
    small = dataclasses.replace(case, batch=2, steps=3)
    report = step_parts.measure(small, "infer", 1)
    assert [call["call"] for call in report["calls"]] == ["forward", "forward"]
    assert build.native() is native


def test_bad_arguments_are_one_line_errors():
    printed = subprocess.run([sys.executable, str(SCRIPT), "--steps", "0"], capture_output=True, text=True,
                             timeout=600)
    assert printed.returncode == 2
    assert printed.stderr.strip().splitlines()[-1].endswith("argument --steps: expected a positive integer, got '0'")
