"""benchmarks/small_batches.py times each layer the three ways it names, and reports auto's way.

One round of tiny layers: what is tested is that the benchmark runs and reports what it says. Its
figures are in docs/kernel-notes.md.
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "small_batches.py"


def test_the_small_batches_benchmark_times_three_ways_and_names_autos(native, tmp_path):
    out = tmp_path / "small.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "SimpleRNN,GRU", "--units", "8,300",
                              "--batches", "2", "--steps", "20", "--rounds", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    layers = [(row["kind"], row["units"], row["batch"]) for row in report["results"]]
    assert layers == [("SimpleRNN", 8, 2), ("SimpleRNN", 300, 2), ("GRU", 8, 2), ("GRU", 300, 2)]
    for row in report["results"]:
        assert row["kernel_kib"] == row["units"] ** 2 * {"SimpleRNN": 1, "GRU": 3}[row["kind"]] * 4 / 1024
        for mode in ("infer", "train"):
            assert set(row[mode]) == {"one thread", "rows", "units"} and min(row[mode].values()) > 0, row
    # 8 units: so little work that one thread runs it all; 300 units at batch 2: a 352 KiB kernel
    # (SimpleRNN) is past the small kernels' 256 KiB
    assert [row["auto"] for row in report["results"]] == ["one thread", "units", "one thread", "units"]
    assert "SimpleRNN U300 B2" in printed.stdout


def test_a_large_kernel_with_enough_rows_reports_the_split_calibration_timed(native, tmp_path):
    out = tmp_path / "large.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "SimpleRNN", "--units", "640", "--batches", "12",
                              "--steps", "3", "--rounds", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    [row] = json.loads(out.read_text())["results"]
    assert row["auto"] in ("timed rows", "timed units")  # a 1600 KiB kernel, 6 rows a thread: timed (fused.py)
